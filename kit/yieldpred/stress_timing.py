"""Heat and water stress around flowering, the window placed by each field's own canopy curve.

Wheat and barley set their grain number in the weeks around anthesis and
fill the grain on the green canopy left after it: a hot or dry spell then
costs more than the same spell in winter. The FAO-56 stage features of
:func:`kit.ml.stage_weather_features` place the stages by a calendar from
planting, the same for every field sown on a day; here flowering is placed
at the peak of the field's daily index curve (a cereal canopy is greenest
around heading and anthesis), which the gap-filled curve gives through
cloud gaps, and falls back on thermal time from sowing where the curve has
no peak.
"""
from __future__ import annotations

import numpy as np

__all__ = ["FLOWERING_GDD_C_DAYS", "FLOWERING_WINDOW_DAYS", "GRAIN_FILL_WINDOW_DAYS", "HEAT_STRESS_C", "flowering_day",
           "flowering_features", "thermal_time_from_sowing"]

#: Thermal time from sowing to anthesis of a Mediterranean winter wheat (°C·d, base 0 °C), used where a field's
#: curve gives no peak after sowing.
FLOWERING_GDD_C_DAYS = 1500.0
#: Days around the flowering day (before, after) when heat and drought cut the grain number.
FLOWERING_WINDOW_DAYS = (10, 10)
#: Days after the flowering day over which the grain fills (start, end).
GRAIN_FILL_WINDOW_DAYS = (10, 40)
#: Daily maximum temperature above which a cereal's flowering and grain fill suffer, °C.
HEAT_STRESS_C = 30.0
MIN_PEAK_RISE = 0.1  # a curve rising less than this above its value at sowing (index units) has no usable peak


def flowering_day(index_daily, tmean_c, planting_day, *, gdd_c_days: float = FLOWERING_GDD_C_DAYS) -> np.ndarray:
    """Day of the season of each field's flowering: the peak of its index curve after sowing, else thermal time.

    Parameters
    ----------
    index_daily : array (n_fields, n_days)
        Daily greenness curve (e.g. NDVI) from the season start; NaN where unknown.
    tmean_c : array (n_days,)
        Daily mean temperature, °C (NaN counts 0 °C·d).
    planting_day : array (n_fields,)
        Day of the season of sowing.
    gdd_c_days : float, °C·d
        Thermal time from sowing to flowering for fields whose curve has no peak (a rise of less than
        :data:`MIN_PEAK_RISE` above the curve at sowing, or no value after sowing).

    Returns
    -------
    numpy.ndarray (n_fields,) of float
        Day of the season; NaN when neither the curve nor the thermal time reaches flowering.

    Examples
    --------
    >>> curve = np.array([[0.2, 0.3, 0.6, 0.8, 0.7, 0.4], [0.2, 0.2, 0.2, 0.2, 0.2, 0.2]])
    >>> flowering_day(curve, np.full(6, 10.0), np.array([0, 1]), gdd_c_days=40).tolist()  # a peak; thermal time
    [3.0, 4.0]
    """
    curve = np.atleast_2d(np.asarray(index_daily, float))
    n_fields, n_days = curve.shape
    plant = np.clip(np.nan_to_num(np.asarray(planting_day, float), nan=0.0), 0, n_days - 1).astype(int)
    sown = np.arange(n_days)[None, :] >= plant[:, None]
    masked = np.where(sown & np.isfinite(curve), curve, -np.inf)
    peak = np.argmax(masked, axis=1)
    rows = np.arange(n_fields)
    at_sowing = curve[rows, plant]
    at_sowing = np.where(np.isfinite(at_sowing), at_sowing, np.nanmin(np.where(sown, curve, np.nan), axis=1, initial=np.inf))
    rise = masked[rows, peak] - at_sowing
    gdd = np.cumsum(np.nan_to_num(np.maximum(np.asarray(tmean_c, float)[:n_days], 0.0)))
    gdd_from_sowing = gdd[None, :] - np.where(plant > 0, gdd[np.maximum(plant - 1, 0)], 0.0)[:, None]
    reached = sown & (gdd_from_sowing >= gdd_c_days)
    by_gdd = np.where(reached.any(axis=1), np.argmax(reached, axis=1), np.nan)
    return np.where(np.isfinite(rise) & (rise >= MIN_PEAK_RISE), peak.astype(float), by_gdd)


