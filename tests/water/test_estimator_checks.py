"""The water estimators follow scikit-learn's conventions: sklearn's own checks, and the same properties on their inputs.

:class:`LeakDetector` (a novelty detector, ``OutlierMixin``), :class:`PressureResiduals`
and :class:`SignatureLocalizer` (plain ``BaseEstimator``: their outputs are
residuals and a ranking of junctions, which no scikit-learn mixin describes)
store their parameters in ``__init__`` unchanged, learn attributes ending in
``_`` in ``fit``, and clone, ``get_params`` and ``set_params`` work.

``check_estimator`` runs every check; the API checks that need no data pass
(cloneable, tags, repr, no attributes set in ``__init__``, unfitted
``predict`` raising ``NotFittedError``, no errors in ``__init__`` or
``set_params``, mixin order, default-constructible parameters,
``get_params`` invariance, ``set_params``). The others fit on a NumPy ``X``
and cannot apply, each listed below with its reason:

- the inputs are not an ``X`` matrix: the detector takes a
  :class:`~kit.water.scada.ScadaData` record (readings on a UTC time index
  plus the sensors table) and a network; the residual model takes DataFrames
  of pressures on a time index (its calendar features come from the index,
  its inputs are matched by sensor name); the localizer is fitted on a
  fitted residual model and a sensors table, not on rows of data;
- the estimators do not run ``check_array`` (it would drop the time index
  and the sensor names), so the checks of its error messages (empty, NaN or
  infinite, sparse, complex, one-feature input) cannot pass; NaN readings are
  gaps the residual model handles by design, not invalid input;
- the outlier checks compare ``predict`` with ±1 labels per row; the
  detector's ``predict`` returns a :class:`~kit.water.detect.Detection`
  (alarms, hourly residuals and CUSUM).

The tests after ``test_sklearn_estimator_checks`` cover what the data checks
test (fit returns self, parameters untouched, learned state ending in ``_``,
predict adds no state, clone and refit identical, fit idempotent, pickling,
inputs unmodified) on the estimators' real inputs.
"""
import pickle
import tempfile

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_outlier_detector
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_estimator

from kit.errors import ParameterError
from kit.water import LeakDetector, LeakSpec, PressureResiduals, SignatureLocalizer, generate_scenario, read_scada

NOT_X = {
    "LeakDetector": "fits on a NumPy X; the detector takes a ScadaData record (time-indexed readings and a sensors "
                    "table) and a network",
    "PressureResiduals": "fits on a NumPy X; the model takes DataFrames of pressures on a time index (calendar "
                         "features from the index, inputs matched by sensor name)",
    "SignatureLocalizer": "fits on a NumPy X; the localizer is fitted on a fitted residual model and a sensors table",
}
NO_ARRAY_VALIDATION = ("expects check_array's errors (empty, NaN/inf, sparse, complex or one-feature input); the "
                       "estimator does not run check_array, which would drop the time index and the sensor names; "
                       "NaN readings are gaps handled by design")
NOT_LABELS = "compares predict with ±1 labels per row; predict returns a Detection (alarms, residuals, CUSUM)"

_DATA_CHECKS = [
    "check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object", "check_estimators_dtypes",
    "check_estimators_fit_returns_self", "check_estimators_overwrite_params", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_fit1d", "check_fit2d_1sample", "check_fit2d_predict1d",
    "check_fit_check_is_fitted", "check_fit_idempotent", "check_fit_score_takes_y",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance", "check_n_features_in",
    "check_n_features_in_after_fitting", "check_pipeline_consistency", "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
]
_VALIDATION_CHECKS = [
    "check_complex_data", "check_estimator_sparse_array", "check_estimator_sparse_matrix",
    "check_estimator_sparse_tag", "check_estimators_empty_data_messages", "check_estimators_nan_inf",
    "check_fit2d_1feature",
]
_OUTLIER_CHECKS = ["check_classifier_data_not_an_array", "check_outliers_fit_predict", "check_outliers_train"]


def expected_failed_checks(name: str, outlier: bool) -> dict:
    """sklearn checks that cannot apply to estimator ``name``, each with its reason."""
    out = dict.fromkeys(_DATA_CHECKS, NOT_X[name])
    out.update(dict.fromkeys(_VALIDATION_CHECKS, NO_ARRAY_VALIDATION))
    if outlier:
        out.update(dict.fromkeys(_OUTLIER_CHECKS, f"{NOT_X[name]}; {NOT_LABELS}"))
    return out


