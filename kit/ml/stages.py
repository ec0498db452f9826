"""Weather and water stress by growth stage, from a kit.agro water balance."""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["STAGES", "stage_weather_features"]

#: FAO-56 growth stages (kit.agro crop table: l_ini, l_dev, l_mid, l_late days from planting).
STAGES = ("ini", "dev", "mid", "late")
HEAT_THRESHOLD_C = 32.0  # grain set and filling of wheat suffer above ~32 °C (Porter & Gawith 1999)


def stage_weather_features(balance: xr.Dataset, weather: pd.DataFrame, *, cutoff=None, crops=None,
                           base_temperature_c: float = 0.0, heat_threshold_c: float = HEAT_THRESHOLD_C) -> pd.DataFrame:
    """GDD, rain, ET0, heat days and water stress (Ks) per FAO-56 growth stage of each field.

    Parameters
    ----------
    balance : xarray.Dataset
        :func:`kit.agro.water_balance` output (dims ``field, time``; uses
        ``kc`` to find each field's season, ``ks``, ``et0_mm``, ``rain_mm``, ``crop``).
    weather : pandas.DataFrame
        Daily ``tmin_c, tmax_c`` indexed by date (:func:`kit.agro.read_weather`).
    cutoff : date-like, optional
        Use only days up to this date (in-season forecast); stages not
        reached by then are NaN.
    crops : DataFrame, optional
        Crop table (default :data:`kit.agro.CROPS`).
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
    from kit.agro.crops import CROPS

    table = CROPS if crops is None else crops
    times = pd.DatetimeIndex(balance["time"].values)
    keep = np.ones(len(times), bool) if cutoff is None else times <= pd.Timestamp(cutoff)
    w = weather.reindex(times)
    tmean = ((w["tmax_c"] + w["tmin_c"]) / 2).to_numpy(float)
    tmax = w["tmax_c"].to_numpy(float)
    kc = balance["kc"].values
    in_season = np.isfinite(kc)
    plant = np.where(in_season.any(axis=1), np.argmax(in_season, axis=1), len(times))
    lengths = table.loc[balance["crop"].values, ["l_ini", "l_dev", "l_mid", "l_late"]].to_numpy(int)
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
