"""Turn a pipeline's cron schedule into a crontab line or a systemd service and timer."""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

from kit.i18n import _
from kit.pipeline.spec import Pipeline, SpecError

_DOW = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _command(pipeline: Pipeline) -> str:
    kit = Path(sys.executable).with_name("kit")
    return f"{shlex.quote(str(kit))} pipeline run {shlex.quote(str(pipeline.source))}"


def crontab_line(pipeline: Pipeline, workdir=None) -> str:
    """A crontab line that runs the pipeline from ``workdir`` and logs to ``<output>/cron.log``.

    Examples
    --------
    ``0 5 * * 1 cd /srv/kit && /srv/kit/.venv/bin/kit pipeline run pipelines/weekly.yaml >> ... 2>&1``
    """
    if not pipeline.schedule:
        raise SpecError(_("pipeline {name!r} has no schedule; add schedule: '0 5 * * 1' (cron)").format(name=pipeline.name))
    workdir = Path(workdir or Path.cwd())
    log = pipeline.output / "cron.log"
    return f"{pipeline.schedule} cd {shlex.quote(str(workdir))} && {_command(pipeline)} >> {shlex.quote(str(log))} 2>&1"


def _field(expr: str, kind: str) -> str:
    """One cron field in systemd OnCalendar syntax."""
    if expr == "*":
        return "*"
    parts = []
    for part in expr.split(","):
        step = None
        if "/" in part:
            part, step = part.split("/")
        if part == "*":
            start, end = None, None
        elif "-" in part:
            start, end = part.split("-")
        else:
            start, end = part, None
        if kind == "dow":
            if step:
                raise SpecError(_("day-of-week steps ({expr}) have no systemd equivalent; list the days instead").format(expr=expr))
            if start is None:
                return "*"
            names = _DOW[int(start)] + (f"..{_DOW[int(end)]}" if end else "")
            parts.append(names)
            continue
        width = 2
        text = f"{int(start):0{width}d}" if start is not None else ("00" if kind in ("minute", "hour") else "01" if kind in ("dom", "month") else "*")
        if end is not None:
            text += f"..{int(end):0{width}d}"
        if step:
            text += f"/{int(step)}"
        parts.append(text)
    return ",".join(parts)


def on_calendar(cron: str) -> str:
    """Convert a five-field cron expression to systemd's ``OnCalendar=``.

    Examples
    --------
    >>> on_calendar("0 5 * * 1")
    'Mon *-*-* 05:00:00'
    >>> on_calendar("*/15 * * * *")
    '*-*-* *:00/15:00'
    """
    minute, hour, dom, month, dow = cron.split()
    day = "" if dow == "*" else _field(dow, "dow") + " "
    return f"{day}*-{_field(month, 'month')}-{_field(dom, 'dom')} {_field(hour, 'hour')}:{_field(minute, 'minute')}:00"


def systemd_units(pipeline: Pipeline, workdir=None) -> tuple[str, str]:
    """``(service, timer)`` unit files for the pipeline."""
    if not pipeline.schedule:
        raise SpecError(_("pipeline {name!r} has no schedule; add schedule: '0 5 * * 1' (cron)").format(name=pipeline.name))
    workdir = Path(workdir or Path.cwd())
    service = (
        f"[Unit]\nDescription=sector-kit pipeline {pipeline.name}\n\n"
        f"[Service]\nType=oneshot\nWorkingDirectory={workdir}\nExecStart={_command(pipeline)}\n"
    )
    timer = (
        f"[Unit]\nDescription=Schedule of sector-kit pipeline {pipeline.name}\n\n"
        f"[Timer]\nOnCalendar={on_calendar(pipeline.schedule)}\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n"
    )
    return service, timer
