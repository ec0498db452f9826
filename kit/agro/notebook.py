"""The irrigation-planning notebook's parameters and glue (plots, comparison with a calendar)."""
from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import xarray as xr

from kit.agro import et0, read_fields, read_weather, schedule, synthetic
from kit.agro.weather_sources import conversion_summary, convert_weather_grid, sniff_weather_format
from kit.agro.crops import CROPS
from kit.agro.gridded.contract import block_fields_table, is_gridded, pixel_area_ha, read_fields_grid
from kit.agro.gridded.reanalysis import CELL_VARIABLES, reanalysis_on_grid
from kit.agro.policy import STRATEGIES
from kit.backend import as_backend
from kit.errors import ParameterError
from kit.params import Param, Spec
from kit.report import input_file

PARAMETERS = Spec(
    (
        Param("site", "str", "marrakech", "embedded site used when weather is None", choices=tuple(synthetic.SITES)),
        Param("weather", "path", None, "daily weather: the kit's CSV (date, tmin_c, tmax_c, ...; datasets/irrigation/README.md), "
              "a NASA POWER daily CSV/JSON or an ERA5(-Land) hourly NetCDF (gridded fields: every cell); None for the embedded data"),
        Param("fields", "path", None, "fields CSV/GeoJSON table (field_id, crop, planting_date, area_ha, soil) or a NetCDF/GeoTIFF grid (crop, soil, planting_date per pixel); None for the embedded data"),
        Param("season_start", "date", "2021-09-01", "first day planned, YYYY-MM-DD"),
        Param("season_end", "date", "2022-08-31", "last day planned, YYYY-MM-DD"),
        Param("strategy", "str", "mad", "schedule: mad, calendar, interval, deficit or quota", choices=STRATEGIES),
        Param("quota_m3", "float", None, "seasonal quota for strategy quota, m³; None: 70 % of the MAD need", min=0, optional=True),
        Param("lat_deg", "float", None, "site latitude, degrees, if not a weather column", min=-90, max=90, optional=True),
        Param("lon_deg", "float", None, "site longitude, degrees, to pick the ERA5 cell of a file of several", min=-180, max=180,
              optional=True),
        Param("elevation_m", "float", None, "site elevation, m, if not a weather column", optional=True),
        Param("seed", "int", 0, "seed of the embedded weather and fields", min=0),
        Param("device", "device", "auto", "auto, cpu or cuda (env KIT_DEVICE overrides)", choices=("auto", "cpu", "cuda")),
        Param("output_dir", "output_dir", "outputs/irrigation_planning", "folder for schedule.csv, water_balance.nc, ..."),
        Param("scale", "int", 1, "200 × scale embedded fields (scale 50: 10,000 fields)", min=1, max=500),
    ),
    purpose="FAO-56 ET0, daily soil water balance and irrigation schedules under a water quota, for many fields at once.",
)

