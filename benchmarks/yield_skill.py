"""Leave-one-year-out skill of the yield model on wheat the kit did not generate, beside a plain LightGBM reference.

The data come from :mod:`benchmarks.wheat_simple` (a SIMPLE-style crop model
on its own weather; nothing from :mod:`kit.yieldpred.synthetic`), written to
the notebook's documented contracts (``fields.csv``, ``yields.csv``,
``weather.csv``, ``index_series.csv``: NDVI only) and read back through
:func:`kit.yieldpred.notebook.load_inputs`, as a user's files would be.
Forecast date 1 June (the notebook's default), leave-one-year-out over all
seasons.

Rows printed per variant and seed:

* **kit before**: the kit as of commit ecafa88: curves through every observation
  (``FeatureBuilder(envelope=False)``), without the columns of
  :data:`kit.yieldpred.features.NEW_COLUMNS_PREFIXES`, :data:`BEFORE` model settings
  (this reproduces ecafa88's notebook metrics on the embedded set: NRMSE 0.160, coverage 0.80).
* **kit now**: :class:`kit.yieldpred.YieldModel` at its defaults on
  :meth:`~kit.yieldpred.FeatureBuilder.features`.
* **kit now, no blend** (with ``--no-blend``): the same with ``YieldModel(blend_plain=False)``, the model
  before the plain-LightGBM blend (December 2026).
* **kit now, median alone** and **LightGBM on kit features** (with ``--decompose``): the kit's quantile
  median without the blend and the shrinkage (``YieldModel(shrink=False, blend_plain=False)``), and the plain
  LightGBM of the blend (:attr:`kit.yieldpred.YieldModel.plain_`) on the same columns alone: which of the
  kit's steps costs or gains skill. The mean inner-fold gain the blend and shrinkage claim
  (:attr:`~kit.yieldpred.YieldModel.inner_mse_`) is printed beside them.
* **kit now, season shrinkage** (with ``--season-shrinkage``): the same with
  ``YieldModel(season_shrinkage=True)`` (off by default; see below).
* **kit now, map capacity** (with ``--map-capacity``): ``FeatureBuilder(imagery_capacity=False)``, the ARID
  bucket on the soil map's capacity alone (the kit before :mod:`kit.yieldpred.water_capacity`).
* **kit now, driver** (with ``--driver``): the same with ``YieldModel(driver="lue_apar_ks_temp_mj")`` (off by default).
* **noise floor**: the generator's expected yield of the biomass grown (no harvest-index
  or yield noise) scored as a forecast: no model can do much better.
* **LightGBM reference**: what a user would fit without the kit: summaries
  of the raw index series up to the forecast date (maximum, mean, monthly
  means, trapezoid integral), season rain to date and the covariates
  (``taw_mm_per_m``, sowing day, ``n_kg_ha``); ``LGBMRegressor`` defaults for
  P50, quantile objectives for P10/P90.

Variants of the generator (:data:`wheat_simple.VARIANTS`): ``semi-arid`` and
``late-rains`` (noise floor about 0.085), ``low-noise`` (the semi-arid crop with
little yield and harvest-index noise, floor about 0.025) and ``green-area`` (yield
proportional to the green-area duration, a statistical NDVI-integral model:
the signal is all in the canopy, and a plain LightGBM does well).

Measured with ``--decompose`` (December 2026, index series, LOYO NRMSE of P50; kit now / median alone / LightGBM on
kit features): low-noise seeds 0-2 0.102/0.099/0.093, 0.117/0.114/0.113, 0.141/0.139/0.142; green-area 0.080/0.083/0.087,
0.071/0.070/0.072, 0.081/0.080/0.082; semi-arid seed 0 0.139/0.131/0.130; embedded region (notebook 01, seeds 0, 1)
0.156/0.156/0.164, 0.160/0.173/0.179. Over these wheat cases the median alone equals the plain LightGBM (0.102 vs
0.103 mean) and the blend-and-shrinkage step costs 0.002: inner folds claim gains (low-noise seed 0: +8 % of the
squared error) that the held-out seasons lose (-7 %), mostly by shrinking towards the trend in extreme seasons. It
is kept because it gains 0.013 on the embedded seed 1. Subsampling off, ``reg_lambda`` 0, ``min_child_samples`` 10,
100 trees at 0.1, and other selection rules (no gate, a 2 % gate, shrinkage gated, field mean only, inner
leave-one-season-out, bagged or sequential choice, a coarser grid) each moved the mean wheat NRMSE by at most
0.002 and lost on the embedded set.

With ``YieldModel(season_shrinkage=True)`` (off by default: a field's forecast
then depends on the other fields of its season predicted with it, against
scikit-learn's row-by-row ``predict`` that tests/ml/test_estimator_checks.py
checks) the shrinkage has two weights, chosen together on the inner folds:
one for the season's mean departure from the baseline, one for each field's
departure from that mean. The inner folds mostly keep the season's level
whole (weight 0.9-1) and shrink the field differences (0.65-0.8; embedded
seed 1: 0.6-1 and 0.35-0.6). LOYO
NRMSE of P50, one weight -> two weights (December 2026, index series):
low-noise seeds 0-2 0.102 -> 0.096, 0.117 -> 0.117, 0.141 -> 0.137;
green-area 0.080 -> 0.079, 0.071 -> 0.071, 0.081 -> 0.081; semi-arid seeds
0-1 0.139 -> 0.132, 0.142 -> 0.141; late-rains 0.121 -> 0.122, 0.124 -> 0.120
(mean of the ten 0.112 -> 0.110; the median alone 0.110); embedded region
(notebook 01's defaults, ``cross_validate(..., exclude_year=2024, seed=s)``)
seeds 0-3 0.156 -> 0.150, 0.160 -> 0.163, 0.341 -> 0.325, 0.178 -> 0.166
(mean 0.209 -> 0.201). Coverage stays 0.77-0.82 in every case (0.75 -> 0.78
and 0.77 on low-noise and semi-arid seed 0). Tried beside it on the same
fourteen cases (mean wheat / mean embedded NRMSE) and not kept: a Huber-like
shrinkage of only the part of the departure below a threshold chosen on
inner folds (0.112 / 0.208), the same on the season-mean part of the two
weights (0.110 / 0.201, no better), a non-negative stacking of median, plain
model and baseline with a ridge penalty towards (1, 0, 0) of 0.1-3 times the
median departure's sum of squares (0.110-0.112 / 0.208-0.213), the blend
weight chosen jointly with the two weights (0.110 / 0.201) and only the
season mean shrunk (0.112 / 0.209). The figures were computed from one fit
per outer fold, its inner-fold and held-out predictions combined afterwards
by each rule (the one-weight rule reproduces "kit now" exactly; "kit now, season
shrinkage" gives the two-weight figures: low-noise seed 0 NRMSE 0.096,
coverage 0.78 from ``--variants low-noise --seeds 0``; the real
``cross_validate`` on embedded seed 1 0.163, coverage 0.79).

Cloudy rasters (December 2026, the ``kit now`` row of ``--inputs rasters "index series" --variants semi-arid
green-area --seeds 0 1 2``, LOYO NRMSE of P50 / P10-P90 coverage; the rasters of
:func:`wheat_simple.write_rasters` read through :func:`kit.yieldpred.notebook.load_inputs`). Before: SCL 4/5 pixels,
a field-date kept above half its pixels clear; after: a 1-pixel buffer around SCL 3/8/9/10
(:data:`kit.yieldpred.imagery.CLOUD_BUFFER_PX`) and a fifth of the field clear
(:data:`~kit.yieldpred.imagery.MIN_CLEAR_SHARE`). The raster series are cleaner than the index-series CSV (semi-arid
seed 0, against each one's noise-free NDVI: error sd 0.016 before, 0.013 after; field-dates more than 0.05 too low
2.2 % before, 1.2 % after, 3.2 % in the CSV) but sparser (34,800 field-dates vs 46,500; 34,500 after): rasters
lose no skill against index series, so the gap to the
goals is the model's, not the raster path's.

==========  ====  ============  ============  ============
variant     seed  index series  rasters       rasters
                                before        after
==========  ====  ============  ============  ============
semi-arid   0     0.139 / 0.75  0.140 / 0.76  0.138 / 0.76
semi-arid   1     0.142 / 0.79  0.144 / 0.81  0.144 / 0.81
semi-arid   2     0.177 / 0.81  0.181 / 0.81  0.179 / 0.81
green-area  0     0.079 / 0.83  0.080 / 0.83  0.079 / 0.84
green-area  1     0.070 / 0.81  0.070 / 0.81  0.070 / 0.81
green-area  2     0.081 / 0.78  0.078 / 0.79  0.074 / 0.79
==========  ====  ============  ============  ============

The embedded region (notebook 01's ``load_inputs``, ``FeatureBuilder`` and ``cross_validate(exclude_year=target_year)``
at its defaults; its series come from its rasters through the same function) goes from 0.156 /
0.81 and 0.160 / 0.80 (seeds 0, 1) to 0.146 / 0.82 and 0.156 / 0.79; the buffer alone (half the field clear) gives
0.157 and 0.161, the lower share alone 0.144 and 0.162.

Canopy-driven water stress (issue #18 item 4, December 2026; ``--water-stress`` adds the row "kit now, no water
stress", ``FeatureBuilder(water_stress=False)``: the kit before it):
:mod:`kit.yieldpred.water_stress` runs the ARID index (Woli et al. 2012) on a one-layer bucket of the soil map's
``taw_mm_per_m`` x 1 m, emptied by the demand of the *observed* canopy (fAPAR of the gap-filled NDVI curve x ET0)
instead of the FAO-56 crop calendar, and sums PAR x fAPAR x f_temp x min(f_heat, f_water) from sowing
(``arid_apar_temp_mj``) beside the absorbed-PAR-weighted water factor (``arid_water_factor``), both monotone +1.
What was missing, first (low-noise seed 0; diagnosis with the generator's truth, never a feature): against the
biomass grown, the kit's best driver ``lue_apar_ks_temp_mj`` correlates 0.911; the same sum on the generator's true
cover and true water capacity reproduces it (linear LOYO NRMSE 0.025, the kit's model on it 0.047); on the true
cover but the *soil map's* capacity 0.098 (kit 0.094); on the kit's NDVI curve and the map 0.099 (kit 0.098). The
canopy curve loses little; the soil map's water capacity (``taw_mm_per_m`` is off by up to half on shallow soils)
carries most of the gap to the noise floor, and the FAO-56 calendar's Ks a little. Choosing each field's capacity
(0.5-2 x the map) on its training seasons' yields did not recover it (linear 0.100 against 0.099).
LOYO NRMSE of P50 / P10-P90 coverage, kit now -> kit now, water stress (index series; features built once per case
through :func:`write_contracts`, :func:`kit_inputs` and :func:`kit_features`, the embedded region through notebook
01's ``load_inputs``, ``seasons`` and ``cross_validate(exclude_year=target_year, seed=s)`` at its defaults; each then
``cross_validate`` at the defaults as the "kit now" row does): low-noise seeds 0, 1 0.102 / 0.75 -> 0.095 / 0.75,
0.117 -> 0.098 / 0.82; semi-arid 0.139 / 0.75 -> 0.130 / 0.77, 0.142 / 0.79 -> 0.129 / 0.81; green-area
0.079 / 0.83 -> 0.079 / 0.82, 0.070 / 0.81 -> 0.071 / 0.80 (mean of the six 0.108 -> 0.100); embedded seeds 0, 1
(``water_stress=True``: its fields have soil classes, no ``taw_mm_per_m``) 0.146 / 0.82 -> 0.152 / 0.80,
0.156 / 0.79 -> 0.156 / 0.80. Without a field's own capacity the index adds a column the trees use to tell
seasons apart more than fields (seed 0 loses 0.006), so the default ``water_stress=None`` adds it only when the
fields carry ``taw_mm_per_m``: the embedded region is unchanged, the wheat gains. The real benchmark on low-noise
seed 1 (``--inputs "index series" --variants low-noise --seeds 1 --water-stress``, before the default changed):
kit now 0.117 / 0.81 -> 0.098 / 0.83, LightGBM reference 0.126, noise floor 0.023; on semi-arid seed 0 at the new
default (``--variants semi-arid --seeds 0 --water-stress``) kit now, no water stress 0.139 / 0.75 -> kit now
0.130 / 0.77; green-area seed 0 0.079 / 0.83 -> 0.079 / 0.82. Tried and not kept (same harness; embedded seeds 0, 1 /
wheat): ``arid_apar_temp_mj`` alone 0.154, 0.155 / low-noise 0.098, 0.101; ``arid_water_factor`` alone 0.151, 0.156 /
low-noise 0 0.102, semi-arid 0 0.137; both without the monotone constraint 0.157, 0.165 / 0.097, 0.133; a 1.65 m
root zone (FAO-56 wheat) 0.161, 0.154 (linear LOYO on low-noise 0 0.121 against 0.099 at 1 m).

Stress timing and the imagery's water capacity (issue #18 item 4, December 2026). Two changes, kept:

1. ``thermal_ndvi_senescence_c_days``, the degree-days (base 0 °C) from sowing to the NDVI curve's senescence day
   (:mod:`kit.yieldpred.thermal_time`, monotone +1), in every feature table: drought and heat bring a cereal's
   senescence forward in thermal time (SIMPLE and :mod:`wheat_simple` advance the half-senescence point), which the
   calendar day mixes with the sowing date and the spring's warmth. Its name avoids ``_gdd_c_days``, the suffix of
   the station totals the model leaves out (``YieldModel(station_weather=False)``): so named it was dropped.
2. The ARID bucket (fields with ``taw_mm_per_m`` only) holds the mean of the map's capacity and the imagery's estimate
   of it (:mod:`kit.yieldpred.water_capacity`; ``FeatureBuilder(imagery_capacity=False)`` and ``--map-capacity`` give
   the map alone): each field's departure of whole-season senescence thermal time from its season's median, averaged
   over the *other* seasons weighted by their dryness (1 - median ``arid_water_factor`` on the map), regressed on
   across fields against the map. No yields enter, and the season being forecast does not (as for the climatology),
   so leave-one-year-out holds nothing out it should not. On low-noise seed 0 that history correlates 0.90 with the
   generator's true capacity (the map 0.84) and 0.47 with the map's error.

LOYO NRMSE of P50 / P10-P90 coverage, kit at b48a18a -> (1) -> (1) and (2), index series; features built once per
case (as in the paragraph above) and ``cross_validate`` at the defaults; the embedded region through notebook 01's
defaults, ``cross_validate(..., exclude_year=2024, seed=s)``:

============  ====  ============  ============  ============
case          seed  b48a18a       (1)           (1) and (2)
============  ====  ============  ============  ============
low-noise     0     0.095 / 0.75  0.072 / 0.77  0.067 / 0.81
low-noise     1     0.098 / 0.82  0.072 / 0.81  0.069 / 0.81
low-noise     2     0.127 / 0.82  0.110 / 0.82  0.111 / 0.82 *
semi-arid     0     0.130 / 0.77  0.114 / 0.78  0.111 / 0.79
semi-arid     1     0.130 / 0.81  0.112 / 0.81  0.110 / 0.81
green-area    0     0.079 / 0.82  0.079 / 0.82  0.081 / 0.82 *
late-rains    0     0.119 / 0.81  0.106 / 0.81  0.103 / 0.82 *
embedded      0     0.146 / 0.82  0.135 / 0.81  (no taw)
embedded      1     0.156 / 0.79  0.139 / 0.79  (no taw)
============  ====  ============  ============  ============

(low-noise seed 1, semi-arid seed 0 and green-area seed 0 at b48a18a: this docstring's figures above; the embedded region has soil
classes only, so (2) does not apply; * from the real benchmark below, whose column order differs from the harness's
and moves figures by about 0.001: there (1) alone gives 0.111, 0.080, 0.105.) Mean of the seven wheat cases 0.111 ->
0.095 -> 0.093. The real benchmark (``--inputs "index series" --variants low-noise semi-arid
green-area late-rains --seeds 0 --map-capacity``, with both; the rows "kit now, map capacity" / "kit now"): low-noise
0.072 / 0.76 -> 0.067 / 0.81 (kit before 0.119, LightGBM reference 0.114, noise floor 0.024); semi-arid 0.113 / 0.79
-> 0.112 / 0.78 (reference 0.143, floor 0.085); green-area 0.080 / 0.82 -> 0.081 / 0.82 (reference 0.087, floor
0.052); late-rains 0.105 / 0.81 -> 0.103 / 0.82 (reference 0.133, floor 0.084); and ``--variants low-noise --seeds 1 2
--map-capacity``: seed 1 0.073 / 0.80 -> 0.070 / 0.82 (reference 0.126), seed 2 0.111 / 0.81 -> 0.111 / 0.82
(reference 0.164). The goal of 0.09 is met on low-noise seeds 0, 1 and green-area seed 0, not on low-noise seed 2
(0.111, floor 0.024) nor on semi-arid and late-rains (0.103-0.112, floors about 0.085); coverage stays 0.78-0.82.
From cloudy rasters (``--inputs rasters --variants semi-arid --seeds 0 --map-capacity``): 0.138 / 0.76 in the table
above -> 0.117 / 0.79 (map capacity) -> 0.112 / 0.80 (LightGBM reference 0.153), inside the 0.12 raster goal.

Tried beside them and not kept (same harness): flowering placed at the NDVI curve's peak after sowing (thermal time
1500 °C·d where the curve has no peak; the code is ``kit/yieldpred/stress_timing.py`` of commit a044ac3), with
Σ max(Tmax - 30 °C, 0) over ±10 days and over the grain fill (+10 to +40 days, monotone -1), the fAPAR sum over
the grain fill (+1), the flowering day, and the mean ARID water factor of both windows (+1): all of them on b48a18a,
low-noise seed 0 0.097 (against 0.095), embedded seeds 0, 1 0.146, 0.155 (against 0.146, 0.156); the heat sums
alone change nothing on the embedded region (its NDVI peaks in March: no day of either window reaches 30 °C); the grain-fill
fAPAR alone 0.146, 0.155. With (1): the two window water factors beside it, low-noise 0, 1 0.072, 0.075 (against
0.072, 0.072), semi-arid 0 0.113 (0.114); the thermal time of peak and green-up beside it, low-noise 0 0.072,
embedded 0 0.135 (no change); (1) without its monotone constraint, low-noise 0 0.072, embedded 0 0.135 (no change).
The history of (2) as a column of its own instead of sizing the bucket: low-noise 0 0.075, semi-arid 0 0.116
(against 0.072, 0.114 with (1) alone).

Low-noise seed 2 (issue #18 item 4, December 2026; diagnosis, no default changed). Its error is one season: 2021
(mean yield 1.36 t/ha, every other season 2.47-4.35) carries 52 % of the squared error, forecast 2.13 (bias +0.77
t/ha, within-season sd of the error 0.15 as in the other seasons); 2012 (the wettest, 4.21) the next 15 %. Its
``arid_apar_temp_mj`` (season mean 228 MJ/m², the other seasons 359-613; correlation with yield over all rows 0.965)
lies far below the training seasons' range, and the trees forecast it at the lowest training level. A line in that
column, ``YieldModel(driver="arid_apar_temp_mj")`` (features built once per case as above, ``cross_validate`` at the
defaults otherwise), carries it: 2021 bias +0.77 -> +0.30, its share of the error 52 % -> 14 %. LOYO NRMSE of P50 /
coverage, kit now -> that driver: low-noise seeds 0-2 0.067 -> 0.073 / 0.81, 0.069 -> 0.066 / 0.83, 0.111 -> 0.086 /
0.76; semi-arid 0, 1 0.111 -> 0.112 / 0.82, 0.110 -> 0.112 / 0.79; green-area 0 0.081 -> 0.083 / 0.83; late-rains 0
0.103 -> 0.100 / 0.81 (mean of the seven 0.093 -> 0.090). The embedded region has no ``taw_mm_per_m``, hence no
``arid_apar_temp_mj``: the driver is then no line and its figures stay 0.135 / 0.139. Not made the default: it gains
on three cases and loses on four (low-noise seed 0 by 0.006), so the gain is the one season outside the range; a
driver chosen on inner folds, or a line only where a season's driver leaves the training range, are what to try next.
Then tried (December 2026, same harness) the trees kept and a line added only beyond the training range: the slope
of yield on ``arid_apar_temp_mj`` over the training rows (0 unless positive) times each row's distance outside the
training range of that column, added to the offset. LOYO NRMSE of P50, kit now -> with it: low-noise seeds 0-2
0.067 -> 0.070, 0.070 -> 0.069, 0.111 -> 0.108; semi-arid 0, 1 0.112 -> 0.113, 0.110 -> 0.110; green-area 0 0.081
-> 0.081; late-rains 0 0.103 -> 0.102 (mean of the seven 0.093 -> 0.093): not kept. Per row it reaches too few of
2021's fields (most lie inside the range of some training field even when the season's mean does not).

Goals (issue #18): NRMSE of P50 ≤ 0.09 from index series (≤ 0.12 from cloudy
rasters), P10–P90 coverage 0.7–0.9.

Run: ``PYTHONPATH=$PWD .venv/bin/python benchmarks/yield_skill.py [--seeds 0 1 2] [--variants semi-arid late-rains]``
(about four minutes per variant, seed and input on one free core; rasters add one).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import wheat_simple  # noqa: E402  (the independent generator, beside this file)

FORECAST_DATE = "06-01"
#: YieldModel settings of the kit before this benchmark (commit ecafa88) and the feature columns it did not have.
BEFORE = {"agronomic_constraints": False, "driver": None}
DRIVER = "lue_apar_ks_temp_mj"  # YieldModel(driver=...): kit.yieldpred.estimator.DRIVER


def write_contracts(data: dict, folder: Path) -> dict:
    """The generated region as a user would bring it: the documented CSV contracts."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ("fields", "yields", "weather", "index_series"):
        paths[name] = folder / f"{name}.csv"
        data[name].to_csv(paths[name], index=False)
    return paths


