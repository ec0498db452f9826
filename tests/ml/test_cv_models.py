"""kit.ml: leak-proof CV, baselines, metrics, quantile models, phenology."""
import numpy as np
import pandas as pd
import pytest

from kit import ml
from kit.ml.cv import LeakingSplitError


def test_leave_one_year_out_never_trains_on_the_test_year():
    years = np.repeat([2019, 2020, 2021, 2022], 5)
    splits = ml.leave_one_year_out(years)
    assert len(splits) == 4
    for k, (train, test) in enumerate(splits):
        assert test.tolist() == list(range(5 * k, 5 * k + 5))  # exactly the rows of year k
        assert sorted(train.tolist() + test.tolist()) == list(range(20))  # every other row trains
        ml.check_split(train, test, years=years)


def test_leaking_year_split_is_refused_before_any_fit():
    years = np.array([2020, 2020, 2021, 2021])
    fitted = []

    class Spy:
        def fit(self, X, y):
            fitted.append(1)
            return self

        def predict(self, X):
            return np.zeros(len(X))

    leaky = [(np.array([0, 2, 3]), np.array([1]))]  # 2020 in test and in training
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(LeakingSplitError, match="test year 2020"):
        ml.cross_val_predict(Spy, X, [1, 2, 3, 4], leaky, years=years)
    assert not fitted


def test_leaking_group_split_is_refused():
    groups = np.array(["north", "north", "south", "south"])
    with pytest.raises(LeakingSplitError, match="test group north"):
        ml.check_split([0, 2], [1, 3], groups=groups)
    with pytest.raises(LeakingSplitError, match="same rows"):
        ml.check_split([0, 1], [1, 2])
    splits = ml.leave_one_group_out(groups)
    assert [(tr.tolist(), te.tolist()) for tr, te in splits] == [([2, 3], [0, 1]), ([0, 1], [2, 3])]
    for train, test in splits:
        ml.check_split(train, test, groups=groups)


def test_year_and_group_folds_hold_out_both():
    years = np.array([1, 1, 2, 2, 1, 2])
    groups = np.array(["a", "b", "a", "b", "a", "b"])
    splits = ml.year_and_group_folds(years, groups)
    # One fold per (year, group) present, in year then group order; training is the other year *and* the other group.
    assert [(tr.tolist(), te.tolist()) for tr, te in splits] == [
        ([3, 5], [0, 4]),  # test (1, a), train (2, b)
        ([2], [1]),        # test (1, b), train (2, a)
        ([1], [2]),        # test (2, a), train (1, b)
        ([0, 4], [3, 5]),  # test (2, b), train (1, a)
    ]
    for train, test in splits:
        ml.check_split(train, test, years=years, groups=groups)
    # A (year, group) without rows gets no fold.
    assert len(ml.year_and_group_folds(np.array([1, 1, 2]), np.array(["a", "b", "a"]))) == 3


def test_random_kfold_on_field_years_is_refused():
    from sklearn.model_selection import KFold

    years = np.repeat(np.arange(2015, 2021), 10)
    splits = list(KFold(5, shuffle=True, random_state=0).split(years))
    with pytest.raises(LeakingSplitError):
        for train, test in splits:
            ml.check_split(train, test, years=years)


def test_baselines_against_hand_computation():
    X = pd.DataFrame({"field_id": ["a"] * 3 + ["b"] * 3, "year": [2020, 2021, 2022] * 2})
    y = np.array([1.0, 2.0, 3.0, 2.0, 2.0, 5.0])
    mean = ml.FieldMeanBaseline().fit(X, y)
    assert mean.predict(pd.DataFrame({"field_id": ["a", "b", "z"], "year": [2023] * 3})).tolist() == [2.0, 3.0, 2.5]
    trend = ml.LinearTrendBaseline().fit(X, y)
    # pooled within-field slope: field a slope 1, field b slope 1.5 -> sum(dx dy)/sum(dx²) = (2 + 3) / 4
    assert trend.slope_ == pytest.approx(1.25)
    assert trend.predict(pd.DataFrame({"field_id": ["a"], "year": [2023]}))[0] == pytest.approx(2.0 + 1.25 * 2)


def test_metrics_against_sklearn():
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    rng = np.random.default_rng(1)
    a, b = rng.normal(3, 1, 50), rng.normal(3, 1, 50)
    assert ml.rmse(a, b) == pytest.approx(np.sqrt(mean_squared_error(a, b)))
    assert ml.mae(a, b) == pytest.approx(mean_absolute_error(a, b))
    assert ml.r2(a, b) == pytest.approx(r2_score(a, b))
    assert ml.nrmse(a, b) == pytest.approx(ml.rmse(a, b) / a.mean())
    with pytest.raises(Exception, match="NaN"):
        ml.rmse([1.0, np.nan], [1.0, 2.0])


def test_quantile_model_covers_and_contributions_add_up():
    rng = np.random.default_rng(0)
    n = 1500
    X = pd.DataFrame({"rain_mm": rng.uniform(150, 600, n), "noise": rng.normal(size=n)})
    y = 0.006 * X["rain_mm"] + rng.normal(0, 0.4, n)
    model = ml.QuantileGBM(n_estimators=200).fit(X.iloc[:1000], y.iloc[:1000])
    pred = model.predict(X.iloc[1000:])
    cover = ml.interval_coverage(y.iloc[1000:], pred["yield_p10"], pred["yield_p90"])
    assert 0.65 < cover < 0.92
    assert ml.rmse(y.iloc[1000:], pred["yield_p50"]) < 0.5
    contrib = model.contributions(X.iloc[1000:1010])
    raw = model.models_[0.5].predict(X.iloc[1000:1010])
    np.testing.assert_allclose(contrib.sum(axis=1), raw, rtol=1e-6)
    assert contrib["rain_mm"].abs().mean() > 5 * contrib["noise"].abs().mean()
    again = ml.QuantileGBM(n_estimators=200).fit(X.iloc[:1000], y.iloc[:1000]).predict(X.iloc[1000:])
    pd.testing.assert_frame_equal(pred, again)  # deterministic


def test_phenology_of_a_known_curve():
    d = np.arange(300.0)
    curve = 0.25 + 0.5 * np.exp(-(((d - 180) / 40) ** 2))
    f = ml.phenology_features(curve[None], month_starts={"early": (0, 30), "late": (280, 310)})
    assert f["ndvi_peak_day"][0] == 180
    assert f["ndvi_peak"][0] == pytest.approx(0.75)
    half = 40 * np.sqrt(np.log(2))  # exp(-(t/40)^2) = 1/2
    assert f["ndvi_greenup_day"][0] == pytest.approx(180 - half, abs=1)
    assert f["ndvi_senescence_day"][0] == pytest.approx(180 + half, abs=1.5)
    assert f["ndvi_integral"][0] == pytest.approx(0.5 * 40 * np.sqrt(np.pi), rel=0.01)
    assert np.isnan(f["ndvi_mean_late"][0])  # window beyond the data: not yet observed
    cut = ml.phenology_features(curve[None, :150])  # before the peak: senescence not seen
    assert cut["ndvi_senescence_day"][0] == 149 and cut["ndvi_peak_day"][0] == 149
