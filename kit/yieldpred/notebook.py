"""The yield-prediction notebook's parameters and glue: inputs, outputs and figures."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from kit.agro import read_weather
from kit.errors import InputDataError, ParameterError
from kit.i18n import N_, _
from kit.io import atomic_path
from kit.params import LANG, Param, Spec
from kit.raster import FieldsOutsideRasterWarning, rasterize_fields, read_sentinel2
from kit.report import input_file
from kit.yieldpred.data import SkippedWarning, UnknownFieldsWarning, read_fields_table, read_index_series, read_yields
from kit.yieldpred.imagery import INDEX_BANDS, index_series_from_stack
from kit.yieldpred.season import forecast_day, season_start_date
from kit.yieldpred.wording import (device_line, embedded_source, features_summary, forecast_summary, hidden_truth_line,  # noqa: F401
    inputs_summary, lead_table, month_label, no_map_note, num, pct, shown_predictions, skill_table, spatial_line, user_source,
    verdict_lines)

PARAMETERS = Spec(
    (
        Param("rasters", "path", None, N_("Sentinel-2 L2A: folder of YYYY-MM-DD.tif GeoTIFFs, folder of .SAFE products or their .zip, "
              "or a STAC ItemCollection/Catalog JSON; None for the embedded region")),
        Param("indices", "str", "auto", N_("indices from rasters, comma-separated (ndvi,ndmi,evi,savi,ndwi); auto: NDVI and NDMI "
              "where the bands allow")),
        Param("index_series", "path", None, N_("CSV field_id, date, ndvi, ... (Earth Engine export) instead of rasters")),
        Param("fields", "path", None, N_("GeoJSON polygons (field_id, crop, ...) for rasters, or CSV for index_series, None for the embedded data")),
        Param("yields", "path", None, N_("CSV field_id, year, yield_t_ha (t/ha, extra columns are season covariates), None for the embedded data")),
        Param("weather", "path", None, N_("daily weather: the kit's CSV (date, tmin_c, tmax_c, rain_mm, ...), a NASA POWER daily CSV/JSON "
              "or an ERA5(-Land) hourly NetCDF; None for the embedded data")),
        Param("lat_deg", "float", None, N_("site latitude, degrees, if not in the weather file (ERA5: picks the cell)"), min=-90, max=90,
              optional=True),
        Param("lon_deg", "float", None, N_("site longitude, degrees, to pick the ERA5 cell of a file of several"), min=-180, max=180,
              optional=True),
        Param("elevation_m", "float", None, N_("site elevation, m, if not in the weather file (ERA5 files hold none)"), optional=True),
        Param("target_year", "int", 2024, N_("harvest year to forecast (a season is named by its harvest year)"), min=1980, max=2100),
        Param("season_start", "str", "09-01", N_("first day of a season, MM-DD (winter cereals: September to August)")),
        Param("forecast_date", "str", "06-01", N_("forecast with data up to this day: MM-DD in the target season, or YYYY-MM-DD; "
              "None for the end of the season"), optional=True),
        Param("seed", "int", 0, N_("seed of the embedded region and the models"), min=0),
        Param("device", "device", "auto", N_("auto, cpu or cuda for indices and zonal means (env KIT_DEVICE overrides)"),
              choices=("auto", "cpu", "cuda")),
        Param("output_dir", "output_dir", "outputs/yield_prediction", N_("folder for predictions.csv, yield_map.tif, ...")),
        Param("scale", "float", 1.0, N_("embedded region area × scale (1: ~220 fields, 16 km²; 25: ~5,500 fields)"), min=0.25, max=400),
        LANG,
    ),
    purpose="Field cereal yields with P10-P90 ranges from satellite index series, weather and soil, checked by leave-one-year-out CV.",
)

SEASONS_EMBEDDED = 8
LEAD_DAYS = (150, 200, 250, 300)  # forecast days of the season shown in the skill plot
BLUE, ORANGE, GREEN, VERMILION, PURPLE, SKY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"


@dataclass
class Inputs:
    """What the notebook works on, whatever its source."""

    fields: pd.DataFrame
    weather: pd.DataFrame
    yields: pd.DataFrame
    observations: pd.DataFrame
    stack: xr.DataArray | None = None
    field_index: object = None
    hidden_truth: pd.DataFrame | None = None
    skipped: list = field(default_factory=list)
    source: str = ""


#: Indices the model is built on; ``indices="auto"`` computes those the bands allow.
MODEL_INDICES = ("ndvi", "ndmi")


def load_inputs(p, backend=None) -> Inputs:
    """Read the user's files (or generate the embedded region), check them, and derive the index series.

    Raises :class:`kit.errors.KitError` subclasses with one line each; counted
    warnings for yields of unknown fields, fields outside the raster and
    observations of unknown fields. Rasters are read by
    :func:`kit.raster.read_sentinel2` (GeoTIFF folders, SAFE products, STAC),
    each product with its own reflectance scale and offset, recorded with the
    ``rasters`` input of the run's manifest.
    """
    season_start_date(p.target_year, p.season_start)  # checks MM-DD
    forecast_day(p.forecast_date, p.target_year, p.season_start)  # checks the form and the season before any work
    if p.rasters and p.index_series:
        raise ParameterError(_("give rasters or index_series, not both"))
    user_data = [n for n in ("rasters", "index_series", "fields", "yields", "weather") if p[n]]
    inputs, polygons = _user_inputs(p, user_data) if user_data else _embedded_inputs(p)
    if inputs.stack is not None:
        inputs.field_index, outside = _field_index(polygons, inputs.stack)
        inputs.skipped += [{"field_id": f, "year": p.target_year, "reason": "polygon covers no pixel of the rasters"} for f in outside]
        observations = index_series_from_stack(inputs.stack, None, indices=chosen_indices(p.indices, inputs.stack),
                                               backend=backend, field_index=inputs.field_index)
    else:
        observations = read_index_series(p.index_series)
    observations["date"] = pd.to_datetime(observations["date"])
    unknown = ~observations["field_id"].isin(inputs.fields["field_id"])
    if unknown.any():
        warnings.warn(f"{int(unknown.sum())} index_series row(s) name fields missing from the fields file "
                      f"(e.g. {observations.loc[unknown, 'field_id'].iloc[0]!r}); they are left out", UnknownFieldsWarning, stacklevel=2)
        observations = observations[~unknown]
    inputs.observations = observations.reset_index(drop=True)
    return inputs


def _embedded_inputs(p) -> tuple[Inputs, dict]:
    from kit.yieldpred.synthetic import cereal_region

    region = cereal_region(seasons=SEASONS_EMBEDDED, target_year=p.target_year, scale=p.scale, seed=p.seed)
    fields, _ = read_fields_table(region.fields)
    yields = region.yields.copy()
    hidden = yields[yields["year"] == p.target_year].copy()
    yields.loc[yields["year"] == p.target_year, "yield_t_ha"] = np.nan  # the season to forecast: yields unknown
    yields = read_yields(yields, fields["field_id"])
    stack = region.stack
    source = embedded_source(len(fields), region.years, stack.sizes["time"])
    inputs = Inputs(fields, read_weather(region.weather), yields, None, stack, hidden_truth=hidden, source=source)
    return inputs, region.polygons


def _user_inputs(p, user_data) -> tuple[Inputs, dict]:
    missing = [n for n in ("fields", "yields", "weather") if not p[n]]
    if missing or not (p.rasters or p.index_series):
        need = missing + ([] if (p.rasters or p.index_series) else ["rasters or index_series"])
        raise ParameterError(_("with your own data, also give {names} (or none of them for the embedded region)").format(names=", ".join(need)))
    for n in user_data:
        if n not in ("rasters", "weather"):
            input_file(p[n], n)
    fields, polygons = read_fields_table(p.fields)
    weather = read_weather(p.weather, lat_deg=p.lat_deg, elevation_m=p.elevation_m, lon_deg=p.lon_deg)
    if weather.attrs.get("elevation_m") is None:  # the water balance's ET0 needs it; say so before any work
        raise ParameterError(_("{weather} gives no site elevation (no elevation_m column; ERA5 files hold none): "
                               "give elevation_m, the site's elevation in m").format(weather=p.weather))
    input_file(p.weather, "weather", details={"conversion": weather.attrs["conversion"]} if "conversion" in weather.attrs else None)
    yields = read_yields(p.yields, fields["field_id"])
    stack = None
    if p.rasters:
        if polygons is None:
            raise InputDataError(_("{fields} has no polygons; with rasters give fields as GeoJSON (a CSV goes with index_series)").format(
                fields=p.fields))
        stack = read_sentinel2(p.rasters, chunks=LAZY_CHUNK_PX if _large(p.rasters) else None)
        input_file(p.rasters, "rasters", details={"products": products_table(stack).to_dict("records")})
    source = user_source(len(fields), sorted(yields["year"].unique()))
    return Inputs(fields, weather, yields, None, stack, source=source), polygons


def _field_index(polygons, stack):
    """The rasterized fields and the ids of fields outside the rasters (warned of here, from the notebook's cell)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FieldsOutsideRasterWarning)
        index = rasterize_fields(polygons, stack.isel(time=0, band=0))
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=3)
    return index, list(index.outside)


