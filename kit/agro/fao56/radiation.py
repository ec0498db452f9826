"""Solar and net radiation (FAO-56 chapter 3: eq. 21-40, and Hargreaves' radiation formula, eq. 50).

Extraterrestrial radiation and daylight hours from latitude and day of the
year, solar radiation from sunshine hours or the temperature range,
clear-sky radiation, net shortwave, net longwave and net radiation.
"""
from __future__ import annotations

import math

from kit.agro.fao56.arrays import floating, like

#: Solar constant, MJ m-2 min-1 (eq. 21).
SOLAR_CONSTANT = 0.0820
#: Stefan-Boltzmann constant, MJ K-4 m-2 day-1 (eq. 39).
STEFAN_BOLTZMANN = 4.903e-9
#: Albedo of the grass reference crop (eq. 38).
ALBEDO = 0.23

__all__ = [
    "ALBEDO", "SOLAR_CONSTANT", "STEFAN_BOLTZMANN", "clear_sky_radiation_mj_m2", "daylight_hours", "extraterrestrial_radiation_mj_m2",
    "inverse_relative_distance", "net_longwave_radiation_mj_m2", "net_radiation_mj_m2", "net_shortwave_radiation_mj_m2",
    "solar_declination_rad", "solar_radiation_from_sunshine_mj_m2", "solar_radiation_from_temperature_mj_m2", "sunset_hour_angle_rad",
]


def inverse_relative_distance(doy):
    """Inverse relative Earth-Sun distance ``dr`` (eq. 23), for day of year ``doy`` (1-366).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(inverse_relative_distance(np.array(246.0))), 3)   # Example 8
    0.985
    """
    xp, j = floating(doy)
    return 1.0 + 0.033 * xp.cos(2.0 * math.pi / 365.0 * j)


def solar_declination_rad(doy):
    """Solar declination ``δ`` (eq. 24), rad.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(solar_declination_rad(np.array(246.0))), 3)   # Example 8
    0.12
    """
    xp, j = floating(doy)
    return 0.409 * xp.sin(2.0 * math.pi / 365.0 * j - 1.39)


def sunset_hour_angle_rad(lat_deg, declination_rad):
    """Sunset hour angle ``ωs = arccos(-tan φ tan δ)`` (eq. 25), rad; clipped for polar day and night.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(sunset_hour_angle_rad(np.array(-20.0), np.array(0.120))), 3)   # Example 8
    1.527
    """
    xp, dec = floating(declination_rad)
    phi = like(lat_deg, dec) * (math.pi / 180.0)
    return xp.acos(xp.clip(-xp.tan(phi) * xp.tan(dec), -1.0, 1.0))


def extraterrestrial_radiation_mj_m2(lat_deg, doy):
    """Daily extraterrestrial radiation ``Ra`` (eq. 21), MJ m-2 day-1.

    Parameters
    ----------
    lat_deg : array or float, decimal degrees, north positive
    doy : array, day of the year (1-366)

    Examples
    --------
    >>> import numpy as np
    >>> round(float(extraterrestrial_radiation_mj_m2(-20.0, np.array(246.0))), 1)   # Example 8
    32.2
    """
    xp, j = floating(doy)
    phi = like(lat_deg, j) * (math.pi / 180.0)
    dec = solar_declination_rad(j)
    ws = sunset_hour_angle_rad(like(lat_deg, j), dec)
    ra = (24.0 * 60.0 / math.pi) * SOLAR_CONSTANT * inverse_relative_distance(j) * (
        ws * xp.sin(phi) * xp.sin(dec) + xp.cos(phi) * xp.cos(dec) * xp.sin(ws)
    )
    return xp.clip(ra, 0.0, None)


def daylight_hours(lat_deg, doy):
    """Maximum possible duration of sunshine ``N = 24 ωs / π`` (eq. 34), hours.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(daylight_hours(-20.0, np.array(246.0))), 1)   # Example 9
    11.7
    """
    xp, j = floating(doy)
    return 24.0 / math.pi * sunset_hour_angle_rad(like(lat_deg, j), solar_declination_rad(j))


