"""Yield prediction: season features up to a forecast date, leak-proof CV, quantile models, forecasts.

The unit of prediction is a field-season; a season is named by its harvest
year and starts on ``season_start`` (MM-DD, default 09-01) of the year
before. A forecast at day ``d`` of the season uses, for every year alike,
only observations and weather up to day ``d``: the model trained for an
in-season date never sees later data, in training or prediction.
"""
from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kit.agro.crops import SOILS
from kit.errors import InputDataError, ParameterError
from kit.ml import (
    FieldMeanBaseline, LinearTrendBaseline, QuantileGBM, cross_val_predict, interval_coverage, leave_one_year_out, nrmse,
    phenology_features, r2, rmse, stage_weather_features,
)
from kit.raster.temporal import daily_curve
from kit.yieldpred.data import SkippedWarning

__all__ = ["FeatureBuilder", "YieldModel", "cross_validate", "cross_validate_spatial", "season_start_date", "skill_by_lead_time"]

DEFAULT_PLANTING = (11, 15)  # month, day: middle of the Moroccan winter-cereal sowing window
MONTH_WINDOWS = ("dec", "jan", "feb", "mar", "apr", "may")


def season_start_date(year: int, season_start: str = "09-01") -> pd.Timestamp:
    """First day of the season harvested in ``year`` (``season_start`` is MM-DD of the year before).

    >>> season_start_date(2024)
    Timestamp('2023-09-01 00:00:00')
    """
    try:
        month, day = (int(x) for x in season_start.split("-"))
        return pd.Timestamp(year - 1, month, day)
    except (ValueError, TypeError):
        raise ParameterError(f"season_start must be MM-DD (e.g. 09-01), got {season_start!r}") from None


@dataclass
class Skipped:
    field_id: str
    year: int
    reason: str


