"""Shrinkage towards the baseline by two weights: the season's mean departure, and each field's departure from it."""
import numpy as np
import pandas as pd
import pytest

from kit import yieldpred
from kit.yieldpred.shrinkage import fit_season_weights, season_split, shrink


def test_equal_weights_are_the_one_weight_shrinkage_and_the_split_adds_up():
    rng = np.random.default_rng(0)
    years = np.repeat([2019, 2020, 2021], 5)
    base, forecast = rng.uniform(2, 4, 15), rng.uniform(1, 5, 15)
    mean, within = season_split(forecast - base, years)
    np.testing.assert_allclose(mean + within, forecast - base)
    for y in (2019, 2020, 2021):
        assert np.ptp(mean[years == y]) == 0 and abs(within[years == y].sum()) < 1e-12
    np.testing.assert_allclose(shrink(base, forecast, years, 0.4, 0.4), base + 0.4 * (forecast - base))
    # a season's mean forecast moves by its season weight only, whatever the within weight
    moved = shrink(base, forecast, years, 0.7, 0.0)
    np.testing.assert_allclose(moved - base, 0.7 * mean)


def test_inner_weights_keep_the_season_level_and_drop_noise_within_it():
    # The forecast knows each season's level exactly but its field differences are noise: keep the first, drop the second.
    rng = np.random.default_rng(1)
    years = np.repeat(np.arange(2012, 2020), 40)
    base = rng.uniform(2, 4, len(years))
    level = pd.Series(rng.normal(0, 0.8, 8), index=np.arange(2012, 2020))[years].to_numpy()
    y = base + level + rng.normal(0, 0.1, len(years))
    forecast = base + level + rng.normal(0, 0.6, len(years))
    season_w, within_w, mse = fit_season_weights(base, forecast, years, y)
    assert season_w >= 0.9 and within_w <= 0.1
    assert mse < 0.5 * np.mean((forecast - y) ** 2)


def _seasons_and_noisy_fields():
    """Eight seasons of 50 fields: a feature that knows the season's level, one that knows the field only roughly."""
    rng = np.random.default_rng(2)
    years, fields = list(range(2014, 2022)), [f"F{i}" for i in range(50)]
    X = pd.DataFrame([(f, y) for y in years for f in fields], columns=["field_id", "year"])
    season = X["year"].map(dict(zip(years, rng.normal(0, 0.8, len(years)))))
    X["season_signal"] = season + rng.normal(0, 0.02, len(X))
    X["field_noise"] = rng.normal(size=len(X))
    y = (3.0 + season + 0.3 * rng.normal(size=len(X))).to_numpy()
    return X, y


def test_yield_model_shrinks_field_differences_more_than_the_season():
    X, y = _seasons_and_noisy_fields()
    train = (X["year"] < 2021).to_numpy()
    params = dict(n_estimators=60, calibrate=False, quantiles=(0.5,), blend_plain=False)
    two = yieldpred.YieldModel(season_shrinkage=True, **params).fit(X[train], y[train])
    one = yieldpred.YieldModel(**params).fit(X[train], y[train])
    assert one.shrink_within_weight_ == one.shrink_weight_
    assert two.shrink_weight_ >= 0.8 and two.shrink_within_weight_ <= two.shrink_weight_ - 0.15
    assert two.inner_mse_["forecast"] <= one.inner_mse_["forecast"] + 1e-12  # one weight is on the two-weight grid
    test = X[~train]
    p_two, p_one = two.predict(test)["yield_p50"].to_numpy(), one.predict(test)["yield_p50"].to_numpy()
    assert np.sqrt(np.mean((p_two - y[~train]) ** 2)) < np.sqrt(np.mean((p_one - y[~train]) ** 2))
    # the field differences of the forecast are shrunk by the within weight, its season mean by the season weight
    base = two.predict(test)["baseline_" + two.shrink_to_].to_numpy()
    raw = two.gbm_.predict(test[two.columns_])["yield_p50"].to_numpy()
    np.testing.assert_allclose(p_two - base, shrink(base, raw, test["year"], two.shrink_weight_, two.shrink_within_weight_) - base,
                               atol=1e-9)


def test_a_row_alone_is_forecast_as_with_its_season_only_without_season_shrinkage():
    X, y = _seasons_and_noisy_fields()
    train = (X["year"] < 2021).to_numpy()
    test = X[~train].reset_index(drop=True)
    params = dict(n_estimators=40, calibrate=False, quantiles=(0.5,), blend_plain=False)
    for season_shrinkage in (False, True):
        m = yieldpred.YieldModel(season_shrinkage=season_shrinkage, **params).fit(X[train], y[train])
        together = m.predict(test)
        alone = pd.concat([m.predict(test.iloc[[i]]) for i in range(3)])
        if not season_shrinkage:
            np.testing.assert_allclose(alone["yield_p50"], together["yield_p50"][:3], rtol=1e-9)
            continue
        # alone, a row is its season's mean departure: shrunk by the season weight only
        base = alone["baseline_" + m.shrink_to_].to_numpy()
        raw = m.gbm_.predict(test.iloc[:3][m.columns_])["yield_p50"].to_numpy()
        np.testing.assert_allclose(alone["yield_p50"], base + m.shrink_weight_ * (raw - base), atol=1e-9)
        assert m.shrink_within_weight_ < m.shrink_weight_
        assert not np.allclose(alone["yield_p50"], together["yield_p50"][:3])
    assert yieldpred.YieldModel().get_params()["season_shrinkage"] is False
