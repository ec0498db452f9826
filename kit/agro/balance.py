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
    keys = _output_keys(outputs)
    run = _DailyBalance(xp, params, et0_mm, rain_mm, u2_ms=u2_ms, rh_min_pct=rh_min_pct, forecast_mm=forecast_mm,
                        policy=policy, method=method, runoff=runoff, keys=keys)
    n_days = et0_mm.shape[-1]
    like = run.like
    # One (days, fields) buffer per kept output, written row by row: each day's temporaries are freed and
    # reused, so memory grows only by the outputs (fresh pages are costly on many machines).
    store = {k: xp.empty((n_days, like.shape[0]), dtype=like.dtype, device=_device(like)) for k in keys}
    for t in range(n_days):
        values = run.step(t)
        for k in keys:
            store[k][t, ...] = values[k]
    # Days outside each field's season are blanked once on the stacked arrays, not every day.
    return _finish_outputs(xp, store, _season_days(xp, params["plant_index"], run.season, n_days, like))


def _output_keys(outputs) -> tuple:
    """The daily variables to keep (all of :data:`OUTPUTS` when ``outputs`` is None), checked."""
    keys = tuple(OUTPUTS if outputs is None else outputs)
    unknown = [k for k in keys if k not in OUTPUTS]
    if unknown:
        from kit.errors import ParameterError

        raise ParameterError(f"unknown water-balance output(s) {', '.join(unknown)}; choose from {', '.join(OUTPUTS)}")
    return keys


def _season_days(xp, plant_index, season, n_days: int, like):
    """(days, fields) mask of the days inside each field's season; None without days."""
    if not n_days:
        return None
    t_index = xp.astype(xp.arange(n_days, device=_device(like)), like.dtype)
    day2 = xp.reshape(t_index, (n_days, 1)) - xp.reshape(plant_index, (1, -1))
    return (day2 >= 0) & (day2 < xp.reshape(season, (1, -1)))


def _raw_and_ks(xp, p, etc, taw, dr):
    """Readily available water (p adjusted for ETc, Table 22 footnote; eq. 83) and Ks (eq. 84) from the day's start depletion."""
    raw = xp.clip(p["p"] + 0.04 * (5.0 - etc), 0.1, 0.8) * taw
    ks = xp.clip((taw - dr) / (taw - raw), 0.0, 1.0)
    return raw, ks


@dataclass
class _Day:
    """What one day of the run shares between its steps (arrays over fields)."""

    t: int
    active: object
    day: object
    et0: object
    rain: object
    kc: object
    kcb: object
    growth: object
    zr: object


