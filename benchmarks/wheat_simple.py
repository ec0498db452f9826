"""An independent rainfed-wheat data set for benchmarks/yield_skill.py: SIMPLE-style crop model, own weather.

Deliberately *not* :mod:`kit.yieldpred.synthetic` (nothing is imported from
it, nor from kit.agro's water balance or weather generator): a daily model in
the structure of SIMPLE (Zhao et al. 2019, Eur. J. Agron. 104): thermal-time
canopy (logistic growth to ``f_max``, logistic senescence brought forward by
heat and drought), biomass = RUE x intercepted radiation x f(temperature) x
min(f(heat), f(water)), water stress from the ARID index (Woli et al. 2012) of
a one-layer bucket of the field's available water capacity, yield = biomass x
harvest index (or, in the ``green-area`` variant, yield proportional to the
sum of daily green cover: a statistical NDVI-integral model whose signal is
all in the canopy). Weather is a Markov-chain/gamma rain generator with drought
years and late-rain years, seasonal temperature with AR(1) anomalies and
spring heat waves, radiation from extraterrestrial radiation and cloudiness,
Moroccan-plateau-like (33.5 °N, 300 m).

What a user would have is written in the kit's documented contracts
(datasets/yield/README.md): ``fields.csv`` (field_id, crop, soil,
taw_mm_per_m: a soil map's estimate, not the truth), ``yields.csv``
(field_id, year, yield_t_ha, planting_date, n_kg_ha), ``weather.csv`` (the
kit.agro contract) and ``index_series.csv`` (field_id, date, ndvi; cloudy
dates absent, some residual cloud contamination left in).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

LAT_DEG, ELEVATION_M = 33.5, 300.0
UPTAKE_RATE = 0.045  # ARID root-water-uptake rate, 1/day (SIMPLE: 0.096 of a deeper root zone)
SOIL_TAW = {"clay": 160.0, "silty_clay": 160.0, "loam": 140.0, "sandy_loam": 120.0}  # mm/m, FAO-56-like


@dataclass
class Variant:
    """Climate and management of one generated region."""

    name: str
    rain_mean_mm: float = 360.0  # mean September-August rain
    rain_cv: float = 0.35  # year-to-year spread of season rain
    late_rain_share: float = 0.3  # share of seasons whose rain comes late (Feb-Apr heavy, dry autumn)
    sowing_spread_days: int = 25  # farmer delay after the first sowing rain, 0..spread
    heat_wave_rate: float = 0.6  # expected spring heat waves per season
    n_fields: int = 120
    years: tuple = tuple(range(2012, 2022))
    yield_noise_cv: float = 0.07  # field-season yield noise no imagery sees (lodging, pests, harvest losses)
    hi_noise_cv: float = 0.04  # spread of the harvest index between field-seasons
    #: "simple": yield = biomass x harvest index; "green-area": yield proportional to the season's green-area
    #: duration (sum of daily green cover, a statistical NDVI-integral yield model), so the whole signal is in the canopy.
    yield_model: str = "simple"


VARIANTS = {
    "semi-arid": Variant("semi-arid"),
    "late-rains": Variant("late-rains", rain_mean_mm=420.0, rain_cv=0.3, late_rain_share=0.6, sowing_spread_days=45,
                          heat_wave_rate=1.0),
    # Low-noise sets where the imagery carries most of the signal: a plain LightGBM does well on them.
    "low-noise": Variant("low-noise", yield_noise_cv=0.02, hi_noise_cv=0.01),
    "green-area": Variant("green-area", rain_mean_mm=400.0, yield_noise_cv=0.03, yield_model="green-area"),
}
#: Yield per day of full green cover of the "green-area" model, t/ha (about 3 t/ha from 100 cover-days).
GREEN_AREA_T_HA_PER_DAY = 0.03


# ---------------------------------------------------------------- weather
def _ra_mj_m2(doy):
    """Extraterrestrial radiation (FAO-56 eq. 21), MJ/m²/day."""
    phi = np.radians(LAT_DEG)
    dr = 1 + 0.033 * np.cos(2 * np.pi * doy / 365)
    delta = 0.409 * np.sin(2 * np.pi * doy / 365 - 1.39)
    ws = np.arccos(-np.tan(phi) * np.tan(delta))
    return 24 * 60 / np.pi * 0.082 * dr * (ws * np.sin(phi) * np.sin(delta) + np.cos(phi) * np.cos(delta) * np.sin(ws))


def weather(variant: Variant, rng) -> pd.DataFrame:
    """Daily weather from 1 September before the first harvest year to 31 August of the last."""
    days = pd.date_range(f"{variant.years[0] - 1}-09-01", f"{variant.years[-1]}-08-31", freq="D")
    doy = days.dayofyear.to_numpy()
    season_day = np.asarray((days - pd.to_datetime([f"{d.year - (d.month < 9)}-09-01" for d in days])).days)
    harvest_year = np.where(days.month >= 9, days.year + 1, days.year)
    rain = np.zeros(len(days))
    wet_prev = False
    for y in variant.years:
        idx = np.flatnonzero(harvest_year == y)
        sd = season_day[idx]
        late = rng.random() < variant.late_rain_share
        # Wet-day chance through the season: winter peak; a late season moves it to February-April.
        centre, width = (175.0, 45.0) if late else (120.0, 60.0)
        p_wet = 0.04 + 0.36 * np.exp(-0.5 * ((sd - centre) / width) ** 2)
        p_wet[sd > 270] *= 0.3
        factor = float(np.clip(rng.lognormal(-0.5 * variant.rain_cv ** 2, variant.rain_cv), 0.35, 1.9))
        draws = np.zeros(len(idx))
        for k in range(len(idx)):
            p = min(0.9, p_wet[k] * (1.8 if wet_prev else 0.8))
            wet_prev = rng.random() < p
            draws[k] = rng.gamma(0.75, 11.0) if wet_prev else 0.0
        rain[idx] = draws * variant.rain_mean_mm * factor / max(draws.sum(), 1.0)
    tmean = 18.0 - 7.5 * np.cos(2 * np.pi * (doy - 20) / 365)
    anomaly = np.zeros(len(days))
    for k in range(1, len(days)):
        anomaly[k] = 0.8 * anomaly[k - 1] + rng.normal(0, 1.3)
    heat = np.zeros(len(days))
    for y in variant.years:
        for _ in range(rng.poisson(variant.heat_wave_rate)):
            start = pd.Timestamp(y, 3, 20) + pd.Timedelta(days=int(rng.integers(0, 70)))
            span = (days >= start) & (days < start + pd.Timedelta(days=int(rng.integers(3, 8))))
            heat[span] += rng.uniform(6, 11)
    wet = rain > 0.5
    dtr = np.where(wet, 7.0, 13.0) + rng.normal(0, 1.0, len(days))
    t = tmean + anomaly + heat - 1.5 * wet
    cloud = np.clip(np.where(wet, 0.65, 0.15) + rng.normal(0, 0.1, len(days)), 0, 0.95)
    rs = _ra_mj_m2(doy) * (0.75 - 0.5 * cloud)
    return pd.DataFrame({
        "date": days.strftime("%Y-%m-%d"), "tmin_c": (t - dtr / 2).round(1), "tmax_c": (t + dtr / 2).round(1),
        "rh_mean_pct": np.clip(55 + 30 * cloud - 0.8 * (t - 18), 15, 98).round(0), "wind_ms": np.clip(rng.gamma(4, 0.55, len(days)), 0.3, 9).round(1),
        "rs_mj_m2": rs.round(2), "rain_mm": rain.round(1), "lat_deg": LAT_DEG, "elevation_m": ELEVATION_M,
    })


def _et0_hargreaves(w: pd.DataFrame) -> np.ndarray:
    """Hargreaves ET0 (mm/day): the crop model's own demand, not kit.agro's Penman-Monteith."""
    doy = pd.to_datetime(w["date"]).dt.dayofyear.to_numpy()
    tmean = (w["tmin_c"] + w["tmax_c"]).to_numpy() / 2
    tr = np.maximum(w["tmax_c"] - w["tmin_c"], 0).to_numpy()
    return 0.0023 * 0.408 * _ra_mj_m2(doy) * (tmean + 17.8) * np.sqrt(tr)


# ---------------------------------------------------------------- crop model
def simple_season(w: pd.DataFrame, et0: np.ndarray, sow: np.ndarray, awc_mm: np.ndarray, f_max: np.ndarray,
                  hi: np.ndarray) -> dict:
    """One season of the SIMPLE-style model for all fields (arrays over fields; ``w``/``et0`` the season's days).

    Returns daily green cover (fields, days) and per-field biomass and yield (t/ha).
    """
    tmax, tmin = w["tmax_c"].to_numpy(), w["tmin_c"].to_numpy()
    tmean, rad = (tmax + tmin) / 2, w["rs_mj_m2"].to_numpy()
    rain = w["rain_mm"].to_numpy()
    n, n_days = len(sow), len(w)
    t_sum, i50a, i50b0 = 2150.0, 520.0, 250.0  # °C·d to maturity, to half cover, before maturity at half senescence
    rue, t_base, t_opt, t_heat, t_ext = 0.85, 0.0, 15.0, 32.0, 42.0  # g/MJ, °C
    s_water, i_max_heat, i_max_water = 1.0, 50.0, 25.0
    paw = 0.25 * awc_mm  # soil water at sowing: autumn rains partly refilled it
    tt = np.zeros(n)
    i50b = np.full(n, i50b0)
    biomass = np.zeros(n)
    cover = np.zeros((n, n_days))
    for d in range(n_days):
        sown = d >= sow
        growing = sown & (tt < t_sum)
        tt = tt + np.where(growing, max(tmean[d] - t_base, 0.0), 0.0)
        f_heat = float(np.clip(1 - (tmax[d] - t_heat) / (t_ext - t_heat), 0, 1))
        grow = f_max / (1 + np.exp(-0.01 * (tt - i50a)))
        sen = f_max / (1 + np.exp(0.01 * (tt - (t_sum - i50b))))
        f_solar = np.where(growing, np.minimum(grow, sen), 0.0)
        # ARID: transpiration limited by a fixed uptake rate of the plant-available water (Woli et al. 2012).
        demand = et0[d] * np.maximum(f_solar, 0.15 * sown)
        uptake = np.minimum(demand, UPTAKE_RATE * paw)
        arid = np.where(demand > 0, 1 - uptake / np.maximum(demand, 1e-9), 0.0)
        f_water = 1 - s_water * arid
        paw = np.clip(paw + rain[d] * 0.9 - uptake - 0.2 * et0[d] * (f_solar < 0.2), 0, None)
        paw = np.minimum(paw, awc_mm)
        f_temp = float(np.clip((tmean[d] - t_base) / (t_opt - t_base), 0, 1))
        biomass += rue * rad[d] * f_solar * f_temp * np.minimum(f_heat, f_water) * 0.01  # g/m² -> t/ha
        i50b = i50b + np.where(growing & (tt > i50a), i_max_heat * (1 - f_heat) + i_max_water * (1 - f_water), 0.0)
        cover[:, d] = f_solar
    return {"cover": cover, "biomass_t_ha": biomass, "yield_t_ha": biomass * hi}


def _sowing_days(w: pd.DataFrame, variant: Variant, n: int, rng) -> np.ndarray:
    """Day of the season of sowing: the first 20 mm in 5 days after 24 October (9 December at the latest), plus the farmer's delay."""
    rain = w["rain_mm"].to_numpy()
    five = np.convolve(rain, np.ones(5), "full")[: len(rain)]
    first = next((d for d in range(54, 100) if five[d] >= 20), 100)
    return first + rng.integers(0, variant.sowing_spread_days + 1, n)


def region(variant: Variant, seed: int) -> dict:
    """Generated fields, weather, yields and clear index observations (DataFrames in the kit's contracts) and truth."""
    rng = np.random.default_rng(seed)
    n = variant.n_fields
    ids = [f"W{seed}-{i:04d}" for i in range(n)]
    soil = rng.choice(list(SOIL_TAW), n, p=[0.3, 0.2, 0.3, 0.2])
    depth = rng.uniform(0.4, 1.3, n)  # root-zone depth, m: shallow soils over calcrete
    awc = np.array([SOIL_TAW[s] for s in soil]) * depth
    taw_map = np.array([SOIL_TAW[s] for s in soil]) * rng.uniform(0.8, 1.2, n) * np.clip(depth + rng.normal(0, 0.2, n), 0.3, 1.5)
    potential = rng.lognormal(0, 0.06, n)
    fields = pd.DataFrame({"field_id": ids, "crop": "wheat", "soil": soil, "area_ha": rng.uniform(1, 8, n).round(2),
                           "taw_mm_per_m": taw_map.round(0)})
    wx = weather(variant, rng)
    et0_all = _et0_hargreaves(wx)
    dates = pd.to_datetime(wx["date"])
    rows, obs, truth, covers = [], [], [], {}
    for k, y in enumerate(variant.years):
        sel = ((dates >= f"{y - 1}-09-01") & (dates <= f"{y}-08-31")).to_numpy()
        w, et0 = wx[sel].reset_index(drop=True), et0_all[sel]
        sow = _sowing_days(w, variant, n, rng)
        n_kg = np.clip(rng.normal(70, 30, n), 0, 160)
        f_max = 0.95 * potential * (0.55 + 0.45 * (1 - np.exp(-n_kg / 45)))
        hi = np.clip(0.42 * rng.lognormal(0, variant.hi_noise_cv, n), 0.3, 0.5)
        out = simple_season(w, et0, sow, awc, np.minimum(f_max, 0.98), hi)
        if variant.yield_model == "green-area":
            out["biomass_t_ha"] = GREEN_AREA_T_HA_PER_DAY * out["cover"].sum(axis=1) / 0.42  # so that expected = rate x cover-days
            out["yield_t_ha"] = out["biomass_t_ha"] * hi
        yld = out["yield_t_ha"] * (1 + 0.01 * k) * rng.lognormal(0, variant.yield_noise_cv, n)
        start = pd.Timestamp(f"{y - 1}-09-01")
        rows.append(pd.DataFrame({"field_id": ids, "year": y, "yield_t_ha": yld.round(3),
                                  "planting_date": (start + pd.to_timedelta(sow, unit="D")).strftime("%Y-%m-%d"),
                                  "n_kg_ha": n_kg.round(0)}))
        # Expected yield of the biomass grown: what a model that knew the crop exactly could forecast (the noise floor).
        expected = out["biomass_t_ha"] * 0.42 * (1 + 0.01 * k)
        truth.append(pd.DataFrame({"field_id": ids, "year": y, "awc_mm": awc, "biomass_t_ha": out["biomass_t_ha"],
                                   "yield_expected_t_ha": expected}))
        obs.append(_ndvi_observations(out["cover"], ids, start, rng))
        covers[y] = out["cover"]
    return {"fields": fields, "weather": wx, "yields": pd.concat(rows, ignore_index=True),
            "index_series": pd.concat(obs, ignore_index=True), "truth": pd.concat(truth, ignore_index=True), "cover": covers}


def ndvi_from_cover(cover, rng):
    """NDVI of a canopy of green cover over bright soil, with 0.02 noise."""
    return 0.14 + 0.74 * np.power(np.clip(cover, 0, 1), 0.8) + rng.normal(0, 0.02, np.shape(cover))


def _ndvi_observations(cover, ids, start, rng) -> pd.DataFrame:
    """5-day revisit, cloud-masked (cloudier in winter); 4 % of the clear dates carry thin unmasked cloud (NDVI too low)."""
    n, n_days = cover.shape
    out = []
    for d in range(int(rng.integers(0, 5)), min(n_days, 300), 5):
        month = (start + pd.Timedelta(days=d)).month
        p_cloud = 0.55 if month in (11, 12, 1, 2) else 0.3
        if rng.random() < 0.5 * p_cloud:  # a cloud over the whole region
            continue
        clear = rng.random(n) > 0.5 * p_cloud
        ndvi = ndvi_from_cover(cover[:, d], rng)
        haze = rng.random(n) < 0.04
        ndvi = np.where(haze, ndvi * rng.uniform(0.5, 0.85, n), ndvi)
        date = (start + pd.Timedelta(days=d)).strftime("%Y-%m-%d")
        out.append(pd.DataFrame({"field_id": np.asarray(ids)[clear], "date": date, "ndvi": ndvi[clear].round(4)}))
    return pd.concat(out, ignore_index=True)


# ---------------------------------------------------------------- cloudy B04/B08/SCL rasters
FIELD_PX, GAP_PX, PIXEL_M = 5, 1, 20.0  # fields of 5 x 5 pixels (1 ha) one pixel apart, 20 m pixels
ORIGIN_XY_M = (300_000.0, 3_720_000.0)  # UTM 29N


def write_rasters(data: dict, folder, seed: int) -> dict:
    """Sentinel-2 L2A-like GeoTIFFs (``YYYY-MM-DD.tif``: B04, B08, SCL, DN = reflectance x 10 000) and ``fields.geojson``.

    Fields are squares on a grid; each pixel is a linear mix of canopy (red
    0.03, NIR 0.45) and soil (0.18, 0.25) by green cover with 1.5 % noise.
    Clouds are smooth random fields of opacity mixed towards a flat bright
    cloud (0.35): SCL 8 above opacity 0.3, 9 above 0.7, thin edges below 0.3
    unflagged (NDVI too low, as in real SCL); shadows (SCL 3) under a cloud
    shifted by 3 pixels halve the reflectance.
    """
    import json
    from pathlib import Path

    import xarray as xr

    from kit.raster.georef import set_georef
    from kit.raster.stack import write_acquisitions

    rng = np.random.default_rng(seed + 1000)
    folder = Path(folder)
    ids = data["fields"]["field_id"].tolist()
    per_row = int(np.ceil(np.sqrt(len(ids))))
    side = per_row * (FIELD_PX + GAP_PX) + GAP_PX
    label = np.full((side, side), -1)
    feats = []
    x0, y0 = ORIGIN_XY_M
    for k, fid in enumerate(ids):
        r, c = GAP_PX + (k // per_row) * (FIELD_PX + GAP_PX), GAP_PX + (k % per_row) * (FIELD_PX + GAP_PX)
        label[r: r + FIELD_PX, c: c + FIELD_PX] = k
        xa, xb, ya, yb = x0 + c * PIXEL_M, x0 + (c + FIELD_PX) * PIXEL_M, y0 - r * PIXEL_M, y0 - (r + FIELD_PX) * PIXEL_M
        ring = [[xa, ya], [xb, ya], [xb, yb], [xa, yb], [xa, ya]]
        props = data["fields"].iloc[k].to_dict()
        feats.append({"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}})
    polygons = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32629"}},
                "features": feats}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fields.geojson").write_text(json.dumps(polygons, default=float))
    x = x0 + (np.arange(side) + 0.5) * PIXEL_M
    y = y0 - (np.arange(side) + 0.5) * PIXEL_M
    layers, times = [], []
    for year, cover in data["cover"].items():
        start = pd.Timestamp(f"{year - 1}-09-01")
        for d in range(int(rng.integers(0, 5)), min(cover.shape[1], 300), 5):
            date = start + pd.Timedelta(days=d)
            cloudy_month = date.month in (11, 12, 1, 2)
            if rng.random() < (0.3 if cloudy_month else 0.15):  # overcast: no product kept
                continue
            field_cover = np.r_[cover[:, d], 0.0][label]  # label -1 -> bare track
            v = np.clip(field_cover * rng.normal(1, 0.06, label.shape), 0, 1) ** 0.8
            red = (1 - v) * 0.18 + v * 0.03 + rng.normal(0, 0.015 * 0.1, label.shape)
            nir = (1 - v) * 0.25 + v * 0.45 + rng.normal(0, 0.015 * 0.35, label.shape)
            opacity = _cloud_field(side, rng, 0.55 if cloudy_month else 0.3)
            shadow = np.roll(opacity, (3, 3), axis=(0, 1)) > 0.3
            red, nir = np.where(shadow, red * 0.5, red), np.where(shadow, nir * 0.5, nir)
            red, nir = (1 - opacity) * red + opacity * 0.35, (1 - opacity) * nir + opacity * 0.36
            ndvi = (nir - red) / (nir + red)
            scl = np.where(opacity > 0.7, 9, np.where(opacity > 0.3, 8, np.where(shadow, 3, np.where(ndvi > 0.3, 4, 5))))
            dn = [np.clip(np.round(b * 10_000), 1, 65535) for b in (red, nir)]
            layers.append(np.stack([*dn, scl]).astype(np.uint16))
            times.append(date)
    stack = xr.DataArray(np.stack(layers), dims=("time", "band", "y", "x"),
                         coords={"time": times, "band": ["B04", "B08", "SCL"], "y": ("y", y), "x": ("x", x)},
                         name="reflectance", attrs={"nodata": 0})
    stack = set_georef(stack, "EPSG:32629", (PIXEL_M, 0.0, x0, 0.0, -PIXEL_M, y0))
    write_acquisitions(stack, folder / "rasters")
    return {"rasters": folder / "rasters", "fields_geojson": folder / "fields.geojson"}


def _cloud_field(side: int, rng, cover_share: float) -> np.ndarray:
    """Opacity 0-1 of smooth random clouds over ``side`` x ``side`` pixels, about ``cover_share`` of the area cloudy."""
    coarse = rng.normal(0, 1, (side // 8 + 2, side // 8 + 2))
    fine = np.kron(coarse, np.ones((8, 8)))[:side, :side]
    kernel = np.ones(5) / 5
    for axis in (0, 1):
        fine = np.apply_along_axis(lambda r: np.convolve(r, kernel, "same"), axis, fine)
    level = np.quantile(fine, 1 - cover_share * rng.uniform(0.3, 1.5))
    return np.clip((fine - level) / (np.std(fine) + 1e-9) * 1.2, 0, 1)
