"""A synthetic rainfed cereal region (Chaouia / Saïs-like): fields, imagery, weather and yields.

Yields come from a process model (light-use efficiency × water stress from
kit.agro's FAO-56 soil water balance, harvest index cut by grain-fill
stress and heat, noise), run on the *true* field conditions: rain of the
field's commune (not the station's), the field's true soil water capacity
(not its soil class's), its management. The imagery shows the canopy that
the same model grows, through Sentinel-2-like bands, clouds and an SCL
mask. A yield model sees only what an analyst sees: the station weather,
the soil class, the cloudy imagery and the season covariates. See
``datasets/yield/README.md``.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from kit.raster.georef import set_georef

__all__ = ["BANDS", "Region", "cereal_region", "tiny_stack"]

#: Band order of the synthetic acquisitions (Sentinel-2 L2A names), SCL last.
BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12", "SCL")
# Typical surface reflectances (unitless) of a green wheat canopy, the region's bare soil and a thick cloud.
_VEG = np.array([0.030, 0.060, 0.035, 0.100, 0.280, 0.360, 0.400, 0.420, 0.220, 0.110])
_SOIL = np.array([0.080, 0.110, 0.150, 0.180, 0.200, 0.220, 0.240, 0.250, 0.320, 0.270])
_CLOUD = np.array([0.450, 0.440, 0.450, 0.460, 0.470, 0.470, 0.480, 0.480, 0.330, 0.220])
CRS = "EPSG:32629"
ORIGIN_XY_M = (300_000.0, 3_660_000.0)  # UTM 29N, upper-left corner of the region (Chaouia plain near Settat)
PIXEL_M = 20.0
COMMUNES = ("Sidi El Aidi", "Ouled Said", "Ben Ahmed", "Lakhyayta", "Oulad Mrah", "Ras El Ain", "Guisser", "Mzamza")
_SOIL_SHARES = {"clay": 0.35, "silty_clay": 0.15, "loam": 0.25, "sandy_loam": 0.25}  # tirs vertisols, hamri
_SOIL_BRIGHTNESS = {"clay": 0.80, "silty_clay": 0.85, "loam": 1.0, "sandy_loam": 1.12}
# Wheat thermal time (growing degree-days from sowing, base 0 °C): emergence, full canopy, anthesis, end of grain fill.
_GDD = {"emergence": 120.0, "full_cover": 1200.0, "heading": 1450.0, "anthesis": 1550.0, "senescence": 1750.0, "maturity": 2400.0}
RUE_G_PER_MJ = 1.5  # above-ground dry matter per MJ of intercepted PAR, wheat under Mediterranean conditions
HI_MAX = 0.45
CHAOUIA_RAIN_MM = 380.0  # mean seasonal rain of the Chaouia plain (Settat-Berrechid), the Meknès generator is scaled to it


@dataclass
class Region:
    """The embedded region: everything a yield notebook reads, plus the hidden truth.

    Attributes
    ----------
    fields : pandas.DataFrame
        ``field_id, crop, soil, commune, area_ha`` (what a cadastre or a
        farm register holds).
    polygons : dict
        GeoJSON FeatureCollection (UTM 29N, legacy ``crs`` member) with the fields' columns as properties.
    weather : pandas.DataFrame
        Station weather (the weather contract of :func:`kit.agro.read_weather`).
    yields : pandas.DataFrame
        ``field_id, year, yield_t_ha, planting_date, n_kg_ha`` for every
        season (harvest year), the target year's yields included: the
        notebook hides those.
    stack : xarray.DataArray (time, band, y, x), uint16
        Sentinel-2-like digital numbers (reflectance × 10 000) and SCL.
    truth : pandas.DataFrame
        Per field-season internals of the process model (true TAW, commune
        rain, biomass, harvest index, season ks), for checks and the card.
    """

    fields: pd.DataFrame
    polygons: dict
    weather: pd.DataFrame
    yields: pd.DataFrame
    stack: xr.DataArray
    truth: pd.DataFrame
    years: list = field(default_factory=list)

    def write(self, folder, *, rasters: bool = True, index_series: bool = True) -> dict:
        """Write the region as a user would bring it: ``rasters/``, ``fields.geojson``,
        ``fields.csv``, ``yields.csv``, ``weather.csv``, ``index_series.csv``.

        Returns
        -------
        dict of name -> Path
        """
        from kit.io import atomic_path
        from kit.raster.stack import write_acquisitions

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        out = {}
        if rasters:
            out["rasters"] = write_acquisitions(self.stack, folder / "rasters")
        out["fields"] = folder / "fields.geojson"
        with atomic_path(out["fields"]) as tmp:
            tmp.write_text(json.dumps(self.polygons))
        for name, table in (("fields_csv", self.fields), ("yields", self.yields), ("weather", self.weather)):
            path = folder / ("fields.csv" if name == "fields_csv" else f"{name}.csv")
            with atomic_path(path) as tmp:
                table.to_csv(tmp, index=False)
            out[name] = path
        if index_series:
            from kit.yieldpred.imagery import index_series_from_stack

            table = index_series_from_stack(self.stack, self.polygons)
            out["index_series"] = folder / "index_series.csv"
            with atomic_path(out["index_series"]) as tmp:
                table.to_csv(tmp, index=False, float_format="%.4f")
        return out


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _layout(side: int, rng) -> tuple[np.ndarray, list, list]:
    """Blocks of 25 px between 1-px tracks, each cut into strips 4-10 px wide: the region's parcels."""
    block = 25
    n_blocks = side // block
    labels = np.zeros((side, side), dtype=np.int32)
    rects, block_of = [], []
    for by in range(n_blocks):
        for bx in range(n_blocks):
            y0, x0 = by * block + 1, bx * block + 1
            inner = block - 1
            vertical = rng.random() < 0.5
            pos = 0
            while inner - pos >= 4:
                w = int(min(inner - pos, rng.integers(4, 11)))
                if inner - pos - w < 4:
                    w = inner - pos
                # Polygon edges are jittered off the pixel grid, as digitized parcels are.
                jit = rng.uniform(-0.35, 0.35, 4)
                if vertical:
                    r = (y0 + jit[0], x0 + pos + jit[1], y0 + inner + jit[2], x0 + pos + w + jit[3])
                else:
                    r = (y0 + pos + jit[0], x0 + jit[1], y0 + pos + w + jit[2], x0 + inner + jit[3])
                rects.append(r)
                block_of.append((by, bx))
                pos += w
    return labels, rects, block_of


