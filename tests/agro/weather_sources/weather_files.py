"""Writers of weather files laid out as their tools write them: NASA POWER daily CSV and JSON, CDS ERA5 NetCDF.

Importable from every test folder (``from tests.agro.weather_sources.weather_files import ...``);
``conftest.py`` here hands them to the weather-source tests as the ``make`` fixture.

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
import zipfile

import numpy as np
import pandas as pd
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
        "tp": (228, "tp", "Total precipitation", "m", "accum"),
        "z": (129, "z", "Geopotential", "m**2 s**-2", "instant")}


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


# --- a kit weather table as these sources would give it ------------------------------------------------------

def _daily(table: pd.DataFrame) -> pd.DataFrame:
    days = table.reset_index() if "date" not in table.columns else table
    return days.set_index(pd.DatetimeIndex(pd.to_datetime(days["date"])).normalize())


def _vapour_pressure_kpa(d: pd.DataFrame) -> np.ndarray:
    from kit.agro.fao56 import actual_vapour_pressure_kpa

    ea, _ = actual_vapour_pressure_kpa(d["tmin_c"].to_numpy(float), d["tmax_c"].to_numpy(float),
                                       rh_min_pct=d["rh_min_pct"].to_numpy(float), rh_max_pct=d["rh_max_pct"].to_numpy(float))
    return np.asarray(ea)


def solar_radiation_mj_m2(table: pd.DataFrame, lat_deg: float) -> pd.Series:
    """Daily solar radiation of a kit table: ``rs_mj_m2``, else Angstrom from ``sunshine_h`` (FAO-56 eq. 35), MJ/m²/day."""
    from kit.agro.fao56 import daylight_hours, extraterrestrial_radiation_mj_m2, solar_radiation_from_sunshine_mj_m2

    d = _daily(table)
    if "rs_mj_m2" in d and d["rs_mj_m2"].notna().all():
        return d["rs_mj_m2"].astype(float)
    doy = d.index.day_of_year.to_numpy(float)
    rs = solar_radiation_from_sunshine_mj_m2(d["sunshine_h"].to_numpy(float), daylight_hours(lat_deg, doy),
                                             extraterrestrial_radiation_mj_m2(lat_deg, doy))
    return pd.Series(np.asarray(rs), index=d.index)


def power_days_from_weather(table: pd.DataFrame, lat_deg: float, *, wind="WS2M") -> pd.DataFrame:
    """What POWER gives for a kit weather table's days (the units of POWER_UNITS), indexed by date.

    ``T2MDEW`` is the dew point of the table's vapour pressure (from RHmin and
    RHmax, FAO-56 eq. 17), ``ALLSKY_SFC_SW_DWN`` its radiation (or the Angstrom
    radiation of its sunshine hours), ``WS2M`` its wind brought to 2 m (or,
    with ``wind="WS10M"``, to 10 m), ``PRECTOTCORR`` its rain.
    """
    from kit.agro.fao56 import wind_speed_2m_ms
    from kit.agro.weather_sources.nasa_power import dew_point_from_vapour_pressure_c

    d = _daily(table)
    u2 = np.asarray(wind_speed_2m_ms(d["wind_ms"].to_numpy(float), d["wind_height_m"].to_numpy(float)))
    days = pd.DataFrame({
        "T2M_MAX": d["tmax_c"], "T2M_MIN": d["tmin_c"], "T2M": (d["tmin_c"] + d["tmax_c"]) / 2,
        "T2MDEW": dew_point_from_vapour_pressure_c(_vapour_pressure_kpa(d)), "RH2M": d["rh_mean_pct"],
        wind: u2 if wind == "WS2M" else u2 / wind_speed_2m_ms(np.array(1.0), 10.0),
        "ALLSKY_SFC_SW_DWN": solar_radiation_mj_m2(d, lat_deg), "PRECTOTCORR": d["rain_mm"],
    }, index=d.index)
    return days


def _local_clock(times: pd.DatetimeIndex, tz: str):
    """Local day and hour (0-23) of UTC ``times``."""
    local = times.tz_localize("UTC").tz_convert(tz).tz_localize(None)
    return local.normalize(), local.hour.to_numpy(float)


def era5_hourly_from_weather(table: pd.DataFrame, lat_deg: float, *, lats, lons, site_cell=(0, 0),
                             tz="Africa/Casablanca", other_cells_warmer_c=3.0) -> xr.Dataset:
    """Hourly ERA5-like fields (UTC, CDS units, ``ssrd``/``tp`` each hour's amount) whose local days are the table's.

    In cell ``site_cell`` (index into ``lats``, ``lons``): ``t2m`` runs each
    local day from ``tmin_c`` at 06:00 up to ``tmax_c`` at 15:00 and back (so
    the day's hourly extremes are the table's), ``d2m`` is the day's dew point
    (of its vapour pressure), the 10 m wind the table's brought to 10 m,
    ``ssrd`` the day's radiation over its daylight hours, ``tp`` the day's
    rain in the hour from 12:00 local. Other cells are ``other_cells_warmer_c``
    warmer and twice as wet, so a wrong cell shows. The hours cover the table's
    first to last local day, with a day of the first/last values either side.
    """
    from kit.agro.fao56 import wind_speed_2m_ms
    from kit.agro.weather_sources.nasa_power import dew_point_from_vapour_pressure_c

    d = _daily(table)
    d = d.assign(tdew_c=dew_point_from_vapour_pressure_c(_vapour_pressure_kpa(d)), rs_mj_m2=solar_radiation_mj_m2(d, lat_deg),
                 u10=np.asarray(wind_speed_2m_ms(d["wind_ms"].to_numpy(float), d["wind_height_m"].to_numpy(float)))
                 / float(wind_speed_2m_ms(np.array(1.0), 10.0)))
    first, last = d.index[0], d.index[-1]
    d = d.reindex(pd.date_range(first - pd.Timedelta(days=2), last + pd.Timedelta(days=3))).bfill().ffill()
    times = pd.date_range(first - pd.Timedelta(days=1), last + pd.Timedelta(days=2, hours=23), freq="h")
    day, hour = _local_clock(times, tz)
    began_day, began_hour = _local_clock(times - pd.Timedelta(hours=1), tz)
    rising = (1 - np.cos(np.pi * (hour - 6) / 9)) / 2
    falling = (1 + np.cos(np.pi * (np.where(hour < 6, hour + 24, hour) - 15) / 15)) / 2
    shape = np.where((hour >= 6) & (hour <= 15), rising, falling)
    at = d.reindex(day)
    t_c = at["tmin_c"].to_numpy() + (at["tmax_c"] - at["tmin_c"]).to_numpy() * shape
    sun = np.clip(np.sin(np.pi * (began_hour - 6) / 13), 0, None) * ((began_hour >= 6) & (began_hour < 19))
    with np.errstate(invalid="ignore"):  # an edge day without daylight hours
        sun_share = np.nan_to_num(sun / pd.Series(sun).groupby(np.asarray(began_day)).transform("sum").to_numpy())
    by_began = d.reindex(began_day)
    cell = {
        "t2m": t_c + 273.15, "d2m": at["tdew_c"].to_numpy() + 273.15, "u10": at["u10"].to_numpy(), "v10": np.zeros(len(times)),
        "ssrd": by_began["rs_mj_m2"].to_numpy() * 1e6 * sun_share,
        "tp": np.where(began_hour == 12, by_began["rain_mm"].to_numpy() / 1000.0, 0.0),
    }
    shape3 = (len(times), len(lats), len(lons))
    fields = {}
    for name, values in cell.items():
        other = values + other_cells_warmer_c if name in ("t2m", "d2m") else values * (2.0 if name == "tp" else 1.0)
        grid = np.broadcast_to(other[:, None, None], shape3).copy()
        grid[:, site_cell[0], site_cell[1]] = values
        fields[name] = (("time", "latitude", "longitude"), grid)
    return xr.Dataset(fields, coords={"time": times, "latitude": list(lats), "longitude": list(lons)})
