"""Writers of weather files laid out as their tools write them: NASA POWER daily CSV and JSON, CDS ERA5 NetCDF.

Layouts copied from downloaded files: the POWER header block (title,
``Dates (month/day/year): ... in LST``, ``Location: Latitude  31.63
Longitude -8.01``, the MERRA-2 elevation line, the fill-value sentence,
``Parameter(s):`` and one line per parameter with its unit in brackets);
the POWER API JSON (GeoJSON Feature with ``header``, ``messages``,
``parameters``, ``times``); the new CDS NetCDF (``valid_time`` int64
seconds since 1970, scalar ``number``, string ``expver(valid_time)``,
float32 with ``GRIB_*`` attributes, latitude decreasing, global
``GRIB_centre``/``Conventions CF-1.7``/cfgrib history; ERA5 single levels as
a zip of ``data_stream-oper_stepType-instant.nc`` and ``-accum.nc``); the
old CDS NetCDF (``time`` int32 hours since 1900-01-01, int16 packed with
``scale_factor``/``add_offset``/``_FillValue -32767``, an ``expver``
dimension 1/5 when ERA5 and ERA5T meet, ``Conventions CF-1.6``).
"""
import json
import types
import zipfile

import numpy as np
import pandas as pd
import pytest
import xarray as xr

POWER_DESCRIPTIONS = {
    "ALLSKY_SFC_SW_DWN": "CERES SYN1deg All Sky Surface Shortwave Downward Irradiance",
    "T2M": "MERRA-2 Temperature at 2 Meters", "T2MDEW": "MERRA-2 Dew/Frost Point at 2 Meters",
    "T2M_MAX": "MERRA-2 Temperature at 2 Meters Maximum", "T2M_MIN": "MERRA-2 Temperature at 2 Meters Minimum",
    "QV2M": "MERRA-2 Specific Humidity at 2 Meters", "RH2M": "MERRA-2 Relative Humidity at 2 Meters",
    "PRECTOTCORR": "MERRA-2 Precipitation Corrected", "PS": "MERRA-2 Surface Pressure",
    "WS2M": "MERRA-2 Wind Speed at 2 Meters", "WS10M": "MERRA-2 Wind Speed at 10 Meters",
}
POWER_UNITS = {"ALLSKY_SFC_SW_DWN": "MJ/m^2/day", "T2M": "C", "T2MDEW": "C", "T2M_MAX": "C", "T2M_MIN": "C",
               "QV2M": "g/kg", "RH2M": "%", "PRECTOTCORR": "mm/day", "PS": "kPa", "WS2M": "m/s", "WS10M": "m/s"}
SITE = {"lat": 31.63, "lon": -8.01, "elevation": 470.2}


def power_days(n=5, start="2024-06-01"):
    """A few days of POWER parameters (the units of POWER_UNITS), indexed by date."""
    days = pd.date_range(start, periods=n)
    k = np.arange(n, dtype=float)
    return pd.DataFrame({
        "T2M_MAX": 34.0 + k, "T2M_MIN": 19.5 + 0.5 * k, "T2M": 26.7 + 0.7 * k, "T2MDEW": 11.25 - 0.25 * k,
        "RH2M": 38.5 + k, "WS2M": 2.4 + 0.1 * k, "ALLSKY_SFC_SW_DWN": 28.9 - 0.3 * k, "PRECTOTCORR": [0, 0, 1.25, 0, 0][:n],
    }, index=days)


def write_power_csv(path, days: pd.DataFrame, *, units=None, fill=-999, dates="MO,DY", header=True, site=SITE,
                    title="NASA/POWER CERES/MERRA2 Native Resolution Daily Data"):
    """A POWER daily point CSV as the API's ``format=CSV`` writes it (NaN written as the fill value)."""
    units = {**POWER_UNITS, **(units or {})}
    lines = []
    if header:
        lines += ["-BEGIN HEADER-", f"{title} ",
                  f"Dates (month/day/year): {days.index[0]:%m/%d/%Y} through {days.index[-1]:%m/%d/%Y} in LST ",
                  f"Location: Latitude  {site['lat']}   Longitude {site['lon']} ",
                  f"Elevation from MERRA-2: Average for 0.5 x 0.625 degree lat/lon region = {site['elevation']} meters",
                  "The value for missing source data that cannot be computed or is outside of the sources availability "
                  f"range: {fill} ", "Parameter(s): "]
        lines += [f"{name:<22}{POWER_DESCRIPTIONS[name]} ({units[name]}) " for name in days.columns]
        lines += ["-END HEADER-"]
    if dates == "MO,DY":
        stamp = pd.DataFrame({"YEAR": days.index.year, "MO": days.index.month, "DY": days.index.day}, index=days.index)
    else:
        stamp = pd.DataFrame({"YEAR": days.index.year, "DOY": days.index.day_of_year}, index=days.index)
    body = pd.concat([stamp, days.fillna(fill)], axis=1)
    path.write_text("\n".join(lines + [body.to_csv(index=False).rstrip("\n")]) + "\n", encoding="utf-8")
    return path