def _polygons(rects, props, side) -> dict:
    x0, y0 = ORIGIN_XY_M
    feats = []
    for (r0, c0, r1, c1), prop in zip(rects, props):
        xa, xb = x0 + c0 * PIXEL_M, x0 + c1 * PIXEL_M
        ya, yb = y0 - r0 * PIXEL_M, y0 - r1 * PIXEL_M
        ring = [[round(xa, 2), round(ya, 2)], [round(xb, 2), round(ya, 2)], [round(xb, 2), round(yb, 2)],
                [round(xa, 2), round(yb, 2)], [round(xa, 2), round(ya, 2)]]
        feats.append({"type": "Feature", "properties": prop, "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32629"}},
            "features": feats}


def _grid_coords(side):
    x0, y0 = ORIGIN_XY_M
    x = x0 + (np.arange(side) + 0.5) * PIXEL_M
    y = y0 - (np.arange(side) + 0.5) * PIXEL_M
    return x, y, (PIXEL_M, 0.0, x0, 0.0, -PIXEL_M, y0)


def _station_weather(first_year: int, seasons: int, seed: int, rng) -> tuple[pd.DataFrame, np.ndarray]:
    from kit.agro import synthetic as agro_synthetic

    w = agro_synthetic.weather("meknes", seasons=seasons, seed=seed, start_year=first_year - 1)
    # Morocco's rainfed belt swings between drought and wet years (CV of seasonal rain ~35 %);
    # the generator's daily Markov chain alone gives far less, so each season's rain is scaled.
    to_chaouia = CHAOUIA_RAIN_MM / float(np.sum(agro_synthetic.SITES["meknes"]["rain_mm"]))
    factor = np.clip(rng.lognormal(0.0, 0.35, seasons), 0.4, 1.8) * to_chaouia
    season_of_day = (pd.to_datetime(w["date"]) - pd.Timestamp(first_year - 1, 9, 1)).dt.days.to_numpy() // 365
    season_of_day = np.minimum(season_of_day, seasons - 1)
    w["rain_mm"] = np.round(w["rain_mm"] * factor[season_of_day], 1)
    w["rain_forecast_mm"] = np.round(w["rain_forecast_mm"] * factor[season_of_day], 1)
    return w, factor


def _planting_dates(weather: pd.DataFrame, year: int, delays_days: np.ndarray) -> pd.Series:
    """Farmers sow after the first useful autumn rains (30 mm since 1 September), not before 25 October."""
    w = weather.assign(date=pd.to_datetime(weather["date"]))
    season = w[(w["date"] >= pd.Timestamp(year - 1, 9, 1)) & (w["date"] <= pd.Timestamp(year - 1, 12, 31))]
    wet = season.loc[season["rain_mm"].cumsum() >= 30.0, "date"]
    onset = max(wet.iloc[0] if len(wet) else pd.Timestamp(year - 1, 12, 10), pd.Timestamp(year - 1, 10, 25))
    return pd.Series(onset + pd.to_timedelta(delays_days.astype(int), unit="D"))


