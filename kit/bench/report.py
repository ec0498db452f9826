"""``report.html`` of a benchmark (and of a comparison): the plots a buyer looks at, the tables, the system.

Plots: latency percentiles per runtime (SingleStream, LoadGen's p50, p90
and p99), throughput against threads (Offline), accuracy change against
speed-up over Torch fp32. Figures are embedded as PNG, so the file stands
alone.
"""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np

__all__ = ["write_compare_report", "write_report"]

_STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;"
          "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}th{background:#f0f0f0}"
          ".no{color:#a00}.yes{color:#060}img{max-width:100%}")


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _label(r) -> str:
    return f"{r.runtime} {r.precision}" + ("" if r.runtime == "torch" else f" {r.provider.replace('ExecutionProvider', '')}")


def _per_model(rows):
    """One panel per model, side by side: the figure and ``(axes, model, its rows)`` per panel."""
    import matplotlib.pyplot as plt

    models = sorted(rows.model.unique())
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 3.2), squeeze=False)
    return fig, [(ax, model, rows[rows.model == model]) for ax, model in zip(axes[0], models)]


def _latency_plot(df):
    ss = df[(df.scenario == "SingleStream") & df.metric.str.startswith("latency_p") & df.value.notna()]
    if ss.empty:
        return ""
    fig, panels = _per_model(ss)
    for ax, model, part in panels:
        for (label, threads), g in part.groupby([part.apply(_label, axis=1), "threads"]):
            med = g.groupby("metric").value.median()
            qs = sorted(med.index, key=lambda m: float(m[len("latency_p"):-3]))
            ax.plot([float(q[len("latency_p"):-3]) for q in qs], [med[q] for q in qs], "o-", label=f"{label}, {threads} t")
        ax.set(title=f"{model}: SingleStream latency", xlabel="percentile", ylabel="latency, ms")
        ax.legend(fontsize=7)
    return _png(fig)


def _threads_plot(df):
    off = df[(df.scenario == "Offline") & (df.metric == "samples_per_s") & df.value.notna()]
    if off.empty:
        return ""
    fig, panels = _per_model(off)
    for ax, model, part in panels:
        for label, g in part.groupby(part.apply(_label, axis=1)):
            med = g.groupby("threads").value.median()
            ax.plot(med.index, med.values, "o-", label=label)
        ax.set(title=f"{model}: Offline throughput", xlabel="threads", ylabel="samples / s")
        ax.set_xticks(sorted(part.threads.unique()))
        ax.legend(fontsize=7)
    return _png(fig)


def _tradeoff_plot(df):
    import matplotlib.pyplot as plt

    off = df[(df.scenario == "Offline") & (df.metric == "samples_per_s") & df.value.notna()]
    change = df[df.metric.str.endswith("_change") & df.value.notna()]
    if off.empty or change.empty:
        return ""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    keys = ["model", "runtime", "precision", "provider", "threads"]
    speed = off.groupby(keys).value.median()
    for _, r in change[change.runtime != "torch"].iterrows():  # the reference sits at (1, 0)
        ref = speed.get((r.model, "torch", "fp32", "eager-cpu", r.threads))
        mine = speed.get(tuple(r[k] for k in keys))
        if ref and mine:
            ax.scatter(mine / ref, r.value)
            ax.annotate(f"{r.model} {_label(r)} {r.threads}t", (mine / ref, r.value), fontsize=7)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(xlabel="Offline speed-up over Torch fp32 (same threads)", ylabel="metric change vs reference",
           title="accuracy change against speed-up")
    return _png(fig)


def _table(df, max_rows: int = 2000) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for _, r in df.head(max_rows).iterrows():
        cells = []
        for c in df.columns:
            v = r[c]
            text = f"{v:.4g}" if isinstance(v, (float, np.floating)) and np.isfinite(v) else ("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
            cls = f' class="{v}"' if c == "valid" and v in ("yes", "no") else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _page(title: str, sections: list) -> str:
    parts = [f"<h1>{html.escape(title)}</h1>"]
    for heading, content in sections:
        if content:
            parts.append(f"<h2>{html.escape(heading)}</h2>{content}")
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>\n"


_CAVEAT = ("<p>Short LoadGen runs: a row is <b>valid</b> only when LoadGen says VALID and MLPerf's minimum duration "
           "(600 s) and query counts are met; short runs say why not. Figures are for this machine, these thread "
           "counts and the run's small models; they are not MLPerf submissions.</p>")


def write_report(df, system: dict, path, title: str = "kit bench") -> Path:
    """Write the benchmark's HTML report atomically."""
    from kit.bench.tables import spread_table
    from kit.io import atomic_path

    spread = spread_table(df)
    sections = [("What the figures mean", _CAVEAT), ("Latency distribution", _latency_plot(df)),
                ("Throughput against threads", _threads_plot(df)), ("Accuracy change against speed-up", _tradeoff_plot(df)),
                ("Accuracy", _table(df[df.scenario == "Accuracy"])),
                ("Repeats: minimum, median, maximum, spread", _table(spread)),
                ("All rows (results.csv)", _table(df)),
                ("System", f"<pre>{html.escape(json.dumps(system, indent=1))}</pre>")]
    with atomic_path(path) as tmp:
        Path(tmp).write_text(_page(title, sections), encoding="utf-8")
    return Path(path)


def _ratio_plot(table):
    import matplotlib.pyplot as plt

    t = table[table.metric.isin(["samples_per_s", "server_qps", "latency_p90_ms", "latency_p99_ms"]) & table.ratio.notna()]
    if t.empty:
        return ""
    fig, ax = plt.subplots(figsize=(7, 0.25 * len(t) + 1.2))
    labels = [f"{r.model} {_label(r)} {r.scenario} {r.metric}" for _, r in t.iterrows()]
    ax.barh(range(len(t)), t.ratio.values, color=["#4a4" if b else "#a44" for b in t.b_better.values])
    ax.set_yticks(range(len(t)), labels, fontsize=7)
    ax.axvline(1, color="grey", lw=0.8)
    ax.set(xlabel="B / A", title="ratio per row (green: B better)")
    return _png(fig)


def write_compare_report(table, systems: tuple, path, names: tuple) -> Path:
    """Write the comparison's HTML report (the same form as :func:`write_report`) atomically."""
    from kit.io import atomic_path

    sections = [("What the figures mean", "<p>Ratio B / A of the median over repeats, only for rows measured the "
                 "same way (model, runtime, precision, provider, scenario, metric; threads paired as listed). "
                 "For latencies lower is better, for throughput and accuracy higher.</p>" + _CAVEAT),
                ("Ratios", _ratio_plot(table)), ("Table", _table(table)),
                (f"System A: {names[0]}", f"<pre>{html.escape(json.dumps(systems[0], indent=1))}</pre>"),
                (f"System B: {names[1]}", f"<pre>{html.escape(json.dumps(systems[1], indent=1))}</pre>")]
    with atomic_path(path) as tmp:
        Path(tmp).write_text(_page(f"kit bench compare: {names[0]} against {names[1]}", sections), encoding="utf-8")
    return Path(path)