CHECKED = {
    "LeakDetector": lambda: LeakDetector(),
    "PressureResiduals": lambda: PressureResiduals(),
    "SignatureLocalizer": lambda: SignatureLocalizer(None),  # the network is used in fit only
}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@pytest.mark.parametrize("name", CHECKED)
def test_sklearn_estimator_checks(name):
    est = CHECKED[name]()
    expected = expected_failed_checks(name, is_outlier_detector(est))
    results = check_estimator(est, expected_failed_checks=expected, on_skip=None, on_fail=None)
    status = {r["check_name"]: r["status"] for r in results}
    failed = sorted(c for c, s in status.items() if s == "failed")
    assert not failed, f"{name} fails sklearn checks: {failed}"
    # The list stays exact: a check that now passes must leave it.
    assert {c for c, s in status.items() if s == "xfail"} == set(expected)
    assert sum(s == "passed" for s in status.values()) >= 11


# -- parameters ----------------------------------------------------------

def _non_defaults(ltown):
    """Each estimator with every parameter off its default (mutable values included)."""
    return {
        "LeakDetector": (LeakDetector, dict(
            false_alarms_per_month=0.5, persistence_h=6, slack=1.5, settle_h=24, merge_radius_m=500.0,
            n_candidates=5, area_radius_m=200.0, signature_hours=[3, 15], tz="Africa/Casablanca",
            night_hours=[2, 4], folds=3, margin=1.2, min_score=0.2, drift_score=0.5, report_by="misfit",
            ridge=1e-2, refine_regions=0, confirm_share=0.3, confirm_h=12,
            hold_floor=False, corr_h=6.0, known_candidates=1,
            min_night_excess_lps=1.0, night_wait_score=0.6)),
        "PressureResiduals": (PressureResiduals, dict(ridge=1e-2, harmonics=2, tz="Africa/Casablanca")),
        "SignatureLocalizer": (SignatureLocalizer, dict(network=ltown, hours=[3, 9], tz="Africa/Casablanca",
                                                        max_leak_flow_lps=20.0)),
    }


@pytest.mark.parametrize("name", CHECKED)
def test_init_stores_parameters_unchanged(name, ltown):
    cls, params = _non_defaults(ltown)[name]
    est = cls(**params)
    got = est.get_params(deep=False)
    assert set(got) == set(params)
    for key, value in params.items():
        assert got[key] is value, key  # stored as given: not copied, converted or validated
    assert set(vars(est)) == set(params)  # and nothing derived


@pytest.mark.parametrize("name", CHECKED)
def test_get_params_set_params_round_trip(name, ltown):
    cls, params = _non_defaults(ltown)[name]
    est = cls(**{k: v for k, v in params.items() if k == "network"})
    assert est.set_params(**params) is est
    assert est.get_params(deep=False) == params
    again = cls(**{k: v for k, v in params.items() if k == "network"}).set_params(**est.get_params())
    assert again.get_params(deep=False) == params
    twin = clone(est)
    assert twin is not est and type(twin) is cls
    copied = twin.get_params(deep=False)
    assert set(copied) == set(params)
    for key, value in params.items():
        if key != "network":  # clone deep-copies objects: the network is an equal copy
            assert copied[key] == value, key


def test_validation_happens_in_fit_not_init(ltown):
    LeakDetector(false_alarms_per_month=-1.0)  # stored, not checked
    SignatureLocalizer(ltown, hours=())
    with pytest.raises(ParameterError, match="false_alarms_per_month must be > 0"):
        LeakDetector(false_alarms_per_month=-1.0).fit(None)
    with pytest.raises(ParameterError, match="at least one signature hour"):
        SignatureLocalizer(ltown, hours=()).fit(None, None)


# -- fitted state on real inputs ----------------------------------------

@pytest.fixture(scope="module")
def records(ltown):
    specs = [LeakSpec("n343", "2024-03-11 10:00", 6.0, "abrupt")]
    sc = generate_scenario(ltown, start="2024-03-04", days=9, leaks=specs, n_gaps=1, mixed_units=False, seed=4)
    with tempfile.TemporaryDirectory() as d:
        paths = sc.write(d)
        data = read_scada(paths["scada"], paths["sensors"], ltown)
    return sc, data


def _frames_equal(a, b):
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    else:
        assert (a is None and b is None) or np.array_equal(a, b)


def _same_detection(a, b):
    for field in ("alarms", "residuals_m", "cusum", "night_flow_lps"):
        _frames_equal(getattr(a, field), getattr(b, field))
    assert a.threshold == b.threshold
    assert len(a.rankings) == len(b.rankings)
    for ra, rb in zip(a.rankings, b.rankings):
        _frames_equal(ra, rb)