def kit_inputs(paths: dict, target_year: int):
    """The notebook's inputs from ``paths``: ``index_series`` + ``fields`` (CSV), or ``rasters`` + ``fields`` (GeoJSON)."""
    from kit.yieldpred import notebook as nbk

    imagery = {"rasters": str(paths["rasters"])} if "rasters" in paths else {"index_series": str(paths["index_series"])}
    p = nbk.PARAMETERS.validate({**imagery, "fields": str(paths["fields"]),
                                 "yields": str(paths["yields"]), "weather": str(paths["weather"]),
                                 "target_year": target_year, "forecast_date": FORECAST_DATE,
                                 "output_dir": str(paths["yields"].parent / "out")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inputs = nbk.load_inputs(p)
    return p, inputs


def kit_features(inputs, p, **builder_params):
    from kit import yieldpred

    years = sorted(inputs.yields["year"].unique())
    day = yieldpred.forecast_day(p.forecast_date, p.target_year, p.season_start)
    builder = yieldpred.FeatureBuilder(inputs.fields, inputs.observations, inputs.weather, inputs.yields, years,
                                       season_start=p.season_start, **builder_params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        features, _ = builder.features(day)
    return features, day


def kit_skill(features, yields, **params) -> dict:
    from kit import yieldpred

    _, m = yieldpred.cross_validate(features, yields, **params)
    return {"nrmse_p50": m["cv_nrmse_p50"], "coverage_p10_p90": m["interval_coverage_p10_p90"]}


def decomposed_skill(features, yields, seed: int) -> tuple[dict, dict, float]:
    """Skill of the kit's quantile median alone and of its plain LightGBM alone, and the inner folds' claimed gain.

    Returns the two skill dicts (``coverage_p10_p90`` NaN: P50 only) and the mean over the outer folds of
    ``1 - inner_mse_["forecast"] / inner_mse_["median"]``: the share of squared error the blend and shrinkage
    remove on inner folds, to set beside what they remove on the held-out seasons (kit now vs median alone).
    """
    from kit import yieldpred
    from kit.ml import leave_one_year_out, nrmse
    from kit.yieldpred.estimator import training_table

    train = training_table(features, yields)
    years, y = train["year"].to_numpy(), train["yield_t_ha"].to_numpy()
    plain, gains = np.zeros(len(train)), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fit_rows, test_rows in leave_one_year_out(years):
            X = train.drop(columns="yield_t_ha")
            m = yieldpred.YieldModel(seed=seed, quantiles=(0.5,), calibrate=False).fit(X.iloc[fit_rows], y[fit_rows])
            plain[test_rows] = m.plain_.predict(X.iloc[test_rows][m.columns_])
            gains.append(1 - m.inner_mse_["forecast"] / m.inner_mse_["median"])
    alone = kit_skill(features, yields, seed=seed, shrink=False, blend_plain=False)
    return alone, {"nrmse_p50": nrmse(y, plain), "coverage_p10_p90": np.nan}, float(np.mean(gains))


def reference_features(data: dict, cutoff_day: int) -> pd.DataFrame:
    """What a user would compute without the kit: raw-series summaries to the forecast date, rain to date, covariates."""
    obs = data["index_series"].assign(date=lambda t: pd.to_datetime(t["date"]))
    obs["year"] = np.where(obs["date"].dt.month >= 9, obs["date"].dt.year + 1, obs["date"].dt.year)
    obs["day"] = (obs["date"] - pd.to_datetime((obs["year"] - 1).astype(str) + "-09-01")).dt.days
    obs = obs[obs["day"] <= cutoff_day]
    g = obs.groupby(["field_id", "year"])
    table = pd.DataFrame({"ndvi_max": g["ndvi"].max(), "ndvi_mean": g["ndvi"].mean(),
                          "ndvi_integral": g.apply(lambda t: np.trapezoid(t.sort_values("day")["ndvi"], t.sort_values("day")["day"]),
                                                   include_groups=False)})
    obs["month"] = obs["date"].dt.month
    for m in (12, 1, 2, 3, 4, 5):
        table[f"ndvi_m{m:02d}"] = obs[obs["month"] == m].groupby(["field_id", "year"])["ndvi"].mean()
    w = data["weather"].assign(date=lambda t: pd.to_datetime(t["date"]))
    w["year"] = np.where(w["date"].dt.month >= 9, w["date"].dt.year + 1, w["date"].dt.year)
    w["day"] = (w["date"] - pd.to_datetime((w["year"] - 1).astype(str) + "-09-01")).dt.days
    rain = w[w["day"] <= cutoff_day].groupby("year")["rain_mm"].sum()
    table = table.reset_index()
    table["season_rain_mm"] = table["year"].map(rain)
    y = data["yields"].copy()
    y["sowing_day"] = (pd.to_datetime(y["planting_date"]) - pd.to_datetime((y["year"] - 1).astype(str) + "-09-01")).dt.days
    table = table.merge(y[["field_id", "year", "yield_t_ha", "sowing_day", "n_kg_ha"]], on=["field_id", "year"])
    return table.merge(data["fields"][["field_id", "taw_mm_per_m"]], on="field_id")


def reference_skill(table: pd.DataFrame, seed: int) -> dict:
    import lightgbm as lgb

    from kit.ml import interval_coverage, nrmse

    cols = [c for c in table.columns if c not in ("field_id", "year", "yield_t_ha")]
    pred = pd.DataFrame(index=table.index, columns=["p10", "p50", "p90"], dtype=float)
    for year in table["year"].unique():
        test = table["year"] == year
        X, y = table.loc[~test, cols], table.loc[~test, "yield_t_ha"]
        common = dict(random_state=seed, n_jobs=1, verbose=-1, deterministic=True, force_row_wise=True)
        pred.loc[test, "p50"] = lgb.LGBMRegressor(**common).fit(X, y).predict(table.loc[test, cols])
        for q, name in ((0.1, "p10"), (0.9, "p90")):
            pred.loc[test, name] = lgb.LGBMRegressor(objective="quantile", alpha=q, **common).fit(X, y).predict(table.loc[test, cols])
    obs = table["yield_t_ha"]
    return {"nrmse_p50": nrmse(obs, pred["p50"]), "coverage_p10_p90": interval_coverage(obs, pred["p10"], pred["p90"])}


def run_case(variant: str, seed: int, folder: Path, source: str = "index series", driver: bool = False,
             no_blend: bool = False, decompose: bool = False, season_shrinkage: bool = False, water_stress: bool = False,
             map_capacity: bool = False) -> list:
    data = wheat_simple.region(wheat_simple.VARIANTS[variant], seed)
    paths = write_contracts(data, folder / f"{variant}-{seed}")
    if source == "rasters":
        written = wheat_simple.write_rasters(data, folder / f"{variant}-{seed}", seed)
        paths = {**paths, "rasters": written["rasters"], "fields": written["fields_geojson"]}
    target = int(data["yields"]["year"].max())
    p, inputs = kit_inputs(paths, target)
    if source == "rasters":  # the reference gets the series the notebook writes from the rasters
        data = {**data, "index_series": inputs.observations.assign(date=inputs.observations["date"].dt.strftime("%Y-%m-%d"))}
    features, day = kit_features(inputs, p)
    from kit.ml import interval_coverage, nrmse
    from kit.yieldpred.features import NEW_COLUMNS_PREFIXES

    old, _ = kit_features(inputs, p, envelope=False)
    old = old[[c for c in old.columns if not c.startswith(NEW_COLUMNS_PREFIXES)]]
    floor = data["yields"].merge(data["truth"], on=["field_id", "year"])
    case = {"input": source, "variant": variant, "seed": seed}
    rows = [{**case, "model": "noise floor",
             "nrmse_p50": nrmse(floor["yield_t_ha"], floor["yield_expected_t_ha"]), "coverage_p10_p90": np.nan},
            {**case, "model": "kit before", **kit_skill(old, inputs.yields, seed=seed, **BEFORE)},
            {**case, "model": "kit now", **kit_skill(features, inputs.yields, seed=seed)},
            {**case, "model": "LightGBM reference", **reference_skill(reference_features(data, day), seed)}]
    if driver:
        rows.insert(3, {**case, "model": "kit now, driver", **kit_skill(features, inputs.yields, seed=seed, driver=DRIVER)})
    if decompose:
        alone, plain, claimed = decomposed_skill(features, inputs.yields, seed)
        rows[3:3] = [{**case, "model": "kit now, median alone", **alone}, {**case, "model": "LightGBM on kit features", **plain}]
        print(f"  {source:<12} {variant:<11} seed {seed}  blend and shrinkage: inner folds claim {claimed:+.1%} of the median's squared error")
    if season_shrinkage:
        rows.insert(3, {**case, "model": "kit now, season shrinkage",
                        **kit_skill(features, inputs.yields, seed=seed, season_shrinkage=True)})
    if water_stress:
        unstressed, _ = kit_features(inputs, p, water_stress=False)
        rows.insert(3, {**case, "model": "kit now, no water stress", **kit_skill(unstressed, inputs.yields, seed=seed)})
    if map_capacity:
        on_map, _ = kit_features(inputs, p, imagery_capacity=False)
        rows.insert(3, {**case, "model": "kit now, map capacity", **kit_skill(on_map, inputs.yields, seed=seed)})
    if no_blend:
        rows.insert(3, {**case, "model": "kit now, no blend", **kit_skill(features, inputs.yields, seed=seed, blend_plain=False)})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=list(wheat_simple.VARIANTS))
    parser.add_argument("--inputs", nargs="+", default=["index series", "rasters"], choices=["index series", "rasters"],
                        help="index_series CSV and/or cloudy B04/B08/SCL GeoTIFFs (about a minute more per case)")
    parser.add_argument("--driver", action="store_true", help='also YieldModel(driver="lue_apar_ks_temp_mj")')
    parser.add_argument("--water-stress", action="store_true", help="also FeatureBuilder(water_stress=False), the kit before it")
    parser.add_argument("--map-capacity", action="store_true",
                        help="also FeatureBuilder(imagery_capacity=False): the ARID bucket on the soil map's capacity alone")
    parser.add_argument("--no-blend", action="store_true", help="also YieldModel(blend_plain=False)")
    parser.add_argument("--season-shrinkage", action="store_true", help="also YieldModel(season_shrinkage=True)")
    parser.add_argument("--decompose", action="store_true",
                        help="also the kit's quantile median alone and its plain LightGBM alone (P50 only)")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for source in args.inputs:
            for variant in args.variants:
                for seed in args.seeds:
                    case = run_case(variant, seed, Path(tmp) / source.replace(" ", "_"), source, args.driver, args.no_blend,
                                    args.decompose, args.season_shrinkage, args.water_stress, args.map_capacity)
                    rows += case
                    for r in case:
                        print(f"  {source:<12} {variant:<11} seed {seed}  {r['model']:<24} NRMSE {r['nrmse_p50']:.3f}  "
                              f"coverage {r['coverage_p10_p90']:.2f}", flush=True)
    print_table(pd.DataFrame(rows))
    return pd.DataFrame(rows)


def print_table(table: pd.DataFrame) -> None:
    print("\nLeave-one-year-out NRMSE of P50 and P10-P90 coverage, forecast 1 June; goals: NRMSE <= 0.09 from index series, "
          "<= 0.12 from cloudy rasters, coverage 0.7-0.9")
    order = ["kit before", "kit now, no water stress", "kit now, map capacity", "kit now", "kit now, season shrinkage", "kit now, median alone", "LightGBM on kit features", "kit now, no blend", "kit now, driver", "LightGBM reference", "noise floor"]
    for name, values in (("NRMSE P50", "nrmse_p50"), ("coverage P10-P90", "coverage_p10_p90")):
        wide = table.pivot_table(index=["input", "variant", "seed"], columns="model", values=values, dropna=False)
        print(f"\n{name}:\n" + wide[[c for c in order if c in wide]].round(3).to_string())
    means = table.groupby(["input", "model"])[["nrmse_p50", "coverage_p10_p90"]].mean().round(3)
    print("\nmean over seeds and variants:\n" + means.to_string())


if __name__ == "__main__":
    main()
