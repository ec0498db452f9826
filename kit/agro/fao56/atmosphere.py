"""Atmospheric parameters, air humidity and wind speed (FAO-56 chapter 3: eq. 7-19, 47, 48).

Pressure and the psychrometric constant from elevation, saturation and
actual vapour pressure from the best humidity data of each element, and
wind speed brought to 2 m.
"""
from __future__ import annotations

from kit.agro.fao56.arrays import floating, like

#: Source codes of the actual vapour pressure (indices of :func:`actual_vapour_pressure_kpa`'s ``source``).
EA_SOURCES = ("tdew", "rh_max_min", "rh_max", "rh_mean", "tmin")

__all__ = [
    "EA_SOURCES", "actual_vapour_pressure_from_saturation", "actual_vapour_pressure_kpa", "atmospheric_pressure_kpa",
    "mean_saturation_vapour_pressure_kpa", "psychrometric_constant_kpa_c", "saturation_vapour_pressure_kpa",
    "slope_vapour_pressure_kpa_c", "wind_speed_2m_ms",
]


def atmospheric_pressure_kpa(elevation_m):
    """Atmospheric pressure from elevation (eq. 7).

    Parameters
    ----------
    elevation_m : array, m above sea level

    Returns
    -------
    array, kPa

    Examples
    --------
    >>> import numpy as np
    >>> round(float(atmospheric_pressure_kpa(np.array(1800.0))), 1)   # FAO-56 Example 2
    81.8
    """
    xp, z = floating(elevation_m)
    return 101.3 * ((293.0 - 0.0065 * z) / 293.0) ** 5.26


def psychrometric_constant_kpa_c(pressure_kpa):
    """Psychrometric constant ``γ = 0.665e-3 P`` (eq. 8), kPa °C-1.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(psychrometric_constant_kpa_c(np.array(81.8))), 3)   # FAO-56 Example 2
    0.054
    """
    xp, p = floating(pressure_kpa)
    return 0.665e-3 * p


def saturation_vapour_pressure_kpa(t_c):
    """Saturation vapour pressure ``e°(T)`` (eq. 11).

    Parameters
    ----------
    t_c : array, °C

    Returns
    -------
    array, kPa

    Examples
    --------
    >>> import numpy as np
    >>> np.round(saturation_vapour_pressure_kpa(np.array([24.5, 15.0])), 3)   # FAO-56 Example 3
    array([3.075, 1.705])
    """
    xp, t = floating(t_c)
    return 0.6108 * xp.exp(17.27 * t / (t + 237.3))


def mean_saturation_vapour_pressure_kpa(tmin_c, tmax_c):
    """Mean saturation vapour pressure ``es = (e°(Tmax) + e°(Tmin)) / 2`` (eq. 12), kPa.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(mean_saturation_vapour_pressure_kpa(np.array(15.0), np.array(24.5))), 2)   # Example 3
    2.39
    """
    return (saturation_vapour_pressure_kpa(tmax_c) + saturation_vapour_pressure_kpa(tmin_c)) / 2.0


def slope_vapour_pressure_kpa_c(t_c):
    """Slope of the saturation vapour pressure curve ``Δ`` at ``t_c`` (eq. 13), kPa °C-1.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(slope_vapour_pressure_kpa_c(np.array(16.9))), 3)   # Example 18: Tmean 16.9 °C
    0.122
    """
    xp, t = floating(t_c)
    return 4098.0 * (0.6108 * xp.exp(17.27 * t / (t + 237.3))) / (t + 237.3) ** 2


def actual_vapour_pressure_kpa(tmin_c, tmax_c, *, tdew_c=None, rh_min_pct=None, rh_max_pct=None, rh_mean_pct=None):
    """Actual vapour pressure ``ea`` from the best humidity data available, element by element.

    Order of preference (FAO-56 chapter 3): dew point (eq. 14); RHmax and
    RHmin (eq. 17); RHmax alone (eq. 18); RHmean (eq. 19); Tmin as dew point
    (eq. 48, the missing-data rule). NaN marks a missing value.

    Parameters
    ----------
    tmin_c, tmax_c : array, °C
    tdew_c : array, °C, optional
    rh_min_pct, rh_max_pct, rh_mean_pct : array, %, optional

    Returns
    -------
    (ea_kpa, source) : (array, kPa; int8 array)
        ``source`` indexes :data:`EA_SOURCES`.

    Examples
    --------
    >>> import numpy as np
    >>> t0, t1 = np.array([18.0]), np.array([25.0])                 # FAO-56 Example 5
    >>> ea, src = actual_vapour_pressure_kpa(t0, t1, rh_min_pct=np.array([54.0]), rh_max_pct=np.array([82.0]))
    >>> round(float(ea[0]), 3), int(src[0])
    (1.702, 1)
    """
    xp, tmin = floating(tmin_c)
    tmax = like(tmax_c, tmin)
    return actual_vapour_pressure_from_saturation(xp, tmin, saturation_vapour_pressure_kpa(tmin), saturation_vapour_pressure_kpa(tmax),
                                   tdew_c, rh_min_pct, rh_max_pct, rh_mean_pct)


def actual_vapour_pressure_from_saturation(xp, tmin, e_min, e_max, tdew_c, rh_min_pct, rh_max_pct, rh_mean_pct):
    """:func:`actual_vapour_pressure_kpa` with e°(Tmin) and e°(Tmax) already computed."""
    ea = e_min + 0.0 * e_max  # Tmin as dew point (eq. 48); broadcast shape
    source = xp.astype(xp.zeros_like(ea), xp.int8) + 4
    # Apply from the least to the most preferred, each overriding where present.
    if rh_mean_pct is not None:
        rh = like(rh_mean_pct, tmin)
        ok = ~xp.isnan(rh)
        ea = xp.where(ok, rh / 100.0 * (e_max + e_min) / 2.0, ea)
        source = xp.where(ok, xp.astype(ok, xp.int8) * 3, source)
    if rh_max_pct is not None:
        rhx = like(rh_max_pct, tmin)
        ok = ~xp.isnan(rhx)
        ea = xp.where(ok, e_min * rhx / 100.0, ea)
        source = xp.where(ok, xp.astype(ok, xp.int8) * 2, source)
        if rh_min_pct is not None:
            rhn = like(rh_min_pct, tmin)
            ok = ~xp.isnan(rhx) & ~xp.isnan(rhn)
            ea = xp.where(ok, (e_min * rhx / 100.0 + e_max * rhn / 100.0) / 2.0, ea)
            source = xp.where(ok, xp.astype(ok, xp.int8) * 1, source)
    if tdew_c is not None:
        td = like(tdew_c, tmin)
        ok = ~xp.isnan(td)
        ea = xp.where(ok, saturation_vapour_pressure_kpa(td), ea)
        source = xp.where(ok, xp.zeros_like(source), source)
    return ea, source


def wind_speed_2m_ms(wind_ms, height_m=2.0):
    """Wind speed at 2 m from a measurement at ``height_m`` (eq. 47), m/s.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(wind_speed_2m_ms(np.array(3.2), 10.0)), 1)   # Example 14
    2.4
    """
    xp, u = floating(wind_ms)
    z = like(height_m, u)
    return u * 4.87 / xp.log(67.8 * z - 5.42)
