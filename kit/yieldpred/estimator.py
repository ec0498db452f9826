"""The P10/P50/P90 yield estimator on a season feature table, and the training rows it is fitted on.

:class:`YieldModel` is a scikit-learn regressor over the feature table of
:meth:`kit.yieldpred.features.FeatureBuilder.features`: quantile gradient
boosting (:class:`kit.ml.QuantileGBM`) blended with a plain least-squares
LightGBM, shrunk towards the better of two baselines and its interval
widened by conformal scores, all chosen on inner folds of whole training
seasons.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_is_fitted

from kit.ml import FieldMeanBaseline, LinearTrendBaseline, QuantileGBM
from kit.yieldpred.shrinkage import fit_season_weights, shrink

__all__ = ["BLEND_MIN_GAIN", "DRIVER", "MONOTONE", "STATION_WEATHER_SUFFIXES", "YieldModel", "model_columns", "training_table"]

#: Feature suffixes of station-weather totals by stage: the same for every field of a season.
STATION_WEATHER_SUFFIXES = ("_rain_mm", "_et0_mm", "_gdd_c_days", "_heat_days")
#: A line for ``YieldModel(driver=...)``: the trees then learn departures from it.
DRIVER = "lue_apar_ks_temp_mj"
#: The plain LightGBM gets a weight in the median only where it lowers the inner folds' mean squared error by more
#: than this share: inner folds of a few seasons find small gains by chance. On the embedded data the inner gains
#: stay below 4 % and, taken, did not carry over to the held-out season (NRMSE 0.156 -> 0.157); on
#: benchmarks/yield_skill.py's low-noise wheat they are 6-10 % and do.
BLEND_MIN_GAIN = 0.05
#: Features a rainfed cereal's yield does not fall with (+1) or does not rise with (-1), other things equal:
#: green canopy and the radiation it absorbs, water the crop transpired, the soil's water capacity, a late senescence.
MONOTONE = {
    "ndvi_peak": 1, "lue_apar_mj": 1, "lue_apar_ks_mj": 1, "lue_apar_ks_temp_mj": 1, "soil_taw_mm_per_m": 1,
    "wb_relative_et": 1, "wb_relative_et_recent": 1, "wb_et_deficit_mm": -1, "arid_apar_temp_mj": 1, "arid_water_factor": 1,
    "thermal_ndvi_senescence_c_days": 1,
}


def model_columns(features: pd.DataFrame) -> list:
    """Columns a model may use: everything but identifiers and the target; all-empty columns dropped."""
    drop = {"field_id", "year", "yield_t_ha"}
    return [c for c in features.columns if c not in drop and features[c].notna().any()]


def training_table(features: pd.DataFrame, yields: pd.DataFrame, *, exclude_year=None) -> pd.DataFrame:
    """Feature rows that have an observed yield (and are not in ``exclude_year``), with ``yield_t_ha``."""
    y = yields.dropna(subset=["yield_t_ha"]).set_index(["field_id", "year"])["yield_t_ha"]
    table = features.join(y, how="inner")
    if exclude_year is not None:
        table = table[table["year"] != exclude_year]
    return table.reset_index(drop=True)


class YieldModel(RegressorMixin, BaseEstimator):
    """P10/P50/P90 yield model on a feature table, with both baselines fitted alongside.

    The quantile models learn yields from the season features (with
    ``anomaly``, the departure from the trend baseline, added back in the
    forecast); with ``shrink`` the forecast is then drawn towards the better
    of the two baselines. Both baselines are fitted on the training years
    only. Field histories carry what imagery cannot see (soil depth,
    management); the features carry the season.

    A scikit-learn estimator: ``fit(X, y)`` and ``predict(X)`` take the
    feature DataFrame of :meth:`kit.yieldpred.features.FeatureBuilder.features` (``field_id`` and
    ``year`` columns, named feature columns, ``category`` columns kept);
    ``predict`` returns a DataFrame of quantile and baseline columns.

    Parameters
    ----------
    anomaly : bool
        Model departures from the trend baseline, or raw yields (default: with few seasons, the
        baseline's year errors dominate the departures and the features explain raw yields better).
    history : bool
        Add the field's mean yield of the training seasons as a feature (off by default: on the
        embedded data it overfits the few seasons)
        (``field_history_t_ha``; for a training row, its own season left out).
    calibrate : bool
        Widen or narrow the P10-P90 interval by split-conformal scores of inner
        year folds (CQR, Romano et al. 2019): quantile trees fitted on a few
        seasons are over-confident about a new one.
    calibration_folds : int
        Inner folds of whole training seasons, for the calibration and the shrinkage
        (6: leave one season out with the usual 6-8 training seasons; with 3 the inner
        models see too few seasons and the shrinkage picks its baseline by chance).
    station_weather : bool
        Also use the station-weather totals by stage (``*_rain_mm``, ``*_et0_mm``,
        ``*_gdd_c_days``, ``*_heat_days``). Off by default: one station gives every
        field of a season nearly the same totals, so with a handful of seasons
        the trees use them to recognise the season and learn its mean, which
        does not carry over to a new season. The weather still enters through
        what differs between fields: water stress of each field's soil water
        balance and the radiation its canopy absorbed. The totals stay in
        ``features.parquet``.
    driver : str or None
        Feature the trees learn departures from a straight line in
        (least squares on the training rows; ``anomaly`` takes precedence):
        trees cannot forecast outside the yields they were trained on, so a
        drought worse than any training season would be forecast at the
        lowest training level; the line carries the forecast there.
        :data:`DRIVER` (the water- and temperature-limited absorbed radiation,
        the driver of a light-use-efficiency crop model) lowers the NRMSE on
        benchmarks/yield_skill.py's wheat by about 0.01 and raises it on the
        embedded data (0.156 -> 0.162), so the default is None. Choosing it
        on inner year folds did worse on the embedded data than either choice.
    agronomic_constraints : bool
        Constrain the trees by agronomy (:data:`MONOTONE`): with a handful of
        seasons an unconstrained tree can learn that a greener canopy or more
        transpired water lowers yield from one odd season, and carry it to the next.
        LightGBM refuses constraints with the quantile loss, so the P50 model
        is then a least-squares fit (see :class:`kit.ml.QuantileGBM`'s
        ``monotone``); P10 and P90 stay free quantile models.
    shrink : bool
        Shrink the forecast towards the better baseline by the weight that
        inner year folds find best (see :meth:`_fit_shrinkage`).
    season_shrinkage : bool
        With ``shrink``, shrink the season's mean departure from the baseline
        and each field's departure from that mean by two weights, both chosen
        on the inner folds (:mod:`kit.yieldpred.shrinkage`), instead of one:
        the inner folds keep the season's level nearly whole and shrink the
        field differences within it, where one weight also drew extreme
        seasons towards the trend. It lowers the mean NRMSE of P50 on
        benchmarks/yield_skill.py's ten wheat cases from 0.112 to 0.110 and on
        the embedded region, seeds 0-3, from 0.209 to 0.201 (seed 1 loses
        0.004), but the season mean is over the rows of a season given to
        :meth:`predict` together (one row alone is all season mean): a
        field's forecast would depend on the other rows passed with it, so
        it is off by default.
    blend_plain : bool
        Blend the P50 with a plain LightGBM (least squares, LightGBM's
        defaults: 100 trees of 31 leaves, no constraints, no subsampling) on
        the same feature columns, by the weight inner year folds find best
        together with the shrinkage. Where the seasons carry a strong signal,
        the constrained, regularised model is too stiff and a free tree fits
        it better; where they do not, the inner folds keep the constrained
        model (:data:`BLEND_MIN_GAIN`). The whole interval moves with the
        median. On benchmarks/yield_skill.py's low-noise wheat it lowers the
        NRMSE of P50 from 0.105 to 0.102 (seed 0); on the embedded data
        the inner folds keep the model alone.
    n_estimators, learning_rate, max_bin :
        :class:`kit.ml.QuantileGBM` parameters with other defaults: 150 trees at
        a 0.06 rate and 63 bins give the skill of 300 trees at 0.03 and 255 bins
        on the embedded data in a third of the time, which counts because every
        cross-validation fold refits the models, inner folds included.
    quantiles, num_leaves, min_child_samples, subsample, colsample_bytree, reg_lambda, seed, n_jobs, name :
        :class:`kit.ml.QuantileGBM` parameters, with its defaults.

    Attributes
    ----------
    columns_ : list of str
        Feature columns the quantile models use.
    gbm_ : kit.ml.QuantileGBM
        The quantile models fitted on all training rows.
    mean_, trend_ : kit.ml.FieldMeanBaseline, kit.ml.LinearTrendBaseline
        The baselines fitted on the training rows.
    driver_ : str or None
        Feature of the line the trees learn departures from (None: none).
    shrink_to_ : str
        Baseline the forecast is shrunk towards, ``"trend"`` or ``"mean"``.
    shrink_weight_ : float
        Weight of the model's departure from that baseline, in [0, 1] (1: no shrinkage); with
        ``season_shrinkage``, of the season's mean departure.
    shrink_within_weight_ : float
        Weight of each field's departure from its season's mean departure, in [0, 1]
        (``shrink_weight_`` without ``season_shrinkage``).
    plain_ : lightgbm.LGBMRegressor or None
        The plain LightGBM of ``blend_plain``, fitted on all training rows.
    plain_weight_ : float
        Weight of the plain LightGBM in the median, in [0, 1] (0: the quantile models' median alone).
    inner_mse_ : dict or None
        Mean squared error (t²/ha²) of the inner out-of-year predictions:
        ``median`` (the quantile models' median alone), ``plain`` (the plain
        LightGBM; the median again without ``blend_plain``), ``baseline`` (the one
        shrunk towards) and ``forecast`` (after the blend and the shrinkage);
        None when neither ``shrink`` nor ``blend_plain`` ran inner folds. What
        the inner folds claim the blend and shrinkage gain, to compare with
        the held-out seasons' (benchmarks/yield_skill.py ``--decompose``).
    widen_t_ha_ : float
        Conformal widening of each side of the P10-P90 interval (t/ha; negative narrows it).
    X_fit_, y_fit_ : pandas.DataFrame, numpy.ndarray
        The training rows (with ``field_history_t_ha`` when ``history``), which
        the history feature and the ``anomaly`` trend are computed from at prediction.
    """

    def __init__(self, anomaly: bool = False, history: bool = False, calibrate: bool = True, calibration_folds: int = 6,
                 station_weather: bool = False, shrink: bool = True, agronomic_constraints: bool = True,
                 driver: str | None = None, blend_plain: bool = True, *, quantiles=(0.1, 0.5, 0.9), n_estimators: int = 150,
                 learning_rate: float = 0.06, num_leaves: int = 15, min_child_samples: int = 20, subsample: float = 0.8,
                 colsample_bytree: float = 0.8, reg_lambda: float = 1.0, max_bin: int = 63, monotone_method: str = "basic",
                 seed: int = 0, n_jobs: int = 1, name: str = "yield", season_shrinkage: bool = False):
        self.anomaly = anomaly
        self.history = history
        self.calibrate = calibrate
        self.calibration_folds = calibration_folds
        self.station_weather = station_weather
        self.shrink = shrink
        self.agronomic_constraints = agronomic_constraints
        self.driver = driver
        self.blend_plain = blend_plain
        self.season_shrinkage = season_shrinkage
        self.quantiles = quantiles
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.max_bin = max_bin
        self.monotone_method = monotone_method
        self.seed = seed
        self.n_jobs = n_jobs
        self.name = name

    def _gbm_params(self) -> dict:
        """This model's :class:`kit.ml.QuantileGBM` parameters."""
        names = QuantileGBM._get_param_names()
        params = {k: v for k, v in self.get_params(deep=False).items() if k in names}
        params["monotone"] = dict(MONOTONE) if self.agronomic_constraints else None
        return params

    def _offset(self, X_fit, y_fit, X):
        """What the trees learn departures from: the trend baseline (``anomaly``), a line in the ``driver``, or 0."""
        if self.anomaly:
            return LinearTrendBaseline().fit(X_fit, y_fit).predict(X)
        driver = getattr(self, "driver_", None)
        if driver and driver in X_fit and X_fit[driver].notna().sum() > 2:
            x = X_fit[driver].to_numpy(float)
            ok = np.isfinite(x)
            slope, intercept = np.polyfit(x[ok], np.asarray(y_fit, float)[ok], 1)
            fill = float(np.median(x[ok]))
            return intercept + slope * np.nan_to_num(X[driver].to_numpy(float), nan=fill)
        return np.zeros(len(X))

    def _fit_gbm(self, X, y):
        return QuantileGBM(**self._gbm_params()).fit(X[self.columns_], y - self._offset(X, y, X))

    def _fit_plain(self, X, y):
        """The plain least-squares LightGBM of ``blend_plain`` (None without it), on the same columns and offset."""
        if not self.blend_plain:
            return None
        import lightgbm as lgb

        return lgb.LGBMRegressor(random_state=self.seed, n_jobs=self.n_jobs, deterministic=True, force_row_wise=True,
                                 verbose=-1).fit(X[self.columns_], y - self._offset(X, y, X))

    def _raw(self, gbm, plain, X_fit, y_fit, X) -> tuple[pd.DataFrame, np.ndarray]:
        """The quantile models' predictions (t/ha) and the plain model's (the quantile median without one)."""
        offset = self._offset(X_fit, y_fit, X)
        quantiles = gbm.predict(X[self.columns_]).add(offset, axis=0)
        if plain is None:
            return quantiles, quantiles[self._median_column(quantiles)].to_numpy()
        return quantiles, plain.predict(X[self.columns_]) + offset

    @staticmethod
    def _history(X: pd.DataFrame, fit_X: pd.DataFrame, fit_y: np.ndarray, own_year_out: bool) -> np.ndarray:
        """Field's mean yield in the fitted seasons, its own season left out for training rows (no leak)."""
        t = pd.DataFrame({"field_id": fit_X["field_id"].to_numpy(), "year": fit_X["year"].to_numpy(), "y": fit_y})
        total = t.groupby("field_id")["y"].agg(["sum", "count"])
        s = X["field_id"].map(total["sum"]).to_numpy(float)
        n = X["field_id"].map(total["count"]).to_numpy(float)
        if own_year_out:
            s, n = s - fit_y, n - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, s / n, np.nan)

    def _with_history(self, X, fit_X, fit_y, own_year_out):
        if not self.history:
            return X
        return X.assign(field_history_t_ha=self._history(X, fit_X, fit_y, own_year_out))

    def fit(self, X: pd.DataFrame, y):
        y = np.asarray(y, dtype=float)
        X = self._with_history(X, X, y, True)
        self.columns_ = [c for c in model_columns(X)
                         if self.station_weather or not (c == "season_rain_mm" or c.endswith(STATION_WEATHER_SUFFIXES))]
        self.mean_ = FieldMeanBaseline().fit(X, y)
        self.trend_ = LinearTrendBaseline().fit(X, y)
        self.driver_ = self.driver
        self.gbm_ = self._fit_gbm(X, y)
        self.plain_ = self._fit_plain(X, y)
        self.X_fit_, self.y_fit_ = X, y
        self.widen_t_ha_, self.shrink_weight_, self.shrink_to_, self.plain_weight_ = 0.0, 1.0, "trend", 0.0
        self.shrink_within_weight_ = 1.0
        self.inner_mse_ = None
        interval = len(self.quantiles) > 1
        if (self.calibrate and interval) or self.shrink or self.blend_plain:
            inner = self._inner_predictions(X, y)
            if inner is not None:
                pred, plain, base, y_in, years_in = inner
                if self.shrink or self.blend_plain:
                    self._fit_shrinkage(pred, plain, base, y_in, years_in)
                if self.calibrate and interval:
                    shifted = self._combine(pred, plain, base[self.shrink_to_], years_in)
                    scores = np.maximum(shifted.iloc[:, 0].to_numpy() - y_in, y_in - shifted.iloc[:, -1].to_numpy())
                    level = min(1.0, 0.8 * (1 + 1 / len(scores)))
                    self.widen_t_ha_ = float(np.quantile(scores, level))
        return self

    def _inner_predictions(self, X, y):
        """Out-of-year predictions inside the training seasons (inner folds of whole years), with both baselines.

        They set the shrinkage towards the baseline and the conformal
        widening of the interval; the outer test season is never among them.
        """
        years = X["year"].to_numpy()
        uniq = np.unique(years)
        if len(uniq) < 3:
            return None
        preds, plains, bases, ys, held_years = [], [], {"trend": [], "mean": []}, [], []
        for held in np.array_split(uniq, min(self.calibration_folds, len(uniq))):
            test = np.isin(years, held)
            inner = X[~test].assign(field_history_t_ha=self._history(X[~test], X[~test], y[~test], True)) if self.history else X[~test]
            outer = X[test].assign(field_history_t_ha=self._history(X[test], X[~test], y[~test], False)) if self.history else X[test]
            quantiles, plain = self._raw(self._fit_gbm(inner, y[~test]), self._fit_plain(inner, y[~test]), inner, y[~test], outer)
            preds.append(quantiles)
            plains.append(plain)
            bases["trend"].append(LinearTrendBaseline().fit(inner, y[~test]).predict(outer))
            bases["mean"].append(FieldMeanBaseline().fit(inner, y[~test]).predict(outer))
            ys.append(y[test])
            held_years.append(years[test])
        return (pd.concat(preds), np.concatenate(plains), {k: np.concatenate(v) for k, v in bases.items()}, np.concatenate(ys),
                np.concatenate(held_years))

    def _median_column(self, pred: pd.DataFrame) -> str:
        return pred.columns[int(np.argmin([abs(q - 0.5) for q in self.quantiles]))]

    def _fit_shrinkage(self, pred: pd.DataFrame, plain: np.ndarray, base: dict, y: np.ndarray, years: np.ndarray) -> None:
        """Weights of the plain model and of the departure from the better baseline, chosen on inner out-of-year predictions.

        ``P50 = baseline + w (m - baseline)`` with ``m = median + a (plain - median)``:
        ``w`` = 1 keeps the model, 0 falls back on the baseline; ``a`` = 0 keeps
        the quantile models' median, 1 takes the plain LightGBM's. Early in
        the season, when the features say little about a season the model
        has not seen, the inner folds find a small ``w`` and the forecast
        stays near the field's history instead of inventing a season. The
        best ``a`` is taken only if it beats ``a`` = 0 by more than
        :data:`BLEND_MIN_GAIN`; ties go to the smaller weights. With
        ``season_shrinkage`` ``w`` is then split in two for that ``a``
        (:func:`kit.yieldpred.shrinkage.fit_season_weights`).
        """
        p50 = pred[self._median_column(pred)].to_numpy()
        self.shrink_to_ = min(base, key=lambda k: float(np.mean((base[k] - y) ** 2)))
        b = base[self.shrink_to_]
        shrink = np.linspace(0.0, 1.0, 21) if self.shrink else np.array([1.0])
        blend = np.linspace(0.0, 1.0, 11) if self.blend_plain else np.array([0.0])
        m = p50[None, :] + blend[:, None] * (plain - p50)[None, :]  # (blend, rows)
        forecast = b[None, None, :] + shrink[None, :, None] * (m[:, None, :] - b[None, None, :])  # (blend, shrink, rows)
        errors = np.mean((forecast - y) ** 2, axis=2)
        best = errors.min(axis=1)
        i = int(np.argmin(best)) if best[0] > best.min() * (1 + BLEND_MIN_GAIN) else 0
        j = int(np.argmin(errors[i]))
        self.plain_weight_, self.shrink_weight_ = float(blend[i]), float(shrink[j])
        self.shrink_within_weight_, forecast_mse = self.shrink_weight_, float(errors[i, j])
        if self.shrink and self.season_shrinkage:
            self.shrink_weight_, self.shrink_within_weight_, forecast_mse = fit_season_weights(b, m[i], years, y)
        self.inner_mse_ = {"median": float(np.mean((p50 - y) ** 2)), "plain": float(np.mean((plain - y) ** 2)),
                           "baseline": float(np.mean((b - y) ** 2)), "forecast": forecast_mse}

    def _combine(self, pred: pd.DataFrame, plain: np.ndarray, base: np.ndarray, years) -> pd.DataFrame:
        """Move every quantile with the median, blended with the plain model's and shrunk (the interval keeps its shape)."""
        p50 = pred[self._median_column(pred)].to_numpy()
        blended = p50 + self.plain_weight_ * (plain - p50)
        return pred.add(shrink(base, blended, years, self.shrink_weight_, self.shrink_within_weight_) - p50, axis=0)

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """P10/P50/P90 (the ``quantiles``' columns, t/ha) and both baselines (``baseline_mean``, ``baseline_trend``)."""
        check_is_fitted(self)
        X = self._with_history(X, self.X_fit_, self.y_fit_, False)
        out, plain = self._raw(self.gbm_, self.plain_, self.X_fit_, self.y_fit_, X)
        base = {"trend": self.trend_.predict(X), "mean": self.mean_.predict(X)}
        out = self._combine(out, plain, base[self.shrink_to_], X["year"].to_numpy())
        lo, hi = out.columns[0], out.columns[-1]
        if lo == hi:  # a point model (quantiles=(0.5,))
            out["baseline_mean"] = base["mean"]
            out["baseline_trend"] = base["trend"]
            return out
        out[lo] = out[lo] - self.widen_t_ha_
        out[hi] = out[hi] + self.widen_t_ha_
        out[:] = np.sort(out.to_numpy(), axis=1)
        out[lo] = out[lo].clip(lower=0.0)  # no negative yields
        out["baseline_mean"] = base["mean"]
        out["baseline_trend"] = base["trend"]
        return out

    def score(self, X: pd.DataFrame, y, sample_weight=None) -> float:
        """R² of the P50 forecast (the quantile nearest the median); the interval is not scored."""
        pred = self.predict(X)
        return float(r2_score(y, pred[self._median_column(pred)], sample_weight=sample_weight))

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Feature contributions (t/ha) to the raw prediction of the 0.5 quantile model, before the blend and shrinkage.

        See :meth:`kit.ml.QuantileGBM.contributions`.
        """
        check_is_fitted(self)
        X = self._with_history(X, self.X_fit_, self.y_fit_, False)
        return self.gbm_.contributions(X[self.columns_])