def write_power_json(path, days: pd.DataFrame, *, units=None, fill=-999.0, site=SITE):
    """A POWER daily point JSON as the API returns it."""
    units = {**POWER_UNITS, **(units or {})}
    keys = days.index.strftime("%Y%m%d")
    doc = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [site["lon"], site["lat"], site["elevation"]]},
        "properties": {"parameter": {name: dict(zip(keys, days[name].fillna(fill).round(2).tolist()))
                                     for name in days.columns}},
        "header": {"title": "NASA/POWER Source Native Resolution Daily Data",
                   "api": {"version": "v2.5.22", "name": "POWER Daily API"}, "sources": ["MERRA2", "SYN1DEG"],
                   "fill_value": fill, "time_standard": "LST", "start": keys[0], "end": keys[-1]},
        "messages": [],
        "parameters": {name: {"units": units[name], "longname": POWER_DESCRIPTIONS[name].split(" ", 1)[1]}
                       for name in days.columns},
        "times": {"data": 0.41, "process": 0.02},
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


# --- ERA5 / ERA5-Land --------------------------------------------------------------------------------------

GRIB = {"t2m": (167, "2t", "2 metre temperature", "K", "instant"), "d2m": (168, "2d", "2 metre dewpoint temperature", "K", "instant"),
        "u10": (165, "10u", "10 metre U wind component", "m s**-1", "instant"),
        "v10": (166, "10v", "10 metre V wind component", "m s**-1", "instant"),
        "ssrd": (169, "ssrd", "Surface short-wave (solar) radiation downwards", "J m**-2", "accum"),
        "tp": (228, "tp", "Total precipitation", "m", "accum")}


def era5_hourly(start="2024-03-08 00:00", hours=96, lats=(31.7, 31.6), lons=(-8.1, -8.0), seed=0):
    """Hourly ERA5-like fields (UTC), dims (time, latitude, longitude), in CDS units; ssrd and tp each hour's amount."""
    times = pd.date_range(start, periods=hours, freq="h")
    h = times.hour.to_numpy(dtype=float)[:, None, None]
    rng = np.random.default_rng(seed)
    shape = (hours, len(lats), len(lons))
    cycle = np.sin(2 * np.pi * (h - 9.0) / 24.0)
    sun = np.clip(np.sin(np.pi * (h - 6.5) / 13.0), 0, None)  # the hour ending at h
    fields = {
        "t2m": 290.0 + 8.0 * cycle + rng.normal(0, 0.3, shape), "d2m": 281.0 + 1.5 * cycle + rng.normal(0, 0.2, shape),
        "u10": 2.0 + rng.normal(0, 1.0, shape), "v10": -1.5 + rng.normal(0, 1.0, shape),
        "ssrd": 2.9e6 * sun * (1 + 0.05 * rng.random(shape)),
        "tp": np.where(rng.random(shape) < 0.1, rng.gamma(0.8, 4e-4, shape), 0.0),
    }
    return xr.Dataset({k: (("time", "latitude", "longitude"), v) for k, v in fields.items()},
                      coords={"time": times, "latitude": list(lats), "longitude": list(lons)})


def running_totals(hourly: xr.DataArray) -> xr.DataArray:
    """ERA5-Land's accumulation: totals since 00 UTC, the 00 UTC value holding the whole previous day."""
    window = (pd.DatetimeIndex(hourly["time"].values) - pd.Timedelta(hours=1)).normalize()
    return hourly.groupby(xr.DataArray(window, dims="time", coords={"time": hourly["time"]})).cumsum()


def _grib_attrs(name, ds):
    pid, short, long_name, unit, step = GRIB[name]
    lat, lon = ds["latitude"].values, ds["longitude"].values
    res = float(abs(np.diff(lon)[0])) if lon.size > 1 else 0.1
    return {"GRIB_paramId": np.int64(pid), "GRIB_dataType": "fc" if step == "accum" else "an",
            "GRIB_numberOfPoints": np.int64(lat.size * lon.size), "GRIB_typeOfLevel": "surface",
            "GRIB_stepUnits": np.int64(1), "GRIB_stepType": step, "GRIB_gridType": "regular_ll",
            "GRIB_Nx": np.int64(lon.size), "GRIB_Ny": np.int64(lat.size), "GRIB_cfName": "unknown", "GRIB_cfVarName": name,
            "GRIB_gridDefinitionDescription": "Latitude/Longitude Grid", "GRIB_iDirectionIncrementInDegrees": res,
            "GRIB_jDirectionIncrementInDegrees": res, "GRIB_latitudeOfFirstGridPointInDegrees": float(lat.max()),
            "GRIB_missingValue": 3.40282346638529e38, "GRIB_name": long_name, "GRIB_shortName": short,
            "GRIB_units": unit, "long_name": long_name, "units": unit, "standard_name": "unknown"}