def solar_radiation_from_sunshine_mj_m2(sunshine_h, daylight_h, ra_mj_m2, a_s=0.25, b_s=0.50):
    """Angstrom formula ``Rs = (as + bs n/N) Ra`` (eq. 35), MJ m-2 day-1.

    Examples
    --------
    >>> import numpy as np
    >>> rs = solar_radiation_from_sunshine_mj_m2(np.array(7.1), np.array(10.9), np.array(25.1))   # Example 10
    >>> abs(float(rs) - 14.5) < 0.1
    True
    """
    xp, n = floating(sunshine_h)
    big_n = like(daylight_h, n)
    ratio = xp.where(big_n > 0, n / xp.where(big_n > 0, big_n, xp.ones_like(big_n)), xp.zeros_like(big_n))
    return (a_s + b_s * xp.clip(ratio, 0.0, 1.0)) * like(ra_mj_m2, n)


def solar_radiation_from_temperature_mj_m2(tmin_c, tmax_c, ra_mj_m2, krs=0.16):
    """Hargreaves' radiation formula ``Rs = kRs sqrt(Tmax - Tmin) Ra`` (eq. 50), MJ m-2 day-1.

    Parameters
    ----------
    krs : float, °C^-0.5
        0.16 for interior locations, 0.19 for coastal ones.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(solar_radiation_from_temperature_mj_m2(np.array(14.8), np.array(26.6), np.array(40.6))), 1)  # Ex. 15
    22.3
    """
    xp, tmin = floating(tmin_c)
    tmax = like(tmax_c, tmin)
    return krs * xp.sqrt(xp.clip(tmax - tmin, 0.0, None)) * like(ra_mj_m2, tmin)


def clear_sky_radiation_mj_m2(ra_mj_m2, elevation_m):
    """Clear-sky solar radiation ``Rso = (0.75 + 2e-5 z) Ra`` (eq. 37), MJ m-2 day-1.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(clear_sky_radiation_mj_m2(np.array(41.09), 100.0)), 2)   # Example 18
    30.9
    """
    xp, ra = floating(ra_mj_m2)
    return (0.75 + 2e-5 * like(elevation_m, ra)) * ra


def net_shortwave_radiation_mj_m2(rs_mj_m2, albedo=ALBEDO):
    """Net solar radiation ``Rns = (1 - α) Rs`` (eq. 38), MJ m-2 day-1."""
    xp, rs = floating(rs_mj_m2)
    return (1.0 - albedo) * rs


def net_longwave_radiation_mj_m2(tmin_c, tmax_c, ea_kpa, rs_mj_m2, rso_mj_m2):
    """Net outgoing longwave radiation ``Rnl`` (eq. 39), MJ m-2 day-1.

    ``Rs/Rso`` is limited to 1 (and to 0.3 from below, as FAO-56 advises for
    nights and overcast polar days, so Rnl stays defined).

    Examples
    --------
    >>> import numpy as np
    >>> a = [np.array(v) for v in (19.1, 25.1, 2.1, 14.5, 18.8)]   # Example 11
    >>> round(float(net_longwave_radiation_mj_m2(*a)), 1)
    3.5
    """
    xp, tmin = floating(tmin_c)
    tmax, ea, rs, rso = (like(v, tmin) for v in (tmax_c, ea_kpa, rs_mj_m2, rso_mj_m2))
    ratio = xp.where(rso > 0, rs / xp.where(rso > 0, rso, xp.ones_like(rso)), xp.full_like(rso, 0.3))
    ratio = xp.clip(ratio, 0.3, 1.0)
    kx, kn = (tmax + 273.16) ** 2, (tmin + 273.16) ** 2  # squares, twice: much faster than a generic power
    t4 = (kx * kx + kn * kn) / 2.0
    return STEFAN_BOLTZMANN * t4 * (0.34 - 0.14 * xp.sqrt(xp.clip(ea, 0.0, None))) * (1.35 * ratio - 0.35)


def net_radiation_mj_m2(rs_mj_m2, rnl_mj_m2, albedo=ALBEDO):
    """Net radiation ``Rn = Rns - Rnl`` (eq. 40), MJ m-2 day-1.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(net_radiation_mj_m2(np.array(14.5), np.array(3.5))), 1)   # Example 12
    7.7
    """
    return net_shortwave_radiation_mj_m2(rs_mj_m2, albedo) - like(rnl_mj_m2, floating(rs_mj_m2)[1])
