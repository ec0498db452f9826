"""Shrinkage of a yield forecast towards a baseline: the season's mean departure and each field's departure from it apart.

A forecast departs from its baseline (field mean or trend, t/ha) by what
the model says about the season as a whole (the mean departure of the
season's fields) and by what it says about each field within the season.
Inner year folds of the wheat of benchmarks/yield_skill.py and of the
embedded region mostly find the first worth keeping whole (weight 0.9-1)
and the second worth shrinking (weight 0.65-0.8): the model's field
differences within a season carry more of its error than the season's
level. One weight for both shrank extreme seasons 20-25 % towards the trend,
which the held-out seasons lost (the benchmark's docstring has the figures).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["WEIGHTS", "fit_season_weights", "season_split", "shrink"]

#: Grid of shrinkage weights searched on inner folds (0: the baseline, 1: the model's departure kept whole).
WEIGHTS = np.linspace(0.0, 1.0, 21)


def season_split(departure_t_ha, years) -> tuple[np.ndarray, np.ndarray]:
    """The departure (t/ha) split into its season's mean over the rows of that season and the rest.

    Returns ``(season_mean, within)`` with ``season_mean + within == departure``.
    A season given by a single row is all season mean (``within`` 0).

    >>> s, w = season_split([1.0, 3.0, -2.0], [2020, 2020, 2021])
    >>> s.tolist(), w.tolist()
    ([2.0, 2.0, -2.0], [-1.0, 1.0, 0.0])
    """
    d = np.asarray(departure_t_ha, dtype=float)
    mean = pd.Series(d).groupby(np.asarray(years)).transform("mean").to_numpy()
    return mean, d - mean


def shrink(base_t_ha, forecast_t_ha, years, season_weight: float, within_weight: float) -> np.ndarray:
    """``base + season_weight * season mean departure + within_weight * the rest`` (t/ha), the departure ``forecast - base``.

    With equal weights this is the one-weight shrinkage ``base + w (forecast - base)``, whatever the seasons.
    """
    base = np.asarray(base_t_ha, dtype=float)
    departure = np.asarray(forecast_t_ha, dtype=float) - base
    if season_weight == within_weight:  # exactly, not to rounding: a row's forecast stays independent of the others
        return base + season_weight * departure
    mean, within = season_split(departure, years)
    return base + season_weight * mean + within_weight * within


def fit_season_weights(base_t_ha, forecast_t_ha, years, y_t_ha) -> tuple[float, float, float]:
    """The season-mean and within-season weights of :func:`shrink` of least squared error on inner out-of-year rows.

    Returns ``(season_weight, within_weight, mse)`` (mse in t²/ha²); ties go to the smaller weights.
    """
    base, y = np.asarray(base_t_ha, dtype=float), np.asarray(y_t_ha, dtype=float)
    mean, within = season_split(np.asarray(forecast_t_ha, dtype=float) - base, years)
    f = base[None, None, :] + WEIGHTS[:, None, None] * mean[None, None, :] + WEIGHTS[None, :, None] * within[None, None, :]
    errors = np.mean((f - y) ** 2, axis=2)  # (season weight, within weight)
    i, j = np.unravel_index(int(np.argmin(errors)), errors.shape)
    return float(WEIGHTS[i]), float(WEIGHTS[j]), float(errors[i, j])
