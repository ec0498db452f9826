"""The irrigation-planning notebook's parameters and glue (inputs, plans, comparison with a calendar).

Its figures are in :mod:`kit.agro.figures`, its words and shown tables in :mod:`kit.agro.wording`
(both in the report's language); their names are re-exported here for the notebook's cells.
"""
from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import xarray as xr

from kit.agro import et0, read_fields, read_weather, schedule, synthetic
from kit.agro.figures import plot_depletion, plot_et0, plot_map, plot_strategies
from kit.agro.gridded.contract import is_gridded, read_fields_grid
from kit.agro.gridded.reanalysis import CELL_VARIABLES, reanalysis_on_grid
from kit.agro.policy import STRATEGIES
from kit.agro.weather_sources import conversion_summary, convert_weather_grid, sniff_weather_format
from kit.backend import as_backend
from kit.agro.wording import describe_fields, et0_methods, headline, no_map_note, partial_note, rounded, \
    shown_schedule, shown_strategies
from kit.errors import ParameterError
from kit.i18n import N_, _
from kit.params import LANG, Param, Spec
from kit.report import input_file

PARAMETERS = Spec(
    (
        Param("site", "str", "marrakech", N_("embedded site used when weather is None"), choices=tuple(synthetic.SITES)),
        Param("weather", "path", None, N_("daily weather: the kit's CSV (date, tmin_c, tmax_c, ...; datasets/irrigation/README.md), "
              "a NASA POWER daily CSV/JSON or an ERA5(-Land) hourly NetCDF (gridded fields: every cell); None for the embedded data")),
        Param("fields", "path", None, N_("fields CSV/GeoJSON table (field_id, crop, planting_date, area_ha, soil) or a NetCDF/GeoTIFF grid (crop, soil, planting_date per pixel); None for the embedded data")),
        Param("season_start", "date", "2021-09-01", N_("first day planned, YYYY-MM-DD")),
        Param("season_end", "date", "2022-08-31", N_("last day planned, YYYY-MM-DD")),
        Param("strategy", "str", "mad", N_("schedule: mad, calendar, interval, deficit or quota"), choices=STRATEGIES),
        Param("quota_m3", "float", None, N_("seasonal quota for strategy quota, m³; None: 70 % of the MAD need"), min=0, optional=True),
        Param("lat_deg", "float", None, N_("site latitude, degrees, if not a weather column"), min=-90, max=90, optional=True),
        Param("lon_deg", "float", None, N_("site longitude, degrees, to pick the ERA5 cell of a file of several"), min=-180, max=180,
              optional=True),
        Param("elevation_m", "float", None, N_("site elevation, m, if not a weather column"), optional=True),
        Param("seed", "int", 0, N_("seed of the embedded weather and fields"), min=0),
        Param("device", "device", "auto", N_("auto, cpu or cuda (env KIT_DEVICE overrides)"), choices=("auto", "cpu", "cuda")),
        Param("output_dir", "output_dir", "outputs/irrigation_planning", N_("folder for schedule.csv, water_balance.nc, ...")),
        Param("scale", "int", 1, N_("200 × scale embedded fields (scale 50: 10,000 fields)"), min=1, max=500),
        LANG,
    ),
    purpose="FAO-56 ET0, daily soil water balance and irrigation schedules under a water quota, for many fields at once.",
)

_NO_ELEVATION = N_("{weather} gives no site elevation (no elevation_m column; ERA5 files hold none): "
                   "give elevation_m, the site's elevation in m")
QUOTA_SHARE_OF_NEED = 0.7  # default quota when none is given: a 30 % cut of the unconstrained (MAD) need


def agricultural_years(start: str, end: str) -> tuple[int, int]:
    """``(first 1-September year, number of agricultural years)`` covering ``start..end``."""
    s, e = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    first = s.year if s.month >= 9 else s.year - 1
    last = e.year if e.month >= 9 else e.year - 1
    return first, last - first + 1