class _DailyBalance:
    """One kernel run: per-field constants computed once, the soil state carried from day to day, one day's step.

    The state is the root-zone depletion ``dr``, the surface-layer depletion
    ``de`` and the wetted fraction ``fw``, all at the start of the next day.
    """

    def __init__(self, xp, p, et0_mm, rain_mm, *, u2_ms, rh_min_pct, forecast_mm, policy, method, runoff, keys):
        self.xp, self.p = xp, p
        self.et0_mm, self.rain_mm, self.u2_ms, self.rh_min_pct, self.forecast_mm = et0_mm, rain_mm, u2_ms, rh_min_pct, forecast_mm
        self.policy, self.runoff = policy, runoff
        self.like = like = p["taw_mm_per_m"] * 0.0
        self.zeros, self.ones = like, like + 1.0
        self.nan = like + float("nan")
        self.season = p["l_ini"] + p["l_dev"] + p["l_mid"] + p["l_late"]
        self.dual = method == "dual"
        self.kc_of = _Stages(xp, p, p["kc_ini"], p["kc_mid"], p["kc_end"])
        self.kcb_of = _Stages(xp, p, p["kcb_ini"], p["kcb_mid"], p["kcb_end"])
        self.need_kcb = self.dual or runoff or "kcb" in keys
        self.zr_span = p["zr_max_m"] - p["zr_ini_m"]

        established = p["zr_ini_m"] >= p["zr_max_m"]
        if "height_ini_m" in p:
            self.h_ini = p["height_ini_m"]
        else:
            self.h_ini = xp.where(established, p["height_m"], xp.minimum(p["height_m"], self.ones * 0.05))
        self.dr = p["initial_depletion_fraction"] * p["taw_mm_per_m"] * p["zr_ini_m"]
        self.de = p["tew_mm"] + self.zeros  # surface layer dry at the start, as pyfao56
        self.fw = self.ones
        self.cn1 = p["cn2"] / (2.281 - 0.01281 * p["cn2"])
        self.cn3 = p["cn2"] / (0.427 + 0.00573 * p["cn2"])
        self.fast = not self.dual and not runoff

    def step(self, t: int) -> dict:
        """Day ``t`` for every field: its outputs (keys :data:`OUTPUTS`), the state moved to the next day."""
        xp, p = self.xp, self.p
        day = t - p["plant_index"]
        active = (day >= 0) & (day < self.season)
        et0 = _column(xp, self.et0_mm, t, self.like)
        rain = _column(xp, self.rain_mm, t, self.like)
        kc = self.kc_of(day)
        kcb = self.kcb_of(day) if self.need_kcb else self.nan
        growth = xp.clip((day - p["l_ini"]) / p["l_dev"], 0.0, 1.0)
        zr = p["zr_ini_m"] + self.zr_span * growth
        d = _Day(t, active, day, et0, rain, kc, kcb, growth, zr)
        return self._root_zone_day(d) if self.fast else self._two_layer_day(d)

    def _irrigation(self, d: _Day, dr, taw, raw, etc):
        """Gross irrigation the policy applies today (0 outside the season and without a policy)."""
        if self.policy is None:
            return self.zeros
        xp = self.xp
        fc_mm = _column(xp, self.forecast_mm, d.t, self.like) if self.forecast_mm is not None else self.nan
        state = DayState(d.t, xp, d.active, d.day, dr, taw, raw, etc, d.et0, d.rain, fc_mm, self.p["irrigation_efficiency"])
        return xp.where(d.active, xp.clip(self.policy(state), 0.0, None), self.zeros)

    def _root_zone_day(self, d: _Day) -> dict:
        """Single Kc without runoff needs no evaporation layer: the fast path, root zone only."""
        xp, p = self.xp, self.p
        taw = p["taw_mm_per_m"] * d.zr
        dr = xp.minimum(self.dr, taw)
        etc = d.kc * d.et0
        raw, ks = _raw_and_ks(xp, p, etc, taw, dr)
        gross = self._irrigation(d, dr, taw, raw, etc)
        net = gross * p["irrigation_efficiency"]
        eta = ks * etc
        dp = xp.clip(d.rain + net - eta - dr, 0.0, None)
        self.dr = dr = xp.where(d.active, xp.clip(dr - d.rain - net + eta + dp, 0.0, taw), dr)
        nan = self.nan
        return {
            "kc": d.kc, "etc_mm": etc, "eta_mm": eta, "depletion_mm": dr, "raw_mm": raw, "taw_mm": taw, "ks": ks,
            "zr_m": d.zr, "irrigation_mm": gross, "net_irrigation_mm": net, "effective_rain_mm": d.rain,
            "runoff_mm": self.zeros, "deep_percolation_mm": dp, "kcb": d.kcb, "ke": nan, "evaporation_mm": nan,
            "surface_depletion_mm": nan,
        }

    def _two_layer_day(self, d: _Day) -> dict:
        """Root zone and evaporation layer: the dual method, or the single method with runoff."""
        xp, p = self.xp, self.p
        kc_max, fc, kr = self._evaporation_limits(d)
        taw = p["taw_mm_per_m"] * d.zr
        dr = xp.minimum(self.dr, taw)
        # Soil evaporation if the surface were wetted as yesterday; final Ke after today's wetting below.
        if self.dual:
            few_prev = xp.clip(xp.minimum(1.0 - fc, self.fw), 0.01, 1.0)
            ke = xp.minimum(kr * (kc_max - d.kcb), few_prev * kc_max)
            kc_today = d.kcb + ke
        else:
            kc_today = d.kc
        etc = kc_today * d.et0
        raw, ks = _raw_and_ks(xp, p, etc, taw, dr)
        gross = self._irrigation(d, dr, taw, raw, etc)
        net = gross * p["irrigation_efficiency"]
        ro = self._runoff(d.rain) if self.runoff else self.zeros
        eff_rain = d.rain - ro
        fw, ke, evap, de_new = self._surface_layer(d, gross, net, eff_rain, fc, kr, kc_max)
        if self.dual:
            # Final Ke after today's wetting; p, RAW and Ks follow it, as in pyfao56.
            kc_today = d.kcb + ke
            etc = kc_today * d.et0
            raw, ks = _raw_and_ks(xp, p, etc, taw, dr)
            eta = (ks * d.kcb + ke) * d.et0
        else:
            eta = ks * d.kc * d.et0
        dp = xp.clip(eff_rain + net - eta - dr, 0.0, None)
        dr_new = xp.clip(dr - eff_rain - net + eta + dp, 0.0, taw)

        self.dr = dr = xp.where(d.active, dr_new, dr)
        self.de = xp.where(d.active, de_new, self.de)
        self.fw = xp.where(d.active, fw, self.ones)
        return {
            "kc": kc_today, "etc_mm": etc, "eta_mm": eta, "depletion_mm": dr, "raw_mm": raw, "taw_mm": taw,
            "ks": ks, "zr_m": d.zr, "irrigation_mm": gross, "net_irrigation_mm": net, "effective_rain_mm": eff_rain,
            "runoff_mm": ro, "deep_percolation_mm": dp, "kcb": d.kcb, "ke": ke, "evaporation_mm": evap,
            "surface_depletion_mm": self.de,
        }

    def _evaporation_limits(self, d: _Day):
        """Kc max (eq. 72), the covered fraction fc (eq. 76) and Kr (eq. 74) from the start-of-day surface depletion."""
        xp, p = self.xp, self.p
        ones, like = self.ones, self.like
        height = xp.maximum(self.h_ini + (p["height_m"] - self.h_ini) * d.growth, ones * 0.001)
        # Evaporation layer (FAO-56 eq. 71-79): needed for ET in the dual method, for runoff in both.
        u2 = ones * 2.0 if self.u2_ms is None else xp.clip(_column(xp, self.u2_ms, d.t, like), 1.0, 6.0)
        rhmin = ones * 45.0 if self.rh_min_pct is None else xp.clip(_column(xp, self.rh_min_pct, d.t, like), 20.0, 80.0)
        kc_max = xp.maximum(1.2 + (0.04 * (u2 - 2.0) - 0.004 * (rhmin - 45.0)) * (height / 3.0) ** 0.3, d.kcb + 0.05)
        cover_base = xp.clip((d.kcb - p["kcb_ini"]) / (kc_max - p["kcb_ini"]), 0.0, None)
        fc = xp.clip(cover_base ** (1.0 + 0.5 * height), 0.0, 0.99)
        kr = xp.clip((p["tew_mm"] - self.de) / (p["tew_mm"] - p["rew_mm"]), 0.0, 1.0)
        return kc_max, fc, kr

    def _runoff(self, rain):
        """SCS curve-number runoff, the antecedent condition read from the surface depletion (ASCE Manual 70, eq. 14-12 to 14-20)."""
        xp, de = self.xp, self.de
        rew, tew = self.p["rew_mm"], self.p["tew_mm"]
        cn = ((de - 0.5 * rew) * self.cn1 + (0.7 * rew + 0.3 * tew - de) * self.cn3) / (0.2 * rew + 0.3 * tew)
        cn = xp.where(de <= 0.5 * rew, self.cn3, cn)
        cn = xp.where(de >= 0.7 * rew + 0.3 * tew, self.cn1, cn)
        storage = 250.0 * (100.0 / cn - 1.0)
        excess = xp.clip(rain - 0.2 * storage, 0.0, None)
        return xp.minimum(excess**2 / (rain + 0.8 * storage), rain)

    def _surface_layer(self, d: _Day, gross, net, eff_rain, fc, kr, kc_max):
        """Today's wetted fraction, Ke (eq. 71), evaporation and surface-layer depletion (eq. 77-79) after the wetting.

        Returns
        -------
        (fw, ke, evaporation_mm, de_new)
        """
        xp, p = self.xp, self.p
        # Wetted fraction: irrigation sets its own fw, a rain of 3 mm or more wets all (FAO-56 Table 20).
        fw = xp.where(gross > 0, p["fw_irrigation"], xp.where(d.rain >= 3.0, self.ones, self.fw))
        few = xp.clip(xp.minimum(1.0 - fc, fw), 0.01, 1.0)
        ke = xp.minimum(kr * (kc_max - d.kcb), few * kc_max)
        evap = ke * d.et0
        dpe = xp.clip(eff_rain + net / fw - self.de, 0.0, None)
        de_new = xp.clip(self.de - eff_rain - net / fw + evap / few + dpe, 0.0, p["tew_mm"])
        return fw, ke, evap, de_new
