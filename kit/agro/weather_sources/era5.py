"""ERA5 / ERA5-Land NetCDF from the Copernicus Climate Data Store, read into hourly weather in the kit's units.

Layouts read (short names as the CDS writes them):

- **New CDS** (since 2024): dims ``valid_time`` (int64 seconds since 1970),
  ``latitude`` (decreasing), ``longitude``; scalar coordinate ``number``,
  string coordinate ``expver(valid_time)``; float32 variables with
  ``GRIB_*`` attributes. ERA5 single levels arrive as a zip of
  ``data_stream-oper_stepType-instant.nc`` and ``...-accum.nc``.
- **Old CDS**: dims ``time`` (hours since 1900-01-01), ``latitude``,
  ``longitude``, packed int16 variables (``scale_factor``, ``add_offset``),
  and an ``expver`` dimension (1 = ERA5, 5 = ERA5T) where a request spans
  both; each hour is taken from whichever holds it.

Variables: ``t2m``, ``d2m`` (K), ``u10``, ``v10`` (m s**-1, wind at 10 m),
``ssrd`` (J m**-2), ``tp`` (m), optionally ``z`` (geopotential, m**2 s**-2,
for the elevation). Accumulations differ by product: **ERA5** hourly
``ssrd``/``tp`` are over the hour ending at the valid time; **ERA5-Land**
accumulates from 00 UTC, so the value at 01 UTC is the first hour and the
value at 00 UTC the whole previous day. :func:`accumulation_kind` tells
them apart from the values (an hourly ``ssrd`` falls during the afternoon,
a running total never does) or, failing that, from the grid (0.1° is
ERA5-Land, 0.25° ERA5). Daily-statistics downloads are refused: they store
one statistic per file under the same name (``t2m``), so a daily minimum
cannot be told from a maximum.
"""
from __future__ import annotations

import contextlib
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from kit.agro import fao56
from kit.errors import InputDataError
from kit.i18n import _

#: Unit spellings → (scale, offset) to the kit's unit, per kind of variable.
UNITS = {
    "temperature": {"K": (1.0, -273.15), "degC": (1.0, 0.0), "C": (1.0, 0.0), "°C": (1.0, 0.0)},
    "wind": {"m s**-1": (1.0, 0.0), "m s-1": (1.0, 0.0), "m/s": (1.0, 0.0)},
    "energy": {"J m**-2": (1e-6, 0.0), "J m-2": (1e-6, 0.0), "J/m2": (1e-6, 0.0), "J/m^2": (1e-6, 0.0)},
    "depth": {"m": (1000.0, 0.0), "m of water equivalent": (1000.0, 0.0), "mm": (1.0, 0.0)},
    "geopotential": {"m**2 s**-2": (1 / 9.80665, 0.0), "m2 s-2": (1 / 9.80665, 0.0)},
}
#: CDS short name → kind of unit.
VARIABLES = {"t2m": "temperature", "d2m": "temperature", "u10": "wind", "v10": "wind", "ssrd": "energy", "tp": "depth",
             "z": "geopotential"}
ACCUMULATIONS = ("auto", "hourly", "since_00utc")
_HOUR = pd.Timedelta(hours=1)

__all__ = ["ACCUMULATIONS", "UNITS", "VARIABLES", "accumulation_kind", "hourly_amounts", "hourly_weather", "open_cds"]


@contextlib.contextmanager
def open_cds(path, info: dict):
    """Open a CDS NetCDF (or zip of NetCDFs) as one hourly Dataset, dims ``time`` (UTC), ``latitude``, ``longitude``.

    The Dataset stays lazy and the files open until the ``with`` block ends.
    ``info`` gets ``time_dim`` (the file's name for it) and notes on
    ``expver`` and ``number``.
    """
    path = Path(path)
    with contextlib.ExitStack() as stack:
        files = [path]
        if zipfile.is_zipfile(path):
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kit-cds-")))
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.lower().endswith(".nc")]
                files = [tmp / f"{i}-{Path(n).name}" for i, n in enumerate(names)]  # flat: no path from the archive
                for name, target in zip(names, files):
                    target.write_bytes(zf.read(name))
            info["notes"].append(f"zip of {len(names)} NetCDF file(s): {', '.join(Path(n).name for n in names)}")
        parts = [_normalise(stack.enter_context(xr.open_dataset(f)), f, info) for f in files]
        ds = parts[0] if len(parts) == 1 else xr.merge(parts, join="outer", compat="override", combine_attrs="drop_conflicts")
        yield _hourly_axis(ds.sortby("time"), path)


