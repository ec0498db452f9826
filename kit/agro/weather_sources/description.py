"""What every converter hands back besides the table: the contract's column order and the description of the conversion."""
from __future__ import annotations

import pandas as pd

#: Columns of the kit's weather contract (:mod:`kit.agro.weather`), in the order a converted table has them.
CONTRACT_COLUMNS = (
    "date", "tmin_c", "tmax_c", "rh_min_pct", "rh_max_pct", "rh_mean_pct", "tdew_c", "wind_ms", "wind_height_m",
    "rs_mj_m2", "sunshine_h", "rain_mm", "rain_forecast_mm", "lat_deg", "elevation_m",
)

__all__ = ["CONTRACT_COLUMNS", "contract_table", "conversion_summary", "new_description"]


def new_description(fmt: str, source: str, path) -> dict:
    """The description a converter fills in.

    Keys: ``format`` (what :func:`~kit.agro.weather_sources.sniff_weather_format`
    said), ``source`` (the product, in words), ``file``, ``site`` (latitude,
    longitude, elevation and where each came from), ``variables`` (contract
    column → what it was made from), ``units_converted`` (source variable →
    conversion), ``fill_values_replaced`` (source variable → how many values
    became missing), ``days`` (days in the table), ``days_dropped`` (ISO
    dates left out, and why, in ``notes``), ``hours_per_day`` (hourly sources:
    how many days had 23, 24 or 25 hours), ``clock_change_days`` (ISO date →
    hours, the days of 23 or 25), ``time_dim`` (ERA5: ``valid_time`` of the
    new CDS or ``time`` of the old) and ``notes`` (sentences).
    """
    return {
        "format": fmt, "source": source, "file": str(path), "site": {}, "variables": {}, "units_converted": {},
        "fill_values_replaced": {}, "days": 0, "days_dropped": [], "hours_per_day": None, "clock_change_days": {},
        "time_dim": None, "notes": [],
    }


def contract_table(columns: dict, dates) -> pd.DataFrame:
    """A table of the contract's columns (those given), ``date`` first, in the contract's order.

    Parameters
    ----------
    columns : dict
        Contract column name → values (array or scalar), one per day.
    dates : array of datetime64
        The days, midnight.
    """
    table = pd.DataFrame({"date": pd.DatetimeIndex(dates).normalize()})
    for name in CONTRACT_COLUMNS[1:]:
        if name in columns and columns[name] is not None:
            table[name] = columns[name]
    return table


def conversion_summary(info: dict) -> str:
    """One line saying what a conversion did, for a report.

    >>> conversion_summary({"source": "NASA POWER daily", "days": 3, "units_converted": {"T2M": "°C"},
    ...                     "fill_values_replaced": {"RH2M": 1}, "days_dropped": []})
    'NASA POWER daily: 3 days; units converted: T2M (°C); fill values made missing: RH2M 1'
    """
    parts = [f"{info.get('source', 'converted')}: {info.get('days', 0)} days"]
    if info.get("units_converted"):
        parts.append("units converted: " + ", ".join(f"{k} ({v})" for k, v in info["units_converted"].items()))
    filled = {k: n for k, n in (info.get("fill_values_replaced") or {}).items() if n}
    if filled:
        parts.append("fill values made missing: " + ", ".join(f"{k} {n}" for k, n in filled.items()))
    if info.get("days_dropped"):
        parts.append(f"{len(info['days_dropped'])} incomplete day(s) left out")
    return "; ".join(parts)
