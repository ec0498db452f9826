"""Checks for the irrigation notebook's exercises (kit teach)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.exercise_checks import check
from kit.i18n import _, format_number, format_quantity

# FAO-56 (1998) grain sorghum: Table 11 (arid region, May: 20/35/40/30 days), Table 12
# (Kc 0.30, 1.00-1.10, 0.55; height 1-2 m), Table 17 (Kcb 0.15, 0.95-1.05, 0.35),
# Table 22 (roots 1.0-2.0 m, p 0.55); FAO-33 Ky 0.9.
SORGHUM = {
    "l_ini": (15, 25), "l_dev": (30, 40), "l_mid": (35, 45), "l_late": (25, 35),
    "kc_ini": (0.25, 0.35), "kc_mid": (1.00, 1.10), "kc_end": (0.50, 0.60),
    "kcb_ini": (0.10, 0.20), "kcb_mid": (0.95, 1.05), "kcb_end": (0.30, 0.40),
    "height_m": (1.0, 2.0), "zr_max_m": (1.0, 2.0), "p": (0.50, 0.60), "ky": (0.8, 1.0),
}


def _in(row, key):
    lo, hi = SORGHUM[key]
    v = row.get(key)
    return v is not None and lo <= float(v) <= hi


def sorghum_plan(row: dict, weather: pd.DataFrame, start: str, end: str):
    """A one-field MAD plan for sorghum planted on 1 May, with ``row`` added to the crop table."""
    import warnings

    from kit.agro import CROPS, schedule

    crops = CROPS.copy()
    crops.loc["sorghum"] = {**{c: np.nan for c in crops.columns}, **row, "table11_row": "exercise", "ky_source": "FAO-33"}
    year = pd.Timestamp(end).year
    field = pd.DataFrame([{"field_id": "S1", "crop": "sorghum", "planting_date": f"{year}-05-01", "area_ha": 1.0, "soil": "loam"}])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return schedule(field, weather, "mad", start=start, end=end, crops=crops)


def check_sorghum(row, weather, start, end):
    """Exercise 1: sorghum's FAO-56 parameters, then a plan that uses them."""
    if not isinstance(row, dict):
        return check(_("exercise 1: sorghum"), [(False, "", _("sorghum should be a dict of parameters"))])
    stages = [row.get(k) for k in ("l_ini", "l_dev", "l_mid", "l_late")]
    return check(_("exercise 1: sorghum"), [
        (all(isinstance(s, (int, float)) for s in stages), _("stage lengths given"),
         _("give the four stage lengths l_ini, l_dev, l_mid, l_late in days (FAO-56 Table 11)")),
        (all(_in(row, k) for k in ("l_ini", "l_dev", "l_mid", "l_late")), _("stage lengths match Table 11"),
         _("the stage lengths are not FAO-56 Table 11's for grain sorghum in an arid region (planted in May)")),
        (all(_in(row, k) for k in ("kc_ini", "kc_mid", "kc_end")), _("Kc ini/mid/end match Table 12"),
         _("Kc ini, mid and end are in FAO-56 Table 12 (sorghum, grain)")),
        (all(_in(row, k) for k in ("kcb_ini", "kcb_mid", "kcb_end")), _("Kcb matches Table 17"),
         _("the basal coefficients Kcb are in FAO-56 Table 17")),
        (all(_in(row, k) for k in ("height_m", "zr_max_m", "p")), _("height, roots and p match Tables 12 and 22"),
         _("height (Table 12), maximum root depth and p (Table 22) are off")),
        (_in(row, "ky"), _("Ky matches FAO-33"), _("Ky for sorghum is in FAO-33 (FAO-56 Table 24)")),
        (lambda: sorghum_plan(row, weather, start, end).relative_yield > 0.9, _("and the plan keeps sorghum unstressed"),
         _("the table is right but a MAD plan with it fails: is zr_ini_m set (0.15 m)?")),
    ])


def check_quota_saving(saving_m3, saving_pct, table):
    """Exercise 2: water saved by the quota plan against MAD."""
    mad, quota = float(table.loc["mad", "water_m3"]), float(table.loc["quota", "water_m3"])
    return check(_("exercise 2: the quota's saving"), [
        (saving_m3 is not None and saving_pct is not None, _("answers given"), _("set saving_m3 and saving_pct")),
        (lambda: abs(float(saving_m3) - (mad - quota)) < 1.0,
         lambda: _("{volume} saved").format(volume=format_quantity(mad - quota, "m³")),
         _("saving_m3 is the MAD plan's water minus the quota plan's water (table.loc[..., 'water_m3'])")),
        (lambda: abs(float(saving_pct) - 100 * (mad - quota) / mad) < 0.05,
         _("{pct} % of the MAD plan").format(pct=format_number(100 * (mad - quota) / mad, 1)),
         _("saving_pct is the saving as a percentage of the MAD plan's water")),
    ])


def check_tighter_mad(plan_30, plan_default, fraction=0.3):
    """Exercise 3: a MAD plan at 30 % of TAW irrigates more often and keeps the crop wetter."""
    def within_threshold():
        # A rain forecast may postpone an irrigation by up to 3 days: allow 3 days' ETc past the threshold.
        ds = plan_30.balance
        excess = (ds["depletion_mm"] - fraction * ds["taw_mm"] - 3 * ds["etc_mm"]).max().item()
        return excess <= 1e-6

    return check(_("exercise 3: a tighter MAD"), [
        (plan_30 is not None and hasattr(plan_30, "table"), _("a plan was made"),
         _("plan_30 should be kit.agro.schedule(...)'s result")),
        (lambda: plan_30.strategy == "mad", _("with the MAD strategy"), _("use strategy 'mad'")),
        (lambda: len(plan_30.table) > len(plan_default.table),
         lambda: _("{n} irrigations instead of {default}").format(n=len(plan_30.table), default=len(plan_default.table)),
         _("a tighter MAD should irrigate more often: did you pass mad_fraction=0.3?")),
        (within_threshold, _("depletion stays within 30 % of TAW (allowing for rain-forecast postponement)"),
         _("depletion goes past 30 % of TAW: pass mad_fraction=0.3")),
    ])


def plan_one(fields, weather, p, strategy: str = "mad", backend=None, **options):
    """One plan over the notebook's season ``p``, without the partial-season warnings.

    ``backend`` defaults to the notebook's ``p.device``, resolved here: a student's call stays short.
    """
    import warnings

    from kit.agro import schedule

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return schedule(fields, weather, strategy, start=p.season_start, end=p.season_end,
                        backend=p.device if backend is None else backend, **options)