def thermal_time_from_sowing(day, tmean_c, planting_day, *, base_c: float = 0.0) -> np.ndarray:
    """Growing degree-days (°C·d above ``base_c``) from sowing to ``day`` of the season, per field.

    A canopy that senesces early in thermal time was cut short by drought or heat: unlike the
    calendar day, this does not move with the sowing date or a cool spring.

    Parameters
    ----------
    day, planting_day : array (n_fields,)
        Days of the season (NaN gives NaN); days after the last of ``tmean_c`` count the last.
    tmean_c : array (n_days,)
        Daily mean temperature, °C (NaN counts 0 °C·d).

    Examples
    --------
    >>> thermal_time_from_sowing(np.array([3.0, np.nan]), np.array([5.0, 10.0, 12.0, 8.0]), np.array([1.0, 0.0])).tolist()
    [30.0, nan]
    """
    gdd = np.concatenate([[0.0], np.cumsum(np.nan_to_num(np.maximum(np.asarray(tmean_c, float) - base_c, 0.0)))])
    day, plant = np.asarray(day, float), np.asarray(planting_day, float)
    ok = np.isfinite(day) & np.isfinite(plant)
    last = len(gdd) - 1
    end = np.clip(np.where(ok, day, 0), -1, last - 1).astype(int) + 1  # through ``day`` inclusive
    begin = np.clip(np.where(ok, plant, 0), 0, last).astype(int)
    return np.where(ok & (day >= plant), gdd[end] - gdd[np.minimum(begin, end)], np.where(ok, 0.0, np.nan))


def _window_sum(daily, first, last) -> np.ndarray:
    """Σ of ``daily`` (n_fields, n_days) over days ``first..last`` (per field, inclusive, clipped); NaN where ``first`` is."""
    n_days = daily.shape[1]
    day = np.arange(n_days)[None, :]
    a, b = np.asarray(first, float)[:, None], np.asarray(last, float)[:, None]
    inside = (day >= a) & (day <= b)
    return np.where(np.isfinite(a[:, 0]), np.sum(np.where(inside, daily, 0.0), axis=1), np.nan)


def flowering_features(index_daily, fapar_daily, tmin_c, tmax_c, planting_day, *, water_factor_daily=None,
                       prefix: str = "flowering") -> dict:
    """Heat, green canopy and water supply around each field's flowering and through its grain fill.

    Parameters
    ----------
    index_daily : array (n_fields, n_days)
        Daily greenness curve placing flowering (:func:`flowering_day`).
    fapar_daily : array (n_fields, n_days)
        Daily fAPAR (0-1) of the same curve; NaN counts 0.
    tmin_c, tmax_c : array (n_days,)
        Daily temperatures, °C, from the season start (observed, then climatology after a forecast day).
    planting_day : array (n_fields,)
    water_factor_daily : array (n_fields, n_days), optional
        Daily water factor (0-1, 1 unstressed), e.g. :func:`kit.yieldpred.water_stress.arid_water_factor`.
    prefix : str

    Returns
    -------
    dict of arrays (n_fields,)
        ``{prefix}_day`` (day of the season); ``{prefix}_heat_c_days`` and ``grain_fill_heat_c_days``:
        Σ max(Tmax − :data:`HEAT_STRESS_C`, 0) over :data:`FLOWERING_WINDOW_DAYS` and
        :data:`GRAIN_FILL_WINDOW_DAYS` (°C·d); ``grain_fill_green_days``: Σ fAPAR over the grain fill
        (days of full cover, the green area the grain fills on); with ``water_factor_daily``,
        ``{prefix}_water_factor`` and ``grain_fill_water_factor``: the mean water factor of each window.
        NaN where flowering is not placed.
    """
    curve = np.atleast_2d(np.asarray(index_daily, float))
    n_days = curve.shape[1]
    tmin, tmax = np.asarray(tmin_c, float)[:n_days], np.asarray(tmax_c, float)[:n_days]
    day = flowering_day(curve, (tmin + tmax) / 2, planting_day)
    heat = np.broadcast_to(np.nan_to_num(np.maximum(tmax - HEAT_STRESS_C, 0.0))[None, :], curve.shape)
    fapar = np.nan_to_num(np.atleast_2d(np.asarray(fapar_daily, float))[:, :n_days], nan=0.0)
    (before, after), (fill_a, fill_b) = FLOWERING_WINDOW_DAYS, GRAIN_FILL_WINDOW_DAYS
    out = {f"{prefix}_day": day,
           f"{prefix}_heat_c_days": _window_sum(heat, day - before, day + after),
           "grain_fill_heat_c_days": _window_sum(heat, day + fill_a, day + fill_b),
           "grain_fill_green_days": _window_sum(fapar, day + fill_a, day + fill_b)}
    if water_factor_daily is not None:
        water = np.atleast_2d(np.asarray(water_factor_daily, float))[:, :n_days]
        ones = np.ones_like(water)
        for name, (a, b) in ((f"{prefix}_water_factor", (day - before, day + after)),
                             ("grain_fill_water_factor", (day + fill_a, day + fill_b))):
            with np.errstate(invalid="ignore", divide="ignore"):
                out[name] = _window_sum(water, a, b) / _window_sum(ones, a, b)
    return out
