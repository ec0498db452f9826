"""``kit demo``: every notebook at its defaults into one folder, an index, and a summary.

What ``make demo`` runs. Each notebook gets its own kernel and run folder
(as with ``kit run``); a failed notebook does not stop the others; the
summary says, one line each, what ran, how long it took and where its report
is, so nobody has to scroll back through progress bars to find a failure.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from kit import i18n, notebooks, runner
from kit.errors import KitError
from kit.i18n import _
from kit.params import LANG
from kit.index import write_index


@dataclass(frozen=True)
class DemoRun:
    """One notebook of the demo: ``status`` is ``ok``, ``failed`` or ``refused`` (bad input, never started)."""

    name: str
    status: str
    seconds: float
    report: Path | None
    error: str = ""


def run_demo(out, *, names=None, title=None, progress=True, lang=None):
    """Run ``names`` (default: every notebook) into ``out/NAME`` and index them.

    ``lang`` (``en`` or ``fr``; ``make demo LANG_REPORTS=fr``) is every
    report's language and the index's; None is English.

    Returns
    -------
    (runs, index_path, total_s) : tuple
        ``runs`` is a list of :class:`DemoRun` in notebook order.
    """
    lang = LANG.check(lang or LANG.default)  # before anything is written
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    names = names or [notebooks.inspect(p).name for p in notebooks.list_notebooks()]
    t0 = time.perf_counter()
    runs = [_run_one(name, out / name, progress, lang) for name in names]
    with i18n.using(lang):
        index = Path(write_index(out, title=title or _("sector-kit demo reports")))
    return runs, index, time.perf_counter() - t0


def _run_one(name: str, folder: Path, progress: bool, lang: str = "en") -> DemoRun:
    print(f"== {name}", flush=True)
    t0 = time.perf_counter()
    try:
        plan = runner.plan(name, [("lang", lang)] if lang != LANG.default else (), None, folder)
    except KitError as exc:
        return DemoRun(name, "refused", time.perf_counter() - t0, None, str(exc))
    manifest = runner.execute(plan, progress=progress)
    error = manifest.get("error") or {}
    message = f"{error.get('type')}: {error.get('message')}" if error else ""
    return DemoRun(name, manifest["status"], manifest["duration_s"], plan.out / runner.REPORT_FILE, message)


def format_duration(seconds: float) -> str:
    """``7 min 17 s`` or ``42.0 s``.

    Examples
    --------
    >>> format_duration(437.2), format_duration(4.04)
    ('7 min 17 s', '4.0 s')
    """
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s"


def summary_lines(runs, index: Path, total_s: float) -> list[str]:
    """The closing summary: a line per notebook, then the totals and the index."""
    width = max(len(r.name) for r in runs)
    lines = ["", "demo summary"]
    for r in runs:
        where = str(r.report) if r.report is not None else "(no report)"
        lines.append(f"  {r.status:<7} {r.name:<{width}}  {r.seconds:7.1f} s  {where}")
        if r.error:
            lines.append(f"          {r.error}")
    failed = sum(r.status != "ok" for r in runs)
    lines.append(f"{len(runs)} notebooks, {len(runs) - failed} ok, {failed} failed in {format_duration(total_s)}")
    lines.append(f"index: {index}")
    return lines