def _normalise(ds: xr.Dataset, path: Path, info: dict) -> xr.Dataset:
    """One CDS file in the common layout: ``time``, ``latitude``, ``longitude`` (-180..180, sorted), no expver/number."""
    if "valid_time" in ds.dims or ("valid_time" in ds.coords and "time" not in ds.dims):
        ds = ds.drop_vars("time", errors="ignore").rename({"valid_time": "time"})
        info["time_dim"] = "valid_time"
    elif "time" in ds.dims:
        info["time_dim"] = info.get("time_dim") or "time"
    else:
        raise InputDataError(_("{path}: no valid_time or time dimension; download ERA5 hourly data as NetCDF from the CDS")
                             .format(path=path))
    if "step" in ds.dims:
        raise InputDataError(_("{path}: forecast layout (a step dimension); download the reanalysis, not forecasts").format(
            path=path))
    if "expver" in ds.dims:
        # Old CDS: ERA5 (1) and ERA5T (5) side by side, each NaN where the other holds the hour.
        merged = ds.isel(expver=0)
        for k in range(1, ds.sizes["expver"]):
            merged = merged.combine_first(ds.isel(expver=k))
        ds = merged
        info["notes"].append("expver dimension (ERA5 + ERA5T) combined: each hour from the version that holds it")
    if "number" in ds.dims:
        if ds.sizes["number"] > 1:
            raise InputDataError(_("{path}: {n} ensemble members; download the reanalysis (one member)").format(
                path=path, n=ds.sizes["number"]))
        ds = ds.isel(number=0)
    ds = ds.drop_vars([c for c in ("number", "expver", "surface") if c in ds.coords])
    ds = ds.rename({k: v for k, v in (("lat", "latitude"), ("lon", "longitude")) if k in ds.variables})
    for axis in ("latitude", "longitude"):
        if axis not in ds.variables:
            raise InputDataError(_("{path}: no {axis} coordinate; download ERA5 on its regular lat/lon grid").format(
                path=path, axis=axis))
        if axis not in ds.dims:
            ds = ds.expand_dims(axis)  # a CDS time series of one point
    if bool((ds["longitude"] > 180.0).any()):  # 0..360 grids of older requests
        ds = ds.assign_coords(longitude=xr.where(ds["longitude"] > 180.0, ds["longitude"] - 360.0, ds["longitude"]))
    return ds.sortby(["latitude", "longitude"])


def _hourly_axis(ds: xr.Dataset, path: Path) -> xr.Dataset:
    times = pd.DatetimeIndex(ds["time"].values)
    if len(times) < 2:
        raise InputDataError(_("{path}: {n} time step; download at least one whole day of hourly data").format(
            path=path, n=len(times)))
    step = pd.Series(times[1:] - times[:-1]).median()
    if step >= pd.Timedelta(days=1):
        raise InputDataError(_("{path}: one value per day (a CDS daily-statistics download holds one statistic "
                               "per file under the same name, so tmin and tmax cannot be told apart); download hourly "
                               "data (reanalysis-era5-land or reanalysis-era5-single-levels)").format(path=path))
    if step != _HOUR:
        raise InputDataError(_("{path}: time step {step}; download every hour (00:00 to 23:00)").format(path=path, step=step))
    full = pd.date_range(times[0], times[-1], freq="h")
    return ds if len(full) == len(times) else ds.reindex(time=full)


