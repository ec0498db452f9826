"""Yield prediction: season features up to a forecast date, leak-proof CV, quantile models, forecasts.

The unit of prediction is a field-season; a season is named by its harvest
year and starts on ``season_start`` (MM-DD, default 09-01) of the year
before. A forecast at day ``d`` of the season uses, for every year alike,
only observations and weather up to day ``d``: the model trained for an
in-season date never sees later data, in training or prediction.

The rest of the season (days after ``d``) is filled with climatology, so
every feature exists at every lead time: the weather of each later day is
the mean of that day of the season over the *other* seasons with yields,
and the index curve continues along the field's mean curve of those
seasons, its departure at day ``d`` fading out (e-folding
:data:`ANOMALY_MEMORY_DAYS`). The season being forecast never enters a
climatology (it has no yields). In leave-one-year-out the held-out season's
weather does enter the climatology of the *training* seasons, at a weight
of 1/(seasons - 1); never that of its own features.
"""
from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_is_fitted

from kit.agro.crops import CROPS, SOILS
from kit.errors import InputDataError, ParameterError
from kit.ml import (
    FieldMeanBaseline, LinearTrendBaseline, QuantileGBM, cross_val_predict, interval_coverage, leave_one_year_out, light_use_features,
    nrmse, phenology_features, r2, rmse, stage_weather_features,
)
from kit.raster.temporal import daily_curve
from kit.yieldpred.data import SkippedWarning

__all__ = ["FeatureBuilder", "YieldModel", "cross_validate", "cross_validate_spatial", "season_start_date", "skill_by_lead_time"]

