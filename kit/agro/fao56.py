"""FAO-56 reference evapotranspiration, written once against the Python array API.

Every equation follows Allen, Pereira, Raes and Smith (1998), *Crop
evapotranspiration*, FAO Irrigation and Drainage Paper 56 (the 1998 paper,
not its 2025 revision); equation numbers are the paper's. Functions take
arrays from any array-API namespace (NumPy, CuPy, Torch, array-api-strict)
of any shape (days, fields × days, pixels × days) and broadcast; results stay
on the input's namespace, device and floating dtype. Scalars (latitude,
elevation, height) may be Python numbers or arrays that broadcast.

The daily kernel :func:`et0_kernel` applies the paper's missing-data
procedure element by element (chapter 3, "Missing data"): solar radiation
from sunshine hours, else from the temperature range (Hargreaves' radiation
formula, eq. 50, ``k_Rs`` 0.16 interior / 0.19 coastal); actual vapour
pressure from dew point, else RHmax and RHmin, else RHmax, else RHmean, else
Tmin (dew point assumed equal to Tmin, eq. 48); wind 2 m/s when missing.
"""
from __future__ import annotations

import math

from array_api_compat import device as _device

from kit.backend import array_namespace

#: Solar constant, MJ m-2 min-1 (eq. 21).
SOLAR_CONSTANT = 0.0820
#: Stefan-Boltzmann constant, MJ K-4 m-2 day-1 (eq. 39).
STEFAN_BOLTZMANN = 4.903e-9
#: Albedo of the grass reference crop (eq. 38).
ALBEDO = 0.23
#: Default wind speed at 2 m when wind data are missing, m/s (chapter 3).
DEFAULT_WIND_MS = 2.0

# Source codes reported per day by et0_kernel.
RS_SOURCES = ("measured", "sunshine", "temperature")
EA_SOURCES = ("tdew", "rh_max_min", "rh_max", "rh_mean", "tmin")
U2_SOURCES = ("measured", "default_2ms")
METHODS = ("fao56", "fao56+hs", "hargreaves")

__all__ = [
    "atmospheric_pressure_kpa",
    "psychrometric_constant_kpa_c",
    "saturation_vapour_pressure_kpa",
    "mean_saturation_vapour_pressure_kpa",
    "slope_vapour_pressure_kpa_c",
    "actual_vapour_pressure_kpa",
    "inverse_relative_distance",
    "solar_declination_rad",
    "sunset_hour_angle_rad",
    "extraterrestrial_radiation_mj_m2",
    "daylight_hours",
    "solar_radiation_from_sunshine_mj_m2",
    "solar_radiation_from_temperature_mj_m2",
    "clear_sky_radiation_mj_m2",
    "net_shortwave_radiation_mj_m2",
    "net_longwave_radiation_mj_m2",
    "net_radiation_mj_m2",
    "wind_speed_2m_ms",
    "penman_monteith_et0_mm",
    "hargreaves_et0_mm",
    "et0_kernel",
]


def _like(x, ref):
    """``x`` (number or array) as an array on ``ref``'s namespace, device and float dtype."""
    xp = array_namespace(ref)
    dtype = ref.dtype if xp.isdtype(ref.dtype, "real floating") else None
    if isinstance(x, (int, float)):
        return xp.asarray(float(x), dtype=dtype, device=_device(ref))
    if dtype is not None and x.dtype != dtype:
        x = xp.astype(x, dtype)
    return x


def _float(x):
    xp = array_namespace(x)
    if xp.isdtype(x.dtype, "real floating"):
        return xp, x
    return xp, xp.astype(x, xp.float32 if not _has_float64(xp, x) else xp.float64)


def _has_float64(xp, x) -> bool:
    try:
        xp.zeros((1,), dtype=xp.float64, device=_device(x))
        return True
    except Exception:  # array-api-strict's 'no_float64' device refuses float64
        return False


# --- atmospheric parameters -------------------------------------------------

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
    xp, z = _float(elevation_m)
    return 101.3 * ((293.0 - 0.0065 * z) / 293.0) ** 5.26


def psychrometric_constant_kpa_c(pressure_kpa):
    """Psychrometric constant ``γ = 0.665e-3 P`` (eq. 8), kPa °C-1.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(psychrometric_constant_kpa_c(np.array(81.8))), 3)   # FAO-56 Example 2
    0.054
    """
    xp, p = _float(pressure_kpa)
    return 0.665e-3 * p


