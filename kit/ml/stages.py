"""Weather and water stress by growth stage, from a kit.agro water balance."""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["STAGES", "fapar_from_ndvi", "light_use_features", "stage_weather_features", "temperature_factor", "water_deficit_features"]

#: FAO-56 growth stages (kit.agro crop table: l_ini, l_dev, l_mid, l_late days from planting).
STAGES = ("ini", "dev", "mid", "late")
HEAT_THRESHOLD_C = 32.0  # grain set and filling of wheat suffer above ~32 °C (Porter & Gawith 1999)


def stage_weather_features(balance: xr.Dataset, weather: pd.DataFrame, *, crops: pd.DataFrame, cutoff=None,
                           base_temperature_c: float = 0.0, heat_threshold_c: float = HEAT_THRESHOLD_C) -> pd.DataFrame:
    """GDD, rain, ET0, heat days and water stress (Ks) per FAO-56 growth stage of each field.

    Parameters
    ----------
    balance : xarray.Dataset
        :func:`kit.agro.water_balance` output (dims ``field, time``; uses
        ``kc`` to find each field's season, ``ks``, ``et0_mm``, ``rain_mm``, ``crop``).
    weather : pandas.DataFrame
        Daily ``tmin_c, tmax_c`` indexed by date (:func:`kit.agro.read_weather`).
    crops : pandas.DataFrame
        Stage lengths in days, columns ``l_ini, l_dev, l_mid, l_late``
        indexed by crop name (e.g. :data:`kit.agro.CROPS`, the table the
        balance ran with).
    cutoff : date-like, optional
        Use only days up to this date (in-season forecast); stages not
        reached by then are NaN.
    base_temperature_c : float, °C
        Base of growing degree-days (0 °C for wheat and barley).
    heat_threshold_c : float, °C

    Returns
    -------
    pandas.DataFrame, index ``field``
        ``{stage}_gdd_c_days, {stage}_rain_mm, {stage}_et0_mm,
        {stage}_heat_days, {stage}_ks_mean, {stage}_stress_days`` for the
        stages ``ini, dev, mid, late``, and ``season_rain_mm`` (from the
        first day of the balance to the cutoff).
    """
    times = pd.DatetimeIndex(balance["time"].values)
    keep = np.ones(len(times), bool) if cutoff is None else times <= pd.Timestamp(cutoff)
    w = weather.reindex(times)
    tmean = ((w["tmax_c"] + w["tmin_c"]) / 2).to_numpy(float)
    tmax = w["tmax_c"].to_numpy(float)
    kc = balance["kc"].values
    in_season = np.isfinite(kc)
    plant = np.where(in_season.any(axis=1), np.argmax(in_season, axis=1), len(times))
    lengths = crops.loc[balance["crop"].values, ["l_ini", "l_dev", "l_mid", "l_late"]].to_numpy(int)
    bounds = plant[:, None] + np.concatenate([np.zeros((len(plant), 1), int), np.cumsum(lengths, axis=1)], axis=1)
    day = np.arange(len(times))[None, :]
    ks = np.nan_to_num(balance["ks"].values, nan=1.0)
    daily = {
        "gdd_c_days": np.broadcast_to(np.maximum(tmean - base_temperature_c, 0.0)[None, :], ks.shape),
        "rain_mm": np.broadcast_to(balance["rain_mm"].values[None, :], ks.shape),
        "et0_mm": np.broadcast_to(balance["et0_mm"].values[None, :], ks.shape),
        "heat_days": np.broadcast_to((tmax > heat_threshold_c)[None, :].astype(float), ks.shape),
        "stress_days": (ks < 1.0 - 1e-9).astype(float),
    }
    out = {}
    for k, stage in enumerate(STAGES):
        window = (day >= bounds[:, k, None]) & (day < bounds[:, k + 1, None]) & keep[None, :]
        n = window.sum(axis=1)
        reached = n > 0
        for name, values in daily.items():
            out[f"{stage}_{name}"] = np.where(reached, np.sum(values * window, axis=1), np.nan)
        out[f"{stage}_ks_mean"] = np.where(reached, np.sum(ks * window, axis=1) / np.maximum(n, 1), np.nan)
    out["season_rain_mm"] = np.full(len(plant), float(balance["rain_mm"].values[keep].sum()))
    return pd.DataFrame(out, index=pd.Index(balance["field"].values, name="field"))


def fapar_from_ndvi(ndvi):
    """Fraction of absorbed PAR from NDVI, the linear relation of Myneni & Williams (1994).

    ``fAPAR = 1.1638 NDVI - 0.1426``, limited to 0-1 (about 0.05 over bare
    soil, 0.9 over a closed cereal canopy). NaN stays NaN.

    >>> fapar_from_ndvi(np.array([0.1, 0.5, 0.9])).round(3).tolist()
    [0.0, 0.439, 0.905]
    """
    return np.clip(1.1638 * np.asarray(ndvi, float) - 0.1426, 0.0, 1.0)