def write_new_cds(path, ds: xr.Dataset, names=None):
    """A new-CDS NetCDF: valid_time (int64 s since 1970), number, expver(valid_time), latitude decreasing, float32."""
    names = names or [n for n in GRIB if n in ds]
    out = ds[names].rename(time="valid_time").sortby("latitude", ascending=False).astype("float32")
    for name in names:
        out[name].attrs = _grib_attrs(name, ds)
    out = out.assign_coords(number=np.int64(0), expver=("valid_time", np.full(out.sizes["valid_time"], "0001", dtype=object)))
    out["number"].attrs = {"long_name": "ensemble member numerical id", "units": "1", "standard_name": "realization"}
    out["valid_time"].attrs = {"long_name": "time", "standard_name": "time"}
    out["latitude"].attrs = {"units": "degrees_north", "standard_name": "latitude", "long_name": "latitude",
                             "stored_direction": "decreasing"}
    out["longitude"].attrs = {"units": "degrees_east", "standard_name": "longitude", "long_name": "longitude"}
    out.attrs = {"GRIB_centre": "ecmf", "GRIB_centreDescription": "European Centre for Medium-Range Weather Forecasts",
                 "GRIB_subCentre": np.int64(0), "Conventions": "CF-1.7",
                 "institution": "European Centre for Medium-Range Weather Forecasts",
                 "history": "2024-11-13T18:44 GRIB to CDM+CF via cfgrib-0.9.14.1/ecCodes-2.38.3 with "
                            '{"source": "data.grib", "filter_by_keys": {}, "encode_cf": ["parameter", "time", "geography", "vertical"]}'}
    encoding = {"valid_time": {"units": "seconds since 1970-01-01", "calendar": "proleptic_gregorian", "dtype": "int64"}}
    encoding.update({n: {"_FillValue": np.float32(np.nan)} for n in names})
    out.to_netcdf(path, encoding=encoding, format="NETCDF4")
    return path


def write_new_cds_zip(path, ds: xr.Dataset):
    """ERA5 single levels from the new CDS: a zip of the instant and the accumulated streams."""
    tmp = path.parent
    instant = write_new_cds(tmp / "data_stream-oper_stepType-instant.nc", ds, ["t2m", "d2m", "u10", "v10"])
    accum = write_new_cds(tmp / "data_stream-oper_stepType-accum.nc", ds, ["ssrd", "tp"])
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(instant, instant.name)
        zf.write(accum, accum.name)
    return path


def _packing(values):
    # grib_to_netcdf's packing: the range over -32766..32766, -32767 kept for missing values.
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    scale = (hi - lo) / (2 ** 16 - 4) or 1.0
    return {"dtype": "int16", "scale_factor": scale, "add_offset": (hi + lo) / 2, "_FillValue": np.int16(-32767),
            "missing_value": np.int16(-32767)}


def write_old_cds(path, ds: xr.Dataset, *, split_expver_at=None):
    """An old-CDS NetCDF (grib_to_netcdf): time in hours since 1900, int16 packed, optional expver dimension 1/5."""
    names = [n for n in GRIB if n in ds]
    out = ds[names].sortby("latitude", ascending=False)
    if split_expver_at is not None:
        era5 = out.where(out["time"] < np.datetime64(split_expver_at))
        era5t = out.where(out["time"] >= np.datetime64(split_expver_at))
        out = xr.concat([era5, era5t], dim=xr.DataArray(np.array([1, 5], dtype="int32"), dims="expver", name="expver"))
        out = out.transpose("time", "expver", "latitude", "longitude")
        out["expver"].attrs = {"long_name": "expver"}
    for name in names:
        out[name].attrs = {"units": GRIB[name][3], "long_name": GRIB[name][2]}
    out["time"].attrs = {"long_name": "time"}
    out.attrs = {"Conventions": "CF-1.6", "history": "2021-05-04 10:01:12 GMT by grib_to_netcdf-2.20.0: "
                                                     "/opt/ecmwf/mars-client/bin/grib_to_netcdf -S param -o out.nc in.grib"}
    encoding = {"time": {"units": "hours since 1900-01-01 00:00:00.0", "calendar": "gregorian", "dtype": "int32"}}
    encoding.update({n: _packing(out[n].values) for n in names})
    out.to_netcdf(path, encoding=encoding, format="NETCDF3_64BIT")
    return path


@pytest.fixture
def make():
    """The writers above (test modules cannot import a conftest)."""
    return types.SimpleNamespace(
        power_days=power_days, power_csv=write_power_csv, power_json=write_power_json, era5_hourly=era5_hourly,
        running_totals=running_totals, new_cds=write_new_cds, new_cds_zip=write_new_cds_zip, old_cds=write_old_cds,
        site=SITE,
    )
