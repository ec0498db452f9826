"""The season calendar: a season is named by its harvest year and starts on ``season_start`` (MM-DD) of the year before.

A forecast is issued at a day of the season (day 0 is the first day); these
two functions turn a harvest year and a date into that calendar.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from kit.errors import ParameterError
from kit.i18n import _

__all__ = ["forecast_date_in_season", "forecast_day", "season_start_date"]


def season_start_date(year: int, season_start: str = "09-01") -> pd.Timestamp:
    """First day of the season harvested in ``year`` (``season_start`` is MM-DD of the year before).

    >>> season_start_date(2024)
    Timestamp('2023-09-01 00:00:00')
    """
    try:
        month, day = (int(x) for x in season_start.split("-"))
        return pd.Timestamp(year - 1, month, day)
    except (ValueError, TypeError):
        raise ParameterError(_("season_start must be MM-DD (e.g. 09-01), got {season_start!r}").format(
            season_start=season_start)) from None


def forecast_date_in_season(forecast_date, target_year: int, season_start: str = "09-01") -> pd.Timestamp:
    """The forecast date as a day: ``MM-DD`` is that day in the target season, a full date is taken as it is.

    Parameters
    ----------
    forecast_date : str, datetime.date or None
        ``MM-DD`` (the cut-off day within the season harvested in
        ``target_year``, so one value serves every year), ``YYYY-MM-DD``,
        or None for the last day of the season.
    target_year : int
        Harvest year of the season.
    season_start : str
        First day of a season, ``MM-DD`` of the year before the harvest.

    Examples
    --------
    >>> forecast_date_in_season("06-01", 2001)
    Timestamp('2001-06-01 00:00:00')
    >>> forecast_date_in_season("11-15", 2001)  # before the new year: the autumn of sowing
    Timestamp('2000-11-15 00:00:00')
    >>> forecast_date_in_season("02-29", 2024)  # a leap season
    Timestamp('2024-02-29 00:00:00')
    """
    start = season_start_date(target_year, season_start)
    end = start + pd.DateOffset(years=1) - pd.Timedelta(days=1)
    if forecast_date is None:
        return end
    text = forecast_date.isoformat() if isinstance(forecast_date, dt.date) else str(forecast_date).strip()
    if len(text) == 5 and text[2] == "-":
        try:
            month, day = int(text[:2]), int(text[3:])
            # Months from the season's start on fall in its first calendar year, the others in the harvest year.
            return pd.Timestamp(start.year if (month, day) >= (start.month, start.day) else start.year + 1, month, day)
        except ValueError:
            raise ParameterError(_("forecast_date {text!r} is not a day of the {year} season ({start} to {end}); write MM-DD "
                                   "(e.g. 06-01) or YYYY-MM-DD").format(text=text, year=target_year,
                                                                       start=f"{start:%Y-%m-%d}", end=f"{end:%Y-%m-%d}")) from None
    try:
        return pd.Timestamp(dt.date.fromisoformat(text))
    except ValueError:
        raise ParameterError(_("forecast_date {text!r} is not a date; write MM-DD (e.g. 06-01, that day in the "
                               "target season) or YYYY-MM-DD").format(text=text)) from None


def forecast_day(forecast_date, target_year: int, season_start: str = "09-01") -> int:
    """Day of the season of ``forecast_date`` (``MM-DD``, a full date, or None: the end of the season), checked to fall inside it.

    >>> forecast_day("06-01", 2024), forecast_day("2024-06-01", 2024)
    (274, 274)
    """
    start = season_start_date(target_year, season_start)
    end = start + pd.DateOffset(years=1) - pd.Timedelta(days=1)
    d = forecast_date_in_season(forecast_date, target_year, season_start)
    if not start <= d <= end:
        raise ParameterError(
            _("forecast_date {day} is outside the {year} season ({start} to {end}); give MM-DD (that day in the target "
              "season), a date in the target season, or None for the end of the season").format(
                day=f"{d:%Y-%m-%d}", year=target_year, start=f"{start:%Y-%m-%d}", end=f"{end:%Y-%m-%d}")
        )
    return int((d - start).days)