class FeatureBuilder:
    """Features of every field-season, for any forecast day of the season.

    Parameters
    ----------
    fields : DataFrame from :func:`kit.yieldpred.data.read_fields_table`
    observations : DataFrame ``field_id, date`` + index columns (clear observations only)
    weather : DataFrame from :func:`kit.agro.read_weather`
    yields : DataFrame from :func:`kit.yieldpred.data.read_yields` (covariates for the seasons)
    years : list of int, seasons to build
    season_start : str, MM-DD
    device : str, where the water balance runs

    Water balances are run once per season and cached; phenology is
    recomputed per forecast day from observations up to that day only.
    """

    def __init__(self, fields, observations, weather, yields, years, *, season_start="09-01", device="cpu"):
        self.fields = fields.set_index("field_id", drop=False)
        self.obs = observations
        self.weather = weather
        self.yields = yields.set_index(["field_id", "year"])
        self.years = sorted(int(y) for y in years)
        self.season_start = season_start
        self.device = device
        self.indices = [c for c in observations.columns if c not in ("field_id", "date")]
        self._balance = {}
        self.planting_defaulted = 0

    # -- inputs per season ---------------------------------------------------------------
    def planting_dates(self, year) -> pd.Series:
        start = season_start_date(year, self.season_start)
        default = pd.Timestamp(year - 1, *DEFAULT_PLANTING)
        dates = pd.Series(default, index=self.fields.index)
        if "planting_date" in self.fields.columns:
            # A field-level date gives the usual month-day; place it in this season.
            base = pd.to_datetime(self.fields["planting_date"], errors="coerce", format="mixed")
            usual = [pd.Timestamp(year - 1 if (d.month, d.day) >= (start.month, start.day) else year, d.month, d.day)
                     if pd.notna(d) else default for d in base]
            dates = pd.Series(usual, index=self.fields.index)
        if "planting_date" in self.yields.columns:
            season = self.yields.xs(year, level="year")["planting_date"] if year in self.yields.index.get_level_values("year") else pd.Series(dtype="datetime64[ns]")
            given = season.dropna()
            given = given[given.index.isin(dates.index)]
            dates.loc[given.index] = pd.to_datetime(given.to_numpy())
            self.planting_defaulted += int(len(dates) - len(given))
        return dates

    def balance(self, year):
        """kit.agro water balance of every field for the season (station weather, soil class), cached."""
        if year in self._balance:
            return self._balance[year]
        from kit.agro import water_balance

        start = season_start_date(year, self.season_start)
        end = start + pd.DateOffset(years=1) - pd.Timedelta(days=1)
        w = self.weather
        if w.index[0] > start or w.index[-1] < min(end, start + pd.Timedelta(days=300)):
            raise InputDataError(
                f"the weather ({w.index[0]:%Y-%m-%d} to {w.index[-1]:%Y-%m-%d}) does not cover the {year} season "
                f"({start:%Y-%m-%d} to {end:%Y-%m-%d}); give weather for every season in yields"
            )
        plant = self.planting_dates(year)
        f = self.fields
        table = pd.DataFrame({"field_id": f["field_id"].to_numpy(), "crop": f["crop"].to_numpy(),
                              "planting_date": plant.dt.strftime("%Y-%m-%d").to_numpy(),
                              "area_ha": f["area_ha"].to_numpy(float) if "area_ha" in f else 1.0})
        if "taw_mm_per_m" in f:
            table["taw_mm_per_m"] = f["taw_mm_per_m"].to_numpy(float)
        table["soil"] = f["soil"].fillna("loam").to_numpy() if "soil" in f else "loam"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # seasons reaching past the weather are expected at a forecast date
            ds = water_balance(table, w, start=start, end=min(end, w.index[-1]), device=self.device)
        self._balance[year] = (ds, plant)
        return self._balance[year]

    # -- features ------------------------------------------------------------------------
    def features(self, cutoff_day: int) -> tuple[pd.DataFrame, list]:
        """Feature table for every field-season with imagery, using days ``0..cutoff_day`` of each season.

        Returns
        -------
        (features, skipped)
            ``features`` indexed by ``(field_id, year)``; ``skipped`` lists
            field-seasons set aside, with the reason.
        """
        parts, skipped = [], []
        for year in self.years:
            start = season_start_date(year, self.season_start)
            cutoff = start + pd.Timedelta(days=int(cutoff_day))
            obs = self.obs[(self.obs["date"] >= start) & (self.obs["date"] <= cutoff)]
            if obs.empty:
                skipped += [Skipped(f, year, f"no imagery between {start:%Y-%m-%d} and {cutoff:%Y-%m-%d}") for f in self.fields.index]
                continue
            blocks = []
            for ix in self.indices:
                wide = obs.pivot_table(index="field_id", columns="date", values=ix, aggfunc="mean").reindex(self.fields.index)
                curve = daily_curve(wide, start, cutoff)
                windows = {}
                for m, name in enumerate(MONTH_WINDOWS):
                    a = ((start + pd.DateOffset(months=3 + m)).replace(day=1) - start).days
                    windows[name] = (a, a + 30)
                blocks.append(phenology_features(curve.to_numpy(), prefix=ix, index=curve.index, month_starts=windows))
            pheno = pd.concat(blocks, axis=1)
            no_obs = pheno[f"{self.indices[0]}_peak"].isna()
            skipped += [Skipped(f, year, f"no clear observation of the field before {cutoff:%Y-%m-%d}") for f in pheno.index[no_obs]]
            ds, plant = self.balance(year)
            wx = stage_weather_features(ds, self.weather, cutoff=cutoff)
            frame = pheno.join(wx)
            frame["planting_day"] = (plant - start).dt.days.to_numpy(float)
            frame["year"] = year
            parts.append(frame[~no_obs])
        if not parts:
            raise InputDataError("no season has imagery up to the forecast day; check the rasters/index_series dates")
        table = pd.concat(parts)
        table.index.name = "field_id"
        table = table.reset_index().set_index(["field_id", "year"], drop=False)
        table = self._covariates(table)
        return table, skipped

    def _covariates(self, table: pd.DataFrame) -> pd.DataFrame:
        f = self.fields
        if "taw_mm_per_m" in f:
            taw = f["taw_mm_per_m"].astype(float)
        elif "soil" in f:
            taw = f["soil"].map(SOILS["taw_mm_per_m"]).astype(float)
        else:
            taw = pd.Series(np.nan, index=f.index)
        table["soil_taw_mm_per_m"] = table["field_id"].map(taw).to_numpy(float)
        skip_f = {"field_id", "planting_date", "taw_mm_per_m", "soil", "geometry"}
        for col in f.columns:
            if col in skip_f:
                continue
            values = table["field_id"].map(f[col])
            table[f"field_{col}"] = pd.to_numeric(values, errors="coerce") if _numeric(f[col]) else values.astype("category")
        y = self.yields
        for col in y.columns:
            if col in ("yield_t_ha", "planting_date"):
                continue
            values = pd.Series([y[col].get((fid, yr), np.nan) for fid, yr in zip(table["field_id"], table["year"])], index=table.index)
            table[f"season_{col}"] = pd.to_numeric(values, errors="coerce") if _numeric(y[col]) else values.astype("category")
        return table


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.to_numeric(series.dropna(), errors="coerce").notna().all()


