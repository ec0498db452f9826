"""LightGBM quantile regression: P10/P50/P90 with per-prediction feature contributions."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_is_fitted

__all__ = ["QuantileGBM"]


class QuantileGBM(RegressorMixin, BaseEstimator):
    """One LightGBM model per quantile (pinball loss), deterministic.

    A scikit-learn estimator that needs a DataFrame (it keeps the column
    names and LightGBM's handling of ``category`` columns) and predicts a
    DataFrame with one column per quantile.

    Parameters
    ----------
    quantiles : sequence of float
        Default P10, P50, P90.
    n_estimators, learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree, reg_lambda :
        LightGBM parameters (small trees: a few thousand field-years).
    max_bin : int
        Histogram bins per feature (LightGBM ``max_bin``); 63 trains about a
        third faster than 255 with the same skill on a few thousand rows.
    seed : int
    n_jobs : int
        Threads; results do not depend on it (``deterministic=True``).
    monotone : dict of str -> int, optional
        Column -> +1 (prediction non-decreasing in it) or -1 (non-increasing),
        LightGBM's ``monotone_constraints``; columns not named are free, names
        absent from the training columns are ignored. LightGBM refuses them
        with the quantile objective, so they bind the median's model only,
        which is then fitted by least squares (a mean; for yields, whose
        spread about a season's level is nearly symmetric, close to the
        median); the other quantiles stay free.
    monotone_method : {"basic", "intermediate", "advanced"}
        LightGBM's ``monotone_constraints_method``: how strictly a split's
        children are bounded to keep the constraints. ``basic`` bounds both
        children by their mean and stiffens the fit most; ``intermediate`` and
        ``advanced`` keep the same monotone result with looser bounds.
    name : str
        Prefix of the output columns (``yield`` -> ``yield_p10`` ...).

    Attributes
    ----------
    quantiles_ : tuple of float
        The fitted quantiles, in the order of the output columns.
    models_ : dict
        Quantile -> fitted ``lightgbm.LGBMRegressor``.
    feature_names_ : list of str
        Columns of the training DataFrame; ``predict`` selects them by name.
    n_features_in_ : int
        Number of training columns.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"rain_mm": rng.uniform(200, 600, 400)})
    >>> y = X["rain_mm"] / 150 + rng.normal(0, 0.3, 400)
    >>> m = QuantileGBM(n_estimators=100).fit(X, y)
    >>> p = m.predict(pd.DataFrame({"rain_mm": [300.0, 500.0]}))
    >>> list(p.columns), bool((p["yield_p10"] < p["yield_p90"]).all())
    (['yield_p10', 'yield_p50', 'yield_p90'], True)
    """

    def __init__(self, quantiles=(0.1, 0.5, 0.9), n_estimators: int = 300, learning_rate: float = 0.03, num_leaves: int = 15,
                 min_child_samples: int = 20, subsample: float = 0.8, colsample_bytree: float = 0.8, reg_lambda: float = 1.0,
                 max_bin: int = 255, seed: int = 0, n_jobs: int = 1, monotone=None, monotone_method: str = "basic",
                 name: str = "yield"):
        self.quantiles = quantiles
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.max_bin = max_bin
        self.seed = seed
        self.n_jobs = n_jobs
        self.monotone = monotone
        self.monotone_method = monotone_method
        self.name = name

    def _column(self, q) -> str:
        return f"{self.name}_p{int(round(q * 100)):02d}"

    def fit(self, X: pd.DataFrame, y):
        import lightgbm as lgb

        self.quantiles_ = tuple(self.quantiles)
        self.feature_names_ = list(X.columns)
        self.n_features_in_ = len(self.feature_names_)
        self.models_ = {}
        signs = dict(self.monotone or {})
        extra = {"monotone_constraints": [int(signs.get(c, 0)) for c in self.feature_names_],
                 "monotone_constraints_method": self.monotone_method} if signs else {}
        for q in self.quantiles_:
            constrained = bool(extra) and abs(q - 0.5) < 1e-9
            objective = {"objective": "regression", **extra} if constrained else {"objective": "quantile", "alpha": q}
            model = lgb.LGBMRegressor(
                **objective, n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                num_leaves=self.num_leaves, min_child_samples=self.min_child_samples, subsample=self.subsample,
                subsample_freq=1, colsample_bytree=self.colsample_bytree, reg_lambda=self.reg_lambda, max_bin=self.max_bin,
                random_state=self.seed, n_jobs=self.n_jobs, deterministic=True, force_row_wise=True, verbose=-1,
            )
            model.fit(X, np.asarray(y, dtype=float))
            self.models_[q] = model
        return self

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """Quantile predictions, one column per quantile, sorted per row (no crossing)."""
        check_is_fitted(self)
        raw = np.column_stack([self.models_[q].predict(X[self.feature_names_]) for q in self.quantiles_])
        return pd.DataFrame(np.sort(raw, axis=1), index=X.index, columns=[self._column(q) for q in self.quantiles_])

    def score(self, X: pd.DataFrame, y, sample_weight=None) -> float:
        """R² of the quantile nearest the median (the point forecast); the interval is not scored."""
        pred = self.predict(X)
        median = int(np.argmin([abs(q - 0.5) for q in self.quantiles_]))
        return float(r2_score(y, pred.iloc[:, median], sample_weight=sample_weight))

    def contributions(self, X: pd.DataFrame, quantile: float = 0.5) -> pd.DataFrame:
        """Per-prediction feature contributions (TreeSHAP) of one quantile model.

        Each row's contributions plus the ``bias`` column add up to that
        quantile's raw prediction, in the target's unit (t/ha).
        """
        check_is_fitted(self)
        model = self.models_[quantile]
        contrib = model.predict(X[self.feature_names_], pred_contrib=True)
        return pd.DataFrame(contrib, index=X.index, columns=[*self.feature_names_, "bias"])
