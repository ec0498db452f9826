"""Reference evapotranspiration: Penman-Monteith (FAO-56 eq. 6), Hargreaves-Samani (eq. 52) and the daily kernel.

:func:`et0_kernel` applies the paper's missing-data procedure element by
element, in blocks of rows that stay in the CPU cache: radiation, humidity
and wind each come from the best data of that element, and the method
(Penman-Monteith, or Hargreaves-Samani where radiation was not measured)
is chosen per element.
"""
from __future__ import annotations

import math

from array_api_compat import device as _device

from kit.agro.fao56.arrays import floating, like
from kit.agro.fao56.atmosphere import (
    actual_vapour_pressure_from_saturation, atmospheric_pressure_kpa, psychrometric_constant_kpa_c, saturation_vapour_pressure_kpa,
    slope_vapour_pressure_kpa_c, wind_speed_2m_ms,
)
from kit.agro.fao56.radiation import (
    clear_sky_radiation_mj_m2, daylight_hours, extraterrestrial_radiation_mj_m2, net_longwave_radiation_mj_m2, net_radiation_mj_m2,
    solar_radiation_from_sunshine_mj_m2, solar_radiation_from_temperature_mj_m2,
)
from kit.backend import array_namespace

#: Default wind speed at 2 m when wind data are missing, m/s (chapter 3).
DEFAULT_WIND_MS = 2.0

# Source codes reported per day by et0_kernel (EA_SOURCES: kit.agro.fao56.atmosphere).
RS_SOURCES = ("measured", "sunshine", "temperature")
U2_SOURCES = ("measured", "default_2ms")
METHODS = ("fao56", "fao56+hs", "hargreaves")

__all__ = ["DEFAULT_WIND_MS", "METHODS", "RS_SOURCES", "U2_SOURCES", "et0_kernel", "hargreaves_et0_mm", "penman_monteith_et0_mm"]


def penman_monteith_et0_mm(rn_mj_m2, t_mean_c, u2_ms, es_kpa, ea_kpa, delta_kpa_c, gamma_kpa_c, g_mj_m2=0.0):
    """FAO Penman-Monteith reference evapotranspiration (eq. 6), mm day-1.

    Examples
    --------
    >>> import numpy as np
    >>> a = [np.array(v) for v in (14.33, 30.2, 2.0, 4.42, 2.85, 0.246, 0.0674, 0.14)]   # Example 17
    >>> abs(float(penman_monteith_et0_mm(*a)) - 5.72) < 0.05
    True
    """
    xp, rn = floating(rn_mj_m2)
    t, u2, es, ea, delta, gamma, g = (like(v, rn) for v in (t_mean_c, u2_ms, es_kpa, ea_kpa, delta_kpa_c, gamma_kpa_c, g_mj_m2))
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
    xp, tmin = floating(tmin_c)
    tmax, ra = like(tmax_c, tmin), like(ra_mj_m2, tmin)
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
    xp, tmin = floating(tmin_c)
    tmax = like(tmax_c, tmin)
    j = like(doy, tmin)
    lat = like(lat_deg, tmin)
    # Radiation geometry depends only on day and latitude: computed on their (small) broadcast
    # shape, not on every field or pixel.
    shape = tuple(int(n) for n in xp.broadcast_shapes(tmin.shape, tmax.shape, j.shape, lat.shape))
    tmin, tmax = xp.broadcast_to(tmin, shape), xp.broadcast_to(tmax, shape)
    zeros_i8 = xp.zeros(shape, dtype=xp.int8, device=_device(tmin))

    ra, rs_temp, rs, rs_source, measured_radiation = _solar_radiation(xp, tmin, tmax, lat, j, zeros_i8, krs, sunshine_h, rs_mj_m2)
    if et0_method == "hargreaves":
        return _hargreaves_outputs(xp, tmin, tmax, ra, rs_temp, zeros_i8)
    if elevation_m is None:
        from kit.errors import ParameterError

        raise ParameterError("elevation_m is needed for Penman-Monteith; give elevation_m (m) or et0_method='hargreaves'")

    e_min = saturation_vapour_pressure_kpa(tmin)
    e_max = saturation_vapour_pressure_kpa(tmax)
    ea, ea_source = actual_vapour_pressure_from_saturation(xp, tmin, e_min, e_max, tdew_c, rh_min_pct, rh_max_pct, rh_mean_pct)
    u2, u2_source = _wind_2m(xp, tmin, zeros_i8, wind_ms, wind_height_m)
    et0, rs, rn = _penman_monteith(xp, tmin, tmax, ra, rs, rs_source, e_min, e_max, ea, u2, elevation_m, g_mj_m2)
    used_hs = zeros_i8
    if et0_method == "fao56+hs":
        et0 = xp.where(measured_radiation, et0, hargreaves_et0_mm(tmin, tmax, ra))
        used_hs = xp.astype(~measured_radiation, xp.int8)
    return {
        "et0_mm": et0, "ra_mj_m2": ra, "rs_mj_m2": rs, "rn_mj_m2": rn, "ea_kpa": ea, "u2_ms": u2,
        "hargreaves": used_hs, "rs_source": rs_source, "ea_source": ea_source, "u2_source": u2_source,
    }