DEFAULT_PLANTING = (11, 15)  # month, day: middle of the Moroccan winter-cereal sowing window
MONTH_WINDOWS = ("dec", "jan", "feb", "mar", "apr", "may")
ANOMALY_MEMORY_DAYS = 30.0  # an index departure from climatology at the forecast date fades with this e-folding time
#: Feature suffixes of station-weather totals by stage: the same for every field of a season.
STATION_WEATHER_SUFFIXES = ("_rain_mm", "_et0_mm", "_gdd_c_days", "_heat_days")


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
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}, where the water balance runs

    Water balances are run once per season and forecast day and cached;
    phenology is recomputed per forecast day from observations up to that
    day only, continued by climatology to the end of the season (see the
    module docstring).
    """

    def __init__(self, fields, observations, weather, yields, years, *, season_start="09-01", backend=None):
        self.fields = fields.set_index("field_id", drop=False)
        self.obs = observations
        self.weather = weather
        self.yields = yields.set_index(["field_id", "year"])
        self.years = sorted(int(y) for y in years)
        self.season_start = season_start
        self.backend = backend
        self.indices = [c for c in observations.columns if c not in ("field_id", "date")]
        self._balance = {}
        self._curves = {}
        self._climatology = {}
        self._radiation = None
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

    def season_bounds(self, year) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last day of the season harvested in ``year``."""
        start = season_start_date(year, self.season_start)
        return start, start + pd.DateOffset(years=1) - pd.Timedelta(days=1)

    def training_years(self) -> list:
        """Seasons with observed yields: the only ones a climatology is drawn from."""
        observed = self.yields["yield_t_ha"].dropna().index.get_level_values("year") if "yield_t_ha" in self.yields else []
        return [y for y in self.years if y in set(observed)]

    def radiation(self) -> pd.Series:
        """Daily global radiation (MJ/m²) of the station, measured or estimated as kit.agro's ET0 does."""
        if self._radiation is None:
            from kit.agro.evapotranspiration import et0

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rs = et0(self.weather)["rs_mj_m2"]
            self._radiation = pd.Series(np.asarray(rs, float), index=self.weather.index, name="rs_mj_m2")
        return self._radiation

    def _weather_by_day(self, year) -> pd.DataFrame:
        """The season's station weather (with radiation), one row per day of the season; NaN where missing."""
        start, end = self.season_bounds(year)
        days = pd.date_range(start, end, freq="D")
        w = self.weather.select_dtypes("number").join(self.radiation().rename("rs_est_mj_m2")).reindex(days)
        return w.reset_index(drop=True)

    def _full_curves(self, year) -> dict:
        """Daily index curves of a whole season from all its clear observations (climatology only)."""
        if year not in self._curves:
            start, end = self.season_bounds(year)
            obs = self.obs[(self.obs["date"] >= start) & (self.obs["date"] <= end)]
            self._curves[year] = {ix: self._curve(obs, ix, start, end) for ix in self.indices}
        return self._curves[year]

    def _curve(self, obs, ix, start, end) -> pd.DataFrame:
        wide = obs.pivot_table(index="field_id", columns="date", values=ix, aggfunc="mean").reindex(self.fields.index)
        if wide.shape[1] == 0:
            return pd.DataFrame(np.nan, index=self.fields.index, columns=pd.date_range(start, end, freq="D"))
        return daily_curve(wide, start, end)

    def climatology(self, year) -> tuple[pd.DataFrame | None, dict]:
        """Per-day-of-season mean weather and per-field mean index curves of the other seasons with yields.

        Returns
        -------
        (weather, curves)
            ``weather``: one row per day of the season (numeric columns of the
            weather table and ``rs_est_mj_m2``), None without another season;
            ``curves``: index name -> array (fields, days), NaN where no
            other season saw that day.
        """
        if year in self._climatology:
            return self._climatology[year]
        others = [y for y in self.training_years() if y != year]
        n_days = len(self._weather_by_day(year))
        if not others:
            self._climatology[year] = (None, {})
            return self._climatology[year]
        tables = [self._weather_by_day(y).reindex(range(n_days)) for y in others]
        weather = pd.concat(tables).groupby(level=0).mean()
        curves = {}
        for ix in self.indices:
            stack = np.full((len(others), len(self.fields), n_days), np.nan)
            for k, y in enumerate(others):
                c = self._full_curves(y)[ix].to_numpy(float)[:, :n_days]
                stack[k, :, : c.shape[1]] = c
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a day no season saw stays NaN
                curves[ix] = np.nanmean(stack, axis=0)
        self._climatology[year] = (weather, curves)
        return self._climatology[year]

    def season_weather(self, year, cutoff_day: int | None = None) -> pd.DataFrame:
        """The season's weather table: observed up to ``cutoff_day``, climatology after it (and on missing days).

        Days no source covers stay NaN (the water balance then refuses them).
        """
        start, end = self.season_bounds(year)
        days = pd.date_range(start, end, freq="D")
        w = self.weather.reindex(days)
        w.index.name = self.weather.index.name
        future = np.arange(len(days)) > (len(days) if cutoff_day is None else int(cutoff_day))
        missing = w[["tmin_c", "tmax_c"]].isna().any(axis=1).to_numpy() | future
        clim, _ = self.climatology(year)
        if missing.any() and clim is not None:
            cols = [c for c in w.columns if c in clim.columns]
            w.loc[missing, cols] = clim.loc[np.flatnonzero(missing), cols].to_numpy()
            if "filled" in w.columns:
                w["filled"] = w["filled"].astype("boolean").fillna(True).astype(bool)
                w.loc[missing, "filled"] = True
        w.attrs = dict(self.weather.attrs)
        return w

    def season_radiation(self, year, cutoff_day: int | None = None) -> np.ndarray:
        """Daily global radiation of the season (MJ/m²): the station's up to ``cutoff_day``, then climatology."""
        start, end = self.season_bounds(year)
        days = pd.date_range(start, end, freq="D")
        rs = self.radiation().reindex(days).to_numpy(float)
        clim, _ = self.climatology(year)
        if clim is not None:
            future = np.arange(len(days)) > (len(days) if cutoff_day is None else int(cutoff_day))
            rs = np.where(future | np.isnan(rs), clim["rs_est_mj_m2"].to_numpy(float)[: len(days)], rs)
        return rs

    def season_curves(self, year, cutoff_day: int) -> dict:
        """Daily index curves of the season: observed up to ``cutoff_day``, then climatology.

        The departure of the observed curve from the field's climatological
        curve on its last known day fades out with an e-folding time of
        :data:`ANOMALY_MEMORY_DAYS`.
        """
        start, end = self.season_bounds(year)
        cutoff = min(start + pd.Timedelta(days=int(cutoff_day)), end)
        obs = self.obs[(self.obs["date"] >= start) & (self.obs["date"] <= cutoff)]
        n_days = (end - start).days + 1
        _, clim = self.climatology(year) if cutoff < end else (None, {})
        out = {}
        for ix in self.indices:
            seen = self._curve(obs, ix, start, cutoff).to_numpy(float)
            curve = np.full((len(self.fields), n_days), np.nan)
            curve[:, : seen.shape[1]] = seen
            if ix in clim:
                c = clim[ix][:, :n_days]
                days = np.arange(n_days)
                known = np.isfinite(seen)
                last = np.where(known.any(axis=1), seen.shape[1] - 1 - np.argmax(known[:, ::-1], axis=1), -1)
                rows = np.arange(len(seen))
                anomaly = np.where(last >= 0, seen[rows, np.maximum(last, 0)] - c[rows, np.maximum(last, 0)], 0.0)
                anomaly = np.nan_to_num(anomaly, nan=0.0)
                fade = np.exp(-np.clip(days[None, :] - last[:, None], 0, None) / ANOMALY_MEMORY_DAYS)
                after = days[None, :] >= seen.shape[1]
                curve = np.where(after, c + anomaly[:, None] * fade, curve)
            out[ix] = pd.DataFrame(curve, index=self.fields.index, columns=pd.date_range(start, end, freq="D"))
        return out

    def balance(self, year, cutoff_day: int | None = None):
        """kit.agro water balance of every field for the season (station weather, soil class), cached.

        With ``cutoff_day`` the weather after that day of the season is climatology.

        Returns
        -------
        (balance, planting_dates, weather)
            The :func:`kit.agro.water_balance` Dataset, the planting date of
            each field, and the daily weather the balance ran on.
        """
        start, end = self.season_bounds(year)
        n_days = (end - start).days + 1
        key = (year, None if cutoff_day is None or cutoff_day >= n_days - 1 or not self.training_years() else int(cutoff_day))
        if key in self._balance:
            return self._balance[key]
        from kit.agro import water_balance

        w = self.season_weather(year, key[1])
        known = w[["tmin_c", "tmax_c"]].notna().all(axis=1).to_numpy()
        last = int(np.flatnonzero(known)[-1]) if known.any() else -1
        if not known[0] or last < min(n_days - 1, 300):
            raise InputDataError(
                f"the weather ({self.weather.index[0]:%Y-%m-%d} to {self.weather.index[-1]:%Y-%m-%d}) does not cover the {year} season "
                f"({start:%Y-%m-%d} to {end:%Y-%m-%d}); give weather for every season in yields"
            )
        w = w.iloc[: last + 1]
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
            ds = water_balance(table, w, start=start, end=w.index[-1], backend=self.backend)
        self._balance[key] = (ds, plant, w)
        return self._balance[key]

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
            start, end = self.season_bounds(year)
            cutoff = min(start + pd.Timedelta(days=int(cutoff_day)), end)
            obs = self.obs[(self.obs["date"] >= start) & (self.obs["date"] <= cutoff)]
            if obs.empty:
                skipped += [Skipped(f, year, f"no imagery between {start:%Y-%m-%d} and {cutoff:%Y-%m-%d}") for f in self.fields.index]
                continue
            curves = self.season_curves(year, cutoff_day)
            windows = {}
            for m, name in enumerate(MONTH_WINDOWS):
                a = ((start + pd.DateOffset(months=3 + m)).replace(day=1) - start).days
                windows[name] = (a, a + 30)
            pheno = pd.concat([phenology_features(curves[ix].to_numpy(), prefix=ix, index=curves[ix].index, month_starts=windows)
                               for ix in self.indices], axis=1)
            no_obs = ~self.fields.index.isin(obs.loc[obs[self.indices[0]].notna(), "field_id"].unique())
            skipped += [Skipped(f, year, f"no clear observation of the field before {cutoff:%Y-%m-%d}") for f in pheno.index[no_obs]]
            ds, plant, w = self.balance(year, cutoff_day)
            wx = stage_weather_features(ds, w, crops=CROPS)
            frame = pheno.join(wx)
            planting_day = (plant - start).dt.days.to_numpy(float)
            if "ndvi" in curves:  # fAPAR from NDVI (Myneni & Williams 1994)
                n = min(ds.sizes["time"], curves["ndvi"].shape[1])
                rs = self.season_radiation(year, cutoff_day)
                lue = light_use_features(curves["ndvi"].to_numpy()[:, :n], ds["ks"].values[:, :n], rs[:n], planting_day)
                for name, values in lue.items():
                    frame[name] = values
            frame["planting_day"] = planting_day
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
            series = y[col] if y.index.is_unique else y[col].groupby(level=[0, 1]).first()
            values = pd.Series(series.reindex(pd.MultiIndex.from_arrays([table["field_id"], table["year"]])).to_numpy(), index=table.index)
            table[f"season_{col}"] = pd.to_numeric(values, errors="coerce") if _numeric(y[col]) else values.astype("category")
        return table


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.to_numeric(series.dropna(), errors="coerce").notna().all()