def chosen_indices(indices: str, stack: xr.DataArray) -> list:
    """The indices to compute from ``stack``: the comma-separated names, or for ``"auto"`` :data:`MODEL_INDICES` its bands allow.

    An index ``"auto"`` leaves out is named in a warning with the band it
    needs; a named index whose band is missing is an error naming the band.
    """
    names = [str(b) for b in stack.coords["band"].values]
    if str(indices).strip() != "auto":
        chosen = [i.strip().lower() for i in str(indices).split(",") if i.strip()]
        unknown = [i for i in chosen if i not in INDEX_BANDS]
        if unknown or not chosen:
            raise ParameterError(f"parameter 'indices': {', '.join(unknown) or 'nothing'} is not an index; give auto or a "
                                 f"comma-separated list of {', '.join(INDEX_BANDS)}")
        return chosen
    chosen, skipped = [], []
    for name in MODEL_INDICES:
        lacking = [b for b in INDEX_BANDS[name][0] if b not in names]
        (skipped.append(f"{name} (needs {', '.join(lacking)})") if lacking else chosen.append(name))
    if not chosen:
        raise InputDataError(_("the rasters have bands {bands}: NDVI needs B04 and B08").format(bands=", ".join(names)))
    if skipped:
        warnings.warn(f"indices=auto: computing {', '.join(chosen)}; skipped {'; '.join(skipped)}, absent from the rasters",
                      SkippedIndexWarning, stacklevel=3)
    return chosen


