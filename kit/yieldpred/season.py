"""The season calendar: a season is named by its harvest year and starts on ``season_start`` (MM-DD) of the year before.

A forecast is issued at a day of the season (day 0 is the first day); these
two functions turn a harvest year and a date into that calendar.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from kit.errors import ParameterError

__all__ = ["forecast_day", "season_start_date"]


def season_start_date(year: int, season_start: str = "09-01") -> pd.Timestamp:
    """First day of the season harvested in ``year`` (``season_start`` is MM-DD of the year before).

    >>> season_start_date(2024)
    Timestamp('2023-09-01 00:00:00')
    """
    try:
        month, day = (int(x) for x in season_start.split("-"))
        return pd.Timestamp(year - 1, month, day)
    except (ValueError, TypeError):
        raise ParameterError(f"season_start must be MM-DD (e.g. 09-01), got {season_start!r}") from None


def forecast_day(forecast_date, target_year: int, season_start: str = "09-01") -> int:
    """Day of the season of ``forecast_date`` (None: the end of the season), checked to fall inside it."""
    start = season_start_date(target_year, season_start)
    end = start + pd.DateOffset(years=1) - pd.Timedelta(days=1)
    if forecast_date is None:
        return int((end - start).days)
    d = pd.Timestamp(dt.date.fromisoformat(str(forecast_date)))
    if not start <= d <= end:
        raise ParameterError(
            f"forecast_date {d:%Y-%m-%d} is outside the {target_year} season ({start:%Y-%m-%d} to {end:%Y-%m-%d}); "
            "give a date in the target season or None for the end of the season"
        )
    return int((d - start).days)
