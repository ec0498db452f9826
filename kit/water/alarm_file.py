"""Alarms handed in as a CSV file (``alarm_id, detected_at, candidates``), checked row by row.

``detected_at`` is an ISO 8601 time (a time without an offset is in the
network's local time zone) inside a test period; ``candidates`` are the
junction ids where a crew should search, separated by ``;``, best first.
This is what :func:`kit.water.score_alarms` scores.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from kit.errors import InputDataError
from kit.submissions import read_csv_submission, require_columns

#: Columns of an alarm file (``alarm_id`` optional: ``A1, A2, ...`` by row when absent).
ALARM_FILE_COLUMNS = ("alarm_id", "detected_at", "candidates")

__all__ = ["ALARM_FILE_COLUMNS", "read_alarm_file"]


def read_alarm_file(path, *, junctions, period_start: pd.Timestamp, period_end: pd.Timestamp, tz: str) -> pd.DataFrame:
    """The alarms of a file (``alarm_id, detected_at`` UTC, ``candidates``), or InputDataError on the first bad row.

    Parameters
    ----------
    path : str or Path
        CSV with columns ``detected_at, candidates`` and optionally ``alarm_id``.
    junctions : collection of str
        Junction ids of the network; any other candidate is refused.
    period_start, period_end : pandas.Timestamp
        Time-zone-aware bounds (inclusive) an alarm must fall in.
    tz : str
        Time zone of times written without an offset, e.g. ``"Africa/Casablanca"``.
    """
    name = Path(path).name
    sub = read_csv_submission(path)
    require_columns(sub, name, ("detected_at", "candidates"))
    times, cands = [], []
    for k, (when, cand) in enumerate(zip(sub["detected_at"], sub["candidates"])):
        row = k + 2
        try:
            t = pd.Timestamp(str(when))
        except (ValueError, TypeError):
            raise InputDataError(f"{name}: row {row}: detected_at {when!r} is not a date-time "
                                 "(write ISO 8601, e.g. 2024-03-12T04:00:00+01:00)") from None
        if pd.isna(t):
            raise InputDataError(f"{name}: row {row}: detected_at is empty")
        t = t.tz_localize(tz) if t.tzinfo is None else t
        if not period_start <= t <= period_end:
            raise InputDataError(f"{name}: row {row}: detected_at {when} is outside the test period "
                                 f"({period_start.isoformat()} to {period_end.isoformat()})")
        nodes = [] if pd.isna(cand) else [c.strip() for c in str(cand).split(";") if c.strip()]
        unknown = [c for c in nodes if c not in junctions]
        if unknown:
            raise InputDataError(f"{name}: row {row}: candidate {unknown[0]!r} is not a junction of the network")
        times.append(t.tz_convert("UTC"))
        cands.append(";".join(nodes))
    ids = sub["alarm_id"].astype(str) if "alarm_id" in sub else pd.Series([f"A{k + 1}" for k in range(len(sub))])
    return pd.DataFrame({"alarm_id": ids.to_numpy(), "detected_at": pd.DatetimeIndex(times, tz="UTC"),
                         "candidates": cands})