def products_table(stack: xr.DataArray) -> pd.DataFrame:
    """One row per image product read (``product_id, date, baseline, scale, offset, status, reason, ...``); empty for embedded data."""
    table = stack.attrs.get("products")
    return table.copy() if isinstance(table, pd.DataFrame) else pd.DataFrame()


def write_index_series(inputs: Inputs, output_dir) -> Path | None:
    """``index_series.csv`` (``field_id, date, ndvi, ...``) when the series came from rasters: the table an Earth Engine export gives."""
    if inputs.stack is None:
        return None
    table = inputs.observations.copy()
    table["date"] = table["date"].dt.strftime("%Y-%m-%d")
    with atomic_path(Path(output_dir) / "index_series.csv") as tmp:
        table.round(5).to_csv(tmp, index=False)
    return Path(output_dir) / "index_series.csv"


#: Rows and columns of one lazily read block: a 2048² block of three uint16 bands is 25 MB, and its
#: float64 reflectance temporaries a few times that, whatever the tile size.
LAZY_CHUNK_PX = 2048


def _large(folder) -> bool:
    """More than 4 GB of GeoTIFFs: read lazily with Dask, block by block (every step, zonal means too)."""
    return Path(folder).is_dir() and sum(f.stat().st_size for f in Path(folder).glob("*.tif*")) > 4e9


class SkippedIndexWarning(UserWarning):
    """An index the model would use cannot be computed from the bands given."""


def seasons(inputs: Inputs, target_year: int, season_start: str) -> tuple[list, list]:
    """Seasons to use (yields or target, with imagery) and those set aside (no imagery), with a counted warning."""
    years = sorted(set(inputs.yields["year"]) | {target_year})
    with_images, without = [], []
    for y in years:
        start = season_start_date(y, season_start)
        end = start + pd.DateOffset(years=1)
        has = ((inputs.observations["date"] >= start) & (inputs.observations["date"] < end)).any()
        (with_images if has else without).append(y)
    if target_year in without:
        raise InputDataError(_("no imagery in the {year} season; give rasters or index_series covering it, or another target_year").format(
            year=target_year))
    if without:
        warnings.warn(f"{len(without)} season(s) with yields but no imagery are left out: {without}", SkippedWarning, stacklevel=2)
    return with_images, without