# --- humidity ---------------------------------------------------------------

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
    xp, t = _float(t_c)
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
    xp, t = _float(t_c)
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
    xp, tmin = _float(tmin_c)
    tmax = _like(tmax_c, tmin)
    return _actual_vapour_pressure(xp, tmin, saturation_vapour_pressure_kpa(tmin), saturation_vapour_pressure_kpa(tmax),
                                   tdew_c, rh_min_pct, rh_max_pct, rh_mean_pct)


def _actual_vapour_pressure(xp, tmin, e_min, e_max, tdew_c, rh_min_pct, rh_max_pct, rh_mean_pct):
    """:func:`actual_vapour_pressure_kpa` with e°(Tmin) and e°(Tmax) already computed."""
    ea = e_min + 0.0 * e_max  # Tmin as dew point (eq. 48); broadcast shape
    source = xp.astype(xp.zeros_like(ea), xp.int8) + 4
    # Apply from the least to the most preferred, each overriding where present.
    if rh_mean_pct is not None:
        rh = _like(rh_mean_pct, tmin)
        ok = ~xp.isnan(rh)
        ea = xp.where(ok, rh / 100.0 * (e_max + e_min) / 2.0, ea)
        source = xp.where(ok, xp.astype(ok, xp.int8) * 3, source)
    if rh_max_pct is not None:
        rhx = _like(rh_max_pct, tmin)
        ok = ~xp.isnan(rhx)
        ea = xp.where(ok, e_min * rhx / 100.0, ea)
        source = xp.where(ok, xp.astype(ok, xp.int8) * 2, source)
        if rh_min_pct is not None:
            rhn = _like(rh_min_pct, tmin)
            ok = ~xp.isnan(rhx) & ~xp.isnan(rhn)
            ea = xp.where(ok, (e_min * rhx / 100.0 + e_max * rhn / 100.0) / 2.0, ea)
            source = xp.where(ok, xp.astype(ok, xp.int8) * 1, source)
    if tdew_c is not None:
        td = _like(tdew_c, tmin)
        ok = ~xp.isnan(td)
        ea = xp.where(ok, saturation_vapour_pressure_kpa(td), ea)
        source = xp.where(ok, xp.zeros_like(source), source)
    return ea, source


# --- radiation ---------------------------------------------------------------

def inverse_relative_distance(doy):
    """Inverse relative Earth-Sun distance ``dr`` (eq. 23), for day of year ``doy`` (1-366).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(inverse_relative_distance(np.array(246.0))), 3)   # Example 8
    0.985
    """
    xp, j = _float(doy)
    return 1.0 + 0.033 * xp.cos(2.0 * math.pi / 365.0 * j)


def solar_declination_rad(doy):
    """Solar declination ``δ`` (eq. 24), rad.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(solar_declination_rad(np.array(246.0))), 3)   # Example 8
    0.12
    """
    xp, j = _float(doy)
    return 0.409 * xp.sin(2.0 * math.pi / 365.0 * j - 1.39)


def sunset_hour_angle_rad(lat_deg, declination_rad):
    """Sunset hour angle ``ωs = arccos(-tan φ tan δ)`` (eq. 25), rad; clipped for polar day and night.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(sunset_hour_angle_rad(np.array(-20.0), np.array(0.120))), 3)   # Example 8
    1.527
    """
    xp, dec = _float(declination_rad)
    phi = _like(lat_deg, dec) * (math.pi / 180.0)
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
    xp, j = _float(doy)
    phi = _like(lat_deg, j) * (math.pi / 180.0)
    dec = solar_declination_rad(j)
    ws = sunset_hour_angle_rad(_like(lat_deg, j), dec)
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
    xp, j = _float(doy)
    return 24.0 / math.pi * sunset_hour_angle_rad(_like(lat_deg, j), solar_declination_rad(j))


def solar_radiation_from_sunshine_mj_m2(sunshine_h, daylight_h, ra_mj_m2, a_s=0.25, b_s=0.50):
    """Angstrom formula ``Rs = (as + bs n/N) Ra`` (eq. 35), MJ m-2 day-1.

    Examples
    --------
    >>> import numpy as np
    >>> rs = solar_radiation_from_sunshine_mj_m2(np.array(7.1), np.array(10.9), np.array(25.1))   # Example 10
    >>> abs(float(rs) - 14.5) < 0.1
    True
    """
    xp, n = _float(sunshine_h)
    big_n = _like(daylight_h, n)
    ratio = xp.where(big_n > 0, n / xp.where(big_n > 0, big_n, xp.ones_like(big_n)), xp.zeros_like(big_n))
    return (a_s + b_s * xp.clip(ratio, 0.0, 1.0)) * _like(ra_mj_m2, n)


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
    xp, tmin = _float(tmin_c)
    tmax = _like(tmax_c, tmin)
    return krs * xp.sqrt(xp.clip(tmax - tmin, 0.0, None)) * _like(ra_mj_m2, tmin)


