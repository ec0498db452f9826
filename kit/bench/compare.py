"""``kit bench compare A B``: two result folders side by side, the ratio B / A per row measured the same way.

Rows are paired on model, runtime, precision, provider, scenario, metric and
unit, on the median over repeats. Thread counts are paired as they are when
both folders measured the same ones; otherwise the i-th thread count of A
with the i-th of B (one machine at 1 thread against the same at 2), and both
are shown. Rows only one folder has, or without a value, are left out, and
so are all rows when the two were run with different test settings
(durations, Server bounds): those are not measured the same way.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kit.errors import InputDataError

__all__ = ["compare", "read_results"]

_PAIR = ["model", "runtime", "precision", "provider", "scenario", "metric", "unit"]
_SAME_SETTINGS = ("duration_s", "search_s", "search_steps", "bound_ms", "scenarios")
_LOWER_BETTER = ("latency", "energy", "cost")


def read_results(folder) -> tuple:
    """``(results table, system dict)`` of a ``kit bench`` output folder."""
    import pandas as pd

    from kit.bench.tables import COLUMNS

    folder = Path(folder)
    csv, sysjson = folder / "results.csv", folder / "system.json"
    if not csv.is_file() or not sysjson.is_file():
        raise InputDataError(f"{folder} holds no results.csv and system.json; give a folder written by kit bench --out")
    df = pd.read_csv(csv)
    missing = set(COLUMNS) - set(df.columns)
    if missing:
        raise InputDataError(f"{csv} lacks the column(s) {', '.join(sorted(missing))}; re-run kit bench")
    return df, json.loads(sysjson.read_text(encoding="utf-8"))


def _medians(df):
    from kit.bench.tables import KEYS

    ok = df[df.value.notna() & ~df.metric.str.endswith("_change")]
    return ok.groupby(KEYS, sort=False, dropna=False).value.median().reset_index()


def _thread_map(a, b) -> dict:
    ta, tb = sorted(a.threads.unique()), sorted(b.threads.unique())
    return {t: t for t in ta} if ta == tb else dict(zip(ta, tb))


def compare(folder_a, folder_b, out=None):
    """Compare two ``kit bench`` folders; write ``compare.csv`` and ``compare.html`` into ``out``.

    Parameters
    ----------
    folder_a, folder_b : path
    out : path, optional
        Default: ``<A>-vs-<B's name>`` beside A.

    Returns
    -------
    (table, out) : pandas.DataFrame, pathlib.Path
        Columns: the pairing keys, ``threads_a``, ``threads_b``, ``a``, ``b``,
        ``ratio`` (b / a) and ``b_better``.
    """
    from kit.bench.report import write_compare_report
    from kit.io import atomic_path

    (a, sys_a), (b, sys_b) = read_results(folder_a), read_results(folder_b)
    opts_a, opts_b = sys_a.get("bench_options", {}), sys_b.get("bench_options", {})
    differ = [k for k in _SAME_SETTINGS if opts_a.get(k) != opts_b.get(k)]
    if differ:
        raise InputDataError(f"{folder_a} and {folder_b} were run with different settings ({', '.join(differ)}); "
                             "re-run one with the other's options to compare them")
    ma, mb = _medians(a), _medians(b)
    tmap = _thread_map(ma, mb)
    ma = ma[ma.threads.isin(list(tmap))].rename(columns={"threads": "threads_a", "value": "a"})
    ma["threads_b"] = ma.threads_a.map(tmap)
    mb = mb.rename(columns={"threads": "threads_b", "value": "b"})
    table = ma.merge(mb, on=[*_PAIR, "threads_b"])[[*_PAIR, "threads_a", "threads_b", "a", "b"]]
    if table.empty:
        raise InputDataError(f"{folder_a} and {folder_b} share no row measured the same way (models, runtimes, "
                             "scenarios); run the same kit bench command on both")
    table["ratio"] = table.b / table.a.where(table.a != 0)
    lower = table.metric.str.startswith(_LOWER_BETTER)
    table["b_better"] = np.where(lower, table.ratio < 1, table.ratio > 1)
    out = Path(out) if out is not None else Path(folder_a).parent / f"{Path(folder_a).name}-vs-{Path(folder_b).name}"
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "compare.csv") as tmp:
        table.to_csv(tmp, index=False)
    write_compare_report(table, (sys_a, sys_b), out / "compare.html", (str(folder_a), str(folder_b)))
    return table, out
