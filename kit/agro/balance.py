"""Daily FAO-56 root-zone soil water balance, vectorized over fields.

The kernel :func:`water_balance_kernel` steps through the days in Python and
updates every field at once with array-API operations (NumPy, CuPy, Torch),
so one day of 10 000 fields costs a few dozen vector operations. Equations
are FAO-56 chapters 6-8 (1998 paper), in the order pyfao56 applies them so
the two agree:

- Kc (single) or Kcb (dual) from the stage lengths, linear in the
  development and late stages (eq. 66); day 0 is the planting date.
- Root depth grows linearly from ``zr_ini_m`` to ``zr_max_m`` over the
  development stage; TAW = ``taw_mm_per_m`` × Zr (eq. 82), depletion is
  unchanged when the root zone deepens (new soil assumed at field capacity).
- p = p_table + 0.04 (5 − ETc), limited to 0.1-0.8 (Table 22 footnote);
  RAW = p TAW (eq. 83); Ks = (TAW − Dr) / (TAW − RAW) from the depletion at
  the start of the day (eq. 84).
- Dual method: Kc max (eq. 72), fc (eq. 76), few (eq. 75), Kr (eq. 74),
  Ke (eq. 71), surface-layer depletion De with TEW/REW of the soil
  (eq. 77-79); ETa = (Ks Kcb + Ke) ET0 (eq. 80). The single method uses
  ETa = Ks Kc ET0 (eq. 81) and still tracks De, only for runoff.
- Runoff: SCS curve number, with the antecedent condition read from De as
  in ASCE Manual 70 (2016) eq. 14-12 to 14-20.
- Deep percolation (eq. 88) and depletion Dr (eq. 85-86).
"""
from __future__ import annotations

from dataclasses import dataclass

from array_api_compat import device as _device

from kit.backend import array_namespace

#: Per-field parameters the kernel needs (1-D arrays, one value per field).
FIELD_PARAMS = (
    "plant_index", "l_ini", "l_dev", "l_mid", "l_late",
    "kc_ini", "kc_mid", "kc_end", "kcb_ini", "kcb_mid", "kcb_end",
    "height_m", "zr_ini_m", "zr_max_m", "p", "taw_mm_per_m", "rew_mm", "tew_mm", "cn2",
    "irrigation_efficiency", "initial_depletion_fraction", "fw_irrigation",
)

#: Daily output variables of the kernel, each (fields, days).
OUTPUTS = (
    "kc", "etc_mm", "eta_mm", "depletion_mm", "raw_mm", "taw_mm", "ks", "zr_m",
    "irrigation_mm", "net_irrigation_mm", "effective_rain_mm", "runoff_mm", "deep_percolation_mm",
    "kcb", "ke", "evaporation_mm", "surface_depletion_mm",
)


@dataclass
class DayState:
    """What an irrigation policy sees at the start of day ``t`` (arrays over fields).

    Attributes
    ----------
    t : int
        Day index.
    xp : namespace
    active : bool array
        Field is in its growing season today.
    day : array
        Days since planting (0 on the planting day).
    depletion_mm : array
        Root-zone depletion at the start of the day.
    taw_mm, raw_mm : array
        Today's total and readily available water.
    etc_mm : array
        Today's crop ET without water stress (Kc ET0).
    et0_mm, rain_mm, forecast_mm : array
        Today's weather (forecast NaN when absent).
    irrigation_efficiency : array
    """

    t: int
    xp: object
    active: object
    day: object
    depletion_mm: object
    taw_mm: object
    raw_mm: object
    etc_mm: object
    et0_mm: object
    rain_mm: object
    forecast_mm: object
    irrigation_efficiency: object


def _column(xp, a, t, like):
    """Day ``t`` of a (days,) or (fields, days) array, broadcast to the fields."""
    col = a[..., t]
    return col + xp.zeros_like(like)


