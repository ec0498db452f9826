"""The entry points: any recognised weather file as the kit's daily table, or as a gridded daily Dataset."""
from __future__ import annotations

import xarray as xr

from kit.agro.weather_sources.description import contract_table, new_description
from kit.agro.weather_sources.era5 import hourly_weather, open_cds
from kit.agro.weather_sources.local_days import DEFAULT_TZ, daily_from_hourly, nearest_cell
from kit.agro.weather_sources.nasa_power import convert_power_csv, convert_power_json
from kit.agro.weather_sources.sniff import sniff_weather_format
from kit.errors import InputDataError
from kit.io import read_csv_table

#: Wind height of ERA5's u10/v10; the kit brings wind to 2 m itself (FAO-56 eq. 47).
ERA5_WIND_HEIGHT_M = 10.0

__all__ = ["convert_weather", "convert_weather_grid"]


def convert_weather(path, *, lat_deg=None, lon_deg=None, tz: str = DEFAULT_TZ, accumulation: str = "auto"):
    """Read a weather file in any recognised format as the kit's daily weather table.

    Parameters
    ----------
    path : str or Path
        The kit's weather CSV, a NASA POWER daily point CSV or JSON, or an
        ERA5 / ERA5-Land hourly NetCDF from the Copernicus CDS (or the CDS
        zip of NetCDFs); see :func:`~kit.agro.weather_sources.sniff_weather_format`.
    lat_deg, lon_deg : float, optional, degrees north / east
        The site. ERA5: the cell nearest it is taken (needed when the file
        holds more than one cell). NASA POWER: ``lat_deg`` overrides the
        header's latitude. Written into the table's ``lat_deg``.
    tz : str
        Time zone of the days built from hourly ERA5 data (tz database name;
        default Morocco's, with its Ramadan change to UTC+0). NASA POWER
        days are the file's own (local solar time).
    accumulation : {"auto", "hourly", "since_00utc"}
        ERA5 only: whether ``ssrd``/``tp`` are each hour's amount (ERA5) or
        running totals since 00 UTC (ERA5-Land); ``"auto"`` tells from the
        values, then the grid.

    Returns
    -------
    (pandas.DataFrame, dict)
        The table: ``date`` and the contract columns the source feeds
        (:mod:`kit.agro.weather`), one row per complete day, ready for
        :func:`kit.agro.read_weather`. The description: source, site,
        variables mapped, units converted, fill values replaced, days kept
        and dropped, hours per day (see
        :func:`~kit.agro.weather_sources.description.new_description`).

    Raises
    ------
    kit.errors.InputDataError
        A file of no recognised format (one line naming what was expected),
        a unit the converter does not know, a site outside the file.

    Examples
    --------
    >>> from kit.agro import et0, read_weather
    >>> table, about = convert_weather("POWER_Point_Daily.csv")          # doctest: +SKIP
    >>> et0(read_weather(table))                                          # doctest: +SKIP
    >>> table, about = convert_weather("era5land.nc", lat_deg=31.63, lon_deg=-8.01)  # doctest: +SKIP
    >>> about["hours_per_day"]                                            # doctest: +SKIP
    {23: 1, 24: 58, 25: 1}
    """
    fmt = sniff_weather_format(path)
    if fmt == "kit_csv":
        return _kit_csv(path)
    if fmt == "nasa_power_csv":
        return convert_power_csv(path, lat_deg)
    if fmt == "nasa_power_json":
        return convert_power_json(path, lat_deg)
    if fmt == "kit_netcdf":
        raise InputDataError(f"{path} already holds gridded kit weather (tmin_c, ...); pass it as the weather as it is")
    info = new_description(fmt, "ERA5 / ERA5-Land hourly (Copernicus CDS)", path)
    with open_cds(path, info) as ds:
        cell = nearest_cell(ds, lat_deg, lon_deg, info).load()
        daily = daily_from_hourly(hourly_weather(cell, info, accumulation), tz, info).isel(latitude=0, longitude=0)
    columns = {name: daily[name].values for name in daily.data_vars if "time" in daily[name].dims}
    columns["wind_height_m"] = ERA5_WIND_HEIGHT_M if "wind_ms" in columns else None
    columns["lat_deg"] = info["site"]["lat_deg"]
    columns["elevation_m"] = float(daily["elevation_m"]) if "elevation_m" in daily else None
    _finish_site(info, columns["elevation_m"], tz)
    return contract_table(columns, daily["time"].values), info