def light_use_features(ndvi_daily, ks, rs_mj_m2, planting_day, *, prefix: str = "lue", growth_factor=None) -> dict:
    """Absorbed radiation from planting, with and without water stress: Monteith's light-use efficiency driver.

    Biomass of a crop is close to proportional to the PAR its canopy absorbs
    (Monteith 1977), reduced when water is short. These sums are that driver
    from what an analyst has: the daily index curve (fAPAR), daily global
    radiation and the soil water balance's stress coefficient.

    Parameters
    ----------
    ndvi_daily : array (n_fields, n_days)
        Daily NDVI from the season start, NaN where unknown (those days count 0).
    ks : array (n_fields, n_days)
        FAO-56 water stress coefficient (1: no stress); NaN (outside the crop season) counts as 1.
    rs_mj_m2 : array (n_days,)
        Daily global radiation, MJ/m²; PAR is taken as half of it.
    planting_day : array (n_fields,)
        Day of the season of sowing; days before it do not count.
    prefix : str
    growth_factor : array (n_days,), optional
        Daily temperature factor of light use (0-1, :func:`temperature_factor`);
        with it ``{prefix}_apar_ks_temp_mj`` is added: absorbed PAR weighted
        by Ks and that factor, the driver of a SIMPLE-type crop model.

    Returns
    -------
    dict of arrays (n_fields,)
        ``{prefix}_apar_mj`` (absorbed PAR, MJ/m²) and ``{prefix}_apar_ks_mj``
        (the same weighted by Ks: what a water-limited light-use model grows on).

    Examples
    --------
    >>> f = light_use_features(np.full((1, 10), 0.5), np.full((1, 10), 0.5), np.full(10, 20.0), np.array([5]))
    >>> round(float(f["lue_apar_mj"][0]), 2), round(float(f["lue_apar_ks_mj"][0]), 2)   # 5 days x 10 MJ x 0.4393
    (21.96, 10.98)
    """
    ndvi_daily = np.atleast_2d(np.asarray(ndvi_daily, float))
    n_days = ndvi_daily.shape[1]
    fapar = np.nan_to_num(fapar_from_ndvi(ndvi_daily), nan=0.0)
    ks = np.nan_to_num(np.asarray(ks, float)[:, :n_days], nan=1.0)
    par = 0.5 * np.nan_to_num(np.asarray(rs_mj_m2, float)[:n_days], nan=0.0)
    sown = np.arange(n_days)[None, :] >= np.asarray(planting_day, float)[:, None]
    apar = np.where(sown, fapar * par[None, :], 0.0)
    out = {f"{prefix}_apar_mj": apar.sum(axis=1), f"{prefix}_apar_ks_mj": (apar * ks).sum(axis=1)}
    if growth_factor is not None:
        factor = np.nan_to_num(np.asarray(growth_factor, float)[:n_days], nan=1.0)
        out[f"{prefix}_apar_ks_temp_mj"] = (apar * ks * factor[None, :]).sum(axis=1)
    return out


def temperature_factor(tmean_c, tmax_c, *, base_c: float = 0.0, optimum_c: float = 15.0,
                       heat_c: float = HEAT_THRESHOLD_C, extreme_c: float = 42.0):
    """Daily growth factors (0-1) of a winter cereal's light use: cool days and hot days (SIMPLE, Zhao et al. 2019).

    ``f_temp`` rises linearly from ``base_c`` to ``optimum_c`` of the mean
    temperature; ``f_heat`` falls linearly from ``heat_c`` to ``extreme_c``
    of the maximum temperature (°C).

    >>> [float(v) for v in temperature_factor(np.array([7.5, 20.0]), np.array([30.0, 37.0]))]
    [0.5, 0.5]
    """
    f_temp = np.clip((np.asarray(tmean_c, float) - base_c) / (optimum_c - base_c), 0.0, 1.0)
    f_heat = np.clip(1.0 - (np.asarray(tmax_c, float) - heat_c) / (extreme_c - heat_c), 0.0, 1.0)
    return np.nan_to_num(f_temp * f_heat, nan=1.0)


def water_deficit_features(balance: xr.Dataset, *, cutoff_index: int | None = None, recent_days: int = 60,
                           prefix: str = "wb") -> dict:
    """Season water-stress index of each field from a soil water balance: relative and missing transpiration.

    The ARID idea (Woli et al. 2012): a crop short of water transpires less
    than it would unstressed, and grows in proportion. From the FAO-56
    balance's actual (``eta_mm``) and unstressed (``etc_mm``) crop ET,
    summed from planting to the forecast day and over its last
    ``recent_days`` (near the end of the season: the grain-filling weeks).

    Parameters
    ----------
    balance : xarray.Dataset
        :func:`kit.agro.water_balance` output (``eta_mm``, ``etc_mm``; NaN outside the crop season).
    cutoff_index : int, optional
        Last day (index along ``time``) counted; default the last.
    recent_days : int
    prefix : str

    Returns
    -------
    dict of arrays (fields,)
        ``{prefix}_relative_et`` (Σ ETa / Σ ETc, 1: never short of water),
        ``{prefix}_et_deficit_mm`` (Σ ETc - ETa, mm), ``{prefix}_relative_et_recent``;
        NaN before planting.
    """
    eta = balance["eta_mm"].values
    etc = balance["etc_mm"].values
    end = eta.shape[1] if cutoff_index is None else min(int(cutoff_index) + 1, eta.shape[1])
    eta, etc = eta[:, :end], etc[:, :end]

    def ratio(a, b):
        sa, sb = np.nansum(a, axis=1), np.nansum(b, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(sb > 0, sa / sb, np.nan)

    recent = slice(max(0, end - int(recent_days)), end)
    sown = np.isfinite(etc).any(axis=1)
    return {f"{prefix}_relative_et": ratio(eta, etc),
            f"{prefix}_et_deficit_mm": np.where(sown, np.nansum(etc - eta, axis=1), np.nan),
            f"{prefix}_relative_et_recent": ratio(eta[:, recent], etc[:, recent])}
