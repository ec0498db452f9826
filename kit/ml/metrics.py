"""Skill metrics for point and interval predictions (NaN-free inputs required)."""
from __future__ import annotations

import numpy as np

from kit.errors import InputDataError

__all__ = ["interval_coverage", "mae", "nrmse", "r2", "rmse"]


def _arrays(y_true, y_pred):
    a, b = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if a.shape != b.shape:
        raise InputDataError(f"observed and predicted differ in length ({a.shape} vs {b.shape})")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InputDataError("NaN in observed or predicted values; drop or explain the missing rows before scoring")
    return a, b


def rmse(y_true, y_pred) -> float:
    """Root mean square error, in the unit of ``y``.

    Examples
    --------
    >>> rmse([1.0, 2.0], [1.0, 4.0])
    1.4142135623730951
    """
    a, b = _arrays(y_true, y_pred)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def mae(y_true, y_pred) -> float:
    """Mean absolute error, in the unit of ``y``.

    >>> mae([1.0, 2.0], [2.0, 4.0])
    1.5
    """
    a, b = _arrays(y_true, y_pred)
    return float(np.mean(np.abs(a - b)))


def nrmse(y_true, y_pred) -> float:
    """RMSE divided by the mean observation (unitless; 0.2 = 20 % of the mean yield).

    >>> round(nrmse([2.0, 4.0], [2.0, 5.0]), 4)
    0.2357
    """
    a, _ = _arrays(y_true, y_pred)
    return rmse(y_true, y_pred) / float(np.mean(a))


def r2(y_true, y_pred) -> float:
    """Coefficient of determination ``1 - SSE / SST`` (negative when worse than the mean).

    >>> r2([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    1.0
    """
    a, b = _arrays(y_true, y_pred)
    sst = float(np.sum((a - a.mean()) ** 2))
    return float(1.0 - np.sum((a - b) ** 2) / sst) if sst > 0 else float("nan")


def interval_coverage(y_true, lower, upper) -> float:
    """Share of observations inside ``[lower, upper]`` (P10-P90: 0.8 when calibrated).

    >>> interval_coverage([1.0, 2.0, 3.0, 4.0], [0, 0, 0, 0], [2.5, 2.5, 2.5, 5])
    0.75
    """
    a, lo = _arrays(y_true, lower)
    _, hi = _arrays(y_true, upper)
    return float(np.mean((a >= lo) & (a <= hi)))
