"""Skill of the yield estimator: leave-one-year-out and season-and-group cross-validation, skill by lead time.

Every fold holds out whole seasons (and, for the spatial check, whole
groups of fields), so no test season is seen in training; skill is
reported beside both baselines (field mean, field mean + trend).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from kit.errors import InputDataError, ParameterError
from kit.ml import cross_val_predict, interval_coverage, leave_one_year_out, nrmse, r2, rmse
from kit.yieldpred.data import SkippedWarning
from kit.yieldpred.estimator import YieldModel, training_table
from kit.yieldpred.features import FeatureBuilder

__all__ = ["cross_validate", "cross_validate_spatial", "cv_metrics", "skill_by_lead_time"]


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
    """Skill metrics of cross-validated predictions (the columns of :func:`cross_validate`)."""
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


def cross_validate_spatial(features: pd.DataFrame, yields: pd.DataFrame, group_column: str, *, exclude_year=None, **params) -> dict:
    """P50 skill when both the season and the field's group (commune, block) are held out.

    Each fold tests one (season, group) and trains on other seasons *and*
    other groups (:func:`kit.ml.year_and_group_folds`): the skill for a
    commune the model has never seen, in a season it has never seen.
    P50 only, without the shrinkage towards the baseline and the plain-model blend (no inner folds), unless
    ``shrink=True`` or ``blend_plain=True`` is passed.

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
    params = {"shrink": False, "blend_plain": False, **params}  # one (season, group) per fold, many folds: no inner folds, to keep it quick
    pred = cross_val_predict(lambda: YieldModel(calibrate=False, quantiles=(0.5,), **params), train, train["yield_t_ha"], splits,
                             years=years, groups=groups)
    obs = train.loc[pred.index, "yield_t_ha"].to_numpy()
    return {"cv_nrmse_p50": nrmse(obs, pred["yield_p50"]), "baseline_nrmse_mean": nrmse(obs, pred["baseline_mean"]),
            "baseline_nrmse_trend": nrmse(obs, pred["baseline_trend"]), "folds": len(splits)}