def convert_weather_grid(path, *, tz: str = DEFAULT_TZ, accumulation: str = "auto"):
    """Read a gridded weather file as a daily Dataset with the contract's variable names, every cell kept.

    Parameters
    ----------
    path : str or Path
        An ERA5 / ERA5-Land hourly NetCDF (or CDS zip), or a NetCDF already
        in the kit's gridded contract (returned as it is).
    tz, accumulation
        As in :func:`convert_weather`.

    Returns
    -------
    (xarray.Dataset, dict)
        Dims ``(y, x, time)`` (``time`` = local days), coordinates
        ``latitude(y)`` (increasing) and ``longitude(x)`` of the reanalysis
        cells; variables ``tmin_c``, ``tmax_c``, ``tdew_c``, ``rh_min_pct``,
        ``rh_max_pct``, ``rh_mean_pct``, ``wind_ms``, ``rs_mj_m2``,
        ``rain_mm`` (NaN in cells without data), ``lat_deg(y)``,
        ``elevation_m(y, x)`` when the file has ``z``, and ``wind_height_m``
        10 (a scalar variable and an attribute). The cells are the
        reanalysis grid, not the fields' grid: regrid (e.g. nearest cell of
        each field pixel) before a grid run. The description as in
        :func:`convert_weather`.
    """
    fmt = sniff_weather_format(path)
    if fmt == "kit_netcdf":
        info = new_description(fmt, "the kit's gridded weather", path)
        return xr.open_dataset(path), info
    if fmt != "era5_netcdf":
        raise InputDataError(f"{path} is point data ({fmt}); read it with convert_weather")
    info = new_description(fmt, "ERA5 / ERA5-Land hourly (Copernicus CDS)", path)
    with open_cds(path, info) as ds:
        daily = daily_from_hourly(hourly_weather(ds.load(), info, accumulation), tz, info)
    daily = daily.rename_dims(latitude="y", longitude="x").transpose("y", "x", ...)
    # Both spellings: kit.agro.et0 reads a wind_height_m variable, a grid run either.
    daily["wind_height_m"] = ERA5_WIND_HEIGHT_M
    daily["lat_deg"] = daily["latitude"]
    daily.attrs.update(wind_height_m=ERA5_WIND_HEIGHT_M, source=str(path), tz=tz)
    info["site"] = {"cells": int(daily.sizes["y"] * daily.sizes["x"]),
                    "latitudes": [float(daily["latitude"].min()), float(daily["latitude"].max())],
                    "longitudes": [float(daily["longitude"].min()), float(daily["longitude"].max())]}
    _finish_site(info, daily["elevation_m"] if "elevation_m" in daily else None, tz)
    return daily, info


def _kit_csv(path):
    info = new_description("kit_csv", "the kit's weather CSV", path)
    table = read_csv_table(path, "weather", "the path of a CSV with columns date, tmin_c, tmax_c")
    info["variables"] = {c: c for c in table.columns if c != "date"}
    info["days"] = len(table)
    return table, info


def _finish_site(info: dict, elevation_m, tz: str) -> None:
    if elevation_m is not None and not isinstance(elevation_m, float):  # a grid's: one value per cell
        elevation_m = [float(elevation_m.min()), float(elevation_m.max())]
    info["site"].update(elevation_m=elevation_m, elevation_from="z (geopotential)" if elevation_m is not None else None,
                        days_in=tz)
    if elevation_m is None:
        info["notes"].append("no elevation in the file (ERA5 keeps z in a separate download): give elevation_m "
                             "to read_weather or et0")
    info["notes"].append(f"wind at {ERA5_WIND_HEIGHT_M:g} m (u10, v10): the kit converts it to 2 m")
