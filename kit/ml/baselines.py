"""Naive yield baselines a model must beat: the field's mean, and its mean plus a regional trend."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["FieldMeanBaseline", "LinearTrendBaseline"]


class FieldMeanBaseline(RegressorMixin, BaseEstimator):
    """Predict each field's mean yield over the training years (the region's mean for unseen fields).

    ``fit(X, y)`` and ``predict(X)`` take a DataFrame with ``field_id`` and ``year`` columns;
    other columns are ignored.

    Attributes
    ----------
    field_mean_ : pandas.Series
        Mean yield of each training field, indexed by ``field_id``.
    overall_ : float
        Mean of all training yields.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"field_id": ["a", "a", "b"], "year": [2020, 2021, 2020]})
    >>> FieldMeanBaseline().fit(X, [2.0, 4.0, 1.0]).predict(pd.DataFrame({"field_id": ["a", "c"], "year": [2022, 2022]})).tolist()
    [3.0, 2.3333333333333335]
    """

    def fit(self, X: pd.DataFrame, y):
        table = pd.DataFrame({"field_id": X["field_id"].to_numpy(), "y": np.asarray(y, float)})
        self.field_mean_ = table.groupby("field_id")["y"].mean()
        self.overall_ = float(table["y"].mean())
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        return X["field_id"].map(self.field_mean_).fillna(self.overall_).to_numpy(float)


class LinearTrendBaseline(RegressorMixin, BaseEstimator):
    """Field mean plus a region-wide linear trend in the year (pooled within-field slope).

    ``fit(X, y)`` and ``predict(X)`` take a DataFrame with ``field_id`` and ``year`` columns.

    Per-field trends over a handful of seasons mostly fit weather noise;
    one slope for the region (yield gain from varieties and practice) is
    the usual trend baseline of yield benchmarks (e.g. CY-Bench).

    Attributes
    ----------
    slope_ : float
        Yield gain per year (target unit per year), 0 when no field has two years.
    field_intercept_ : pandas.Series
        Each training field's mean of ``y - slope_ * year``.
    overall_intercept_ : float
        The same over all training rows (for unseen fields).

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"field_id": ["a", "a", "b", "b"], "year": [2020, 2021, 2020, 2021]})
    >>> m = LinearTrendBaseline().fit(X, [2.0, 2.5, 1.0, 1.5])
    >>> round(m.slope_, 3), m.predict(pd.DataFrame({"field_id": ["a"], "year": [2022]})).round(3).tolist()
    (0.5, [3.0])
    """

    def fit(self, X: pd.DataFrame, y):
        t = pd.DataFrame({"field_id": X["field_id"].to_numpy(), "year": X["year"].to_numpy(float), "y": np.asarray(y, float)})
        dy = t["y"] - t.groupby("field_id")["y"].transform("mean")
        dx = t["year"] - t.groupby("field_id")["year"].transform("mean")
        self.slope_ = float((dx * dy).sum() / (dx * dx).sum()) if (dx * dx).sum() > 0 else 0.0
        detrended = t["y"] - self.slope_ * t["year"]
        self.field_intercept_ = detrended.groupby(t["field_id"]).mean()
        self.overall_intercept_ = float(detrended.mean())
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        intercept = X["field_id"].map(self.field_intercept_).fillna(self.overall_intercept_).to_numpy(float)
        return intercept + self.slope_ * X["year"].to_numpy(float)