def load_inputs(p) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Weather and fields from the user's files, or the embedded site's.

    Returns
    -------
    weather, fields, description
        ``weather`` is a table, or with gridded fields and an ERA5 file the
        gridded weather on the fields' grid (:func:`era5_on_fields`; one
        table of it: :func:`site_weather`).
    """
    if p.season_end <= p.season_start:
        raise ParameterError(_("season_end {end} must be after season_start {start}").format(end=p.season_end, start=p.season_start))
    first, n_years = agricultural_years(p.season_start, p.season_end)
    grid = read_fields_grid(p.fields) if p.fields and is_gridded(p.fields) else None
    if p.weather and grid is not None and sniff_weather_format(p.weather) == "era5_netcdf":
        weather, conversion = era5_on_fields(p.weather, grid, p.elevation_m)
        input_file(p.weather, "weather", details={"conversion": conversion})
        source = _("weather from {path} ({conversion}; every ERA5 cell: each field pixel on its nearest cell, {n} cells "
                   "used)").format(path=p.weather, conversion=conversion_summary(conversion),
                                   n=conversion["regridding"]["cells_used"])
    elif p.weather:
        weather = read_weather(p.weather, lat_deg=p.lat_deg, elevation_m=p.elevation_m, lon_deg=p.lon_deg)
        if weather.attrs.get("elevation_m") is None:  # FAO-56 ET0 needs it; say so before any work
            raise ParameterError(_(_NO_ELEVATION).format(weather=p.weather))
        conversion = weather.attrs.get("conversion")
        input_file(p.weather, "weather", details={"conversion": conversion} if conversion else None)
        source = _("weather from {path}").format(path=p.weather) + (f" ({conversion_summary(conversion)})" if conversion else "")
    else:
        weather = synthetic.weather(p.site, seasons=n_years, seed=p.seed, start_year=first)
        source = _("embedded weather for {station}").format(station=synthetic.site_info(p.site)["station"])
    if grid is not None:
        fields = grid
        source += _(", gridded fields from {path}").format(path=p.fields)
    elif p.fields:
        fields = read_fields(p.fields)
        source += _(", fields from {path}").format(path=p.fields)
    else:
        fields = synthetic.fields(p.site, n=200 * p.scale, seed=p.seed, start_year=first)
        source += _(", {n} embedded fields").format(n=len(fields))
    return weather, fields, source


def era5_on_fields(path, grid, elevation_m=None):
    """An ERA5 / ERA5-Land file on the fields' grid (every cell, each pixel on its nearest) and its description.

    The description is :func:`kit.agro.weather_sources.convert_weather_grid`'s
    with ``regridding`` (method, cells used) added.

    Raises
    ------
    kit.errors.ParameterError
        Neither the file (``z``), the fields nor ``elevation_m`` give an
        elevation: the point path's one line.
    """
    cells, conversion = convert_weather_grid(path)
    weather = reanalysis_on_grid(cells, grid, elevation_m=elevation_m)
    has_elevation = "elevation_m" in weather or "elevation_m" in weather.attrs
    if not (has_elevation or "elevation_m" in grid or "elevation_m" in grid.attrs):
        raise ParameterError(_(_NO_ELEVATION).format(weather=path))
    used = np.unique(np.asarray(weather["cell_row"].values, np.int64) * cells.sizes["x"] + weather["cell_col"].values)
    conversion["regridding"] = {"method": "nearest ERA5 cell of each field pixel (pixel centres to lon/lat through "
                                          "the fields' CRS)", "cells_used": int(used.size),
                                "fields_grid": [int(grid.sizes["y"]), int(grid.sizes["x"])]}
    conversion["site"]["elevation_from"] = ("argument elevation_m" if elevation_m is not None else
                                            "z (geopotential), per cell" if "elevation_m" in weather else "the fields grid")
    conversion["notes"].append("every cell used: each field pixel takes its nearest cell's weather and its own latitude")
    return weather, conversion


def site_weather(weather, fields=None) -> pd.DataFrame:
    """One weather table for the ET0 figure and single-field checks: ``weather`` itself, or gridded weather's central pixel.

    Parameters
    ----------
    weather : pandas.DataFrame or xarray.Dataset
        What :func:`load_inputs` returned.
    fields : xarray.Dataset, optional
        The fields grid: its ``elevation_m`` attribute when the weather has none.
    """
    if not isinstance(weather, xr.Dataset):
        return weather
    px = weather.isel(y=weather.sizes["y"] // 2, x=weather.sizes["x"] // 2).load()
    table = pd.DataFrame({"date": pd.DatetimeIndex(px["time"].values)})
    for name in CELL_VARIABLES:
        if name in px:
            table[name] = np.asarray(px[name].values, float)
    table["wind_height_m"] = float(px["wind_height_m"]) if "wind_height_m" in px else float(weather.attrs.get("wind_height_m", 2.0))
    table["lat_deg"] = float(px["lat_deg"])
    elevation = float(px["elevation_m"]) if "elevation_m" in px else weather.attrs.get(
        "elevation_m", None if fields is None else fields.attrs.get("elevation_m"))
    return read_weather(table, elevation_m=elevation)


def plan_strategies(fields, weather, p, backend=None, strategies=STRATEGIES) -> tuple[dict, int]:
    """Plan every strategy on the same inputs; the quota defaults to 70 % of the MAD need.

    Returns
    -------
    plans : dict of strategy -> kit.agro.Plan
    partial_fields : int
        Fields whose crop season reaches outside the planned window (perennials,
        late crops): their totals cover the planned days only.
    """
    options = dict(start=p.season_start, end=p.season_end, backend=as_backend(backend))
    plans, partial = {}, 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plans["mad"] = schedule(fields, weather, "mad", **options)
        quota = p.quota_m3 if p.quota_m3 is not None else QUOTA_SHARE_OF_NEED * plans["mad"].water_used_m3
        for s in strategies:
            if s not in plans:
                plans[s] = schedule(fields, weather, s, quota_m3=quota if s == "quota" else None, **options)
    for w in caught:
        text = str(w.message)
        if "only partly inside" in text:
            partial = max(partial, int(text.split()[0]))
        else:
            warnings.warn(w.message, w.category, stacklevel=2)
    return plans, partial


def comparison_table(plans: dict) -> pd.DataFrame:
    """Water, yield and stress by strategy, with the change against the fixed calendar."""
    rows = []
    for name, plan in plans.items():
        rows.append({
            "strategy": name, "water_m3": plan.water_used_m3, "relative_yield": plan.relative_yield,
            "days_under_stress": float(plan.summary["days_under_stress"].mean()), "events": len(plan.table),
        })
    table = pd.DataFrame(rows).set_index("strategy")
    cal = table.loc["calendar"]
    table["water_vs_calendar_m3"] = table["water_m3"] - cal["water_m3"]
    table["yield_vs_calendar_pts"] = 100 * (table["relative_yield"] - cal["relative_yield"])
    return table


def example_fields(plan, n: int = 3) -> list[str]:
    """One irrigated field for each of the ``n`` crops with the most irrigation events."""
    counts = plan.table.groupby("field_id").size()
    crops = plan.summary.loc[counts.index, "crop"]
    best = counts.groupby(crops).idxmax().sort_values(key=lambda s: -counts[s])
    return list(best.iloc[:n])


def n_fields(fields) -> int:
    """Number of fields: rows of a table, field pixels (crop set) of a grid."""
    if is_gridded(fields):
        crop = fields["crop"].values
        return int(((crop != "") if crop.dtype.kind in "US" or crop.dtype == object else (crop > 0)).sum())
    return len(fields)


def is_grid_plan(plan) -> bool:
    """True when the plan covers gridded fields (a map can be drawn)."""
    return hasattr(plan, "fields_view")


__all__ = ["PARAMETERS", "load_inputs", "era5_on_fields", "site_weather", "plan_strategies", "comparison_table",
           "example_fields", "plot_et0", "plot_depletion", "plot_strategies", "headline", "rounded", "describe_fields",
           "n_fields", "is_grid_plan", "plot_map", "shown_strategies", "shown_schedule", "et0_methods", "partial_note",
           "no_map_note"]