_NO_ELEVATION = ("{weather} gives no site elevation (no elevation_m column; ERA5 files hold none): "
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
        raise ParameterError(f"season_end {p.season_end} must be after season_start {p.season_start}")
    first, n_years = agricultural_years(p.season_start, p.season_end)
    grid = read_fields_grid(p.fields) if p.fields and is_gridded(p.fields) else None
    if p.weather and grid is not None and sniff_weather_format(p.weather) == "era5_netcdf":
        weather, conversion = era5_on_fields(p.weather, grid, p.elevation_m)
        input_file(p.weather, "weather", details={"conversion": conversion})
        source = (f"weather from {p.weather} ({conversion_summary(conversion)}; every ERA5 cell: each field pixel "
                  f"on its nearest cell, {conversion['regridding']['cells_used']} cells used)")
    elif p.weather:
        weather = read_weather(p.weather, lat_deg=p.lat_deg, elevation_m=p.elevation_m, lon_deg=p.lon_deg)
        if weather.attrs.get("elevation_m") is None:  # FAO-56 ET0 needs it; say so before any work
            raise ParameterError(_NO_ELEVATION.format(weather=p.weather))
        conversion = weather.attrs.get("conversion")
        input_file(p.weather, "weather", details={"conversion": conversion} if conversion else None)
        source = f"weather from {p.weather}" + (f" ({conversion_summary(conversion)})" if conversion else "")
    else:
        weather = synthetic.weather(p.site, seasons=n_years, seed=p.seed, start_year=first)
        source = f"embedded weather for {synthetic.site_info(p.site)['station']}"
    if grid is not None:
        fields = grid
        source += f", gridded fields from {p.fields}"
    elif p.fields:
        fields = read_fields(p.fields)
        source += f", fields from {p.fields}"
    else:
        fields = synthetic.fields(p.site, n=200 * p.scale, seed=p.seed, start_year=first)
        source += f", {len(fields)} embedded fields"
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
        raise ParameterError(_NO_ELEVATION.format(weather=path))
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


def plot_et0(et0_table: pd.DataFrame, weather: pd.DataFrame, start: str, end: str):
    """Daily ET0 with its 7-day mean, and rain, over the season."""
    import matplotlib.pyplot as plt

    e = et0_table.loc[start:end]
    if "date" in weather.columns:
        weather = weather.set_index(pd.DatetimeIndex(pd.to_datetime(weather["date"])))
    rain = weather.loc[start:end, "rain_mm"] if "rain_mm" in weather else None
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot(e.index, e["et0_mm"], color="#E69F00", alpha=0.35, lw=1, label="ET0, daily")
    ax.plot(e.index, e["et0_mm"].rolling(7, center=True, min_periods=1).mean(), color="#D55E00", lw=2, label="ET0, 7-day mean")
    fallback = e["method"] != "penman-monteith"
    if fallback.any():
        ax.scatter(e.index[fallback], e["et0_mm"][fallback], s=12, color="#000000", label="estimated (missing data)", zorder=3)
    ax.set_ylabel("ET0, mm/day")
    ax.set_title(f"Reference evapotranspiration (FAO-56): {e['et0_mm'].sum():.0f} mm over the season")
    if rain is not None:
        ax2 = ax.twinx()
        ax2.bar(rain.index, rain.values, color="#0072B2", width=1.0, alpha=0.6, label="rain")
        ax2.set_ylabel("rain, mm/day")
        ax2.invert_yaxis()
        ax2.set_ylim(max(60.0, 3 * rain.max()), 0)
        ax2.grid(False)
        ax2.spines["right"].set_visible(True)
        handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
        ax.legend(handles=handles, frameon=False, loc="lower right", ncols=4)
    fig.tight_layout()
    return fig


def plot_depletion(plan, field_ids: list[str]):
    """Root-zone depletion against RAW and TAW, with irrigation and rain, for a few fields."""
    import matplotlib.pyplot as plt

    ds = plan.fields_view(field_ids) if hasattr(plan, "fields_view") else plan.balance
    fig, axes = plt.subplots(len(field_ids), 1, figsize=(11, 2.6 * len(field_ids)), sharex=True, squeeze=False)
    for ax, fid in zip(axes[:, 0], field_ids):
        f = ds.sel(field=fid)
        t = pd.DatetimeIndex(ds["time"].values)
        ax.fill_between(t, f["raw_mm"], f["taw_mm"], color="#D55E00", alpha=0.12, label="stress zone (RAW to TAW)")
        ax.plot(t, f["taw_mm"], color="#D55E00", lw=1, label="TAW")
        ax.plot(t, f["raw_mm"], color="#E69F00", lw=1.2, ls="--", label="RAW")
        ax.plot(t, f["depletion_mm"], color="#0072B2", lw=1.8, label="depletion Dr")
        irr = f["irrigation_mm"].fillna(0).values
        ax.bar(t[irr > 0], irr[irr > 0], width=2.0, color="#009E73", alpha=0.7, label="irrigation (net), mm")
        ax.set_ylabel("mm")
        crop = str(plan.summary.loc[fid, "crop"])
        ax.set_title(f"{fid}: {crop}, {int((irr > 0).sum())} irrigations, relative yield {float(f['relative_yield']):.2f}", loc="left")
        ax.invert_yaxis()  # depletion grows downward, like a falling water level
    axes[0, 0].legend(frameon=False, ncols=5, loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def plot_strategies(table: pd.DataFrame, chosen: str):
    """Water used and relative yield by strategy, and the water-yield trade-off."""
    import matplotlib.pyplot as plt

    from kit.plotting import OKABE_ITO

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1.3, 1]})
    colours = [OKABE_ITO[3] if s == chosen else OKABE_ITO[0] for s in table.index]
    water_mm3 = table["water_m3"] / 1e6
    ax1.bar(table.index, water_mm3, color=colours)
    for x, (w, y) in enumerate(zip(water_mm3, table["relative_yield"])):
        ax1.text(x, w, f"yield {y:.2f}", ha="center", va="bottom", fontsize=9)
    ax1.set_ylabel("water used, million m³")
    ax1.set_title("Water used by strategy (label: relative yield)")
    ax2.scatter(water_mm3, table["relative_yield"], s=80, color=colours, zorder=3)
    for s, w, y in zip(table.index, water_mm3, table["relative_yield"]):
        ax2.annotate(s, (w, y), textcoords="offset points", xytext=(6, 4))
    ax2.set_xlabel("water used, million m³")
    ax2.set_ylabel("relative yield (FAO-33 Ky)")
    ax2.set_title("Trade-off: up and left is better")
    fig.tight_layout()
    return fig


