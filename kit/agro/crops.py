"""Crop and soil parameter tables, from the 1998 FAO-56 paper and FAO-33.

Edition: Allen, Pereira, Raes and Smith (1998), FAO Irrigation and Drainage
Paper 56 (the original paper, not its 2025 revision). Values were transcribed
from the paper and cross-checked against pyfao56's own transcription
(``pyfao56.tools.FAO56Tables``, Tables 11, 12, 17, 22).

Columns of :data:`CROPS` and their sources:

- ``l_ini, l_dev, l_mid, l_late`` (days): Table 11, the row named in ``table11_row``
  (a Mediterranean or arid-region row when the paper has one).
- ``kc_ini, kc_mid, kc_end``: Table 12 (single crop coefficient, sub-humid
  climate, RHmin 45 %, u2 2 m/s; adjust with :func:`adjust_kc_for_climate`).
- ``kcb_ini, kcb_mid, kcb_end``: Table 17 (basal coefficients, dual method).
- ``height_m``: Table 12 maximum crop height.
- ``zr_max_m``: Table 22, midpoint of the range of maximum root depth;
  ``zr_ini_m`` 0.15 m for sown crops (FAO-56 p. 162, 0.15-0.20 m), the
  maximum for established tree crops and alfalfa.
- ``p``: Table 22 depletion fraction for no stress at ETc 5 mm/day.
- ``ky``: seasonal yield response factor, FAO-33 (Doorenbos & Kassam 1979),
  as reproduced in FAO-56 Table 24.

Known approximations, stated where they are made: olive and barley have no
FAO-33 Ky (olive 1.0 and barley as winter wheat, 1.05, are assumptions);
alfalfa uses Table 12's "averaged cutting effects" Kc and a Kcb 0.05 below it
(Table 17 gives only individual cutting periods), with Table 11's 10-day
initial and 30-day development stages and a mid/late season covering March
to October (assumed); citrus and olive rows are for 50 % / 40-60 % canopy
without ground cover.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

from kit.errors import ParameterError

_CROPS_CSV = """\
crop,l_ini,l_dev,l_mid,l_late,kc_ini,kc_mid,kc_end,kcb_ini,kcb_mid,kcb_end,height_m,zr_ini_m,zr_max_m,p,ky,table11_row,ky_source
wheat,30,140,40,30,0.70,1.15,0.25,0.15,1.10,0.15,1.0,0.15,1.65,0.55,1.05,"winter wheat, Nov, Mediterranean","FAO-33 winter wheat"
barley,20,50,60,30,0.30,1.15,0.25,0.15,1.10,0.15,1.0,0.15,1.25,0.55,1.05,"barley/oats/wheat, Dec, California desert","assumed = winter wheat (not in FAO-33)"
maize,30,40,50,30,0.30,1.20,0.35,0.15,1.15,0.15,2.0,0.15,1.35,0.55,1.25,"maize (grain), Apr, Spain/California","FAO-33 maize"
olive,30,90,60,90,0.65,0.70,0.70,0.55,0.65,0.65,4.0,1.45,1.45,0.65,1.00,"olives, Mar, Mediterranean","assumed (not in FAO-33)"
citrus,60,90,120,95,0.65,0.60,0.65,0.60,0.55,0.60,3.0,1.30,1.30,0.50,1.20,"citrus, Jan, Mediterranean","FAO-33 citrus (1.1-1.3)"
tomato,35,45,70,30,0.60,1.15,0.80,0.15,1.10,0.70,0.6,0.15,1.10,0.40,1.05,"tomato, Oct/Nov, arid region","FAO-33 tomato"
potato,25,30,40,30,0.50,1.15,0.75,0.15,1.10,0.65,0.6,0.15,0.50,0.35,1.10,"potato, Jan/Nov, semi-arid","FAO-33 potato"
alfalfa,10,30,170,30,0.40,0.95,0.90,0.35,0.90,0.85,0.7,1.50,1.50,0.55,1.10,"alfalfa total season (ini, dev); mid, late assumed","FAO-33 alfalfa"
sugar_beet,45,75,80,30,0.35,1.20,0.70,0.15,1.15,0.50,0.5,0.15,0.95,0.55,1.00,"sugarbeet, Nov, Mediterranean","FAO-33 sugarbeet"
"""

#: FAO-56 crop parameters by crop name (index). See the module docstring for sources.
CROPS = pd.read_csv(io.StringIO(_CROPS_CSV)).set_index("crop")

# FAO-56 Table 19 (typical soil water characteristics), midpoints of the ranges:
# theta_fc and theta_wp (m3/m3), taw_mm_per_m = 1000 (theta_fc - theta_wp) from the
# table's own difference column, REW and TEW (mm, Ze = 0.10-0.15 m).
# cn2: curve number of cultivated row crops, straight row, good condition
# (USDA-NRCS TR-55 Table 2-2b) for the hydrologic soil group of the texture.
_SOILS_CSV = """\
soil,theta_fc,theta_wp,taw_mm_per_m,rew_mm,tew_mm,cn2,hydrologic_group
sand,0.12,0.045,80,4.5,9.0,67,A
loamy_sand,0.15,0.065,90,6.0,11.5,67,A
sandy_loam,0.23,0.11,130,8.0,17.5,78,B
loam,0.25,0.12,155,9.0,19.0,78,B
silt_loam,0.29,0.15,160,9.5,21.5,78,B
silt,0.32,0.17,180,9.5,24.0,78,B
silty_clay_loam,0.335,0.205,155,9.5,24.5,85,C
silty_clay,0.36,0.23,160,10.0,25.0,89,D
clay,0.36,0.22,160,10.0,25.5,89,D
"""

#: FAO-56 Table 19 soil classes: water content at field capacity and wilting point,
#: readily (REW) and total (TEW) evaporable water, and the runoff curve number.
SOILS = pd.read_csv(io.StringIO(_SOILS_CSV)).set_index("soil")

__all__ = ["CROPS", "SOILS", "crop_parameters", "soil_parameters", "adjust_kc_for_climate", "normalize_name"]


def normalize_name(name) -> str:
    """``"Sugar beet"`` -> ``"sugar_beet"``: case, spaces and hyphens do not matter."""
    return str(name).strip().lower().replace("-", "_").replace(" ", "_")


def crop_parameters(crop: str, crops: pd.DataFrame | None = None) -> pd.Series:
    """Parameters of one crop from :data:`CROPS` (or a table with the same columns).

    Examples
    --------
    >>> crop_parameters("Sugar beet")["kc_mid"]
    np.float64(1.2)
    """
    table = CROPS if crops is None else crops
    key = normalize_name(crop)
    if key not in table.index:
        raise ParameterError(f"unknown crop {crop!r}; known crops: {', '.join(table.index)}")
    return table.loc[key]


def soil_parameters(soil: str) -> pd.Series:
    """Parameters of one FAO-56 Table 19 soil class from :data:`SOILS`.

    Examples
    --------
    >>> float(soil_parameters("loam")["taw_mm_per_m"])
    155.0
    """
    key = normalize_name(soil)
    if key not in SOILS.index:
        raise ParameterError(f"unknown soil {soil!r}; known soils: {', '.join(SOILS.index)}")
    return SOILS.loc[key]


def adjust_kc_for_climate(kc, u2_ms, rh_min_pct, height_m):
    """Adjust a Table 12 Kc mid or Kc end for climate (FAO-56 eq. 62 and 65).

    ``Kc + [0.04 (u2 - 2) - 0.004 (RHmin - 45)] (h / 3) ** 0.3``, with u2
    limited to 1-6 m/s, RHmin to 20-80 % and h to 0.1-10 m. Kc end values
    below 0.45 are not adjusted (eq. 65 applies only to Kc end >= 0.45); the
    same rule is applied here to Kc mid, as pyfao56 does.

    Parameters
    ----------
    kc : float or array
    u2_ms : float or array, m/s, mean wind at 2 m during the stage
    rh_min_pct : float or array, %, mean daily minimum RH during the stage
    height_m : float or array, m, mean plant height during the stage

    Examples
    --------
    >>> round(float(adjust_kc_for_climate(1.15, 3.0, 25.0, 1.0)), 3)   # dry, windy: Kc rises
    1.236
    """
    u2 = np.clip(np.asarray(u2_ms, dtype=float), 1.0, 6.0)
    rh = np.clip(np.asarray(rh_min_pct, dtype=float), 20.0, 80.0)
    h = np.clip(np.asarray(height_m, dtype=float), 0.1, 10.0)
    kc = np.asarray(kc, dtype=float)
    adjusted = kc + (0.04 * (u2 - 2.0) - 0.004 * (rh - 45.0)) * (h / 3.0) ** 0.3
    return np.where(kc >= 0.45, adjusted, kc)
