"""Data-driven pressure residuals: each pressure predicted from the others.

Every pressure sensor is regressed (ridge, on standardized values) on the
other pressures, the tank levels and pump flows, and calendar features
(hour-of-day harmonics in local time, weekend). Demand moves all pressures
together and the regression follows it; a leak lowers the pressures near it
more than the others, which the regression cannot explain: that is the
residual. The model is linear, so a leak signature (pressure change at each
sensor) maps to the residual change it causes through :meth:`linear_map`.

Missing readings (gaps, masked stuck values) do not stop it: the model
keeps the training Gram matrix and solves, for each pattern of missing
sensors, the regression on the sensors present.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from kit.errors import InputDataError
from kit.water.fitted import check_fitted

__all__ = ["calendar_features", "PressureResiduals"]


def calendar_features(index: pd.DatetimeIndex, tz: str = "UTC", harmonics: int = 3) -> np.ndarray:
    """Hour-of-day harmonics (sin, cos) in local time and a weekend flag.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-06", periods=2, freq="6h", tz="UTC")
    >>> calendar_features(idx, harmonics=1).round(3).tolist()
    [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]]
    """
    local = index.tz_convert(tz) if index.tz is not None else index
    hour = np.asarray(local.hour + local.minute / 60.0, dtype=float)
    cols = []
    for k in range(1, harmonics + 1):
        cols += [np.sin(2 * np.pi * k * hour / 24), np.cos(2 * np.pi * k * hour / 24)]
    cols.append((np.asarray(local.day_of_week) >= 5).astype(float))
    return np.column_stack(cols)


class PressureResiduals(BaseEstimator):
    """Ridge model of each pressure sensor from the other sensors and the calendar.

    A scikit-learn estimator without a mixin: :meth:`predict` returns
    residuals (observed minus predicted), neither the targets a regressor's
    ``score`` compares nor a transform of its first argument alone (it also
    takes the auxiliary inputs).

    Parameters
    ----------
    ridge : float
        Ridge penalty per training row on standardized inputs (small: the
        sensors are many and collinear, the rows thousands).
    harmonics : int
        Hour-of-day harmonics.
    tz : str
        Local time zone for the calendar features.

    Attributes
    ----------
    targets_ : list of str
        Pressure sensors modelled.
    inputs_ : list of str
        Targets plus auxiliary inputs (levels, pump flows).
    sigma_m_ : pandas.Series, m
        Residual standard deviation of each target on the training rows.
    mu_, sd_ : ndarray
        Mean and standard deviation of each input on the training rows.
    n_train_ : int
        Complete training rows.
    gram_ : ndarray
        Gram matrix of the standardized design on the training rows.
    oof_residuals_ : pandas.DataFrame or None, m
        Out-of-fold residuals of the training rows (``folds`` > 1).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> idx = pd.date_range("2024-01-01", periods=600, freq="5min", tz="UTC")
    >>> demand = np.sin(np.arange(600) / 40)
    >>> x = pd.DataFrame({f"P{i}": 30 - (i + 1) * demand + rng.normal(0, 0.01, 600) for i in range(3)}, index=idx)
    >>> m = PressureResiduals().fit(x)  # sensor noise 0.01 m; the demand swing of 1-3 m is explained
    >>> m.sigma_m_.round(2).tolist()
    [0.01, 0.01, 0.02]
    """

    def __init__(self, ridge: float = 1e-3, harmonics: int = 3, tz: str = "UTC"):
        self.ridge = ridge
        self.harmonics = harmonics
        self.tz = tz

    # -- design -----------------------------------------------------------
    def _design(self, inputs: pd.DataFrame) -> np.ndarray:
        z = (inputs[self.inputs_].to_numpy(dtype=float) - self.mu_) / self.sd_
        cal = calendar_features(inputs.index, self.tz, self.harmonics)
        return np.column_stack([z, cal, np.ones(len(z))])

    def fit(self, targets: pd.DataFrame, auxiliary: pd.DataFrame | None = None, *, folds: int = 0):
        """Fit on a (leak-free, as far as known) training period.

        Parameters
        ----------
        targets : pandas.DataFrame, m
            Pressure sensors, UTC index.
        auxiliary : pandas.DataFrame, optional
            Extra inputs on the same index (tank levels in m, pump flows in L/s).
        folds : int
            When > 1, also keep out-of-fold residuals of the training rows
            (contiguous blocks) in ``oof_residuals_``: honest residuals for
            calibrating thresholds.
        """
        if targets.shape[1] < 2:
            raise InputDataError("residual model needs at least 2 pressure sensors with data in the training window")
        self.targets_ = list(targets.columns)
        inputs = targets if auxiliary is None else targets.join(auxiliary, how="left")
        self.inputs_ = list(inputs.columns)
        x = inputs.to_numpy(dtype=float)
        ok = ~np.isnan(x).any(axis=1)
        # An auxiliary input that is always missing would empty the training set: drop it.
        if ok.sum() < 48 and auxiliary is not None:
            return self.fit(targets, None, folds=folds)
        if ok.sum() < 48:
            raise InputDataError(f"training window has {int(ok.sum())} complete rows of pressure readings; "
                                 "choose a longer train_start..train_end with data from all sensors")
        self.mu_ = np.nanmean(x[ok], axis=0)
        sd = np.nanstd(x[ok], axis=0)
        self.sd_ = np.where(sd > 1e-9, sd, 1.0)
        design = self._design(inputs)[ok]
        self.n_train_ = int(ok.sum())
        self.gram_ = design.T @ design
        # Coefficients solved per (target, sensors present), filled as missing-data patterns appear:
        # a memo of what gram_ determines, not learned state.
        self._coef_cache = {}
        res = self._residuals(inputs.iloc[np.flatnonzero(ok)], self.gram_, self.n_train_)
        self.sigma_m_ = res.std()
        self.oof_residuals_ = None
        if folds and folds > 1:
            blocks = np.array_split(np.flatnonzero(ok), folds)
            parts = []
            for rows in blocks:
                d = self._design(inputs.iloc[rows])
                g = self.gram_ - d.T @ d
                parts.append(self._residuals(inputs.iloc[rows], g, self.n_train_ - len(rows), cache=False))
            self.oof_residuals_ = pd.concat(parts).sort_index()
        return self

    # -- solving ----------------------------------------------------------
    def _coef(self, gram, n, target: int, present: tuple, cache=True):
        key = (target, present)
        if cache and key in self._coef_cache:
            return self._coef_cache[key]
        n_in = len(self.inputs_)
        feats = [k for k in present if k != target] + list(range(n_in, gram.shape[0]))
        a = gram[np.ix_(feats, feats)].copy()
        pen = self.ridge * n
        a[np.diag_indices_from(a)] += pen
        a[-1, -1] -= pen  # the intercept is not penalized
        beta = np.linalg.solve(a, gram[feats, target])
        if cache:
            self._coef_cache[key] = (feats, beta)
        return feats, beta

    def _residuals(self, inputs: pd.DataFrame, gram, n, cache=True) -> pd.DataFrame:
        design = self._design(inputs)
        n_in = len(self.inputs_)
        missing = np.isnan(design[:, :n_in])
        out = np.full((len(inputs), len(self.targets_)), np.nan)
        patterns, inverse = np.unique(missing, axis=0, return_inverse=True)
        inverse = np.asarray(inverse).ravel()
        for p, miss in enumerate(patterns):
            rows = np.flatnonzero(inverse == p)
            present = tuple(int(k) for k in np.flatnonzero(~miss))
            if len([k for k in present if k < len(self.targets_)]) < 2:
                continue
            d = np.nan_to_num(design[rows])
            for t in range(len(self.targets_)):
                if miss[t]:
                    continue
                feats, beta = self._coef(gram, n, t, present, cache)
                out[rows, t] = (d[:, t] - d[:, feats] @ beta) * self.sd_[t]
        return pd.DataFrame(out, index=inputs.index, columns=self.targets_)

    def predict(self, targets: pd.DataFrame, auxiliary: pd.DataFrame | None = None) -> pd.DataFrame:
        """Residuals (observed minus predicted pressure), m; NaN where the sensor has no reading."""
        check_fitted(self, "gram_", "call fit first")
        inputs = targets if auxiliary is None else targets.join(auxiliary, how="left")
        for col in self.inputs_:
            if col not in inputs.columns:
                inputs = inputs.assign(**{col: np.nan})
        return self._residuals(inputs[self.inputs_], self.gram_, self.n_train_)

    def linear_map(self) -> pd.DataFrame:
        """Residual change per input change, with every input present (targets × inputs).

        ``A @ dx`` is the residual change caused by a change ``dx`` of the
        inputs (e.g. a leak signature, m), the calendar being unchanged.
        """
        check_fitted(self, "gram_", "call fit first")
        n_in = len(self.inputs_)
        a = np.zeros((len(self.targets_), n_in))
        present = tuple(range(n_in))
        for t in range(len(self.targets_)):
            feats, beta = self._coef(self.gram_, self.n_train_, t, present)
            a[t, t] = 1.0
            for f, b in zip(feats, beta):
                if f < n_in:
                    a[t, f] -= b * self.sd_[t] / self.sd_[f]
        return pd.DataFrame(a, index=self.targets_, columns=self.inputs_)