def _simulate_season(fields, year, weather, plant, taw_true, commune_rain, n_factor, potential, rng):
    """Process model of one season: water balance, canopy, biomass, harvest index -> yield, daily cover."""
    from kit.agro.balance import water_balance_kernel
    from kit.agro.engine import prepare

    start, end = f"{year - 1}-09-01", f"{year}-08-31"
    table = fields[["field_id", "crop", "area_ha", "soil"]].assign(
        planting_date=plant.dt.strftime("%Y-%m-%d").to_numpy(), taw_mm_per_m=taw_true)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inputs = prepare(table, weather, start=start, end=end)
    rain = inputs.weather["rain_mm"].to_numpy(float)[None, :] * commune_rain[:, None]
    import array_api_compat.numpy as xp  # the embedded data is made on the CPU, bit for bit the same everywhere
    out = water_balance_kernel(xp.asarray(inputs.et0["et0_mm"].to_numpy(float)), xp.asarray(rain),
                               {k: xp.asarray(v) for k, v in inputs.params.items()},
                               u2_ms=xp.asarray(inputs.u2_ms), rh_min_pct=xp.asarray(inputs.rh_min_pct))
    ks = np.nan_to_num(np.asarray(out["ks"]), nan=1.0)
    w = inputs.weather
    tmean = ((w["tmax_c"] + w["tmin_c"]) / 2).to_numpy(float)
    tmax = w["tmax_c"].to_numpy(float)
    rs = inputs.et0["rs_mj_m2"].to_numpy(float)
    day = np.arange(len(w))[None, :] - inputs.params["plant_index"][:, None]
    sown = day >= 0
    gdd = np.cumsum(np.where(sown, np.maximum(tmean, 0.0)[None, :], 0.0), axis=1)
    speed = np.where(fields["crop"].to_numpy() == "barley", 1.1, 1.0)[:, None]  # barley develops faster
    g = gdd * speed
    cmax = 0.93 * potential[:, None] * n_factor[:, None]
    rise = _smoothstep((g - _GDD["emergence"]) / (_GDD["full_cover"] - _GDD["emergence"]))
    # Water stress after heading hastens senescence: a fully stressed day ages the canopy by 15 °C·d more.
    after_heading = g >= _GDD["heading"]
    g_senesce = g + 15.0 * np.cumsum(np.where(after_heading, 1.0 - ks, 0.0), axis=1)
    fall = 1.0 - _smoothstep((g_senesce - _GDD["senescence"]) / (_GDD["maturity"] - _GDD["senescence"]))
    # Water stress also shrinks the canopy, with a memory of about two weeks.
    memory = np.ones_like(ks)
    for t in range(1, ks.shape[1]):
        memory[:, t] = memory[:, t - 1] + (ks[:, t] - memory[:, t - 1]) / 12.0
    cover = np.where(sown, cmax * rise * fall * (0.3 + 0.7 * memory), 0.0)
    growing = sown & (g_senesce < _GDD["maturity"])
    biomass = RUE_G_PER_MJ * np.sum(np.where(growing, 0.5 * rs[None, :] * cover * ks, 0.0), axis=1)  # g/m²
    # Grain filling draws on the green canopy that is left after anthesis (green area duration).
    fill = (g >= _GDD["anthesis"]) & (g < _GDD["maturity"])
    green_fill = np.sum(cover * fill, axis=1) / np.maximum(fill.sum(axis=1), 1) / cmax[:, 0]
    ks_fill = np.sum(ks * fill, axis=1) / np.maximum(fill.sum(axis=1), 1)
    flowering = (g >= _GDD["heading"]) & (g < _GDD["senescence"])
    heat = np.sum(flowering & (tmax[None, :] > 32.0), axis=1)
    hi = np.clip(HI_MAX * (0.3 + 1.0 * green_fill) * (1 - 0.05 * heat), 0.12, HI_MAX)
    yield_t = biomass * hi / 100.0 * np.where(fields["crop"].to_numpy() == "barley", 0.9, 1.0)
    truth = pd.DataFrame({
        "field_id": fields["field_id"].to_numpy(), "year": year, "biomass_t_ha": biomass / 100.0, "harvest_index": hi,
        "ks_grain_fill": ks_fill, "green_fill": green_fill, "heat_days_flowering": heat, "commune_rain_factor": commune_rain,
        "season_rain_mm": rain.sum(axis=1), "taw_true_mm_per_m": taw_true, "model_yield_t_ha": yield_t,
    })
    return yield_t, cover, pd.DatetimeIndex(w.index), truth


