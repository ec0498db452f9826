import numpy as np
import pytest
from scipy.special import expit
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression

from kit.errors import InputDataError
from kit.medical.calibrate import (apply_temperature, binary_nll, expected_calibration_error, fit_temperature,
                                   reliability_curve)


def _overconfident(n=20000, factor=2.5, seed=0):
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(0, 1.5, n)
    y = (rng.random(n) < expit(true_logit)).astype(int)
    return factor * true_logit, y


def test_temperature_equals_logistic_regression_slope():
    # Temperature scaling is a one-parameter logistic regression on the logit without intercept:
    # an independent fit (scikit-learn, unpenalised) gives slope 1/T.
    z, y = _overconfident()
    t = fit_temperature(z, y, platt_targets=False)
    lr = LogisticRegression(fit_intercept=False, C=np.inf, tol=1e-10).fit(z[:, None], y)
    assert t == pytest.approx(1 / lr.coef_[0, 0], rel=1e-3)
    assert t == pytest.approx(2.5, rel=0.05)


def test_temperature_lowers_nll_and_ece_and_keeps_order():
    z, y = _overconfident(seed=1)
    t = fit_temperature(z, y)
    assert binary_nll(z, y, t) < binary_nll(z, y, 1.0)
    assert expected_calibration_error(apply_temperature(z, t), y) < 0.5 * expected_calibration_error(expit(z), y)
    assert (np.argsort(apply_temperature(z, t), kind="stable") == np.argsort(z, kind="stable")).all()


def test_separable_validation_set_stays_finite_with_platt_targets():
    z = np.r_[np.linspace(-8, -2, 50), np.linspace(2, 8, 50)]
    y = np.r_[np.zeros(50), np.ones(50)]
    assert fit_temperature(z, y, platt_targets=False) == pytest.approx(0.05, rel=1e-3)  # the bound
    t = fit_temperature(z, y)
    # Fitted to targets 51/52 and 1/52: the least confident positive gets about that probability.
    assert 0.3 < t < 3
    assert apply_temperature(z, t).max() < 0.9999


def test_reliability_curve_matches_sklearn():
    z, y = _overconfident(n=5000, seed=2)
    p = expit(z)
    ours = reliability_curve(p, y, n_bins=10)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(ours.observed, prob_true, atol=1e-12)
    np.testing.assert_allclose(ours.mean_predicted, prob_pred, atol=1e-12)


def test_bad_input_refused():
    with pytest.raises(InputDataError, match="both"):
        fit_temperature([1.0, 2.0], [1, 1])
    with pytest.raises(InputDataError, match="0 or 1"):
        fit_temperature([1.0, 2.0], [0, 2])