def _learned(est, before):
    learned = set(vars(est)) - before
    public = {a for a in learned if not a.startswith("_")}
    assert public and all(a.endswith("_") for a in public), public
    return learned


@pytest.mark.parametrize("with_network", [False, True])
def test_leak_detector_conventions(records, ltown, with_network):
    _, data = records
    network = ltown if with_network else None
    values = data.values.copy()
    det = LeakDetector(tz="Africa/Casablanca", signature_hours=(3.0,))
    with pytest.raises(NotFittedError, match="LeakDetector is not fitted"):
        det.predict(data)
    params, before = det.get_params(), set(vars(det))
    assert det.fit(data, network, "2024-03-04", "2024-03-11") is det
    assert det.get_params() == params  # fit leaves the parameters alone
    learned = _learned(det, before)
    result = det.predict(data)
    assert set(vars(det)) == before | learned  # predict adds no state
    pd.testing.assert_frame_equal(data.values, values, check_exact=True)  # inputs not modified
    assert len(result.alarms) > 0  # the 6 L/s leak
    twin = clone(det)
    assert not any(a.endswith("_") for a in vars(twin))  # the clone is unfitted
    _same_detection(twin.fit(data, network, "2024-03-04", "2024-03-11").predict(data), result)
    _same_detection(det.fit(data, network, "2024-03-04", "2024-03-11").predict(data), result)  # idempotent
    _same_detection(det.fit_predict(data, network, "2024-03-04", "2024-03-11"), result)
    if not with_network:
        _same_detection(pickle.loads(pickle.dumps(det)).predict(data), result)


def test_pressure_residuals_conventions(records):
    sc, data = records
    pressures = data.of_kind("pressure")
    train, later = pressures.iloc[:2016], pressures.iloc[2016:]
    train_copy = train.copy()
    model = PressureResiduals(tz="Africa/Casablanca")
    with pytest.raises(NotFittedError, match="PressureResiduals is not fitted"):
        model.predict(later)
    params, before = model.get_params(), set(vars(model))
    assert model.fit(train, folds=3) is model
    assert model.get_params() == params
    learned = _learned(model, before)
    resid = model.predict(later)
    amap = model.linear_map()
    assert set(vars(model)) == before | learned
    pd.testing.assert_frame_equal(train, train_copy, check_exact=True)
    refit = clone(model).fit(train, folds=3)
    pd.testing.assert_frame_equal(refit.predict(later), resid, check_exact=True)
    pd.testing.assert_frame_equal(refit.oof_residuals_, model.oof_residuals_, check_exact=True)
    pd.testing.assert_frame_equal(model.fit(train, folds=3).predict(later), resid, check_exact=True)
    pd.testing.assert_frame_equal(model.linear_map(), amap, check_exact=True)
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(model)).predict(later), resid, check_exact=True)
    order = np.arange(len(later))[::-1]
    pd.testing.assert_frame_equal(model.predict(later.iloc[order]), resid.iloc[order])
    pd.testing.assert_frame_equal(model.predict(later.iloc[:50]), resid.iloc[:50])


def test_signature_localizer_conventions(records, ltown):
    sc, data = records
    pressures = data.of_kind("pressure")
    model = PressureResiduals(tz="Africa/Casablanca").fit(pressures.iloc[:2016])
    hourly = model.predict(pressures.iloc[2016:]).resample("1h").mean()
    shift = hourly.loc["2024-03-11 12:00":] - hourly.loc[:"2024-03-11 09:00"].mean()
    sigma = hourly.std()
    loc = SignatureLocalizer(ltown, hours=[3], tz="Africa/Casablanca")
    with pytest.raises(NotFittedError, match="SignatureLocalizer is not fitted"):
        loc.rank(shift, sigma)
    params, before = loc.get_params(), set(vars(loc))
    assert loc.fit(model, data.sensors) is loc
    assert loc.get_params() == params and loc.hours == [3] and loc.hours_ == (3.0,)
    learned = _learned(loc, before)
    ranking = loc.rank(shift, sigma)
    assert set(vars(loc)) == before | learned
    assert ranking.index[0] in set(ltown.junctions)
    pd.testing.assert_frame_equal(clone(loc).fit(model, data.sensors).rank(shift, sigma), ranking, check_exact=True)
    pd.testing.assert_frame_equal(loc.fit(model, data.sensors).rank(shift, sigma), ranking, check_exact=True)