def clear_sky_radiation_mj_m2(ra_mj_m2, elevation_m):
    """Clear-sky solar radiation ``Rso = (0.75 + 2e-5 z) Ra`` (eq. 37), MJ m-2 day-1.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(clear_sky_radiation_mj_m2(np.array(41.09), 100.0)), 2)   # Example 18
    30.9
    """
    xp, ra = _float(ra_mj_m2)
    return (0.75 + 2e-5 * _like(elevation_m, ra)) * ra


def net_shortwave_radiation_mj_m2(rs_mj_m2, albedo=ALBEDO):
    """Net solar radiation ``Rns = (1 - α) Rs`` (eq. 38), MJ m-2 day-1."""
    xp, rs = _float(rs_mj_m2)
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
    xp, tmin = _float(tmin_c)
    tmax, ea, rs, rso = (_like(v, tmin) for v in (tmax_c, ea_kpa, rs_mj_m2, rso_mj_m2))
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
    return net_shortwave_radiation_mj_m2(rs_mj_m2, albedo) - _like(rnl_mj_m2, _float(rs_mj_m2)[1])


# --- wind ----------------------------------------------------------------------

def wind_speed_2m_ms(wind_ms, height_m=2.0):
    """Wind speed at 2 m from a measurement at ``height_m`` (eq. 47), m/s.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(wind_speed_2m_ms(np.array(3.2), 10.0)), 1)   # Example 14
    2.4
    """
    xp, u = _float(wind_ms)
    z = _like(height_m, u)
    return u * 4.87 / xp.log(67.8 * z - 5.42)


# --- reference evapotranspiration -----------------------------------------------

def penman_monteith_et0_mm(rn_mj_m2, t_mean_c, u2_ms, es_kpa, ea_kpa, delta_kpa_c, gamma_kpa_c, g_mj_m2=0.0):
    """FAO Penman-Monteith reference evapotranspiration (eq. 6), mm day-1.

    Examples
    --------
    >>> import numpy as np
    >>> a = [np.array(v) for v in (14.33, 30.2, 2.0, 4.42, 2.85, 0.246, 0.0674, 0.14)]   # Example 17
    >>> abs(float(penman_monteith_et0_mm(*a)) - 5.72) < 0.05
    True
    """
    xp, rn = _float(rn_mj_m2)
    t, u2, es, ea, delta, gamma, g = (_like(v, rn) for v in (t_mean_c, u2_ms, es_kpa, ea_kpa, delta_kpa_c, gamma_kpa_c, g_mj_m2))
    num = 0.408 * delta * (rn - g) + gamma * 900.0 / (t + 273.0) * u2 * (es - ea)
    return num / (delta + gamma * (1.0 + 0.34 * u2))


def hargreaves_et0_mm(tmin_c, tmax_c, ra_mj_m2):
    """Hargreaves-Samani reference evapotranspiration (eq. 52), mm day-1.

    ``0.0023 (Tmean + 17.8) sqrt(Tmax - Tmin) Ra``, with ``Ra`` converted to
    mm of evaporation (× 0.408).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(hargreaves_et0_mm(np.array(14.8), np.array(26.6), np.array(40.6))), 2)
    5.04
    """
    xp, tmin = _float(tmin_c)
    tmax, ra = _like(tmax_c, tmin), _like(ra_mj_m2, tmin)
    tmean = (tmax + tmin) / 2.0
    return 0.0023 * (tmean + 17.8) * xp.sqrt(xp.clip(tmax - tmin, 0.0, None)) * 0.408 * ra


