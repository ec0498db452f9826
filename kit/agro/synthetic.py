"""Embedded irrigation data: stochastic daily weather and field tables for three Moroccan sites.

See ``datasets/irrigation/README.md`` for the model, the calibration
sources and the limits. Everything is generated from a seed with
``numpy.random.default_rng`` and is identical on every machine.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.agro import fao56
from kit.errors import ParameterError

# Monthly climate normals (Jan..Dec), rounded: mean daily Tmax/Tmin (°C), precipitation (mm),
# days with >= 1 mm, mean RH (%), wind (m/s at 10 m), relative sunshine n/N. See the dataset card.
SITES = {
    "marrakech": {
        "station": "Marrakech-Menara (WMO 60230)", "lat_deg": 31.62, "lon_deg": -8.04, "elevation_m": 466.0, "krs": 0.16,
        "tmax_c": [18.7, 20.4, 23.3, 25.4, 29.0, 32.6, 37.1, 36.8, 32.4, 28.1, 22.7, 19.7],
        "tmin_c": [5.9, 7.6, 10.0, 11.7, 14.8, 17.6, 20.7, 21.1, 19.0, 15.3, 10.6, 7.4],
        "rain_mm": [32.2, 37.9, 38.3, 26.0, 12.7, 2.9, 1.3, 2.4, 7.7, 21.6, 33.8, 27.7],
        "rain_days": [4.6, 5.0, 5.4, 4.5, 2.5, 0.8, 0.4, 0.8, 1.8, 3.6, 4.5, 4.0],
        "rh_pct": [66, 62, 57, 58, 53, 49, 44, 46, 54, 57, 62, 67],  # UK Met Office table for Marrakech, see the card
        "wind_ms": [2.4, 2.7, 3.0, 3.2, 3.3, 3.3, 3.3, 3.1, 2.8, 2.5, 2.4, 2.3],
        "sunshine_frac": [0.67, 0.68, 0.68, 0.70, 0.72, 0.76, 0.78, 0.78, 0.72, 0.70, 0.67, 0.66],
        "crops": {"olive": 0.30, "citrus": 0.15, "wheat": 0.25, "barley": 0.10, "alfalfa": 0.15, "maize": 0.05},
        "soils": {"loam": 0.30, "sandy_loam": 0.25, "silt_loam": 0.20, "clay": 0.15, "loamy_sand": 0.10},
    },
    "agadir": {
        "station": "Agadir-Al Massira (WMO 60252)", "lat_deg": 30.33, "lon_deg": -9.41, "elevation_m": 71.0, "krs": 0.19,
        "tmax_c": [20.9, 21.9, 23.7, 24.0, 25.2, 26.5, 28.4, 28.7, 28.0, 27.1, 24.5, 21.7],
        "tmin_c": [7.4, 8.9, 11.1, 12.5, 14.6, 16.6, 18.3, 18.6, 17.5, 15.3, 11.5, 8.5],
        "rain_mm": [39.6, 29.2, 25.0, 13.8, 3.0, 0.6, 0.2, 0.6, 5.5, 19.1, 42.7, 40.5],
        "rain_days": [3.9, 3.2, 2.9, 2.0, 0.7, 0.2, 0.1, 0.2, 0.9, 2.3, 3.9, 3.9],
        "rh_pct": [70, 72, 73, 74, 76, 78, 78, 78, 77, 74, 71, 70],
        "wind_ms": [2.6, 2.9, 3.3, 3.6, 3.7, 3.6, 3.5, 3.3, 3.0, 2.8, 2.6, 2.5],
        "sunshine_frac": [0.68, 0.67, 0.66, 0.66, 0.62, 0.58, 0.55, 0.57, 0.62, 0.66, 0.68, 0.68],
        "crops": {"tomato": 0.35, "citrus": 0.30, "potato": 0.15, "maize": 0.10, "olive": 0.10},
        "soils": {"sandy_loam": 0.35, "loamy_sand": 0.25, "loam": 0.25, "sand": 0.15},
    },
    "meknes": {
        "station": "Meknès (WMO 60150)", "lat_deg": 33.88, "lon_deg": -5.53, "elevation_m": 560.0, "krs": 0.16,
        # Tmax, Tmin, rain: Hong Kong Observatory climatological table for Meknès (WMO normals), see the card.
        "tmax_c": [15.3, 16.6, 18.6, 20.0, 23.8, 27.8, 32.7, 32.6, 29.6, 24.5, 19.3, 15.6],
        "tmin_c": [5.2, 6.3, 7.2, 8.8, 11.5, 14.6, 17.7, 17.9, 16.2, 12.8, 9.1, 5.8],
        "rain_mm": [89.4, 84.4, 78.4, 74.3, 42.6, 12.5, 2.1, 1.9, 14.1, 47.4, 79.6, 81.2],
        "rain_days": [7.6, 7.6, 7.2, 6.9, 4.4, 1.3, 0.3, 0.6, 2.4, 5.6, 7.5, 7.9],
        "rh_pct": [79, 77, 73, 71, 66, 59, 52, 53, 60, 68, 76, 80],
        "wind_ms": [2.5, 2.7, 2.9, 3.0, 3.0, 3.0, 3.1, 2.9, 2.6, 2.4, 2.4, 2.5],
        "sunshine_frac": [0.55, 0.58, 0.60, 0.63, 0.67, 0.74, 0.80, 0.78, 0.70, 0.64, 0.57, 0.53],
        "crops": {"wheat": 0.30, "barley": 0.10, "olive": 0.20, "sugar_beet": 0.10, "potato": 0.10, "maize": 0.10, "alfalfa": 0.10},
        "soils": {"clay": 0.25, "silty_clay": 0.15, "silt_loam": 0.20, "loam": 0.25, "sandy_loam": 0.15},
    },
}

# Typical planting windows in Morocco (month, day) for the first agricultural year (September-August).
_PLANTING = {
    "wheat": ((11, 10), (12, 15)), "barley": ((11, 1), (12, 5)), "maize": ((4, 1), (5, 10)), "olive": ((3, 1), (3, 1)),
    "citrus": ((1, 1), (1, 1)), "tomato": ((9, 15), (10, 31)), "potato": ((1, 10), (2, 20)), "alfalfa": ((3, 1), (3, 15)),
    "sugar_beet": ((10, 15), (11, 30)),
}

__all__ = ["SITES", "weather", "fields", "site_info", "perimeter", "write_perimeter"]


def _site(site: str) -> dict:
    key = str(site).strip().lower().replace("è", "e")
    if key not in SITES:
        raise ParameterError(f"unknown site {site!r}; embedded sites: {', '.join(SITES)}")
    return SITES[key]


def site_info(site: str) -> dict:
    """Latitude, longitude, elevation, station name and Hargreaves ``krs`` of an embedded site."""
    s = _site(site)
    return {k: s[k] for k in ("station", "lat_deg", "lon_deg", "elevation_m", "krs")}


def _daily_normal(monthly, dates: pd.DatetimeIndex) -> np.ndarray:
    """Smooth daily curve through monthly means (linear between mid-months, periodic)."""
    mids = np.array([15.5, 45, 74.5, 105, 135.5, 166, 196.5, 227.5, 258, 288.5, 319, 349.5])
    x = np.r_[mids[-1] - 365, mids, mids[0] + 365]
    y = np.r_[monthly[-1], monthly, monthly[0]]
    return np.interp(dates.day_of_year.to_numpy(float), x, y)


def weather(site: str = "marrakech", seasons: int = 3, seed: int = 0, start_year: int = 2021,
            forecast_days: int = 3) -> pd.DataFrame:
    """Generate daily weather for an embedded site, calibrated to its monthly climate normals.

    A Richardson-type generator: rain occurrence is a first-order Markov
    chain whose monthly wet-day probability matches the normal count of rain
    days (lag-1 persistence 0.3), amounts are gamma distributed (shape 0.75)
    with the normal monthly total; temperatures follow the normal seasonal
    cycle plus AR(1) anomalies (φ 0.7), cooler days and warmer nights when
    wet; humidity, wind and sunshine follow their monthly normals with daily
    noise. ``rain_forecast_mm`` is the next ``forecast_days`` days' rain
    seen through a noisy forecast (log-normal error, 20 % of events missed).

    Parameters
    ----------
    site : {"marrakech", "agadir", "meknes"}
    seasons : int
        Agricultural years (1 September to 31 August) to generate.
    seed : int
    start_year : int
        Year of the first 1 September.

    Returns
    -------
    pandas.DataFrame
        The weather contract's columns (``date, tmin_c, tmax_c, rh_min_pct,
        rh_max_pct, rh_mean_pct, wind_ms, wind_height_m, sunshine_h,
        rain_mm, rain_forecast_mm, lat_deg, elevation_m``), one row per day.

    Examples
    --------
    >>> w = weather("agadir", seasons=1, seed=1)
    >>> len(w), w["date"].iloc[0]
    (365, '2021-09-01')
    """
    s = _site(site)
    if seasons < 1:
        raise ParameterError(f"seasons must be >= 1, got {seasons}")
    rng = np.random.default_rng(seed)
    dates = pd.date_range(f"{start_year}-09-01", f"{start_year + seasons}-08-31", freq="D")
    n = len(dates)
    month = dates.month.to_numpy() - 1
    days_in_month = dates.days_in_month.to_numpy(float)

    p_wet = np.clip(np.asarray(s["rain_days"])[month] / days_in_month, 1e-4, 0.95)
    persistence = 0.3
    p_ww, p_wd = p_wet + persistence * (1 - p_wet), p_wet * (1 - persistence)
    u = rng.random(n)
    wet = np.zeros(n, bool)
    for i in range(n):
        wet[i] = u[i] < (p_ww[i] if i and wet[i - 1] else p_wd[i])
    mean_amount = np.asarray(s["rain_mm"])[month] / np.maximum(np.asarray(s["rain_days"])[month], 0.1)
    shape = 0.75
    rain = np.where(wet, rng.gamma(shape, mean_amount / shape), 0.0)
    rain = np.round(np.where(rain < 0.2, 0.0, rain), 1)

    anomaly = np.zeros((n, 2))
    noise = rng.multivariate_normal([0, 0], [[1.0, 0.6], [0.6, 1.0]], size=n) * np.sqrt(1 - 0.7**2)
    for i in range(1, n):
        anomaly[i] = 0.7 * anomaly[i - 1] + noise[i]
    tmax = _daily_normal(s["tmax_c"], dates) + 2.2 * anomaly[:, 0] - 2.0 * wet  # wet days cooler
    tmin = _daily_normal(s["tmin_c"], dates) + 1.6 * anomaly[:, 1] + 1.0 * wet
    tmin = np.minimum(tmin, tmax - 2.0)

    rh_mean = np.clip(_daily_normal(s["rh_pct"], dates) + rng.normal(0, 6, n) + 10 * wet, 15, 98)
    es = (fao56.saturation_vapour_pressure_kpa(tmax) + fao56.saturation_vapour_pressure_kpa(tmin)) / 2
    ea = rh_mean / 100 * es
    rh_max = np.clip(100 * ea / fao56.saturation_vapour_pressure_kpa(tmin), 5, 100)
    rh_min = np.clip(100 * ea / fao56.saturation_vapour_pressure_kpa(tmax), 3, rh_max)
    wind = _daily_normal(s["wind_ms"], dates) * rng.gamma(8.0, 1 / 8.0, n)

    big_n = fao56.daylight_hours(s["lat_deg"], dates.day_of_year.to_numpy(float))
    frac = np.clip(_daily_normal(s["sunshine_frac"], dates) + rng.normal(0, 0.12, n) - 0.35 * wet, 0.0, 0.98)
    sunshine = frac * big_n

    ahead = np.array([rain[i + 1:i + 1 + forecast_days].sum() for i in range(n)])
    seen = rng.random(n) > 0.2
    forecast = np.round(np.where(seen, ahead * rng.lognormal(0.0, 0.4, n), 0.0), 1)
    return pd.DataFrame({
        "date": dates.strftime("%Y-%m-%d"),
        "tmin_c": np.round(tmin, 1), "tmax_c": np.round(tmax, 1),
        "rh_min_pct": np.round(rh_min, 0), "rh_max_pct": np.round(rh_max, 0), "rh_mean_pct": np.round(rh_mean, 0),
        "wind_ms": np.round(wind, 1), "wind_height_m": 10.0, "sunshine_h": np.round(sunshine, 1),
        "rain_mm": rain, "rain_forecast_mm": forecast,
        "lat_deg": s["lat_deg"], "elevation_m": s["elevation_m"],
    })


def fields(site: str = "marrakech", n: int = 200, seed: int = 0, start_year: int = 2021) -> pd.DataFrame:
    """Generate ``n`` fields of the site's usual crops and soils (fields contract).

    Crops and soils are drawn with the site's shares (``SITES[site]``),
    planting dates inside each crop's usual Moroccan window of the
    agricultural year starting 1 September ``start_year``, areas
    log-normal (median 3 ha), 60 % drip (efficiency 0.90) and 40 %
    surface irrigation (0.60).

    Examples
    --------
    >>> f = fields("meknes", n=10, seed=2)
    >>> list(f.columns)[:5]
    ['field_id', 'crop', 'planting_date', 'area_ha', 'soil']
    """
    s = _site(site)
    rng = np.random.default_rng(seed)
    crops = rng.choice(list(s["crops"]), size=n, p=np.asarray(list(s["crops"].values())) / sum(s["crops"].values()))
    soils = rng.choice(list(s["soils"]), size=n, p=np.asarray(list(s["soils"].values())) / sum(s["soils"].values()))
    planting = []
    for crop in crops:
        (m0, d0), (m1, d1) = _PLANTING[crop]
        y0 = start_year if m0 >= 9 else start_year + 1
        y1 = start_year if m1 >= 9 else start_year + 1
        a, b = pd.Timestamp(y0, m0, d0), pd.Timestamp(y1, m1, d1)
        planting.append(a + pd.Timedelta(days=int(rng.integers(0, (b - a).days + 1))))
    drip = rng.random(n) < 0.6
    prefix = {"marrakech": "HZ", "agadir": "SM", "meknes": "SA"}[[k for k, v in SITES.items() if v is s][0]]
    return pd.DataFrame({
        "field_id": [f"{prefix}-{i + 1:04d}" for i in range(n)],
        "crop": crops,
        "planting_date": [d.strftime("%Y-%m-%d") for d in planting],
        "area_ha": np.round(rng.lognormal(np.log(3.0), 0.7, n), 2),
        "soil": soils,
        "lat_deg": s["lat_deg"],
        "elevation_m": s["elevation_m"],
        "irrigation_efficiency": np.where(drip, 0.90, 0.60),
    })


def perimeter(site: str = "marrakech", size: int = 60, seed: int = 0, start_year: int = 2021,
              pixel_m: float = 30.0):
    """Generate a small irrigated perimeter as a gridded fields Dataset (the gridded contract).

    ``size`` × ``size`` pixels of ``pixel_m`` metres (60 × 60 × 30 m: 324 ha)
    in UTM zone 29N around the site: rectangular parcels of 5-14 pixels a
    side separated by farm tracks (crop code 0), each parcel one crop of the
    site's mix with its planting date and irrigation system (as
    :func:`fields`), soils varying smoothly across the perimeter with the
    site's shares.

    Returns
    -------
    xarray.Dataset
        Dims ``(y, x)``: ``crop`` and ``soil`` (int8 codes with CF
        ``flag_values``/``flag_meanings``, 0 = track), ``planting_date``
        (int32 ``YYYYMMDD``, 0 on tracks), ``irrigation_efficiency``;
        ``spatial_ref`` (EPSG:32629) and attributes ``lat_deg``,
        ``elevation_m``.

    Examples
    --------
    >>> grid = perimeter(size=30, seed=1)
    >>> dict(grid.sizes), int(grid.attrs["epsg"])
    ({'y': 30, 'x': 30}, 32629)
    """
    import xarray as xr

    from kit.agro.gridded.contract import CROP_CODES, SOIL_CODES
    from kit.raster.georef import set_georef

    s = _site(site)
    if not 4 <= size <= 4000:
        raise ParameterError(f"size must be 4-4000 pixels, got {size}")
    rng = np.random.default_rng(seed)
    crop_names = list(s["crops"])
    crop_p = np.asarray(list(s["crops"].values())) / sum(s["crops"].values())
    crop = np.zeros((size, size), np.int8)
    planting = np.zeros((size, size), np.int32)
    efficiency = np.ones((size, size), np.float32)
    code_of = {name: code for code, name in CROP_CODES.items()}
    y0 = 0
    while y0 < size:
        h = int(rng.integers(5, 15))
        x0 = 0
        while x0 < size:
            w = int(rng.integers(5, 15))
            name = str(rng.choice(crop_names, p=crop_p))
            (m0, d0), (m1, d1) = _PLANTING[name]
            a = pd.Timestamp(start_year if m0 >= 9 else start_year + 1, m0, d0)
            b = pd.Timestamp(start_year if m1 >= 9 else start_year + 1, m1, d1)
            day = a + pd.Timedelta(days=int(rng.integers(0, (b - a).days + 1)))
            # one-pixel tracks on the parcel's lower and right edges
            crop[y0:y0 + h - 1, x0:x0 + w - 1] = code_of[name]
            planting[y0:y0 + h - 1, x0:x0 + w - 1] = int(day.strftime("%Y%m%d"))
            efficiency[y0:y0 + h - 1, x0:x0 + w - 1] = 0.90 if rng.random() < 0.6 else 0.60
            x0 += w
        y0 += h
    # Soils: a smooth random surface cut at the quantiles of the site's soil shares.
    coarse = rng.normal(size=(size // 10 + 2, size // 10 + 2))
    yy = np.linspace(0, coarse.shape[0] - 1, size)
    xx = np.linspace(0, coarse.shape[1] - 1, size)
    rows = np.array([np.interp(xx, np.arange(coarse.shape[1]), r) for r in coarse])
    surface = np.array([np.interp(yy, np.arange(coarse.shape[0]), c) for c in rows.T]).T
    soil_names = list(s["soils"])
    cuts = np.quantile(surface, np.cumsum(list(s["soils"].values()))[:-1] / sum(s["soils"].values()))
    soil_code_of = {name: code for code, name in SOIL_CODES.items()}
    soil = np.asarray([soil_code_of[n] for n in soil_names], np.int8)[np.searchsorted(cuts, surface)]
    soil = np.where(crop > 0, soil, 0).astype(np.int8)
    # Upper-left corner in UTM 29N near the site (latitude ~ northing / 110.9 km, longitude within the zone).
    east = 500_000.0 + (s["lon_deg"] + 9.0) * 111_320.0 * np.cos(np.radians(s["lat_deg"]))
    north = s["lat_deg"] * 110_900.0
    transform = (pixel_m, 0.0, round(east, -2), 0.0, -pixel_m, round(north, -2) + size * pixel_m)
    x = transform[2] + pixel_m * (np.arange(size) + 0.5)
    y = transform[5] - pixel_m * (np.arange(size) + 0.5)
    ds = xr.Dataset(
        {
            "crop": (("y", "x"), crop, {"flag_values": np.arange(len(CROP_CODES) + 1, dtype=np.int8),
                                         "flag_meanings": "none " + " ".join(CROP_CODES.values())}),
            "soil": (("y", "x"), soil, {"flag_values": np.arange(len(SOIL_CODES) + 1, dtype=np.int8),
                                         "flag_meanings": "none " + " ".join(SOIL_CODES.values())}),
            "planting_date": (("y", "x"), np.where(crop > 0, planting, 0).astype(np.int32), {"long_name": "planting date, YYYYMMDD"}),
            "irrigation_efficiency": (("y", "x"), np.where(crop > 0, efficiency, np.nan).astype(np.float32)),
        },
        coords={"y": y, "x": x},
        attrs={"lat_deg": s["lat_deg"], "elevation_m": s["elevation_m"], "epsg": 32629, "site": s["station"],
               "generator": "kit.agro.synthetic.perimeter"},
    )
    return set_georef(ds, "EPSG:32629", transform)


def write_perimeter(path, **options):
    """Write :func:`perimeter` as a NetCDF file (the gridded fields contract) and return the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_perimeter(pathlib.Path(tempfile.mkdtemp()) / "perimeter.nc", size=10)
    >>> p.suffix
    '.nc'
    """
    from pathlib import Path

    from kit.io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        perimeter(**options).to_netcdf(tmp)
    return path
