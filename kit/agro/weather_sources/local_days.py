"""Hourly reanalysis weather to local days (with their 23 or 25 hours at clock changes), and the cell nearest a site.

An hour belongs to the local day of its valid time for instantaneous
variables (temperature, dew point, wind), and to the local day in which
its hour *began* for amounts (radiation, rain: the amount at 00:00 local is
the last hour of the day before). Local time is the tz database's, so
Morocco's UTC+1 with its return to UTC+0 during Ramadan gives days of 25
and 23 hours. A day is kept when every variable has every one of its
hours in every cell that has data (sea cells of ERA5-Land have none);
the first and last local days of a UTC download are usually short and
dropped.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from kit.errors import InputDataError
from kit.i18n import _

#: Morocco's clock: UTC+1, UTC+0 during Ramadan (tz database).
DEFAULT_TZ = "Africa/Casablanca"
_HOUR = pd.Timedelta(hours=1)
_INSTANT = {"t_c": ("tmin_c", "tmax_c"), "tdew_c": ("tdew_c",), "rh_pct": ("rh_min_pct", "rh_max_pct", "rh_mean_pct"),
            "wind_ms": ("wind_ms",)}
_AMOUNTS = ("rs_mj_m2", "rain_mm")

__all__ = ["DEFAULT_TZ", "daily_from_hourly", "hours_in_local_days", "nearest_cell"]


def hours_in_local_days(days, tz: str) -> np.ndarray:
    """Hours in each local day (24, or 23/25 on a clock change) of ``days`` (dates) in time zone ``tz``."""
    days = pd.DatetimeIndex(days).normalize()
    start = days.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    end = (days + pd.Timedelta(days=1)).tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return np.asarray((end - start) / _HOUR, dtype=int)


def _local_days(times, tz: str):
    """Local day of each valid time, and of each hour that ends at it (for amounts)."""
    try:
        utc = pd.DatetimeIndex(times).tz_localize("UTC")
        local, began = utc.tz_convert(tz), (utc - _HOUR).tz_convert(tz)
    except Exception as exc:  # an unknown zone name: pytz, zoneinfo and dateutil raise different types
        raise InputDataError(_("tz={tz!r} is not a time zone of the tz database ({error}); e.g. 'Africa/Casablanca'").format(
            tz=tz, error=exc)) from None
    return local.tz_localize(None).normalize(), began.tz_localize(None).normalize()


def daily_from_hourly(hourly: xr.Dataset, tz: str, info: dict) -> xr.Dataset:
    """Daily contract variables (dims ``time`` = local days, ``latitude``, ``longitude``) from hourly weather.

    Parameters
    ----------
    hourly : xarray.Dataset
        From :func:`kit.agro.weather_sources.era5.hourly_weather`: ``t_c``
        and optionally ``tdew_c``, ``rh_pct``, ``wind_ms`` (instantaneous),
        ``rs_mj_m2``, ``rain_mm`` (each hour's amount), ``elevation_m``.
    tz : str
        Time zone of the days (tz database name).
    info : dict
        The conversion's description; gets ``days``, ``days_dropped``,
        ``hours_per_day``, ``clock_change_days`` and notes.

    Returns
    -------
    xarray.Dataset
        ``tmin_c``, ``tmax_c`` (hourly extremes), ``tdew_c`` (mean),
        ``rh_min_pct``, ``rh_max_pct``, ``rh_mean_pct``, ``wind_ms`` (mean
        of the hourly speed), ``rs_mj_m2``, ``rain_mm`` (sums), and
        ``elevation_m`` when the hours had it.
    """
    day_of, began_on = _local_days(hourly["time"].values, tz)
    days = pd.DatetimeIndex(np.unique(day_of))
    expected = xr.DataArray(hours_in_local_days(days, tz), dims="time", coords={"time": days})
    has_data = hourly["t_c"].notnull().any("time")
    out, complete = {}, expected > 0
    for name, labels in [(n, day_of) for n in _INSTANT] + [(n, began_on) for n in _AMOUNTS]:
        if name not in hourly:
            continue
        da = hourly[name]
        groups = da.groupby(xr.DataArray(labels, dims="time", coords={"time": da["time"]}, name="day"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN groups: sea cells, short edge days
            stats = _day_statistics(name, groups)
        count = groups.count().rename(day="time").reindex(time=days, fill_value=0)
        complete = complete & ((count == expected) | ~has_data)
        out.update({k: v.rename(day="time").reindex(time=days) for k, v in stats.items()})
    keep = complete.all([d for d in complete.dims if d != "time"]).values
    _describe_days(days, expected.values, keep, info)
    daily = xr.Dataset(out).isel(time=np.flatnonzero(keep))
    if "elevation_m" in hourly:
        daily["elevation_m"] = hourly["elevation_m"]
    return daily


def _day_statistics(name: str, groups) -> dict:
    if name == "t_c":
        return {"tmin_c": groups.min(), "tmax_c": groups.max()}
    if name == "rh_pct":
        return {"rh_min_pct": groups.min(), "rh_max_pct": groups.max(), "rh_mean_pct": groups.mean()}
    if name in _AMOUNTS:
        return {name: groups.sum(min_count=1)}
    return {name: groups.mean()}


def _describe_days(days: pd.DatetimeIndex, hours: np.ndarray, keep: np.ndarray, info: dict) -> None:
    if not keep.any():
        raise InputDataError(_("{file}: no complete local day (every hour of 00:00-24:00 local time); "
                               "download whole days with one more hour on each side").format(file=info["file"]))
    info["days"] = int(keep.sum())
    info["days_dropped"] = days[~keep].strftime("%Y-%m-%d").tolist()
    if (~keep).any():
        info["notes"].append(f"{int((~keep).sum())} local day(s) without all their hours dropped "
                             "(the file's hours are UTC: its first and last local days are short)")
    kept_hours = pd.Series(hours[keep], index=days[keep].strftime("%Y-%m-%d"))
    info["hours_per_day"] = {int(h): int(n) for h, n in kept_hours.value_counts().sort_index().items()}
    info["clock_change_days"] = kept_hours[kept_hours != 24].to_dict()


def nearest_cell(ds: xr.Dataset, lat_deg, lon_deg, info: dict) -> xr.Dataset:
    """The grid cell nearest the site (the nearest holding data, if that one is sea), dims kept at size 1.

    Without ``lat_deg``/``lon_deg`` the file must hold one cell. A site
    farther than one and a half grid steps from every cell is outside the
    file's area: :class:`~kit.errors.InputDataError`.
    """
    lats, lons = np.asarray(ds["latitude"].values, float), np.asarray(ds["longitude"].values, float)
    if lat_deg is None or lon_deg is None:
        if lats.size == 1 and lons.size == 1:
            return _cell(ds, 0, 0, lat_deg, lon_deg, info)
        raise InputDataError(_("{file} holds {n_lat} x {n_lon} cells; give lat_deg and lon_deg of the site (or use "
                               "convert_weather_grid for every cell)").format(file=info["file"], n_lat=lats.size,
                                                                              n_lon=lons.size))
    step = max([np.median(np.abs(np.diff(a))) for a in (lats, lons) if a.size > 1] or [0.25])
    lon = float(lon_deg) - 360.0 if float(lon_deg) > 180.0 else float(lon_deg)
    dist = np.hypot(lats[:, None] - float(lat_deg), (lons[None, :] - lon) * np.cos(np.radians(float(lat_deg))))
    i, j = np.unravel_index(np.argmin(dist), dist.shape)
    if dist[i, j] > 1.5 * step:
        raise InputDataError(_("{file}: site {lat}°N {lon}°E is outside the file's area (latitudes {lat_min}..{lat_max}, "
                               "longitudes {lon_min}..{lon_max})").format(
            file=info["file"], lat=lat_deg, lon=lon_deg, lat_min=f"{lats.min():g}", lat_max=f"{lats.max():g}",
            lon_min=f"{lons.min():g}", lon_max=f"{lons.max():g}"))
    if not bool(ds["t2m"].isel(latitude=i, longitude=j).notnull().any()):
        has = ds["t2m"].notnull().any("time").transpose("latitude", "longitude").values
        if not has.any():
            raise InputDataError(_("{file}: t2m has no value in any cell").format(file=info["file"]))
        i, j = np.unravel_index(np.argmin(np.where(has, dist, np.inf)), dist.shape)
        info["notes"].append("the nearest cell has no data (sea in ERA5-Land): the nearest cell with data is used")
    return _cell(ds, i, j, lat_deg, lon_deg, info)


def _cell(ds: xr.Dataset, i: int, j: int, lat_deg, lon_deg, info: dict) -> xr.Dataset:
    cell_lat, cell_lon = float(ds["latitude"].values[i]), float(ds["longitude"].values[j])
    info["site"].update({"lat_deg": cell_lat if lat_deg is None else float(lat_deg),
                         "lon_deg": cell_lon if lon_deg is None else float(lon_deg),
                         "cell_lat_deg": cell_lat, "cell_lon_deg": cell_lon,
                         "lat_from": "cell" if lat_deg is None else "argument"})
    return ds.isel(latitude=[i], longitude=[j])