def model_columns(features: pd.DataFrame) -> list:
    """Columns a model may use: everything but identifiers and the target; all-empty columns dropped."""
    drop = {"field_id", "year", "yield_t_ha"}
    return [c for c in features.columns if c not in drop and features[c].notna().any()]


class YieldModel(RegressorMixin, BaseEstimator):
    """P10/P50/P90 yield model on a feature table, with both baselines fitted alongside.

    The quantile models learn yields from the season features (with
    ``anomaly``, the departure from the trend baseline, added back in the
    forecast); with ``shrink`` the forecast is then drawn towards the better
    of the two baselines. Both baselines are fitted on the training years
    only. Field histories carry what imagery cannot see (soil depth,
    management); the features carry the season.

    A scikit-learn estimator: ``fit(X, y)`` and ``predict(X)`` take the
    feature DataFrame of :meth:`FeatureBuilder.features` (``field_id`` and
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
    shrink : bool
        Shrink the forecast towards the better baseline by the weight that
        inner year folds find best (see :meth:`_fit_shrinkage`).
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
    shrink_to_ : str
        Baseline the forecast is shrunk towards, ``"trend"`` or ``"mean"``.
    shrink_weight_ : float
        Weight of the model's departure from that baseline, in [0, 1] (1: no shrinkage).
    widen_t_ha_ : float
        Conformal widening of each side of the P10-P90 interval (t/ha; negative narrows it).
    X_fit_, y_fit_ : pandas.DataFrame, numpy.ndarray
        The training rows (with ``field_history_t_ha`` when ``history``), which
        the history feature and the ``anomaly`` trend are computed from at prediction.
    """

    def __init__(self, anomaly: bool = False, history: bool = False, calibrate: bool = True, calibration_folds: int = 6,
                 station_weather: bool = False, shrink: bool = True, *, quantiles=(0.1, 0.5, 0.9), n_estimators: int = 150,
                 learning_rate: float = 0.06, num_leaves: int = 15, min_child_samples: int = 20, subsample: float = 0.8,
                 colsample_bytree: float = 0.8, reg_lambda: float = 1.0, max_bin: int = 63, seed: int = 0, n_jobs: int = 1,
                 name: str = "yield"):
        self.anomaly = anomaly
        self.history = history
        self.calibrate = calibrate
        self.calibration_folds = calibration_folds
        self.station_weather = station_weather
        self.shrink = shrink
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
        self.name = name

    def _gbm_params(self) -> dict:
        """This model's :class:`kit.ml.QuantileGBM` parameters."""
        names = QuantileGBM._get_param_names()
        return {k: v for k, v in self.get_params(deep=False).items() if k in names}

    def _fit_gbm(self, X, y):
        offset = LinearTrendBaseline().fit(X, y).predict(X) if self.anomaly else 0.0
        return QuantileGBM(**self._gbm_params()).fit(X[self.columns_], y - offset)

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
        self.columns_ = [c for c in model_columns(X)
                         if self.station_weather or not (c == "season_rain_mm" or c.endswith(STATION_WEATHER_SUFFIXES))]
        self.mean_ = FieldMeanBaseline().fit(X, y)
        self.trend_ = LinearTrendBaseline().fit(X, y)
        self.gbm_ = self._fit_gbm(X, y)
        self.X_fit_, self.y_fit_ = X, y
        self.widen_t_ha_, self.shrink_weight_, self.shrink_to_ = 0.0, 1.0, "trend"
        interval = len(self.quantiles) > 1
        if (self.calibrate and interval) or self.shrink:
            inner = self._inner_predictions(X, y)
            if inner is not None:
                pred, base, y_in = inner
                if self.shrink:
                    self._fit_shrinkage(pred, base, y_in)
                if self.calibrate and interval:
                    shifted = self._shift(pred, base[self.shrink_to_])
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
        preds, bases, ys = [], {"trend": [], "mean": []}, []
        for held in np.array_split(uniq, min(self.calibration_folds, len(uniq))):
            test = np.isin(years, held)
            inner = X[~test].assign(field_history_t_ha=self._history(X[~test], X[~test], y[~test], True)) if self.history else X[~test]
            outer = X[test].assign(field_history_t_ha=self._history(X[test], X[~test], y[~test], False)) if self.history else X[test]
            gbm = self._fit_gbm(inner, y[~test])
            preds.append(self._raw(gbm, inner, y[~test], outer))
            bases["trend"].append(LinearTrendBaseline().fit(inner, y[~test]).predict(outer))
            bases["mean"].append(FieldMeanBaseline().fit(inner, y[~test]).predict(outer))
            ys.append(y[test])
        return pd.concat(preds), {k: np.concatenate(v) for k, v in bases.items()}, np.concatenate(ys)

    def _median_column(self, pred: pd.DataFrame) -> str:
        return pred.columns[int(np.argmin([abs(q - 0.5) for q in self.quantiles]))]

    def _fit_shrinkage(self, pred: pd.DataFrame, base: dict, y: np.ndarray) -> None:
        """Weight ``w`` of the model's departure from the better baseline, chosen on inner out-of-year predictions.

        ``P50 = baseline + w (model - baseline)``: 1 keeps the model, 0 falls
        back on the baseline. Early in the season, when the features say
        little about a season the model has not seen, the inner folds find
        a small ``w`` and the forecast stays near the field's history instead
        of inventing a season.
        """
        p50 = pred[self._median_column(pred)].to_numpy()
        self.shrink_to_ = min(base, key=lambda k: float(np.mean((base[k] - y) ** 2)))
        b = base[self.shrink_to_]
        grid = np.linspace(0.0, 1.0, 21)
        errors = [float(np.mean((b + w * (p50 - b) - y) ** 2)) for w in grid]
        self.shrink_weight_ = float(grid[int(np.argmin(errors))])

    def _shift(self, pred: pd.DataFrame, base: np.ndarray) -> pd.DataFrame:
        """Move every quantile by the shrinkage of the median (the interval keeps its shape)."""
        p50 = pred[self._median_column(pred)].to_numpy()
        return pred.add((self.shrink_weight_ - 1.0) * (p50 - base), axis=0)

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """P10/P50/P90 (the ``quantiles``' columns, t/ha) and both baselines (``baseline_mean``, ``baseline_trend``)."""
        check_is_fitted(self)
        X = self._with_history(X, self.X_fit_, self.y_fit_, False)
        out = self._raw(self.gbm_, self.X_fit_, self.y_fit_, X)
        base = {"trend": self.trend_.predict(X), "mean": self.mean_.predict(X)}
        out = self._shift(out, base[self.shrink_to_])
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
        """Feature contributions (t/ha) to the raw prediction of the 0.5 quantile model, before shrinkage.

        See :meth:`kit.ml.QuantileGBM.contributions`.
        """
        check_is_fitted(self)
        X = self._with_history(X, self.X_fit_, self.y_fit_, False)
        return self.gbm_.contributions(X[self.columns_])


def cross_validate(features: pd.DataFrame, yields: pd.DataFrame, *, exclude_year=None, **params) -> tuple[pd.DataFrame, dict]:
    """Leave-one-year-out predictions and skill metrics (error, skill against both baselines, interval coverage).

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
    P50 only and without the shrinkage towards the baseline (no inner folds), unless ``shrink=True`` is passed.

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
    params = {"shrink": False, **params}  # one (season, group) per fold, many folds: no inner folds, to keep it quick
    pred = cross_val_predict(lambda: YieldModel(calibrate=False, quantiles=(0.5,), **params), train, train["yield_t_ha"], splits,
                             years=years, groups=groups)
    obs = train.loc[pred.index, "yield_t_ha"].to_numpy()
    return {"cv_nrmse_p50": nrmse(obs, pred["yield_p50"]), "baseline_nrmse_mean": nrmse(obs, pred["baseline_mean"]),
            "baseline_nrmse_trend": nrmse(obs, pred["baseline_trend"]), "folds": len(splits)}
