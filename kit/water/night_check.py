"""Night check of an alarm: is more water flowing at night since it began than a week before?

A leak runs day and night, so the network's consumption in the night hours
rises by its flow; a day of unusual demand (a market, a heat wave, an
industrial draw moving the pressure pattern of a zone) raises the day and
leaves the night as it was. The check compares the lowest hourly net
consumption (:func:`~kit.water.nightflow.net_consumption_lps`) over the night
hours of the latest night (or the part of it) since the alarm's start with
that of the same local hours some days earlier (seven: the same weekday,
since nights before a weekend differ from the others). Local hours are read in the network's time zone, so a
daylight-saving or Ramadan clock change between the two weeks compares
wall-clock hours, not UTC ones.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.water.nightflow import night_mask

__all__ = ["latest_night_hours", "next_night_end", "night_excess_lps"]


def latest_night_hours(start, now, tz: str, night_hours=(1, 5), min_hours: int = 2) -> pd.DatetimeIndex:
    """Hour stamps (UTC) of the latest night, or its part, lying between ``start`` and ``now``.

    Parameters
    ----------
    start, now : Timestamp
        Tz-aware bounds, both included (``now`` is the hour being read).
    tz : str
        Local time zone of the network.
    night_hours : (int, int), h
        Local hours [start, end) that make the night; a night may span midnight.
    min_hours : int, h
        Fewest night hours inside the bounds for a night to count: a leak
        starting at 02:00 is tested on that night's hours from 02:00 on.

    Returns
    -------
    pandas.DatetimeIndex
        Hourly stamps, UTC; empty when no night has ``min_hours`` inside
        the bounds. A clock change inside the night gives it one hour fewer
        or more.

    Examples
    --------
    >>> t0 = pd.Timestamp("2024-05-06 12:00", tz="UTC")
    >>> h = latest_night_hours(t0, t0 + pd.Timedelta(hours=30), "UTC")
    >>> [str(x) for x in h[[0, -1]]]
    ['2024-05-07 01:00:00+00:00', '2024-05-07 04:00:00+00:00']
    >>> len(latest_night_hours(t0, t0 + pd.Timedelta(hours=13), "UTC"))
    0
    """
    hours = pd.date_range(pd.Timestamp(start).ceil("1h"), pd.Timestamp(now).floor("1h"), freq="1h")
    if len(hours) == 0:
        return pd.DatetimeIndex([], tz="UTC")
    night = night_mask(hours.tz_convert(tz), night_hours)
    runs = np.flatnonzero(np.diff(np.concatenate([[0], night.astype(int), [0]])))
    for a, b in reversed(list(zip(runs[::2], runs[1::2]))):
        if b - a >= min_hours:
            return hours[a:b].tz_convert("UTC")
    return pd.DatetimeIndex([], tz="UTC")


def next_night_end(now, tz: str, night_hours=(1, 5)) -> pd.Timestamp:
    """Stamp (UTC) of the last hour of the next night after ``now``: when that night can be read.

    Examples
    --------
    >>> str(next_night_end(pd.Timestamp("2024-05-06 12:00", tz="UTC"), "Africa/Casablanca"))
    '2024-05-07 03:00:00+00:00'
    """
    hours = pd.date_range(pd.Timestamp(now).floor("1h") + pd.Timedelta(hours=1), periods=49, freq="1h")
    local = hours.tz_convert(tz)
    last = (night_hours[1] - 1) % 24
    hit = np.flatnonzero(np.asarray(local.hour == last))
    return hours[hit[0]].tz_convert("UTC") if len(hit) else hours[-1].tz_convert("UTC")


def night_excess_lps(consumption_lps: pd.Series, night: pd.DatetimeIndex, tz: str, lag_days: int = 7,
                     min_share: float = 0.5, how: str = "min") -> float:
    """Lowest (or mean) consumption over ``night`` minus that of the same local hours ``lag_days`` earlier, L/s.

    Parameters
    ----------
    consumption_lps : pandas.Series, L/s
        Hourly net consumption, UTC index.
    night : pandas.DatetimeIndex
        Hour stamps of the night to test (:func:`latest_night_hours`).
    tz : str
        Local time zone: the earlier hours are the same wall-clock hours.
    lag_days : int, days
        How far back the reference night lies.
    min_share : float
        Share of each night's hours that must have a reading.
    how : {"min", "mean"}
        Compare the nights' lowest hourly flows (the minimum night flow,
        where consumers draw least and a leak stands out most) or their means.
        Demand still falls steeply in the first night hours, so the mean moves
        with any shift of the demand pattern; the minimum hardly does.

    Returns
    -------
    float, L/s
        NaN when either night has too few readings (gaps, the record's start).

    Examples
    --------
    >>> idx = pd.date_range("2024-05-01", periods=24 * 10, freq="1h", tz="UTC")
    >>> q = pd.Series(10.0, index=idx).where(idx < pd.Timestamp("2024-05-08", tz="UTC"), 13.0)
    >>> night = latest_night_hours(idx[0] + pd.Timedelta(days=8), idx[-1], "UTC")
    >>> round(night_excess_lps(q, night, "UTC"), 2)
    3.0
    """
    if how not in ("min", "mean"):
        raise ValueError(f"how must be 'min' or 'mean', got {how!r}")
    if len(night) == 0:
        return float("nan")
    wall = night.tz_convert(tz).tz_localize(None) - pd.Timedelta(days=lag_days)
    # A wall-clock hour the earlier week skipped or repeated has no single reading: left out.
    before = wall.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dropna().tz_convert("UTC")
    now_q = consumption_lps.reindex(night).dropna()
    then_q = consumption_lps.reindex(before).dropna()
    need = max(1, int(np.ceil(min_share * len(night))))
    if len(now_q) < need or len(then_q) < need:
        return float("nan")
    return float(getattr(now_q, how)() - getattr(then_q, how)())