def predictions_table(pred: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """``field_id, year, yield_p10, yield_p50, yield_p90`` rounded to 10 kg/ha, sorted by field."""
    out = pd.DataFrame({"field_id": features["field_id"].to_numpy(), "year": features["year"].to_numpy()})
    for c in ("yield_p10", "yield_p50", "yield_p90"):
        out[c] = pred[c].to_numpy().round(3)
    if out[["yield_p10", "yield_p50", "yield_p90"]].isna().any().any():
        raise RuntimeError("a prediction is NaN; this is a bug, please report it")  # never a silent NaN
    return out.sort_values("field_id", ignore_index=True)


def yield_map(pred: pd.DataFrame, index) -> xr.DataArray:
    """P10/P50/P90 painted on the field label raster: (band, y, x), t/ha, NaN outside predicted fields."""
    lut = np.full((3, index.n_labels), np.nan, dtype=np.float32)
    pos = {f: i + 1 for i, f in enumerate(index.field_ids)}
    for row in pred.itertuples(index=False):
        k = pos.get(row.field_id)
        if k is not None:
            lut[:, k] = (row.yield_p10, row.yield_p50, row.yield_p90)
    labels = index.labels.values
    da = xr.DataArray(lut[:, labels], dims=("band", "y", "x"),
                      coords={"band": ["yield_p10", "yield_p50", "yield_p90"], **{k: index.labels.coords[k] for k in index.labels.coords}},
                      name="yield_t_ha", attrs={"units": "t/ha"})
    return da


def skipped_table(skipped) -> pd.DataFrame:
    rows = [s if isinstance(s, dict) else {"field_id": s.field_id, "year": s.year, "reason": s.reason} for s in skipped]
    return pd.DataFrame(rows, columns=["field_id", "year", "reason"])


def season_curves(inputs: Inputs, years, season_start: str, index: str = "ndvi") -> pd.DataFrame:
    """Mean daily index curve over all fields, one column per season (rows: day of season)."""
    from kit.raster.temporal import daily_curve

    obs = inputs.observations
    out = {}
    for y in years:
        start = season_start_date(y, season_start)
        end = start + pd.Timedelta(days=364)
        part = obs[(obs["date"] >= start) & (obs["date"] <= end)]
        if part.empty or index not in part:
            continue
        wide = part.pivot_table(index="field_id", columns="date", values=index, aggfunc="mean")
        curve = daily_curve(wide, start, end)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # days before the first clear image
            out[y] = np.nanmean(curve.to_numpy(), axis=0) if len(curve) else np.nan
    return pd.DataFrame(out)


# ---------------------------------------------------------------- figures
def _season_ticks(ax, season_start: str, year: int):
    start = season_start_date(year, season_start)
    months = pd.date_range(start, start + pd.Timedelta(days=364), freq="MS")
    ax.set_xticks([(m - start).days for m in months])
    ax.set_xticklabels([month_label(m) for m in months])


def plot_index_profiles(curves: pd.DataFrame, target_year: int, cutoff_day: int, season_start: str, index: str = "ndvi"):
    """Mean index curve of each season, the target season bold up to the forecast date."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.3))
    grey = plt.get_cmap("Greys")
    others = [y for y in curves.columns if y != target_year]
    for i, y in enumerate(others):
        ax.plot(curves.index, curves[y], color=grey(0.35 + 0.5 * i / max(1, len(others))), lw=1.2, label=str(y))
    if target_year in curves:
        seen = curves[target_year].copy()
        seen[curves.index > cutoff_day] = np.nan
        ax.plot(curves.index, seen, color=VERMILION, lw=2.8, label=_("{year} (to the forecast date)").format(year=target_year))
    ax.axvline(cutoff_day, color=VERMILION, ls="--", lw=1)
    ax.text(cutoff_day + 3, ax.get_ylim()[1] * 0.97, _("forecast date"), color=VERMILION, va="top", fontsize=9)
    _season_ticks(ax, season_start, target_year)
    ax.set_xlim(0, 330)
    ax.set_ylabel(_("mean {index} of all fields").format(index=index.upper()))
    ax.set_title(_("{index} profiles by season (gap-filled, smoothed)").format(index=index.upper()))
    ax.legend(ncol=3, fontsize=8, frameon=False, loc="upper left")
    fig.tight_layout()
    return fig


def plot_predicted_vs_observed(cv: pd.DataFrame, metrics: dict):
    """Out-of-year P50 against observed yields, P10-P90 as bars, one colour per held-out season."""
    import matplotlib.pyplot as plt

    from kit.plotting import OKABE_ITO

    fig, ax = plt.subplots(figsize=(6.4, 6))
    for i, (year, part) in enumerate(cv.groupby("year")):
        c = OKABE_ITO[i % len(OKABE_ITO)]
        ax.errorbar(part["yield_t_ha"], part["yield_p50"], yerr=[part["yield_p50"] - part["yield_p10"], part["yield_p90"] - part["yield_p50"]],
                    fmt="o", ms=3, color=c, ecolor=c, elinewidth=0.4, alpha=0.55, label=str(year))
    lim = [0, float(np.nanmax(cv[["yield_t_ha", "yield_p90"]].to_numpy())) * 1.05]
    ax.plot(lim, lim, color="black", lw=1)
    ax.set_xlim(lim)
    ax.set_ylim(lim)
    ax.set_xlabel(_("observed yield (t/ha)"))
    ax.set_ylabel(_("predicted P50 (t/ha), bars P10-P90"))
    ax.set_title(_("Leave-one-year-out: predicted vs observed"))
    text = _("model NRMSE {model}, R² {r2}\nfield mean NRMSE {mean}\ntrend NRMSE {trend}\nP10-P90 coverage {coverage}").format(
        model=pct(metrics["cv_nrmse_p50"], 1), r2=num(metrics["cv_r2_p50"], 2), mean=pct(metrics["baseline_nrmse_mean"], 1),
        trend=pct(metrics["baseline_nrmse_trend"], 1), coverage=pct(metrics["interval_coverage_p10_p90"]))
    ax.text(0.03, 0.97, text, transform=ax.transAxes, va="top", fontsize=9, bbox=dict(fc="white", ec="0.8"))
    ax.legend(title=_("held-out season"), fontsize=8, loc="lower right", frameon=False)
    fig.tight_layout()
    return fig


def plot_skill_vs_lead_time(table: pd.DataFrame, cutoff_day: int, season_start: str, target_year: int):
    """NRMSE of P50 forecasts by forecast date, beside the two baselines."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    ax.plot(table["cutoff_day"], 100 * table["cv_nrmse_p50"], "o-", color=BLUE, lw=2, label=_("model P50"))
    ax.axhline(100 * table["baseline_nrmse_mean"].iloc[0], color=ORANGE, ls="--", label=_("baseline: field mean"))
    ax.axhline(100 * table["baseline_nrmse_trend"].iloc[0], color=GREEN, ls=":", lw=2, label=_("baseline: field mean + trend"))
    ax.axvline(cutoff_day, color=VERMILION, lw=1, ls="--")
    _season_ticks(ax, season_start, target_year)
    ax.set_xlim(min(table["cutoff_day"]) - 15, max(table["cutoff_day"]) + 15)
    ax.set_ylim(0, None)
    ax.set_xlabel(_("forecast date (data up to)"))
    ax.set_ylabel(_("leave-one-year-out NRMSE (%)"))
    ax.set_title(_("Skill against lead time: earlier forecasts know less"))
    ax.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    return fig


def plot_contributions(contrib: pd.DataFrame, top: int = 15):
    """Mean absolute contribution of each feature to the P50 forecasts (t/ha), largest first."""
    import matplotlib.pyplot as plt

    mean_abs = contrib.drop(columns="bias").abs().mean().sort_values(ascending=True).tail(top)
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(mean_abs) + 1.2))
    ax.barh(mean_abs.index, mean_abs.to_numpy(), color=BLUE)
    ax.set_xlabel(_("mean |contribution| to P50 (t/ha)"))
    ax.set_title(_("What drives this season's forecasts"))
    fig.tight_layout()
    return fig


def plot_yield_map(ymap: xr.DataArray, target_year: int):
    """P50 map and P10-P90 width map of the forecast season."""
    import matplotlib.pyplot as plt

    x, y = ymap["x"].values / 1000, ymap["y"].values / 1000
    extent = [x[0], x[-1], y[-1], y[0]]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    p50 = ymap.sel(band="yield_p50").values
    width = (ymap.sel(band="yield_p90") - ymap.sel(band="yield_p10")).values
    im = axes[0].imshow(p50, cmap="YlGn", extent=extent)
    fig.colorbar(im, ax=axes[0], shrink=0.85, label=_("P50 yield (t/ha)"))
    axes[0].set_title(_("Forecast yield {year} (P50)").format(year=target_year))
    im = axes[1].imshow(width, cmap="Purples", extent=extent)
    fig.colorbar(im, ax=axes[1], shrink=0.85, label=_("P90 - P10 (t/ha)"))
    axes[1].set_title(_("Uncertainty (P10-P90 width)"))
    for ax in axes:
        ax.set_xlabel(_("easting (km, UTM)"))
        ax.set_ylabel(_("northing (km, UTM)"))
        ax.grid(False)
    fig.tight_layout()
    return fig