def model_columns(features: pd.DataFrame) -> list:
    """Columns a model may use: everything but identifiers and the target; all-empty columns dropped."""
    drop = {"field_id", "year", "yield_t_ha"}
    return [c for c in features.columns if c not in drop and features[c].notna().any()]


class YieldModel:
    """P10/P50/P90 yield model on a feature table, with both baselines fitted alongside.

    The quantile models learn the season's departure from the field's own
    history (yield minus the trend baseline, both from the training years
    only) from the season features; the forecast adds the baseline back.
    Field histories carry what imagery cannot see (soil depth, management);
    the features carry the season.

    Parameters
    ----------
    history : bool
        Add the field's mean yield of the training seasons as a feature (off by default: on the
        embedded data it overfits the few seasons)
        (``field_history_t_ha``; for a training row, its own season left out).
    anomaly : bool
        Model departures from the trend baseline, or raw yields (default: with few seasons, the
        baseline's year errors dominate the departures and the features explain raw yields better).
    **params
        :class:`kit.ml.QuantileGBM` parameters.
    """

    def __init__(self, anomaly: bool = False, history: bool = False, calibrate: bool = True, calibration_folds: int = 3,
                 **params):
        self.anomaly = anomaly
        self.history = history
        self.calibrate = calibrate
        self.calibration_folds = calibration_folds
        self.params = params

    def _fit_gbm(self, X, y):
        offset = LinearTrendBaseline().fit(X, y).predict(X) if self.anomaly else 0.0
        return QuantileGBM(**self.params).fit(X[self.columns_], y - offset)

    def _raw(self, gbm, X_fit, y_fit, X):
        out = gbm.predict(X[self.columns_])
        if self.anomaly:
            out = out.add(LinearTrendBaseline().fit(X_fit, y_fit).predict(X), axis=0)
        return out

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
        self.columns_ = model_columns(X)
        self.mean_ = FieldMeanBaseline().fit(X, y)
        self.trend_ = LinearTrendBaseline().fit(X, y)
        self.gbm_ = self._fit_gbm(X, y)
        self._X, self._y = X, y
        self.widen_t_ha_ = 0.0
        if self.calibrate and len(self.params.get("quantiles", (0.1, 0.5, 0.9))) > 1:
            self.widen_t_ha_ = self._conformal_widening(X, y)
        return self

    def _conformal_widening(self, X, y) -> float:
        """Split-conformal correction of the P10-P90 interval (CQR, Romano et al. 2019).

        Quantile trees fitted on a few seasons are over-confident about a
        new season. Inner folds of whole years give out-of-year scores
        ``max(P10 - y, y - P90)``; their 80 % quantile is added to both
        ends (negative when the interval was too wide).
        """
        years = X["year"].to_numpy()
        uniq = np.unique(years)
        if len(uniq) < 3:
            return 0.0
        groups = np.array_split(uniq, min(self.calibration_folds, len(uniq)))
        scores = []
        for held in groups:
            test = np.isin(years, held)
            inner = X[~test].assign(field_history_t_ha=self._history(X[~test], X[~test], y[~test], True)) if self.history else X[~test]
            outer = X[test].assign(field_history_t_ha=self._history(X[test], X[~test], y[~test], False)) if self.history else X[test]
            gbm = self._fit_gbm(inner, y[~test])
            pred = self._raw(gbm, inner, y[~test], outer)
            lo, hi = pred.iloc[:, 0].to_numpy(), pred.iloc[:, -1].to_numpy()
            scores.append(np.maximum(lo - y[test], y[test] - hi))
        scores = np.concatenate(scores)
        level = min(1.0, 0.8 * (1 + 1 / len(scores)))
        return float(np.quantile(scores, level))

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        X = self._with_history(X, self._X, self._y, False)
        out = self._raw(self.gbm_, self._X, self._y, X)
        lo, hi = out.columns[0], out.columns[-1]
        if lo == hi:  # a point model (quantiles=(0.5,))
            out["baseline_mean"] = self.mean_.predict(X)
            out["baseline_trend"] = self.trend_.predict(X)
            return out
        out[lo] = out[lo] - self.widen_t_ha_
        out[hi] = out[hi] + self.widen_t_ha_
        out[:] = np.sort(out.to_numpy(), axis=1)
        out[lo] = out[lo].clip(lower=0.0)  # no negative yields
        out["baseline_mean"] = self.mean_.predict(X)
        out["baseline_trend"] = self.trend_.predict(X)
        return out

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        X = self._with_history(X, self._X, self._y, False)
        return self.gbm_.contributions(X[self.columns_])