def _convert(da: xr.DataArray, name: str, info: dict) -> xr.DataArray:
    """One CDS variable in the kit's unit, honouring its ``units`` attribute."""
    kind = VARIABLES[name]
    unit = da.attrs.get("units")
    if unit is None:
        unit = next(iter(UNITS[kind]))
        info["notes"].append(f"{name} has no units attribute; read as {unit} (the CDS unit)")
    if unit not in UNITS[kind]:
        raise InputDataError(_("{file}: {name} is in {unit!r}; expected {units}").format(
            file=info["file"], name=name, unit=unit, units=" or ".join(UNITS[kind])))
    scale, offset = UNITS[kind][unit]
    if (scale, offset) != (1.0, 0.0):
        target = {"temperature": "°C", "energy": "MJ m-2", "depth": "mm", "geopotential": "m (÷ 9.80665)"}[kind]
        info["units_converted"][name] = f"{unit} → {target}"
    return da.astype(float) * scale + offset


def accumulation_kind(ds: xr.Dataset, given: str, info: dict) -> str:
    """``"hourly"`` (ERA5: each value is its hour) or ``"since_00utc"`` (ERA5-Land: running total since 00 UTC).

    ``given`` other than ``"auto"`` is used as it is. ``"auto"`` reads the
    values of ``ssrd`` (else ``tp``), then the grid spacing; a file that says
    neither raises :class:`~kit.errors.InputDataError` asking for
    ``accumulation=``. ``"none"`` when the file has no accumulated variable.
    """
    if given not in ACCUMULATIONS:
        raise InputDataError(_("accumulation={value!r}; choose one of {choices}").format(value=given,
                                                                                   choices=", ".join(ACCUMULATIONS)))
    names = [n for n in ("ssrd", "tp") if n in ds]
    if not names:
        return "none"
    if given != "auto":
        info["notes"].append(f"accumulation {given} (given)")
        return given
    for name in names:
        verdict = _accumulation_from_values(ds[name])
        if verdict:
            how = "falls within a UTC day" if verdict == "hourly" else "only rises from 01 to 00 UTC"
            info["notes"].append(f"accumulation {verdict}: {name} {how}")
            return verdict
    spacing = _grid_spacing_deg(ds)
    if spacing is not None and abs(spacing - 0.1) < 1e-6:
        info["notes"].append("accumulation since_00utc: 0.1° grid (ERA5-Land)")
        return "since_00utc"
    if spacing is not None and abs(spacing - 0.25) < 1e-6:
        info["notes"].append("accumulation hourly: 0.25° grid (ERA5)")
        return "hourly"
    raise InputDataError(_("{file}: cannot tell whether {names} are hourly (ERA5) or running totals since 00 UTC "
                           "(ERA5-Land); pass accumulation='hourly' or 'since_00utc'").format(
        file=info["file"], names=" and ".join(names)))