def headline(table: pd.DataFrame, chosen: str) -> str:
    """One sentence comparing the chosen strategy with the fixed calendar."""
    row = table.loc[chosen]
    dw = -row["water_vs_calendar_m3"]
    dy = row["yield_vs_calendar_pts"]
    water = f"saves {dw:,.0f} m³ of water" if dw >= 0 else f"uses {-dw:,.0f} m³ more water"
    yield_ = f"avoids a yield loss of {dy:.1f} points" if dy >= 0 else f"loses {-dy:.1f} points of relative yield"
    return f"Against the fixed calendar, the {chosen} plan {water} and {yield_}."


def rounded(table: pd.DataFrame) -> pd.DataFrame:
    """The comparison table as an analyst reads it."""
    out = table.copy()
    out["water_m3"] = out["water_m3"].round(-2).astype(int)
    out["water_vs_calendar_m3"] = out["water_vs_calendar_m3"].round(-2).astype(int)
    return out.round({"relative_yield": 3, "days_under_stress": 1, "yield_vs_calendar_pts": 1})


def describe_fields(fields) -> str:
    """One line: how many fields (or field pixels), how many hectares, which crops."""
    if is_gridded(fields):
        table, _, _ = block_fields_table(fields.load(), fields, slice(0, fields.sizes["y"]), pixel_area_ha(fields), CROPS,
                                         None, None)
        return (f"grid of {fields.sizes['y']} × {fields.sizes['x']} pixels, {len(table)} field pixels, "
                f"{table['area_ha'].sum():,.0f} ha, crops: " + ", ".join(f"{c} {n}" for c, n in table["crop"].value_counts().items()))
    return f"{len(fields)} fields, {fields['area_ha'].sum():,.0f} ha, crops: " + ", ".join(
        f"{c} {n}" for c, n in fields["crop"].value_counts().items()
    )


def n_fields(fields) -> int:
    """Number of fields: rows of a table, field pixels (crop set) of a grid."""
    if is_gridded(fields):
        crop = fields["crop"].values
        return int(((crop != "") if crop.dtype.kind in "US" or crop.dtype == object else (crop > 0)).sum())
    return len(fields)


def is_grid_plan(plan) -> bool:
    """True when the plan covers gridded fields (a map can be drawn)."""
    return hasattr(plan, "fields_view")


def plot_map(plan):
    """Maps of seasonal irrigation (mm) and relative yield over the perimeter; tracks and non-fields blank."""
    import matplotlib.pyplot as plt

    ds = plan.balance
    x, y = ds["x"].values, ds["y"].values
    dx = abs(x[1] - x[0]) if len(x) > 1 else 1.0
    dy = abs(y[1] - y[0]) if len(y) > 1 else 1.0
    # Extent in km from the upper-left corner, so the axes read as distances on the ground.
    extent = (0, len(x) * dx / 1000, 0, len(y) * dy / 1000)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5))
    irr = np.asarray(ds["seasonal_irrigation_mm"].values, float)
    im1 = ax1.imshow(irr, cmap="cividis_r", extent=extent, interpolation="nearest")
    fig.colorbar(im1, ax=ax1, label="seasonal irrigation, mm (gross)")
    ax1.set_title(f"Seasonal irrigation: {np.nanmean(irr):.0f} mm on average")
    ry = np.asarray(ds["relative_yield"].values, float)
    im2 = ax2.imshow(ry, cmap="viridis", vmin=max(0.0, np.nanmin(ry)), vmax=1.0, extent=extent, interpolation="nearest")
    fig.colorbar(im2, ax=ax2, label="relative yield (FAO-33 Ky)")
    ax2.set_title(f"Expected relative yield: {plan.relative_yield:.2f} (area-weighted)")
    for ax in (ax1, ax2):
        ax.set_xlabel("km east")
        ax.set_ylabel("km north")
        ax.grid(False)
    fig.suptitle(f"Strategy {plan.strategy}: white pixels are tracks or not fields")
    fig.tight_layout()
    return fig


__all__ = ["PARAMETERS", "load_inputs", "era5_on_fields", "site_weather", "plan_strategies", "comparison_table", "example_fields", "plot_et0",
           "plot_depletion", "plot_strategies", "headline", "rounded", "describe_fields", "n_fields", "is_grid_plan", "plot_map"]