class _Stages:
    """Crop coefficient by day from the four stage lengths (FAO-56 eq. 66), stage bounds and slopes computed once."""

    def __init__(self, xp, p, ini, mid, end):
        self.xp, self.ini, self.mid = xp, ini, mid
        self.s1 = p["l_ini"]
        self.s2 = self.s1 + p["l_dev"]
        self.s3 = self.s2 + p["l_mid"]
        self.dev_slope = (mid - ini) / p["l_dev"]
        self.late_slope = (end - mid) / p["l_late"]

    def __call__(self, day):
        xp = self.xp
        out = xp.where(day <= self.s1, self.ini, self.ini + (day - self.s1) * self.dev_slope)
        out = xp.where(day > self.s2, self.mid, out)
        return xp.where(day > self.s3, self.mid + (day - self.s3) * self.late_slope, out)


def _finish_outputs(xp, store, active_days):
    """Blank days outside each field's season in place and return (fields, days) views of the (days, fields) buffers."""
    out = {}
    for k, buf in store.items():
        if active_days is not None:
            buf[~active_days] = float("nan")
        out[k] = xp.permute_dims(buf, (1, 0))
    return out


def water_balance_kernel(et0_mm, rain_mm, params: dict, *, u2_ms=None, rh_min_pct=None, forecast_mm=None,
                         policy=None, method: str = "single", runoff: bool = True, outputs=None):
    """Run the daily soil water balance for all fields.

    Parameters
    ----------
    et0_mm, rain_mm : array (days,) or (fields, days), mm/day
    params : dict of arrays (fields,)
        Keys :data:`FIELD_PARAMS`; ``plant_index`` is the day index of
        planting (may be negative or beyond the last day). The arrays' float
        dtype (float32 or float64) is the dtype of the computation.
    u2_ms, rh_min_pct : array (days,) or (fields, days), optional
        Wind at 2 m and minimum RH for Kc max in the dual method (default 2 m/s, 45 %).
    forecast_mm : array, optional
        Rain forecast issued each day, passed to the policy.
    policy : callable, optional
        ``policy(state: DayState) -> gross irrigation (fields,) mm``; none means rainfed.
    method : {"single", "dual"}
    runoff : bool
        Curve-number runoff on rain (False: all rain infiltrates, as pyfao56's default).
    outputs : sequence of str, optional
        Daily variables to keep (subset of :data:`OUTPUTS`); default all.
        Keeping fewer saves memory and time on large runs.

    Returns
    -------
    dict of arrays (fields, days)
        The ``outputs`` keys; NaN outside each field's season.
    """
    xp = array_namespace(et0_mm, *params.values())
    keys = tuple(OUTPUTS if outputs is None else outputs)
    unknown = [k for k in keys if k not in OUTPUTS]
    if unknown:
        from kit.errors import ParameterError

        raise ParameterError(f"unknown water-balance output(s) {', '.join(unknown)}; choose from {', '.join(OUTPUTS)}")
    p = params
    like = p["taw_mm_per_m"] * 0.0
    zeros, ones = like, like + 1.0
    nan = like + float("nan")
    n_days = et0_mm.shape[-1]
    season = p["l_ini"] + p["l_dev"] + p["l_mid"] + p["l_late"]
    dual = method == "dual"
    kc_of = _Stages(xp, p, p["kc_ini"], p["kc_mid"], p["kc_end"])
    kcb_of = _Stages(xp, p, p["kcb_ini"], p["kcb_mid"], p["kcb_end"])
    need_kcb = dual or runoff or "kcb" in keys
    zr_span = p["zr_max_m"] - p["zr_ini_m"]

    established = p["zr_ini_m"] >= p["zr_max_m"]
    if "height_ini_m" in p:
        h_ini = p["height_ini_m"]
    else:
        h_ini = xp.where(established, p["height_m"], xp.minimum(p["height_m"], ones * 0.05))
    dr = p["initial_depletion_fraction"] * p["taw_mm_per_m"] * p["zr_ini_m"]
    de = p["tew_mm"] + zeros  # surface layer dry at the start, as pyfao56
    fw = ones
    cn1 = p["cn2"] / (2.281 - 0.01281 * p["cn2"])
    cn3 = p["cn2"] / (0.427 + 0.00573 * p["cn2"])
    rew, tew = p["rew_mm"], p["tew_mm"]
    fast = not dual and not runoff

    # One (days, fields) buffer per kept output, written row by row: each day's temporaries are freed and
    # reused, so memory grows only by the outputs (fresh pages are costly on many machines).
    store = {k: xp.empty((n_days, like.shape[0]), dtype=like.dtype, device=_device(like)) for k in keys}
    for t in range(n_days):
        day = t - p["plant_index"]
        active = (day >= 0) & (day < season)
        et0 = _column(xp, et0_mm, t, like)
        rain = _column(xp, rain_mm, t, like)
        kc = kc_of(day)
        kcb = kcb_of(day) if need_kcb else nan
        growth = xp.clip((day - p["l_ini"]) / p["l_dev"], 0.0, 1.0)
        zr = p["zr_ini_m"] + zr_span * growth

        if fast:
            # Single Kc without runoff needs no evaporation layer: the fast path.
            taw = p["taw_mm_per_m"] * zr
            dr = xp.minimum(dr, taw)
            etc = kc * et0
            raw = xp.clip(p["p"] + 0.04 * (5.0 - etc), 0.1, 0.8) * taw
            ks = xp.clip((taw - dr) / (taw - raw), 0.0, 1.0)
            if policy is None:
                gross = zeros
            else:
                fc_mm = _column(xp, forecast_mm, t, like) if forecast_mm is not None else nan
                state = DayState(t, xp, active, day, dr, taw, raw, etc, et0, rain, fc_mm, p["irrigation_efficiency"])
                gross = xp.where(active, xp.clip(policy(state), 0.0, None), zeros)
            net = gross * p["irrigation_efficiency"]
            eta = ks * etc
            dp = xp.clip(rain + net - eta - dr, 0.0, None)
            dr = xp.where(active, xp.clip(dr - rain - net + eta + dp, 0.0, taw), dr)
            values = {
                "kc": kc, "etc_mm": etc, "eta_mm": eta, "depletion_mm": dr, "raw_mm": raw, "taw_mm": taw, "ks": ks,
                "zr_m": zr, "irrigation_mm": gross, "net_irrigation_mm": net, "effective_rain_mm": rain,
                "runoff_mm": zeros, "deep_percolation_mm": dp, "kcb": kcb, "ke": nan, "evaporation_mm": nan,
                "surface_depletion_mm": nan,
            }
            for k in keys:
                store[k][t, ...] = values[k]
            continue

        height = xp.maximum(h_ini + (p["height_m"] - h_ini) * growth, ones * 0.001)
        # Evaporation layer (FAO-56 eq. 71-79): needed for ET in the dual method, for runoff in both.
        u2 = ones * 2.0 if u2_ms is None else xp.clip(_column(xp, u2_ms, t, like), 1.0, 6.0)
        rhmin = ones * 45.0 if rh_min_pct is None else xp.clip(_column(xp, rh_min_pct, t, like), 20.0, 80.0)
        kc_max = xp.maximum(1.2 + (0.04 * (u2 - 2.0) - 0.004 * (rhmin - 45.0)) * (height / 3.0) ** 0.3, kcb + 0.05)
        cover_base = xp.clip((kcb - p["kcb_ini"]) / (kc_max - p["kcb_ini"]), 0.0, None)
        fc = xp.clip(cover_base ** (1.0 + 0.5 * height), 0.0, 0.99)
        kr = xp.clip((tew - de) / (tew - rew), 0.0, 1.0)

        taw = p["taw_mm_per_m"] * zr
        dr = xp.minimum(dr, taw)
        # Soil evaporation if the surface were wetted as yesterday; final Ke after today's wetting below.
        if dual:
            few_prev = xp.clip(xp.minimum(1.0 - fc, fw), 0.01, 1.0)
            ke = xp.minimum(kr * (kc_max - kcb), few_prev * kc_max)
            kc_today = kcb + ke
        else:
            kc_today = kc
        etc = kc_today * et0
        p_adj = xp.clip(p["p"] + 0.04 * (5.0 - etc), 0.1, 0.8)
        raw = p_adj * taw
        ks = xp.clip((taw - dr) / (taw - raw), 0.0, 1.0)

        if policy is None:
            gross = zeros
        else:
            fc_mm = _column(xp, forecast_mm, t, like) if forecast_mm is not None else nan
            state = DayState(t, xp, active, day, dr, taw, raw, etc, et0, rain, fc_mm, p["irrigation_efficiency"])
            gross = xp.where(active, xp.clip(policy(state), 0.0, None), zeros)
        net = gross * p["irrigation_efficiency"]

        if runoff:
            cn = ((de - 0.5 * rew) * cn1 + (0.7 * rew + 0.3 * tew - de) * cn3) / (0.2 * rew + 0.3 * tew)
            cn = xp.where(de <= 0.5 * rew, cn3, cn)
            cn = xp.where(de >= 0.7 * rew + 0.3 * tew, cn1, cn)
            storage = 250.0 * (100.0 / cn - 1.0)
            excess = xp.clip(rain - 0.2 * storage, 0.0, None)
            ro = xp.minimum(excess**2 / (rain + 0.8 * storage), rain)
        else:
            ro = zeros
        eff_rain = rain - ro

        # Wetted fraction: irrigation sets its own fw, a rain of 3 mm or more wets all (FAO-56 Table 20).
        fw = xp.where(gross > 0, p["fw_irrigation"], xp.where(rain >= 3.0, ones, fw))
        few = xp.clip(xp.minimum(1.0 - fc, fw), 0.01, 1.0)
        ke = xp.minimum(kr * (kc_max - kcb), few * kc_max)
        evap = ke * et0
        dpe = xp.clip(eff_rain + net / fw - de, 0.0, None)
        de_new = xp.clip(de - eff_rain - net / fw + evap / few + dpe, 0.0, tew)

        if dual:
            # Final Ke after today's wetting; p, RAW and Ks follow it, as in pyfao56.
            kc_today = kcb + ke
            etc = kc_today * et0
            p_adj = xp.clip(p["p"] + 0.04 * (5.0 - etc), 0.1, 0.8)
            raw = p_adj * taw
            ks = xp.clip((taw - dr) / (taw - raw), 0.0, 1.0)
            eta = (ks * kcb + ke) * et0
        else:
            eta = ks * kc * et0
        dp = xp.clip(eff_rain + net - eta - dr, 0.0, None)
        dr_new = xp.clip(dr - eff_rain - net + eta + dp, 0.0, taw)

        dr = xp.where(active, dr_new, dr)
        de = xp.where(active, de_new, de)
        fw = xp.where(active, fw, ones)
        values = {
            "kc": kc_today, "etc_mm": etc, "eta_mm": eta, "depletion_mm": dr, "raw_mm": raw, "taw_mm": taw,
            "ks": ks, "zr_m": zr, "irrigation_mm": gross, "net_irrigation_mm": net, "effective_rain_mm": eff_rain,
            "runoff_mm": ro, "deep_percolation_mm": dp, "kcb": kcb, "ke": ke, "evaporation_mm": evap,
            "surface_depletion_mm": de,
        }
        for k in keys:
            store[k][t, ...] = values[k]
    # Days outside each field's season are blanked once on the stacked arrays, not every day.
    if n_days:
        t_index = xp.astype(xp.arange(n_days, device=_device(like)), like.dtype)
        day2 = xp.reshape(t_index, (n_days, 1)) - xp.reshape(p["plant_index"], (1, -1))
        active_days = (day2 >= 0) & (day2 < xp.reshape(season, (1, -1)))
    else:
        active_days = None
    return _finish_outputs(xp, store, active_days)
