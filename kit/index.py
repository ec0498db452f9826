"""An HTML index over run folders (each holding a ``manifest.json``)."""
from __future__ import annotations

import html
import json
import os
from pathlib import Path

from kit.i18n import N_, _, format_date, format_number, format_quantity, get_lang, ngettext
from kit.io import atomic_path

_MAX_METRICS = 6


def collect_runs(root) -> list[dict]:
    """Manifests below ``root``, each with ``_dir`` (its folder) and ``_metrics``.

    Failed runs come first, then by notebook name and start time.
    """
    root = Path(root)
    runs = []
    for manifest in sorted(root.rglob("manifest.json")):
        if any(part.startswith(".") for part in manifest.relative_to(root).parts):
            continue  # temporary folders of runs in progress
        try:
            run = json.loads(manifest.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            run = {"notebook": manifest.parent.name, "status": "unreadable", "error": {"message": str(exc)}}
        metrics_file = manifest.parent / "metrics.json"
        try:
            run["_metrics"] = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
        except (OSError, json.JSONDecodeError):
            run["_metrics"] = {}
        run["_dir"] = manifest.parent
        runs.append(run)
    runs.sort(key=lambda r: (r.get("status") == "ok", r.get("notebook", ""), r.get("start", "")))
    return runs


#: The manifest's statuses as the index shows them (the manifest keeps the English codes).
_STATUS = {"ok": N_("ok"), "failed": N_("failed")}


def _fmt(value) -> str:
    """A metric's value as shown: 4 significant digits; in French a decimal comma, grouped thousands, oui/non."""
    english = get_lang() == "en"
    if isinstance(value, bool):
        return str(value) if english else _("yes") if value else _("no")
    if isinstance(value, float):
        text = f"{value:.4g}"
        if english or "e" in text or "inf" in text or "nan" in text:
            return text if english else text.replace(".", ",")
        return format_number(value, len(text.split(".")[1]) if "." in text else 0)
    if isinstance(value, int) and not english:
        return format_number(value)
    return str(value)


def _started(iso: str) -> str:
    """The run's start (UTC) as the language writes it: ISO in English, ``2 décembre 2026 22:06:23`` in French."""
    if get_lang() == "en" or not iso:
        return iso
    import datetime as dt

    try:
        when = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{format_date(when)} {when:%H:%M:%S}"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2933}
h1{font-size:1.5rem} table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #d9e2ec;padding:.45rem .6rem;text-align:left;vertical-align:top}
th{background:#f0f4f8} tr.failed{background:#fff1f0} .status{font-weight:600}
.ok{color:#1b7f3b} .bad{color:#c62828} code{font-size:.8rem;color:#52606d} .err{color:#c62828;font-size:.8rem}
"""


def write_index(root, title: str | None = None) -> Path:
    """Write ``root/index.html`` listing every run below ``root``.

    Each row: notebook, status, parameters that differ from the defaults,
    duration, up to six key metrics, links to the report and executed
    notebook. Failed runs come first and are marked. The page has no external
    resources, so it opens offline.
    """
    root = Path(root)
    if not root.is_dir():
        from kit.errors import KitError

        raise KitError(_("{root} is not a folder; give the folder that holds the run folders").format(root=root))
    runs = collect_runs(root)
    rows = []
    for run in runs:
        rel = Path(os.path.relpath(run["_dir"], root)).as_posix()
        ok = run.get("status") == "ok"
        overrides = run.get("overrides") or []
        params = run.get("parameters", {})
        shown = {k: params[k] for k in overrides if k in params and k != "output_dir"}
        param_text = ", ".join(f"{k}={v!r}" for k, v in shown.items()) or _("defaults")
        metrics = list(run["_metrics"].items())[:_MAX_METRICS]
        metric_text = "<br>".join(f"{html.escape(k)} = {html.escape(_fmt(v))}" for k, v in metrics)
        err = run.get("error") or {}
        err_text = f'<div class="err">{html.escape(err.get("type", ""))}: {html.escape(err.get("message", ""))}</div>' if err else ""
        # the words outside the f-strings: Babel's extractor does not read inside them
        report_word, notebook_word, reused_word = _("report"), _("notebook"), _("reused")
        links = [f'<a href="{html.escape(rel)}/report.html">{report_word}</a>'] if (run["_dir"] / "report.html").exists() else []
        if (run["_dir"] / "notebook.ipynb").exists():
            links.append(f'<a href="{html.escape(rel)}/notebook.ipynb">{notebook_word}</a>')
        duration = run.get("duration_s")
        duration_text = "" if duration is None else (f"{duration:.1f} s" if get_lang() == "en" else format_quantity(duration, "s", 1))
        status = run.get("status", "?")
        status_text = _(_STATUS[status]) if status in _STATUS else status
        rows.append(
            f'<tr class="{"ok" if ok else "failed"}"><td>{html.escape(run.get("notebook", "?"))}<br><code>{html.escape(rel)}</code></td>'
            f'<td class="status {"ok" if ok else "bad"}">{html.escape(status_text)}'
            f'{" (" + reused_word + ")" if run.get("reused_from") else ""}{err_text}</td>'
            f"<td><code>{html.escape(param_text)}</code></td>"
            f"<td>{duration_text}</td>"
            f"<td>{metric_text}</td><td>{html.escape(_started(run.get('start', '')))}</td><td>{' · '.join(links)}</td></tr>"
        )
    failed = sum(r.get("status") != "ok" for r in runs)
    title = title or _("Reports in {folder}").format(folder=root.name)
    runs_text = ngettext("{n} run", "{n} runs", len(runs)).format(n=len(runs))
    summary = _("{runs}, {failed} failed").format(runs=runs_text, failed=failed) if failed else _("{runs}, all ok").format(runs=runs_text)
    heads = "".join(f"<th>{html.escape(h)}</th>" for h in (
        _("notebook"), _("status"), _("parameters"), _("duration"), _("key metrics"), _("started (UTC)"), _("links")))
    page = (
        f"<!doctype html><html lang='{get_lang()}'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1><p>{summary}</p>"
        f"<table><tr>{heads}</tr>{''.join(rows)}</table></body></html>"
    )
    target = root / "index.html"
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target
