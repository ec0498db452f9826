"""Weather of a grid run: one station's table, or a Dataset on the fields' grid, as per-pixel daily kernel inputs.

Gridded weather is an :class:`xarray.Dataset` (or NetCDF) with the weather
contract's variable names (:func:`kit.agro.read_weather`) and dims
``(time,)`` or ``(y, x, time)`` on the fields' grid; :func:`pixel_daily_weather`
computes ET0, wind at 2 m and RHmin pixel by pixel for one block of rows.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from kit.agro import fao56
from kit.agro.weather import read_weather
from kit.errors import InputDataError

_WEATHER_VARS = ("tmin_c", "tmax_c", "rh_min_pct", "rh_max_pct", "rh_mean_pct", "tdew_c", "wind_ms", "rs_mj_m2",
                 "sunshine_h", "rain_mm", "rain_forecast_mm")

__all__ = ["open_weather", "pixel_daily_weather"]


def open_weather(weather, lat_deg, elevation_m):
    """``(station table, None)`` for one station's weather, ``(None, Dataset)`` for gridded weather."""
    if isinstance(weather, xr.Dataset):
        return None, weather
    if isinstance(weather, (str, Path)) and Path(weather).suffix.lower() == ".nc":
        path = Path(weather)
        if not path.exists():
            raise InputDataError(f"weather file {path} does not exist; give a CSV or a NetCDF with the weather variables")
        return None, xr.open_dataset(path, chunks={})
    if isinstance(weather, pd.DataFrame) and "filled" in weather.columns:
        return weather, None
    return read_weather(weather, lat_deg, elevation_m), None


def pixel_daily_weather(wblk: xr.Dataset, iy, ix, times, lat, elev, krs, et0_method, dtype):
    """Per-pixel daily arrays (fields, days) and a block-mean weather table for the Kc climate adjustment."""
    missing = [v for v in ("tmin_c", "tmax_c") if v not in wblk]
    if missing:
        raise InputDataError(f"gridded weather has no variable {', '.join(missing)}; use the weather contract's names (tmin_c, tmax_c, ...)")
    n = len(iy)

    def pix(name):
        if name not in wblk:
            return None
        da = wblk[name].sel(time=times)
        if "y" in da.dims:
            values = np.asarray(da.transpose("y", "x", "time").values, dtype=dtype)[iy, ix]
        else:
            values = np.broadcast_to(np.asarray(da.values, dtype=dtype), (n, len(times)))
        return values

    arr = {name: pix(name) for name in _WEATHER_VARS}
    if np.any(arr["tmax_c"] < arr["tmin_c"]):
        raise InputDataError("gridded weather: tmax_c < tmin_c on some pixel and day; check for swapped variables")
    height = float(wblk.attrs.get("wind_height_m", 2.0))
    if "wind_height_m" in wblk:
        height = float(np.nanmean(np.asarray(wblk["wind_height_m"].values)))
    doy = np.asarray(times.day_of_year, dtype=dtype)
    lat_arr = np.asarray(lat, dtype=dtype).reshape(-1, 1) if np.ndim(lat) else float(lat)
    elev_arr = None if elev is None else (np.asarray(elev, dtype=dtype).reshape(-1, 1) if np.ndim(elev) else float(elev))
    opt = {k: arr[k] for k in ("rs_mj_m2", "sunshine_h", "tdew_c", "rh_min_pct", "rh_max_pct", "rh_mean_pct", "wind_ms") if arr[k] is not None}
    out = fao56.et0_kernel(arr["tmin_c"], arr["tmax_c"], doy, lat_arr, elev_arr, wind_height_m=height, krs=krs,
                           et0_method=et0_method, **opt)
    u2 = np.asarray(out["u2_ms"]) if et0_method != "hargreaves" else np.full((n, len(times)), fao56.DEFAULT_WIND_MS, dtype)
    ea = np.asarray(out["ea_kpa"])
    if et0_method == "hargreaves":
        ea, _ = fao56.actual_vapour_pressure_kpa(arr["tmin_c"], arr["tmax_c"])
    rhmin = 100.0 * ea / fao56.saturation_vapour_pressure_kpa(arr["tmax_c"])
    if arr["rh_min_pct"] is not None:
        rhmin = np.where(np.isnan(arr["rh_min_pct"]), rhmin, arr["rh_min_pct"])
    zeros = np.zeros((n, len(times)), dtype)
    daily = {
        "et0_mm": np.asarray(out["et0_mm"]), "rain_mm": zeros if arr["rain_mm"] is None else np.nan_to_num(arr["rain_mm"]),
        "forecast_mm": None if arr["rain_forecast_mm"] is None else arr["rain_forecast_mm"], "u2_ms": u2, "rh_min_pct": rhmin,
    }
    # Block-mean weather: the days of the record and the wind/RHmin of the Kc climate adjustment (eq. 62).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        wind = np.full(len(times), np.nan) if arr["wind_ms"] is None else np.nanmean(arr["wind_ms"], axis=0)
    mean = pd.DataFrame({"date": times.strftime("%Y-%m-%d"), "tmin_c": arr["tmin_c"].mean(0), "tmax_c": arr["tmax_c"].mean(0),
                         "rh_min_pct": rhmin.mean(0), "wind_ms": wind, "wind_height_m": height,
                         "rain_mm": daily["rain_mm"].mean(0)})
    return daily, mean
