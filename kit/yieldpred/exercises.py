"""Checks for the yield-prediction notebook's exercises (kit teach).

Both checks compute their own answer from the inputs they are given, so
they hold on the embedded region, on a user's data and on small tables.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.exercise_checks import check
from kit.i18n import _, text_share


def _daily_tmax(weather: pd.DataFrame) -> pd.Series:
    """``tmax_c`` by day, from a weather table indexed by date or with a ``date`` column."""
    w = weather.set_index(pd.to_datetime(weather["date"])) if "date" in weather.columns else weather
    return w["tmax_c"].astype(float).sort_index()


def reference_heat_days(weather: pd.DataFrame, year: int, cutoff_day: int, season_start: str = "09-01",
                        tmax_c: float = 30.0) -> int:
    """Days with ``tmax_c >= tmax_c`` from the season's first day through day ``cutoff_day``, inclusive.

    Examples
    --------
    >>> w = pd.DataFrame({"tmax_c": [25.0, 31.0, 30.0, 35.0]}, index=pd.date_range("2023-09-01", periods=4, name="date"))
    >>> reference_heat_days(w, 2024, 2)
    2
    """
    from kit.yieldpred.season import season_start_date

    start = season_start_date(int(year), season_start)
    tmax = _daily_tmax(weather)
    window = tmax[(tmax.index >= start) & (tmax.index <= start + pd.Timedelta(days=int(cutoff_day)))]
    return int((window >= tmax_c).sum())


def check_heat_days(heat_days, features_heat, weather, cutoff_day: int, season_start: str = "09-01",
                    column: str = "heat_days_30"):
    """Exercise 1: a heat-stress feature, as a function and as a column of the feature table."""
    years = sorted(int(y) for y in pd.Series(features_heat["year"]).unique()) if hasattr(features_heat, "columns") \
        and "year" in features_heat.columns else []

    def fn_right():
        return all(int(heat_days(weather, y, cutoff_day, season_start)) == reference_heat_days(weather, y, cutoff_day,
                                                                                               season_start)
                   for y in years)

    def threshold_used():
        y = years[-1]
        return int(heat_days(weather, y, cutoff_day, season_start, tmax_c=25.0)) == \
            reference_heat_days(weather, y, cutoff_day, season_start, 25.0)

    def column_right():
        want = features_heat["year"].map({y: reference_heat_days(weather, y, cutoff_day, season_start) for y in years})
        return np.array_equal(features_heat[column].to_numpy(float), want.to_numpy(float))

    def summary():
        per_year = {y: reference_heat_days(weather, y, cutoff_day, season_start) for y in years}
        return _("{column} ranges from {low} to {high} days across {n} seasons up to day {day}").format(
            column=column, low=min(per_year.values()), high=max(per_year.values()), n=len(years), day=int(cutoff_day))

    return check(_("exercise 1: heat-stress days"), [
        (callable(heat_days), _("heat_days is a function"),
         _("define heat_days(weather, year, cutoff_day, season_start, tmax_c=30.0)")),
        (hasattr(features_heat, "columns") and column in features_heat.columns and len(years) > 0,
         _("features_heat has a {column} column").format(column=column),
         _("features_heat should be the feature table with a {column} column").format(column=column)),
        (fn_right, _("heat_days counts the right days"),
         _("count days with tmax_c >= 30 °C from the season's first day (yieldpred.season_start_date) through day "
           "cutoff_day, both included")),
        (threshold_used, _("and uses its tmax_c argument"), _("heat_days ignores its tmax_c argument")),
        (column_right, summary,
         _("the {column} column does not match heat_days of each row's season: use the row's year").format(column=column)),
    ])


def reference_nrmse(observed, predicted) -> float:
    """RMSE divided by the mean observation (independent of :func:`kit.ml.nrmse`).

    >>> round(reference_nrmse([2.0, 4.0], [2.0, 5.0]), 4)
    0.2357
    """
    o = np.asarray(observed, dtype=float)
    e = o - np.asarray(predicted, dtype=float)
    return float(np.sqrt(np.mean(e * e)) / np.mean(o))


def check_nrmse(nrmse_trend, cv: pd.DataFrame, metrics: dict | None = None):
    """Exercise 2: the trend baseline's NRMSE by hand, from the out-of-year predictions ``cv``."""
    want = reference_nrmse(cv["yield_t_ha"], cv["baseline_trend"])
    rmse = float(np.sqrt(np.mean((cv["yield_t_ha"] - cv["baseline_trend"]) ** 2)))
    agree = []
    if metrics is not None and "baseline_nrmse_trend" in metrics:
        agree = [(lambda: abs(want - float(metrics["baseline_nrmse_trend"])) < 1e-9,
                  _("the same as the notebook's metrics"),
                  _("your value matches the formula but not the notebook's metrics: re-run the cross-validation cell"))]
    return check(_("exercise 2: NRMSE of the trend baseline"), [
        (nrmse_trend is not None, _("an answer is given"), _("set nrmse_trend")),
        (lambda: np.isfinite(float(nrmse_trend)), _("it is a number"), _("nrmse_trend must be a number")),
        (lambda: abs(float(nrmse_trend) - rmse) > 1e-9 or abs(rmse - want) < 1e-9, _("it is normalized"),
         _("that is the RMSE in t/ha: divide it by the mean observed yield")),
        (lambda: abs(float(nrmse_trend) - want) < 1e-6, _("NRMSE {value} of the mean yield").format(value=text_share(want, 1)),
         _("NRMSE = sqrt(mean((observed - baseline_trend)²)) / mean(observed), with observed = cv['yield_t_ha']")),
        *agree,
    ])