def et0_kernel(
    tmin_c,
    tmax_c,
    doy,
    lat_deg,
    elevation_m=None,
    *,
    rs_mj_m2=None,
    sunshine_h=None,
    tdew_c=None,
    rh_min_pct=None,
    rh_max_pct=None,
    rh_mean_pct=None,
    wind_ms=None,
    wind_height_m=2.0,
    krs=0.16,
    g_mj_m2=0.0,
    et0_method="fao56",
    block_size=262_144,
):
    """Daily reference evapotranspiration with the FAO-56 missing-data procedure.

    All arrays broadcast together (e.g. ``(days,)``, ``(fields, days)`` or
    ``(y, x, days)``); NaN in an optional input marks a missing value and
    switches that element to the next data source.

    Parameters
    ----------
    tmin_c, tmax_c : array, °C
    doy : array, day of the year (1-366)
    lat_deg : float or array, degrees north
    elevation_m : float or array, m (required unless ``et0_method="hargreaves"``)
    rs_mj_m2 : array, MJ m-2 day-1, optional
        Measured solar radiation.
    sunshine_h : array, hours, optional
    tdew_c : array, °C, optional
    rh_min_pct, rh_max_pct, rh_mean_pct : array, %, optional
    wind_ms : array, m/s, optional
        Measured at ``wind_height_m`` (scalar or array, m).
    krs : float
        Hargreaves radiation coefficient: 0.16 interior, 0.19 coastal.
    g_mj_m2 : float or array
        Soil heat flux (0 for daily steps, eq. 42).
    et0_method : {"fao56", "fao56+hs", "hargreaves"}
        ``"fao56"``: Penman-Monteith every day, missing data estimated as
        FAO-56 prescribes. ``"fao56+hs"``: Penman-Monteith where radiation
        (``rs_mj_m2`` or ``sunshine_h``) is measured, Hargreaves-Samani
        (eq. 52) on the other days. ``"hargreaves"``: Hargreaves-Samani
        every day.
    block_size : int or None
        Arrays of two or more dimensions are computed in blocks of leading
        rows of about this many elements, so the ~40 temporaries stay in the
        CPU cache (several times faster on large grids); None: one block.

    Returns
    -------
    dict of arrays
        ``et0_mm`` (mm day-1), ``ra_mj_m2``, ``rs_mj_m2``, ``rn_mj_m2``,
        ``ea_kpa``, ``u2_ms``, and int8 codes ``hargreaves`` (1 where
        Hargreaves-Samani was used), ``rs_source``, ``ea_source``,
        ``u2_source`` (indices into :data:`RS_SOURCES`, :data:`EA_SOURCES`,
        :data:`U2_SOURCES`).

    Examples
    --------
    >>> import numpy as np                                   # FAO-56 Example 18, Brussels, 6 July
    >>> out = et0_kernel(np.array([12.3]), np.array([21.5]), np.array([187.0]), 50.8, 100.0,
    ...                  sunshine_h=np.array([9.25]), rh_min_pct=np.array([63.0]),
    ...                  rh_max_pct=np.array([84.0]), wind_ms=np.array([2.78]), wind_height_m=10.0)
    >>> round(float(out["et0_mm"][0]), 1)
    3.9
    """
    if et0_method not in METHODS:
        from kit.errors import ParameterError

        raise ParameterError(f"et0_method must be one of {', '.join(METHODS)}, got {et0_method!r}")
    args = dict(tmin_c=tmin_c, tmax_c=tmax_c, doy=doy, lat_deg=lat_deg, elevation_m=elevation_m, rs_mj_m2=rs_mj_m2,
                sunshine_h=sunshine_h, tdew_c=tdew_c, rh_min_pct=rh_min_pct, rh_max_pct=rh_max_pct,
                rh_mean_pct=rh_mean_pct, wind_ms=wind_ms, wind_height_m=wind_height_m, g_mj_m2=g_mj_m2)
    shapes = [tuple(int(n) for n in v.shape) for v in args.values() if hasattr(v, "shape")]
    xp = array_namespace(tmin_c)
    shape = tuple(int(n) for n in xp.broadcast_shapes(*shapes)) if shapes else ()
    size = math.prod(shape)
    if block_size is None or len(shape) < 2 or shape[0] < 2 or size <= block_size:
        return _et0_block(**args, krs=krs, et0_method=et0_method)
    rows = max(1, block_size // max(1, math.prod(shape[1:])))
    parts = []
    for start in range(0, shape[0], rows):
        sl = {k: (v[start:start + rows] if hasattr(v, "shape") and len(v.shape) == len(shape) and v.shape[0] == shape[0] else v)
              for k, v in args.items()}
        parts.append(_et0_block(**sl, krs=krs, et0_method=et0_method))
    return {k: xp.concat([part[k] for part in parts], axis=0) for k in parts[0]}


def _et0_block(*, tmin_c, tmax_c, doy, lat_deg, elevation_m, rs_mj_m2, sunshine_h, tdew_c, rh_min_pct, rh_max_pct,
               rh_mean_pct, wind_ms, wind_height_m, krs, g_mj_m2, et0_method):
    """:func:`et0_kernel` on one block (all arrays broadcast together)."""
    xp, tmin = _float(tmin_c)
    tmax = _like(tmax_c, tmin)
    j = _like(doy, tmin)
    lat = _like(lat_deg, tmin)
    # Radiation geometry depends only on day and latitude: computed on their (small) broadcast
    # shape, not on every field or pixel.
    shape = tuple(int(n) for n in xp.broadcast_shapes(tmin.shape, tmax.shape, j.shape, lat.shape))
    tmin, tmax = xp.broadcast_to(tmin, shape), xp.broadcast_to(tmax, shape)
    zeros_i8 = xp.zeros(shape, dtype=xp.int8, device=_device(tmin))

    ra = extraterrestrial_radiation_mj_m2(lat, j)
    big_n = daylight_hours(lat, j)
    rs_temp = solar_radiation_from_temperature_mj_m2(tmin, tmax, ra, krs)
    rs, rs_source = rs_temp, zeros_i8 + 2
    measured_radiation = xp.zeros_like(tmin) > 1.0
    if sunshine_h is not None:
        n = _like(sunshine_h, tmin)
        ok = ~xp.isnan(n)
        rs = xp.where(ok, solar_radiation_from_sunshine_mj_m2(xp.where(ok, n, xp.zeros_like(n)), big_n, ra), rs)
        rs_source = xp.where(ok, zeros_i8 + 1, rs_source)
        measured_radiation = measured_radiation | ok
    if rs_mj_m2 is not None:
        r = _like(rs_mj_m2, tmin)
        ok = ~xp.isnan(r)
        rs = xp.where(ok, r, rs)
        rs_source = xp.where(ok, zeros_i8, rs_source)
        measured_radiation = measured_radiation | ok

    if et0_method == "hargreaves":
        hs = hargreaves_et0_mm(tmin, tmax, ra)
        nan = xp.full_like(tmin, float("nan"))
        return {
            "et0_mm": hs, "ra_mj_m2": ra, "rs_mj_m2": rs_temp, "rn_mj_m2": nan, "ea_kpa": nan, "u2_ms": nan,
            "hargreaves": zeros_i8 + 1, "rs_source": zeros_i8 + 2, "ea_source": zeros_i8 + 4, "u2_source": zeros_i8 + 1,
        }
    if elevation_m is None:
        from kit.errors import ParameterError

        raise ParameterError("elevation_m is needed for Penman-Monteith; give elevation_m (m) or et0_method='hargreaves'")

    e_min = saturation_vapour_pressure_kpa(tmin)
    e_max = saturation_vapour_pressure_kpa(tmax)
    ea, ea_source = _actual_vapour_pressure(xp, tmin, e_min, e_max, tdew_c, rh_min_pct, rh_max_pct, rh_mean_pct)
    if wind_ms is not None:
        u = _like(wind_ms, tmin)
        ok = ~xp.isnan(u)
        u2 = xp.where(ok, wind_speed_2m_ms(xp.where(ok, u, xp.zeros_like(u)), wind_height_m), xp.full_like(tmin, DEFAULT_WIND_MS))
        u2_source = xp.where(ok, zeros_i8, zeros_i8 + 1)
    else:
        u2 = xp.full_like(tmin, DEFAULT_WIND_MS)
        u2_source = zeros_i8 + 1

    z = _like(elevation_m, tmin)
    gamma = psychrometric_constant_kpa_c(atmospheric_pressure_kpa(z))
    tmean = (tmax + tmin) / 2.0
    es = (e_max + e_min) / 2.0  # eq. 12, reusing e°(Tmin) and e°(Tmax)
    rso = clear_sky_radiation_mj_m2(ra, z)
    # A temperature-range estimate can exceed the clear-sky value; measured Rs is kept as is.
    rs = xp.where(rs_source == 2, xp.minimum(rs, rso), rs)
    rnl = net_longwave_radiation_mj_m2(tmin, tmax, ea, rs, rso)
    rn = net_radiation_mj_m2(rs, rnl)
    et0 = penman_monteith_et0_mm(rn, tmean, u2, es, xp.minimum(ea, es), slope_vapour_pressure_kpa_c(tmean), gamma, g_mj_m2)
    et0 = xp.clip(et0, 0.0, None)
    used_hs = zeros_i8
    if et0_method == "fao56+hs":
        et0 = xp.where(measured_radiation, et0, hargreaves_et0_mm(tmin, tmax, ra))
        used_hs = xp.astype(~measured_radiation, xp.int8)
    return {
        "et0_mm": et0, "ra_mj_m2": ra, "rs_mj_m2": rs, "rn_mj_m2": rn, "ea_kpa": ea, "u2_ms": u2,
        "hargreaves": used_hs, "rs_source": rs_source, "ea_source": ea_source, "u2_source": u2_source,
    }
