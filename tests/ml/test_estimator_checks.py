"""The yield estimators follow scikit-learn's conventions: sklearn's own checks, and the same properties on DataFrames.

``check_estimator`` feeds NumPy arrays; these estimators take DataFrames
(they select ``field_id``, ``year`` and feature columns by name and keep
pandas ``category`` columns for LightGBM), so the checks that fit on
arrays cannot apply and are listed below with the reason.
:func:`test_conventions_on_dataframes` covers what those checks test
(fit returns self, parameters untouched, learned state ending in ``_``,
clone and refit, pickling, row order and subsets) on DataFrames.
"""
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_estimator

from kit.ml import FieldMeanBaseline, LinearTrendBaseline, QuantileGBM
from kit.yieldpred.estimator import YieldModel

DATAFRAME = "fits on a NumPy array; the estimator selects columns by name, so it takes a DataFrame"
NO_ARRAY_VALIDATION = ("expects check_array's errors (empty, NaN/inf, sparse or mismatched input); the estimator does "
                       "not run check_array, which would turn the DataFrame into an array")
QUANTILES = "compares predict's shape with y's; predict returns a DataFrame of quantile (and baseline) columns"

_ARRAY_CHECKS = [
    "check_complex_data", "check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object",
    "check_estimators_dtypes", "check_estimators_fit_returns_self", "check_estimators_overwrite_params",
    "check_estimators_pickle", "check_f_contiguous_array_estimator", "check_fit1d", "check_fit2d_1feature",
    "check_fit2d_1sample", "check_fit_check_is_fitted", "check_fit_idempotent", "check_fit_score_takes_y",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance", "check_n_features_in",
    "check_n_features_in_after_fitting", "check_pipeline_consistency", "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input", "check_regressor_data_not_an_array", "check_regressors_no_decision_function",
    "check_requires_y_none",
]
_VALIDATION_CHECKS = [
    "check_estimator_sparse_array", "check_estimator_sparse_matrix", "check_estimator_sparse_tag",
    "check_estimators_empty_data_messages", "check_estimators_nan_inf", "check_supervised_y_no_nan",
]
_SHAPE_CHECKS = ["check_fit2d_predict1d", "check_regressors_int", "check_regressors_train", "check_supervised_y_2d"]


def expected_failed_checks(quantile_output: bool) -> dict:
    """sklearn checks that cannot apply, each with its reason."""
    out = dict.fromkeys(_ARRAY_CHECKS, DATAFRAME)
    out.update(dict.fromkeys(_VALIDATION_CHECKS, NO_ARRAY_VALIDATION))
    shape = f"{DATAFRAME}; {QUANTILES}" if quantile_output else DATAFRAME
    out.update(dict.fromkeys(_SHAPE_CHECKS, shape))
    return out


def _field_years(n_fields=8, years=(2019, 2020, 2021, 2022), seed=0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"field_id": np.repeat([f"f{i}" for i in range(n_fields)], len(years)),
                      "year": np.tile(years, n_fields)})
    X["rain_mm"] = rng.uniform(200, 600, len(X))
    X["soil"] = pd.Categorical(rng.choice(["clay", "loam"], len(X)))
    y = 0.5 + X["rain_mm"].to_numpy() / 200 + 0.05 * (X["year"].to_numpy() - 2019) + rng.normal(0, 0.2, len(X))
    return X, y


CASES = {
    "QuantileGBM": (lambda: QuantileGBM(n_estimators=20, min_child_samples=5), ["rain_mm", "soil"], True),
    "FieldMeanBaseline": (FieldMeanBaseline, ["field_id", "year"], False),
    "LinearTrendBaseline": (LinearTrendBaseline, ["field_id", "year"], False),
    "YieldModel": (lambda: YieldModel(n_estimators=10, min_child_samples=5), None, True),
}


@pytest.mark.filterwarnings("ignore:Casting complex values")  # check_complex_data, expected to fail
@pytest.mark.parametrize("name", CASES)
def test_sklearn_estimator_checks(name):
    make, _, quantile_output = CASES[name]
    expected = expected_failed_checks(quantile_output)
    results = check_estimator(make(), expected_failed_checks=expected, on_skip=None, on_fail=None)
    status = {r["check_name"]: r["status"] for r in results}
    failed = sorted(c for c, s in status.items() if s == "failed")
    assert not failed, f"{name} fails sklearn checks: {failed}"
    # The list stays exact: a check that now passes must leave it.
    assert {c for c, s in status.items() if s == "xfail"} == set(expected)
    assert sum(s == "passed" for s in status.values()) >= 13


def _predict(est, X) -> np.ndarray:
    pred = est.predict(X)
    return pred.to_numpy(float) if isinstance(pred, pd.DataFrame) else np.asarray(pred, float)


@pytest.mark.parametrize("name", CASES)
def test_conventions_on_dataframes(name):
    make, columns, _ = CASES[name]
    X, y = _field_years()
    X = X if columns is None else X[columns]
    new, _ = _field_years(seed=1)
    new = new if columns is None else new[columns]
    est = make()
    with pytest.raises(NotFittedError):
        est.predict(new)
    params = est.get_params()
    before = set(vars(est))
    X_copy = X.copy()
    assert est.fit(X, y) is est
    pd.testing.assert_frame_equal(X, X_copy)  # input not modified
    assert est.get_params() == params  # fit leaves the parameters alone
    learned = set(vars(est)) - before
    assert learned and all(a.endswith("_") and not a.startswith("_") for a in learned), learned
    pred = _predict(est, new)
    assert np.isfinite(pred).all()
    assert np.array_equal(_predict(clone(est).fit(X, y), new), pred)  # clone is unfitted, refit is identical
    assert np.array_equal(_predict(est.fit(X, y), new), pred)  # fit is idempotent
    assert np.array_equal(_predict(pickle.loads(pickle.dumps(est)), new), pred)
    order = np.arange(len(new))[::-1]
    assert np.array_equal(_predict(est, new.iloc[order]), pred[order])
    assert np.array_equal(_predict(est, new.iloc[:5]), pred[:5])
    assert np.isfinite(est.score(new, y))


def test_yield_model_keeps_quantile_gbm_defaults_but_three():
    yield_defaults, gbm_defaults = YieldModel().get_params(), QuantileGBM().get_params()
    # QuantileGBM's monotone (column -> sign) is set by YieldModel's agronomic_constraints, not passed through.
    differ = {k for k in gbm_defaults if k != "monotone" and yield_defaults[k] != gbm_defaults[k]}
    assert differ == {"n_estimators", "learning_rate", "max_bin"}
    assert clone(YieldModel(seed=3, quantiles=(0.5,))).get_params()["quantiles"] == (0.5,)
