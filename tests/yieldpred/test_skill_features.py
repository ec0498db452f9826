"""Curves along the upper envelope, the water-deficit and temperature-weighted light-use features, agronomic constraints, the driver line, the blend."""
import numpy as np
import pandas as pd
import pytest

from kit import yieldpred
from kit.yieldpred.estimator import MONOTONE
from kit.yieldpred.features import ENVELOPE_DROP, NEW_COLUMNS_PREFIXES

TARGET = 2024


def test_curve_follows_the_upper_envelope_past_unmasked_cloud(region):
    r, obs, weather, yields = region
    start = yieldpred.season_start_date(2023)
    season = obs[(obs["date"] >= start) & (obs["date"] < start + pd.Timedelta(days=365))]
    dates = np.sort(season["date"].unique())
    middle = season[season["date"].isin(dates[len(dates) // 3: 2 * len(dates) // 3])]
    hazy_date = middle["date"].value_counts().idxmax()  # the mid-season date seen on most fields
    hazy = obs.copy()
    at = hazy["date"] == hazy_date
    hazy.loc[at, "ndvi"] = hazy.loc[at, "ndvi"] * 0.5  # thin cloud the mask missed: every field looks half as green
    day = (pd.Timestamp(hazy_date) - start).days
    clean = yieldpred.FeatureBuilder(r.fields, obs, weather, yields, r.years).season_curves(2023, 364)["ndvi"]
    kept = yieldpred.FeatureBuilder(r.fields, hazy, weather, yields, r.years).season_curves(2023, 364)["ndvi"]
    plain = yieldpred.FeatureBuilder(r.fields, hazy, weather, yields, r.years, envelope=False).season_curves(2023, 364)["ndvi"]
    green = clean.iloc[:, day].to_numpy() > 0.4
    assert green.sum() > 5
    err_kept = np.abs(kept.iloc[:, day] - clean.iloc[:, day]).to_numpy()[green]
    err_plain = np.abs(plain.iloc[:, day] - clean.iloc[:, day]).to_numpy()[green]
    assert np.median(err_kept) < ENVELOPE_DROP < np.median(err_plain)


def test_features_carry_the_water_deficit_and_temperature_weighted_light_use(region):
    r, obs, weather, yields = region
    features, _ = yieldpred.FeatureBuilder(r.fields, obs, weather, yields, r.years).features(274)
    new = [c for c in features.columns if c.startswith(NEW_COLUMNS_PREFIXES)]
    assert set(new) == {"wb_relative_et", "wb_et_deficit_mm", "wb_relative_et_recent", "lue_apar_ks_temp_mj",
                        "thermal_ndvi_senescence_c_days"}
    assert features["wb_relative_et"].between(0, 1 + 1e-9).all() and (features["wb_et_deficit_mm"] >= 0).all()
    assert (features["lue_apar_ks_temp_mj"] <= features["lue_apar_ks_mj"] + 1e-9).all()
    # Drier seasons transpire a smaller share of demand: the season means follow the season rain.
    by_year = features.reset_index(drop=True).groupby("year")[["wb_relative_et", "season_rain_mm"]].mean()
    assert by_year.corr().iloc[0, 1] > 0.5


def test_yield_model_constrains_by_agronomy_and_driver_line_extrapolates():
    rng = np.random.default_rng(3)
    years, fields = list(range(2014, 2022)), [f"F{i}" for i in range(50)]
    X = pd.DataFrame([(f, y) for y in years for f in fields], columns=["field_id", "year"])
    level = X["year"].map(dict(zip(years, np.linspace(1500, 3000, len(years)))))
    X["lue_apar_ks_temp_mj"] = level * rng.uniform(0.8, 1.2, len(X))
    X["noise"] = rng.normal(size=len(X))
    y = 0.0015 * X["lue_apar_ks_temp_mj"] + rng.normal(0, 0.1, len(X))
    drought = pd.DataFrame({"field_id": fields, "year": 2022, "lue_apar_ks_temp_mj": 800.0, "noise": 0.0})
    params = dict(n_estimators=80, calibrate=False, quantiles=(0.5,), shrink=False)
    trees = yieldpred.YieldModel(**params).fit(X, y)
    line = yieldpred.YieldModel(driver=yieldpred.estimator.DRIVER, **params).fit(X, y)
    assert trees.gbm_.monotone == MONOTONE and line.driver_ == "lue_apar_ks_temp_mj"
    lowest = float(y[X["year"] == 2014].mean())
    assert trees.predict(drought)["yield_p50"].mean() > lowest - 0.3  # trees stop at the driest training season
    assert line.predict(drought)["yield_p50"].mean() == pytest.approx(1.2, abs=0.25)  # the line reaches 0.0015 x 800


def _hump():
    """Nine seasons of 60 fields whose yield (t/ha) rises then falls with peak NDVI, and a column of noise."""
    rng = np.random.default_rng(5)
    years, fields = list(range(2013, 2022)), [f"F{i}" for i in range(60)]
    X = pd.DataFrame([(f, y) for y in years for f in fields], columns=["field_id", "year"])
    X["ndvi_peak"] = rng.uniform(0.3, 0.9, len(X))
    X["noise"] = rng.normal(size=len(X))
    return X, (4.0 - 12.0 * (X["ndvi_peak"] - 0.6) ** 2 + rng.normal(0, 0.1, len(X))).to_numpy()


def test_blend_takes_the_plain_lightgbm_where_the_data_break_a_constraint():
    # Yield rising then falling with peak NDVI (lodging of rank canopies, say): the monotone median cannot follow it,
    # a plain LightGBM can, and the inner year folds give it the weight.
    X, y = _hump()
    train = (X["year"] < 2021).to_numpy()
    params = dict(n_estimators=60, calibrate=False, quantiles=(0.5,), calibration_folds=4)
    blended = yieldpred.YieldModel(**params).fit(X[train], y[train])
    stiff = yieldpred.YieldModel(blend_plain=False, **params).fit(X[train], y[train])
    assert stiff.plain_ is None and stiff.plain_weight_ == 0.0 and blended.plain_weight_ >= 0.7
    err = {name: float(np.sqrt(np.mean((m.predict(X[~train])["yield_p50"] - y[~train]) ** 2)))
           for name, m in (("blended", blended), ("stiff", stiff))}
    assert err["blended"] < 0.6 * err["stiff"]


def test_inner_mse_records_what_the_inner_folds_saw():
    # The same hump as above: on the inner folds the plain LightGBM's error is far below the monotone median's, the
    # field-mean baseline's is about the variance of the yields (no field effect), and the forecast is never worse
    # than the median alone (the weights a=0, w=1 are on the grid).
    X, y = _hump()
    params = dict(n_estimators=60, calibrate=False, quantiles=(0.5,), calibration_folds=4)
    mse = yieldpred.YieldModel(**params).fit(X, y).inner_mse_
    assert mse["plain"] < 0.3 * mse["median"]
    assert mse["forecast"] <= mse["median"] and mse["forecast"] < 1.5 * mse["plain"]
    # a field's mean of the 6-7 seasons an inner fold trains on (9 seasons, 4 folds) misses by var(y) (1 + 1/6.75)
    assert mse["baseline"] == pytest.approx(np.var(y) * (1 + 1 / 6.75), rel=0.1)
    alone = yieldpred.YieldModel(blend_plain=False, **params).fit(X, y).inner_mse_
    assert alone["plain"] == alone["median"] == pytest.approx(mse["median"], rel=1e-9)
    assert yieldpred.YieldModel(blend_plain=False, shrink=False, **params).fit(X, y).inner_mse_ is None
