"""Each field's water capacity read from its imagery: how early it senesces, season after season, when seasons are dry.

A soil map's ``taw_mm_per_m`` is often off by a third or more on shallow
soils, and the ARID index of :mod:`kit.yieldpred.water_stress` is only as
good as the capacity it is given. The canopy tells more: a field on a
shallow soil senesces earlier in thermal time than its neighbours, and the
more so in dry seasons. Here each field's departure of senescence thermal
time (:func:`kit.yieldpred.thermal_time.thermal_time_from_sowing` of the
NDVI curve's senescence day) from its season's median is averaged over the
*other* seasons, weighted by how dry each was; the map's capacity regressed
on that history across fields gives a second estimate of the capacity, and
the two are averaged. Only imagery and weather enter, never yields, and
never the season being forecast (as for the climatology of
:mod:`kit.yieldpred.features`), so leave-one-year-out sees no held-out data.
"""
from __future__ import annotations

import numpy as np

from kit.ml import phenology_features
from kit.yieldpred.thermal_time import thermal_time_from_sowing
from kit.yieldpred.water_stress import ROOT_ZONE_M, arid_features

__all__ = ["MAP_WEIGHT", "imagery_arid_features", "imagery_water_capacity", "senescence_history", "season_senescence_c_days"]

#: Weight of the soil map in the capacity fed to the ARID index; the rest is the imagery's estimate. Half and half:
#: two estimates of the same capacity whose errors are not known apart (benchmarks/yield_skill.py).
MAP_WEIGHT = 0.5


def season_senescence_c_days(builder, year) -> np.ndarray:
    """Degree-days from sowing to the senescence day of each field's whole-season NDVI curve (``builder``'s fields).

    ``builder`` is a :class:`kit.yieldpred.FeatureBuilder`; its observed weather of the whole season is used.
    """
    start, _ = builder.season_bounds(year)
    curve = builder._full_curves(year)["ndvi"]
    senescence = phenology_features(curve.to_numpy(), prefix="ndvi", index=curve.index)["ndvi_senescence_day"]
    w = builder.season_weather(year, None)
    planting_day = (builder.planting_dates(year) - start).dt.days.to_numpy(float)
    return thermal_time_from_sowing(senescence.to_numpy(float), ((w["tmin_c"] + w["tmax_c"]) / 2).to_numpy(float), planting_day)


def senescence_history(senescence_c_days: dict, dryness: dict, sources=None) -> dict:
    """Per season: each field's departure from its season's median senescence, averaged over the other seasons.

    Parameters
    ----------
    senescence_c_days : dict year -> array (n_fields,)
        Senescence thermal time (°C·d) of every field in each season; NaN where unknown.
    dryness : dict year -> float
        Weight of each season (0-1, e.g. 1 - the median ARID water factor): dry seasons tell the soils apart.
    sources : list of years, optional
        Seasons whose departures are read (default: all); the season being forecast is left out of them, as
        from the climatology of :mod:`kit.yieldpred.features`, so its late imagery never reaches the training rows.

    Returns
    -------
    dict year -> array (n_fields,)
        °C·d, negative for a field that senesces early when seasons are dry; NaN without another season.

    Examples
    --------
    >>> h = senescence_history({1: np.array([1500.0, 1700.0, 1600.0]), 2: np.array([1800.0, 1800.0, 1900.0])},
    ...                        {1: 0.5, 2: 0.1})
    >>> h[2].tolist(), h[1].tolist()  # season 2 reads season 1's departures; season 1 reads season 2's
    ([-100.0, 100.0, 0.0], [0.0, 0.0, 100.0])
    """
    years = list(senescence_c_days)
    departure = {y: np.asarray(v, float) - np.nanmedian(v) for y, v in senescence_c_days.items()}
    out = {}
    for year in years:
        others = [y for y in (years if sources is None else sources) if y != year and y in departure]
        if not others:
            out[year] = np.full(len(departure[year]), np.nan)
            continue
        stack = np.vstack([departure[y] for y in others])
        weight = np.array([max(float(dryness[y]), 0.0) for y in others])[:, None] * np.isfinite(stack)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[year] = np.nansum(stack * weight, axis=0) / weight.sum(axis=0)
    return out


def imagery_water_capacity(taw_map_mm, history_c_days, *, map_weight: float = MAP_WEIGHT) -> np.ndarray:
    """Capacity of each field (mm): the map's, averaged with the map's linear regression across fields on the history.

    Parameters
    ----------
    taw_map_mm : array (n_fields,)
        The soil map's capacity (no NaN).
    history_c_days : array (n_fields,)
        :func:`senescence_history` of the season; NaN counts as the mean field.
    map_weight : float

    Returns
    -------
    numpy.ndarray (n_fields,), mm; the map unchanged where the history cannot be regressed on (fewer than 3
    fields, or no spread).

    Examples
    --------
    >>> imagery_water_capacity(np.array([100.0, 100.0, 200.0, 200.0]), np.array([-50.0, 50.0, -50.0, 50.0])).tolist()
    [125.0, 125.0, 175.0, 175.0]
    """
    taw = np.asarray(taw_map_mm, float)
    h = np.asarray(history_c_days, float)
    ok = np.isfinite(h) & np.isfinite(taw)
    if ok.sum() < 3 or np.nanstd(h[ok]) == 0:
        return taw
    h = np.where(np.isfinite(h), h, h[ok].mean())
    slope, intercept = np.polyfit(h[ok], taw[ok], 1)
    return map_weight * taw + (1 - map_weight) * np.clip(intercept + slope * h, 0.0, None)


def imagery_arid_features(builder, arid_inputs: dict, taw_map_mm, *, imagery: bool = True) -> dict:
    """ARID features of every season, the bucket sized by :func:`imagery_water_capacity` (or the map alone).

    Parameters
    ----------
    builder : kit.yieldpred.FeatureBuilder
    arid_inputs : dict year -> tuple
        The arguments of :func:`kit.yieldpred.water_stress.arid_features` but the capacity: ``(fapar_daily,
        rs_mj_m2, tmin_c, tmax_c, et0_mm, rain_mm, planting_day)`` of the season to the forecast day (and
        climatology after it).
    taw_map_mm : array (n_fields,)
        The map's capacity, mm per m (no NaN); the root zone is :data:`~kit.yieldpred.water_stress.ROOT_ZONE_M`.
    imagery : bool
        False: the map's capacity alone.

    Returns
    -------
    dict year -> dict of arrays (n_fields,)
        The columns of :func:`~kit.yieldpred.water_stress.arid_features`. A season's dryness (the weight of
        its departures in the history) is 1 - the median water factor of its fields on the map's capacity; the
        history reads the seasons with yields only (:meth:`~kit.yieldpred.FeatureBuilder.training_years`).
    """
    taw_map = np.asarray(taw_map_mm, float)
    on_map = {y: arid_features(*a[:6], taw_map * ROOT_ZONE_M, a[6]) for y, a in arid_inputs.items()}
    if not imagery or len(arid_inputs) < 2:
        return on_map
    dryness = {y: 1.0 - float(np.nanmedian(f["arid_water_factor"])) for y, f in on_map.items()}
    history = senescence_history({y: season_senescence_c_days(builder, y) for y in arid_inputs}, dryness,
                                 sources=builder.training_years())
    return {y: arid_features(*a[:6], imagery_water_capacity(taw_map, history[y]) * ROOT_ZONE_M, a[6])
            for y, a in arid_inputs.items()}
