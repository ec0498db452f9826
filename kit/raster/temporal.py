"""Temporal gap-filling and smoothing of index time series (field × date).

Series are small (fields × a few dozen dates), so these run on the host with
NumPy/SciPy; the pixel-heavy work (indices, masks, zonal means) happens
before, on the chosen backend.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["fill_gaps", "smooth", "daily_curve"]


def fill_gaps(values, days, target_days, *, max_gap_days: float | None = None, edge: str = "nearest"):
    """Linear interpolation of each row over its valid (non-NaN) observations.

    Parameters
    ----------
    values : array (n_series, n_obs), NaN where masked
    days : array (n_obs,), observation times (days, increasing)
    target_days : array (n_out,), times to estimate
    max_gap_days : float, optional
        Targets farther than this from any observation stay NaN.
    edge : {"nearest", "nan"}
        Before the first / after the last observation: hold the nearest
        value, or NaN.

    Returns
    -------
    array (n_series, n_out); rows without any observation are all NaN.

    Examples
    --------
    >>> import numpy as np
    >>> fill_gaps(np.array([[0.2, np.nan, 0.6]]), np.array([0, 10, 20]), np.array([0, 5, 10, 25])).round(2).tolist()
    [[0.2, 0.3, 0.4, 0.6]]
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    days = np.asarray(days, dtype=float)
    target = np.asarray(target_days, dtype=float)
    out = np.full((values.shape[0], target.size), np.nan)
    for i, row in enumerate(values):
        ok = np.isfinite(row)
        if not ok.any():
            continue
        x, y = days[ok], row[ok]
        res = np.interp(target, x, y)
        if edge == "nan":
            res[(target < x[0]) | (target > x[-1])] = np.nan
        if max_gap_days is not None:
            pos = np.searchsorted(x, target)
            left = np.abs(target - x[np.clip(pos - 1, 0, x.size - 1)])
            right = np.abs(x[np.clip(pos, 0, x.size - 1)] - target)
            res[np.minimum(left, right) > max_gap_days] = np.nan
        out[i] = res
    return out


def smooth(daily, window_days: int = 21, polyorder: int = 2):
    """Savitzky-Golay smoothing of daily series along the last axis (NaN-aware at the edges).

    Parameters
    ----------
    daily : array (..., n_days), gap-filled daily values
    window_days : int, odd, smoothing window
    polyorder : int

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 60) ** 2
    >>> bool(np.allclose(smooth(x[None], 11)[0], x, atol=1e-9))   # a quadratic is kept exactly
    True
    """
    from scipy.signal import savgol_filter

    daily = np.asarray(daily, dtype=float)
    window = int(window_days) | 1
    if window <= polyorder or daily.shape[-1] < window:
        return daily.copy()
    finite = np.isfinite(daily)
    filled = np.where(finite, daily, 0.0)
    out = savgol_filter(filled, window, polyorder, axis=-1, mode="interp")
    return np.where(finite, out, np.nan)


def daily_curve(series: pd.DataFrame, start, end, *, window_days: int = 21, max_gap_days: float = 45.0):
    """Gap-filled, smoothed daily curve of each field from irregular observations.

    Parameters
    ----------
    series : pandas.DataFrame
        Index ``field_id``, columns observation dates (Timestamp), NaN where
        cloudy.
    start, end : date-like
        Daily grid (inclusive).
    window_days : int
        Savitzky-Golay window.
    max_gap_days : float
        Days farther than this from any clear observation stay NaN.

    Returns
    -------
    pandas.DataFrame
        Index ``field_id``, columns the days ``start..end``.
    """
    grid = pd.date_range(start, end, freq="D")
    t0 = grid[0]
    obs_days = np.asarray((pd.DatetimeIndex(series.columns) - t0).days, dtype=float)
    grid_days = np.arange(len(grid), dtype=float)
    filled = fill_gaps(series.to_numpy(float), obs_days, grid_days, max_gap_days=max_gap_days)
    return pd.DataFrame(smooth(filled, window_days), index=series.index, columns=grid)
