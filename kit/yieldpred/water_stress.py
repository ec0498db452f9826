"""Water stress of each field from the weather and its observed canopy: the ARID index (Woli et al. 2012).

The FAO-56 balance of :class:`kit.yieldpred.FeatureBuilder` runs on a crop
calendar (stage lengths from planting), the same for every field of a
season; the crop's real demand follows its canopy. Here a one-layer bucket
of the soil map's water capacity is emptied by the transpiration the
*observed* canopy asks for (fAPAR from the index curve, which the curve
fills across cloud gaps), so a thin or late canopy asks less, and the
daily ARID factor (the share of the demand the roots can take up) weights
the radiation the canopy absorbed: the driver of a water-limited
light-use-efficiency crop model (SIMPLE, Zhao et al. 2019).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.agro.crops import SOILS
from kit.ml import temperature_factor

__all__ = ["ARID_UPTAKE_PER_DAY", "ROOT_ZONE_M", "arid_features", "arid_water_factor", "field_taw_mm_per_m"]

#: Largest share of the plant-available water the roots take up in a day, 1/day (ARID, Woli et al. 2012).
ARID_UPTAKE_PER_DAY = 0.096
#: Root zone the soil map's mm/m is applied to, m. The FAO-56 1.65 m of wheat's deepest roots gave worse skill on
#: benchmarks/yield_skill.py's low-noise wheat (linear LOYO NRMSE 0.121 against 0.099): the bucket ARID empties is
#: the readily taken-up water, shallower than the deepest roots.
ROOT_ZONE_M = 1.0
#: Bare-soil evaporation as a share of ET0 while the canopy covers less than a fifth of the ground (FAO-56's
#: stage-2 evaporation is of this order in the dry Mediterranean spring and autumn).
BARE_SOIL_EVAPORATION = 0.2
EFFECTIVE_RAIN = 0.9  # share of daily rain entering the root zone (the rest runs off or is intercepted)
MIN_DEMAND_COVER = 0.15  # a sown field transpires and evaporates at least as a 15 % cover would


def field_taw_mm_per_m(fields: pd.DataFrame) -> pd.Series:
    """Total available water of each field (mm per m of soil): ``taw_mm_per_m`` where given, else its soil class's.

    Indexed like ``fields``; NaN where neither is known (callers fill with the median). The single source of
    the capacity: :class:`kit.yieldpred.FeatureBuilder` feeds it both to the ARID bucket and to the
    ``soil_taw_mm_per_m`` column, so a field whose ``taw_mm_per_m`` is NaN gets its soil class's value in both
    (the column used to keep the NaN while the bucket took the class).
    """
    if "taw_mm_per_m" in fields:
        taw = pd.to_numeric(fields["taw_mm_per_m"], errors="coerce").astype(float)
    else:
        taw = pd.Series(np.nan, index=fields.index)
    if "soil" in fields:
        taw = taw.fillna(fields["soil"].map(SOILS["taw_mm_per_m"]).astype(float))
    return taw


def arid_water_factor(fapar_daily, et0_mm, rain_mm, taw_mm, planting_day, *, uptake_per_day: float = ARID_UPTAKE_PER_DAY):
    """Daily ARID water factor (0-1) of each field: root uptake over the demand of its canopy.

    The bucket starts empty at the season start (the Moroccan summer dries
    the soil) and is filled by rain, emptied by uptake and, under a sparse
    canopy, by bare-soil evaporation; it never holds more than ``taw_mm``.

    Parameters
    ----------
    fapar_daily : array (n_fields, n_days)
        Daily fraction of absorbed PAR (0-1) from the season start, taken as the canopy cover; NaN counts 0.
    et0_mm, rain_mm : array (n_days,)
        Reference evapotranspiration and rain, mm/day; NaN counts 0.
    taw_mm : array (n_fields,)
        Water the root zone holds between field capacity and wilting point, mm.
    planting_day : array (n_fields,)
        Day of the season of sowing: no transpiration before it.
    uptake_per_day : float, 1/day

    Returns
    -------
    numpy.ndarray (n_fields, n_days)
        ``1 - ARID``: 1 when the roots meet the demand (and before sowing), 0 when the soil is dry.

    Examples
    --------
    A full canopy asking 5 mm/day after 100 mm of rain on a 20 mm and an 80 mm soil:

    >>> f = arid_water_factor(np.ones((2, 3)), np.full(3, 5.0), np.array([100.0, 0, 0]), np.array([20.0, 80.0]), np.zeros(2))
    >>> f[:, 1].round(2).tolist()  # 0.096 x 20 mm / 5 mm; the deep soil meets the demand
    [0.38, 1.0]
    """
    cover = np.nan_to_num(np.atleast_2d(np.asarray(fapar_daily, float)), nan=0.0)
    n_fields, n_days = cover.shape
    et0 = np.nan_to_num(np.asarray(et0_mm, float)[:n_days], nan=0.0)
    rain = np.nan_to_num(np.asarray(rain_mm, float)[:n_days], nan=0.0)
    taw = np.clip(np.asarray(taw_mm, float), 0.0, None)
    sown = np.arange(n_days)[None, :] >= np.asarray(planting_day, float)[:, None]
    paw = np.zeros(n_fields)
    factor = np.ones((n_fields, n_days))
    for d in range(n_days):
        demand = et0[d] * np.where(sown[:, d], np.maximum(cover[:, d], MIN_DEMAND_COVER), 0.0)
        uptake = np.minimum(demand, uptake_per_day * paw)
        factor[:, d] = np.where(demand > 0, uptake / np.maximum(demand, 1e-9), 1.0)
        bare = BARE_SOIL_EVAPORATION * et0[d] * (cover[:, d] < 0.2)
        paw = np.minimum(np.clip(paw + EFFECTIVE_RAIN * rain[d] - uptake - bare, 0.0, None), taw)
    return factor


def arid_features(fapar_daily, rs_mj_m2, tmin_c, tmax_c, et0_mm, rain_mm, taw_mm, planting_day, *,
                  prefix: str = "arid") -> dict:
    """Water- and temperature-limited absorbed radiation and the mean water factor of the canopy, per field.

    Parameters
    ----------
    fapar_daily : array (n_fields, n_days)
        Daily fAPAR from the season start to the last day used (e.g. the forecast day, then climatology).
    rs_mj_m2, tmin_c, tmax_c, et0_mm, rain_mm : array (n_days,)
        Daily global radiation (MJ/m²; PAR is half of it), temperatures (°C), ET0 and rain (mm).
    taw_mm, planting_day : array (n_fields,)
        See :func:`arid_water_factor`.
    prefix : str

    Returns
    -------
    dict of arrays (n_fields,)
        ``{prefix}_apar_temp_mj``: Σ PAR × fAPAR × f_temp × min(f_heat, f_water) from sowing (MJ/m²,
        the factors of :func:`kit.ml.temperature_factor` split as SIMPLE does: heat and water stress
        do not compound); ``{prefix}_water_factor``: the mean water factor weighted by absorbed PAR
        (1: never short of water).
    """
    fapar = np.nan_to_num(np.atleast_2d(np.asarray(fapar_daily, float)), nan=0.0)
    n_days = fapar.shape[1]
    sown = np.arange(n_days)[None, :] >= np.asarray(planting_day, float)[:, None]
    fapar = np.where(sown, fapar, 0.0)
    water = arid_water_factor(fapar, et0_mm, rain_mm, taw_mm, planting_day)
    tmin, tmax = np.asarray(tmin_c, float)[:n_days], np.asarray(tmax_c, float)[:n_days]
    f_temp = temperature_factor((tmin + tmax) / 2, np.full(n_days, -np.inf))  # cool days only
    f_heat = temperature_factor(np.full(n_days, np.inf), tmax)  # hot days only
    apar = fapar * 0.5 * np.nan_to_num(np.asarray(rs_mj_m2, float)[:n_days], nan=0.0)[None, :]
    total = apar.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_water = np.where(total > 0, (apar * water).sum(axis=1) / total, np.nan)
    return {f"{prefix}_apar_temp_mj": (apar * f_temp[None, :] * np.minimum(f_heat[None, :], water)).sum(axis=1),
            f"{prefix}_water_factor": mean_water}