def cross_validate(features: pd.DataFrame, yields: pd.DataFrame, *, exclude_year=None, **params) -> tuple[pd.DataFrame, dict]:
    """Leave-one-year-out predictions and the issue's metrics, model beside the baselines.

    Returns
    -------
    (cv_predictions, metrics)
        ``cv_predictions``: ``field_id, year, fold, yield_t_ha, yield_p10,
        yield_p50, yield_p90, baseline_mean, baseline_trend``; ``metrics``:
        ``cv_rmse_p50, cv_nrmse_p50, cv_r2_p50, baseline_nrmse_mean,
        baseline_nrmse_trend, interval_coverage_p10_p90`` and more.
    """
    train = training_table(features, yields, exclude_year=exclude_year)
    years = train["year"].to_numpy()
    if len(np.unique(years)) < 3:
        raise InputDataError(f"only {len(np.unique(years))} season(s) with yields and imagery; leave-one-year-out needs at least 3")
    splits = leave_one_year_out(years)
    pred = cross_val_predict(lambda: YieldModel(**params), train, train["yield_t_ha"], splits, years=years,
                             fold_names=[f"test {int(np.unique(years[te])[0])}" for _, te in splits])
    cv = pd.concat([train[["field_id", "year", "yield_t_ha"]].reset_index(drop=True), pred.reset_index(drop=True)], axis=1)
    cv = cv[["field_id", "year", "fold", "yield_t_ha", "yield_p10", "yield_p50", "yield_p90", "baseline_mean", "baseline_trend"]]
    return cv, cv_metrics(cv)


def cv_metrics(cv: pd.DataFrame) -> dict:
    obs = cv["yield_t_ha"]
    m = {
        "cv_rmse_p50": rmse(obs, cv["yield_p50"]),
        "cv_nrmse_p50": nrmse(obs, cv["yield_p50"]),
        "cv_r2_p50": r2(obs, cv["yield_p50"]),
        "baseline_nrmse_mean": nrmse(obs, cv["baseline_mean"]),
        "baseline_nrmse_trend": nrmse(obs, cv["baseline_trend"]),
        "interval_coverage_p10_p90": interval_coverage(obs, cv["yield_p10"], cv["yield_p90"]),
        "baseline_rmse_mean": rmse(obs, cv["baseline_mean"]),
        "baseline_rmse_trend": rmse(obs, cv["baseline_trend"]),
    }
    m["rmse_reduction_vs_best_baseline"] = 1 - m["cv_rmse_p50"] / min(m["baseline_rmse_mean"], m["baseline_rmse_trend"])
    return m