def _acquisitions(year: int, rng) -> pd.DatetimeIndex:
    slots = pd.date_range(f"{year - 1}-10-01", f"{year}-06-30", freq="5D")
    keep = rng.random(len(slots)) < 0.55  # a 5-day revisit, about half the passes kept: 5-10 days apart
    return slots[keep]


def _cloud_layers(side, date, rng):
    """Cloud opacity (0-1) and shadow mask for one date; cloudier in winter."""
    from scipy.ndimage import gaussian_filter, shift

    winter = date.month in (11, 12, 1, 2, 3)
    fraction = float(np.clip(rng.beta(0.6, 1.6) * (1.3 if winter else 0.7), 0.0, 0.95))
    if fraction < 0.03:
        z = np.zeros((side, side))
        return z, np.zeros((side, side), bool)
    noise = gaussian_filter(rng.normal(size=(side, side)), sigma=side / 14, mode="wrap")
    threshold = np.quantile(noise, 1 - fraction)
    spread = noise.std() * 0.35
    opacity = np.clip((noise - threshold) / spread + 0.15, 0.0, 1.0)
    opacity[noise < threshold - 0.3 * spread] = 0.0
    shadow = shift(opacity > 0.5, (6, -8), order=0, mode="constant", cval=False) & (opacity == 0)
    return opacity, shadow


def _render(cover_px, soil_brightness_px, date, rng):
    """Sentinel-2-like DN (uint16, 10 bands + SCL) of one date."""
    side = cover_px.shape[0]
    refl = cover_px[None] * _VEG[:, None, None] + (1 - cover_px[None]) * (_SOIL[:, None, None] * soil_brightness_px[None])
    refl = refl * rng.normal(1.0, 0.015, size=refl.shape)
    opacity, shadow = _cloud_layers(side, date, rng)
    refl = refl * (1 - opacity[None]) + opacity[None] * _CLOUD[:, None, None]
    refl = np.where(shadow[None], refl * 0.35, refl)
    ndvi = (refl[6] - refl[2]) / (refl[6] + refl[2])
    scl = np.where(ndvi > 0.3, 4, 5).astype(np.uint16)
    scl[shadow] = 3
    scl[opacity > 0.3] = 8  # thin cloud edges (opacity < 0.3) stay unflagged, as in real SCL
    scl[opacity > 0.7] = 9
    dn = np.clip(np.round(refl * 10_000), 1, 65_535).astype(np.uint16)
    return np.concatenate([dn, scl[None]])