def _accumulation_from_values(da: xr.DataArray):
    # A few cells stand for the grid: their mean keeps a running total rising and an hourly flux's daily cycle.
    step_y, step_x = max(1, da.sizes["latitude"] // 4), max(1, da.sizes["longitude"] // 4)
    sample = da.isel(latitude=slice(None, None, step_y), longitude=slice(None, None, step_x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = np.nanmean(np.asarray(sample.transpose("time", ...).values, dtype=float).reshape(sample.sizes["time"], -1), axis=1)
    series = pd.Series(values, index=pd.DatetimeIndex(da["time"].values))
    tol = 1e-3 * np.nanmax(np.abs(values)) if np.isfinite(values).any() else 0.0
    if not tol > 0:
        return None
    window = (series.index - _HOUR).normalize()  # the UTC day a running total belongs to
    same = np.r_[False, window[1:] == window[:-1]]
    diffs = series.diff()[same]
    if (diffs < -tol).any():
        return "hourly"
    if diffs.groupby(window[same]).count().max() >= 12 and (diffs > tol).any():
        return "since_00utc"
    return None


def _grid_spacing_deg(ds: xr.Dataset):
    for da in ds.data_vars.values():
        if "GRIB_iDirectionIncrementInDegrees" in da.attrs:
            return float(da.attrs["GRIB_iDirectionIncrementInDegrees"])
    lon = np.asarray(ds["longitude"].values, dtype=float)
    return float(np.round(np.median(np.diff(lon)), 6)) if lon.size > 1 else None


def hourly_amounts(da: xr.DataArray, kind: str) -> xr.DataArray:
    """The amount of each hour (ending at the valid time) from an accumulated CDS variable.

    ``kind`` ``"since_00utc"``: the 01 UTC value is its hour, every other
    hour is the value minus the previous hour's (NaN where that hour is
    missing). Small negative differences from packing are clipped to 0.
    """
    if kind == "hourly":
        return da.clip(min=0.0)
    first_hour = xr.DataArray(pd.DatetimeIndex(da["time"].values).hour == 1, dims="time", coords={"time": da["time"]})
    amounts = xr.where(first_hour, da, da - da.shift(time=1))
    return amounts.clip(min=0.0)


def hourly_weather(ds: xr.Dataset, info: dict, accumulation: str = "auto") -> xr.Dataset:
    """Hourly air temperature, dew point, relative humidity, wind speed, radiation and rain in the kit's units.

    ``info`` gets the variables mapped, the units converted and, in
    ``fill_values_replaced``, the hourly values missing (fill values or
    absent hours) in cells that have data.

    Returns a Dataset with ``t_c``, and where the file has them ``tdew_c``,
    ``rh_pct`` (FAO-56 eq. 10-11-14 from ``t2m`` and ``d2m``, clipped to
    0-100), ``wind_ms`` (``hypot(u10, v10)``, at 10 m), ``rs_mj_m2`` and
    ``rain_mm`` (each hour's amount), and ``elevation_m`` (from ``z``).
    """
    if "t2m" not in ds:
        raise InputDataError(_("{file}: no t2m (2 metre temperature); request 2m_temperature from the CDS").format(
            file=info["file"]))
    kind = accumulation_kind(ds, accumulation, info)
    has_data = ds["t2m"].notnull().any("time")  # ERA5-Land sea cells hold no value at all
    for name in [n for n in VARIABLES if n in ds and "time" in ds[n].dims]:
        info["fill_values_replaced"][name] = int((ds[name].isnull() & has_data).sum())
    out = {"t_c": _convert(ds["t2m"], "t2m", info)}
    info["variables"].update({"tmin_c": "t2m (hourly minimum over the local day)",
                              "tmax_c": "t2m (hourly maximum over the local day)"})
    if "d2m" in ds:
        out["tdew_c"] = _convert(ds["d2m"], "d2m", info)
        e_air, e_dew = (xr.apply_ufunc(fao56.saturation_vapour_pressure_kpa, out[k]) for k in ("t_c", "tdew_c"))
        out["rh_pct"] = (100.0 * e_dew / e_air).clip(0.0, 100.0)
        info["variables"].update({"tdew_c": "d2m (daily mean)", "rh_min_pct": "t2m, d2m (FAO-56 eq. 10, 11, 14)",
                                  "rh_max_pct": "t2m, d2m", "rh_mean_pct": "t2m, d2m"})
    if "u10" in ds and "v10" in ds:
        out["wind_ms"] = np.hypot(_convert(ds["u10"], "u10", info), _convert(ds["v10"], "v10", info))
        info["units_converted"]["u10, v10"] = "components → speed at 10 m (wind_height_m 10)"
        info["variables"]["wind_ms"] = "u10, v10 (daily mean of the hourly speed)"
    for name, column in (("ssrd", "rs_mj_m2"), ("tp", "rain_mm")):
        if name in ds:
            out[column] = hourly_amounts(_convert(ds[name], name, info), kind)
            info["variables"][column] = f"{name} (sum of the hours of the local day, accumulation {kind})"
    if "z" in ds:
        z = _convert(ds["z"], "z", info)
        out["elevation_m"] = z.isel(time=0, drop=True) if "time" in z.dims else z
        info["variables"]["elevation_m"] = "z (geopotential / g)"
    return xr.Dataset(out)