def _solar_radiation(xp, tmin, tmax, lat, j, zeros_i8, krs, sunshine_h, rs_mj_m2):
    """Solar radiation from the best data of each element: measured, else sunshine hours, else the temperature range.

    Returns
    -------
    (ra, rs_temp, rs, rs_source, measured_radiation)
        Extraterrestrial radiation, the temperature-range estimate (eq. 50),
        the radiation used and its :data:`RS_SOURCES` code, and where
        radiation was measured (``rs_mj_m2`` or ``sunshine_h``).
    """
    ra = extraterrestrial_radiation_mj_m2(lat, j)
    big_n = daylight_hours(lat, j)
    rs_temp = solar_radiation_from_temperature_mj_m2(tmin, tmax, ra, krs)
    rs, rs_source = rs_temp, zeros_i8 + 2
    measured_radiation = xp.zeros_like(tmin) > 1.0
    if sunshine_h is not None:
        n = like(sunshine_h, tmin)
        ok = ~xp.isnan(n)
        rs = xp.where(ok, solar_radiation_from_sunshine_mj_m2(xp.where(ok, n, xp.zeros_like(n)), big_n, ra), rs)
        rs_source = xp.where(ok, zeros_i8 + 1, rs_source)
        measured_radiation = measured_radiation | ok
    if rs_mj_m2 is not None:
        r = like(rs_mj_m2, tmin)
        ok = ~xp.isnan(r)
        rs = xp.where(ok, r, rs)
        rs_source = xp.where(ok, zeros_i8, rs_source)
        measured_radiation = measured_radiation | ok
    return ra, rs_temp, rs, rs_source, measured_radiation


def _hargreaves_outputs(xp, tmin, tmax, ra, rs_temp, zeros_i8) -> dict:
    """The kernel's outputs when every element uses Hargreaves-Samani (no humidity, wind or net radiation)."""
    hs = hargreaves_et0_mm(tmin, tmax, ra)
    nan = xp.full_like(tmin, float("nan"))
    return {
        "et0_mm": hs, "ra_mj_m2": ra, "rs_mj_m2": rs_temp, "rn_mj_m2": nan, "ea_kpa": nan, "u2_ms": nan,
        "hargreaves": zeros_i8 + 1, "rs_source": zeros_i8 + 2, "ea_source": zeros_i8 + 4, "u2_source": zeros_i8 + 1,
    }


def _wind_2m(xp, tmin, zeros_i8, wind_ms, wind_height_m):
    """Wind at 2 m (eq. 47) where measured, else :data:`DEFAULT_WIND_MS`, with its :data:`U2_SOURCES` code."""
    if wind_ms is not None:
        u = like(wind_ms, tmin)
        ok = ~xp.isnan(u)
        u2 = xp.where(ok, wind_speed_2m_ms(xp.where(ok, u, xp.zeros_like(u)), wind_height_m), xp.full_like(tmin, DEFAULT_WIND_MS))
        u2_source = xp.where(ok, zeros_i8, zeros_i8 + 1)
    else:
        u2 = xp.full_like(tmin, DEFAULT_WIND_MS)
        u2_source = zeros_i8 + 1
    return u2, u2_source


def _penman_monteith(xp, tmin, tmax, ra, rs, rs_source, e_min, e_max, ea, u2, elevation_m, g_mj_m2):
    """Penman-Monteith ET0 (eq. 6, at least 0) from the block's radiation, humidity and wind.

    Returns
    -------
    (et0, rs, rn)
        ET0 (mm day-1), the solar radiation used (a temperature-range
        estimate limited to the clear-sky value) and net radiation.
    """
    z = like(elevation_m, tmin)
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
    return et0, rs, rn
