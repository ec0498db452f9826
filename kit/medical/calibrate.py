"""Probability calibration: temperature scaling and reliability curves.

Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural
Networks", ICML) divides the network's logits by one scalar ``T > 0`` fitted
on validation data by minimising the negative log-likelihood. It leaves the
ranking (and so the AUROC) unchanged and makes ``p_urgent`` mean what it says.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit, log_expit

from kit.errors import InputDataError


def _check(logits, labels):
    z = np.asarray(logits, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if z.shape != y.shape:
        raise InputDataError(f"{z.size} logits but {y.size} labels; give one label per image")
    if not np.isin(y, (0, 1)).all():
        raise InputDataError("labels must be 0 or 1 (studies without a label cannot calibrate); drop them first")
    if len(np.unique(y)) < 2:
        raise InputDataError("calibration needs both urgent and non-urgent studies in the validation split")
    return z, y.astype(np.float64)


def binary_nll(logits, labels, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood (nats) of 0/1 labels under ``sigmoid(logits / T)``.

    Examples
    --------
    >>> round(binary_nll([0.0, 0.0], [0, 1]), 4)  # log 2
    0.6931
    """
    z, y = _check(logits, labels)
    return _nll(z, y, temperature)


def _nll(z, y, temperature):
    s = z / temperature
    return float(-np.mean(y * log_expit(s) + (1 - y) * log_expit(-s)))


def fit_temperature(logits, labels, bounds=(0.05, 20.0), platt_targets: bool = True) -> float:
    """The temperature ``T`` minimising the validation NLL of ``sigmoid(logits / T)``.

    Parameters
    ----------
    logits : array (n,)
        Uncalibrated network outputs on validation images.
    labels : array (n,) of 0/1
    bounds : (float, float)
        Search interval for ``T`` (searched on a log scale).
    platt_targets : bool
        Fit to Platt's (1999) smoothed targets ``(N+ + 1) / (N+ + 2)`` and
        ``1 / (N- + 2)`` instead of 1 and 0. Without them a validation split
        the network separates perfectly drives ``T`` to zero (every
        probability 0 or 1), which no finite sample can justify.

    Returns
    -------
    float
        ``T > 1`` shrinks over-confident probabilities toward 0.5.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> true_logit = rng.normal(0, 2, 20000)
    >>> y = (rng.random(20000) < expit(true_logit)).astype(int)
    >>> round(fit_temperature(3 * true_logit, y), 1)  # three times over-confident
    3.0
    >>> round(fit_temperature([-5.0, -4.0, 4.0, 5.0], [0, 0, 1, 1], platt_targets=False), 2)  # separable
    0.05
    """
    z, y = _check(logits, labels)
    if platt_targets:
        n_pos, n_neg = y.sum(), len(y) - y.sum()
        y = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    res = minimize_scalar(lambda log_t: _nll(z, y, float(np.exp(log_t))), bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-5})
    return float(np.exp(res.x))


def apply_temperature(logits, temperature: float) -> np.ndarray:
    """``sigmoid(logits / T)`` as float64 probabilities."""
    return expit(np.asarray(logits, dtype=np.float64) / temperature)


def reliability_curve(prob, labels, n_bins: int = 10):
    """Observed frequency against mean predicted probability in equal-width bins.

    Returns
    -------
    DataFrame
        ``bin_low, bin_high, n, mean_predicted, observed`` for non-empty bins.
    """
    import pandas as pd

    p = np.asarray(prob, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    edges = np.linspace(0, 1, n_bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)
    n = np.bincount(idx, minlength=n_bins)
    sp = np.bincount(idx, weights=p, minlength=n_bins)
    sy = np.bincount(idx, weights=y, minlength=n_bins)
    keep = n > 0
    return pd.DataFrame({"bin_low": edges[:-1][keep], "bin_high": edges[1:][keep], "n": n[keep],
                         "mean_predicted": sp[keep] / n[keep], "observed": sy[keep] / n[keep]})


def expected_calibration_error(prob, labels, n_bins: int = 10) -> float:
    """ECE: bin-weighted mean of ``|observed - mean predicted|`` (equal-width bins).

    Examples
    --------
    >>> expected_calibration_error([0.2, 0.2, 0.8, 0.8], [0, 1, 1, 1])
    0.25
    """
    curve = reliability_curve(prob, labels, n_bins)
    w = curve.n / curve.n.sum()
    return round(float((w * (curve.observed - curve.mean_predicted).abs()).sum()), 12)