def cereal_region(seasons: int = 8, target_year: int = 2024, scale: float = 1.0, seed: int = 0) -> Region:
    """Generate the embedded rainfed cereal region.

    Parameters
    ----------
    seasons : int
        Harvest years ``target_year - seasons + 1 .. target_year`` (a season
        runs 1 September to 31 August and is named by its harvest year).
    target_year : int
    scale : float
        Area multiplier: 1 gives a 4 km × 4 km region of about 220 fields
        (200 × 200 pixels of 20 m); 25 gives 20 km × 20 km and ~5,500 fields.
    seed : int

    Returns
    -------
    Region

    Examples
    --------
    >>> r = cereal_region(seasons=2, scale=0.4, seed=1)
    >>> r.stack.dims, sorted(int(y) for y in r.yields["year"].unique())
    (('time', 'band', 'y', 'x'), [2023, 2024])
    """
    from rasterio.features import rasterize

    rng = np.random.default_rng(seed)
    side = max(50, int(round(200 * np.sqrt(scale) / 25)) * 25)
    years = list(range(target_year - seasons + 1, target_year + 1))
    weather, _ = _station_weather(years[0], seasons, seed, rng)

    _, rects, block_of = _layout(side, rng)
    n = len(rects)
    n_blocks = side // 25
    per_side = max(1, int(np.ceil(n_blocks / 2)))  # communes of about 4 x 4 blocks (2 km x 2 km at 20 m pixels)
    commune_idx = np.array([(by // per_side) * ((n_blocks + per_side - 1) // per_side) + bx // per_side for by, bx in block_of])
    commune_names = [COMMUNES[i % len(COMMUNES)] + ("" if i < len(COMMUNES) else f" {i // len(COMMUNES) + 1}")
                     for i in range(int(commune_idx.max()) + 1)]
    soils = rng.choice(list(_SOIL_SHARES), size=n, p=list(_SOIL_SHARES.values()))
    crops = np.where(rng.random(n) < 0.75, "wheat", "barley")
    area = np.array([(r[2] - r[0]) * (r[3] - r[1]) * PIXEL_M**2 / 10_000 for r in rects])
    ids = [f"CH-{i + 1:04d}" for i in range(n)]
    fields = pd.DataFrame({"field_id": ids, "crop": crops, "soil": soils,
                           "commune": [commune_names[c] for c in commune_idx], "area_ha": np.round(area, 2)})
    props = fields.to_dict("records")
    polygons = _polygons(rects, props, side)

    # Hidden field truth: soil depth (TAW) varies within a soil class; management is persistent.
    from kit.agro.crops import SOILS

    taw_true = SOILS.loc[soils, "taw_mm_per_m"].to_numpy(float) * rng.uniform(0.3, 0.8, n)
    potential = np.clip(rng.normal(1.0, 0.05, n), 0.85, 1.15)
    n_base = rng.uniform(30, 120, n)
    sow_delay = rng.uniform(0, 30, n)

    x, y, transform = _grid_coords(side)
    burned = rasterize(((p["geometry"], i + 1) for i, p in enumerate(polygons["features"])), out_shape=(side, side),
                       transform=__import__("affine").Affine(*transform), fill=0, dtype="int32")
    brightness = np.r_[1.05, np.array([_SOIL_BRIGHTNESS[s] for s in soils])][burned]
    pixel_noise = np.clip(rng.normal(1.0, 0.06, (side, side)), 0.7, 1.3)
    background_cover = rng.uniform(0.03, 0.12, (side, side))

    yields, truths, layers, times = [], [], [], []
    for k, year in enumerate(years):
        plant = _planting_dates(weather, year, sow_delay + rng.uniform(-4, 4, n))
        n_kg = np.clip(n_base + rng.normal(0, 20, n), 0, 160)
        n_factor = 0.82 + 0.18 * np.minimum(n_kg / 100.0, 1.0)
        commune_rain = np.clip(rng.lognormal(0.0, 0.12, int(commune_idx.max()) + 1), 0.7, 1.4)[commune_idx]
        model_t, cover, days, truth = _simulate_season(fields, year, weather, plant, taw_true, commune_rain, n_factor,
                                                       potential, rng)
        trend = 1 + 0.01 * (year - years[0])  # varieties and practices: +1 % a year
        observed = model_t * trend * rng.lognormal(0.0, 0.08, n)
        truths.append(truth.assign(trend_factor=trend))
        yields.append(pd.DataFrame({"field_id": ids, "year": year, "yield_t_ha": np.round(observed, 3),
                                    "planting_date": plant.dt.strftime("%Y-%m-%d").to_numpy(), "n_kg_ha": np.round(n_kg, 0)}))
        for date in _acquisitions(year, rng):
            t = days.get_loc(date)
            field_cover = np.r_[0.0, cover[:, t]]
            cover_px = np.where(burned > 0, np.clip(field_cover[burned] * pixel_noise + 0.02, 0, 0.97), background_cover)
            layers.append(_render(cover_px, brightness, date, rng))
            times.append(date)
    stack = xr.DataArray(
        np.stack(layers), dims=("time", "band", "y", "x"),
        coords={"time": times, "band": list(BANDS), "y": ("y", y, {"units": "m"}), "x": ("x", x, {"units": "m"})},
        name="reflectance", attrs={"nodata": 0, "source": f"kit.yieldpred.synthetic.cereal_region(seed={seed})",
                                   "scale_factor": 1e-4},
    )
    stack = set_georef(stack, CRS, transform)
    return Region(fields, polygons, weather, pd.concat(yields, ignore_index=True), stack,
                  pd.concat(truths, ignore_index=True), years)


def tiny_stack(dates: int = 2, size: int = 8, seed: int = 0) -> xr.DataArray:
    """A few-pixel stack with the synthetic region's bands (for examples and tests)."""
    rng = np.random.default_rng(seed)
    x, y, transform = _grid_coords(size)
    layers = []
    times = pd.date_range("2024-02-01", periods=dates, freq="10D")
    for d in times:
        cover = rng.uniform(0, 0.9, (size, size))
        layers.append(_render(cover, np.ones((size, size)), d, rng))
    stack = xr.DataArray(np.stack(layers), dims=("time", "band", "y", "x"),
                         coords={"time": times, "band": list(BANDS), "y": ("y", y), "x": ("x", x)},
                         name="reflectance", attrs={"nodata": 0})
    return set_georef(stack, CRS, transform)