def training_table(features: pd.DataFrame, yields: pd.DataFrame, *, exclude_year=None) -> pd.DataFrame:
    """Feature rows that have an observed yield (and are not in ``exclude_year``), with ``yield_t_ha``."""
    y = yields.dropna(subset=["yield_t_ha"]).set_index(["field_id", "year"])["yield_t_ha"]
    table = features.join(y, how="inner")
    if exclude_year is not None:
        table = table[table["year"] != exclude_year]
    return table.reset_index(drop=True)


def skill_by_lead_time(builder: FeatureBuilder, yields: pd.DataFrame, cutoff_days, *, exclude_year=None, **params) -> pd.DataFrame:
    """Leave-one-year-out NRMSE of P50 forecasts made at several days of the season, beside the baselines.

    Each forecast day gets its own features (data up to that day in every
    season) and its own models: the skill of a forecast really issued then.
    Only the P50 model is fitted (no interval calibration) to keep it quick.
    """
    rows = []
    for day in cutoff_days:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SkippedWarning)
            feats, _ = builder.features(day)
        train = training_table(feats, yields, exclude_year=exclude_year)
        years = train["year"].to_numpy()
        pred = cross_val_predict(lambda: YieldModel(calibrate=False, quantiles=(0.5,), **params), train, train["yield_t_ha"],
                                 leave_one_year_out(years), years=years)
        obs = train["yield_t_ha"].to_numpy()
        rows.append({"cutoff_day": int(day), "cv_nrmse_p50": nrmse(obs, pred["yield_p50"]),
                     "baseline_nrmse_mean": nrmse(obs, pred["baseline_mean"]),
                     "baseline_nrmse_trend": nrmse(obs, pred["baseline_trend"])})
    return pd.DataFrame(rows)


def forecast_day(forecast_date, target_year: int, season_start: str = "09-01") -> int:
    """Day of the season of ``forecast_date`` (None: the end of the season), checked to fall inside it."""
    start = season_start_date(target_year, season_start)
    end = start + pd.DateOffset(years=1) - pd.Timedelta(days=1)
    if forecast_date is None:
        return int((end - start).days)
    d = pd.Timestamp(dt.date.fromisoformat(str(forecast_date)))
    if not start <= d <= end:
        raise ParameterError(
            f"forecast_date {d:%Y-%m-%d} is outside the {target_year} season ({start:%Y-%m-%d} to {end:%Y-%m-%d}); "
            "give a date in the target season or None for the end of the season"
        )
    return int((d - start).days)


def cross_validate_spatial(features: pd.DataFrame, yields: pd.DataFrame, group_column: str, *, exclude_year=None, **params) -> dict:
    """P50 skill when both the season and the field's group (commune, block) are held out.

    Each fold tests one (season, group) and trains on other seasons *and*
    other groups (:func:`kit.ml.year_and_group_folds`): the skill for a
    commune the model has never seen, in a season it has never seen.

    Returns
    -------
    dict
        ``cv_nrmse_p50``, ``baseline_nrmse_mean``, ``baseline_nrmse_trend`` (baselines fall back
        to the training mean for fields never seen), ``folds``.
    """
    from kit.ml import year_and_group_folds

    train = training_table(features, yields, exclude_year=exclude_year)
    if group_column not in train:
        raise ParameterError(f"no column {group_column!r} among the features; give the fields a group column (e.g. commune)")
    years, groups = train["year"].to_numpy(), train[group_column].astype(str).to_numpy()
    splits = year_and_group_folds(years, groups)
    pred = cross_val_predict(lambda: YieldModel(calibrate=False, quantiles=(0.5,), **params), train, train["yield_t_ha"], splits,
                             years=years, groups=groups)
    obs = train.loc[pred.index, "yield_t_ha"].to_numpy()
    return {"cv_nrmse_p50": nrmse(obs, pred["yield_p50"]), "baseline_nrmse_mean": nrmse(obs, pred["baseline_mean"]),
            "baseline_nrmse_trend": nrmse(obs, pred["baseline_trend"]), "folds": len(splits)}
