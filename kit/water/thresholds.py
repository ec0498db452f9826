"""The alarm statistic and its threshold: a one-sided CUSUM and a Gumbel fit of its daily maxima.

The threshold is set from a target false-alarm rate: the daily maxima of
the CUSUM on leak-free (out-of-fold) residuals follow roughly a Gumbel law,
and the threshold is the level they exceed on ``rate / DAYS_PER_MONTH`` of days.
"""
from __future__ import annotations

import math

import numpy as np

from kit.errors import InputDataError

__all__ = ["DAYS_PER_MONTH", "cusum", "gumbel_threshold"]

DAYS_PER_MONTH = 30.44


def cusum(z: np.ndarray, slack: float) -> np.ndarray:
    """One-sided CUSUM ``S_t = max(0, S_{t-1} + z_t - slack)`` per column; NaN keeps ``S``.

    Parameters
    ----------
    z : array (time, series)
        Standardized statistic (positive: towards a leak).
    slack : float
        Reference value ``k`` in standard deviations (half the shift to detect).

    Examples
    --------
    >>> cusum(np.array([[0.0], [2.0], [2.0], [-5.0]]), 0.5)[:, 0].tolist()
    [0.0, 1.5, 3.0, 0.0]
    """
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    s = np.zeros(z.shape[1])
    for t in range(z.shape[0]):
        step = z[t] - slack
        s = np.where(np.isnan(step), s, np.maximum(0.0, s + np.nan_to_num(step)))
        out[t] = s
    return out


def gumbel_threshold(daily_max: np.ndarray, per_day: float) -> float:
    """Level a daily maximum exceeds with probability ``per_day`` (Gumbel, method of moments).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.gumbel(5.0, 2.0, 20000)
    >>> round(gumbel_threshold(x, 0.01), 1), round(float(5.0 - 2.0 * np.log(-np.log(0.99))), 1)
    (14.2, 14.2)
    """
    x = np.asarray(daily_max, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        raise InputDataError("training window too short to calibrate the alarm threshold; give at least 2 days")
    beta = max(float(np.std(x, ddof=1)) * math.sqrt(6) / math.pi, 1e-6)
    mu = float(np.mean(x)) - 0.5772156649 * beta
    return mu - beta * math.log(-math.log1p(-per_day))
