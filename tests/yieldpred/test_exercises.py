"""The yield notebook's exercise checks: right answers pass, typical mistakes get their hint."""
import numpy as np
import pandas as pd

from kit.yieldpred import exercises
from kit.yieldpred.season import season_start_date


def _weather():
    # Two seasons of daily maxima: a hot spell each autumn and each spring.
    days = pd.date_range("2022-09-01", "2024-08-31", name="date")
    doy = days.day_of_year.to_numpy()
    tmax = 20 + 14 * np.cos(2 * np.pi * (doy - 200) / 365) + 2.0 * (days >= "2023-09-01")  # a hotter second season
    return pd.DataFrame({"tmin_c": tmax - 12, "tmax_c": np.round(tmax, 1)}, index=days)


def heat_days(weather, year, cutoff_day, season_start, tmax_c=30.0):
    start = season_start_date(year, season_start)
    window = weather.loc[start:start + pd.Timedelta(days=cutoff_day), "tmax_c"]
    return int((window >= tmax_c).sum())


def _features():
    return pd.DataFrame({"field_id": ["A", "B", "A", "B"], "year": [2023, 2023, 2024, 2024], "ndvi_peak": [0.7, 0.6, 0.8, 0.5]})


def test_reference_heat_days_counts_by_hand():
    w = _weather()
    start = pd.Timestamp("2023-09-01")
    by_hand = int((w.loc["2023-09-01":"2023-09-21", "tmax_c"] >= 30).sum())  # day 0..20
    assert exercises.reference_heat_days(w, 2024, 20) == by_hand > 0
    assert exercises.reference_heat_days(w.reset_index(), 2024, 20) == by_hand  # a date column works too
    assert exercises.reference_heat_days(w, 2024, 20, tmax_c=99.0) == 0
    assert start == season_start_date(2024, "09-01")


def test_heat_days_check():
    w, f = _weather(), _features()
    per = {y: heat_days(w, y, 274, "09-01") for y in (2023, 2024)}
    good = f.assign(heat_days_30=f["year"].map(per))
    r = exercises.check_heat_days(heat_days, good, w, 274)
    assert r.passed and "across 2 seasons" in r.message
    assert not exercises.check_heat_days(lambda *a, **k: 0, f.copy(), w, 274).passed
    # Stopping the day before the cutoff.
    def exclusive(weather, year, cutoff_day, season_start, tmax_c=30.0):
        start = season_start_date(year, season_start)
        return int((weather.loc[start:start + pd.Timedelta(days=cutoff_day - 1), "tmax_c"] >= tmax_c).sum())
    w2 = w.copy()
    w2.loc["2024-06-01", "tmax_c"] = 40.0  # day 274 of the 2024 season is hot
    r = exercises.check_heat_days(exclusive, good, w2, 274)
    assert not r.passed and "both included" in r.message
    # A fixed 30 °C instead of the argument.
    r = exercises.check_heat_days(lambda weather, year, cutoff_day, season_start, tmax_c=30.0:
                                  heat_days(weather, year, cutoff_day, season_start), good, w, 274)
    assert not r.passed and "tmax_c argument" in r.message
    # Every row given the target season's count.
    r = exercises.check_heat_days(heat_days, f.assign(heat_days_30=per[2024]), w, 274)
    assert per[2023] != per[2024] and not r.passed and "row's year" in r.message


def test_nrmse_check():
    cv = pd.DataFrame({"yield_t_ha": [2.0, 4.0, 3.0], "baseline_trend": [2.5, 3.0, 3.0], "yield_p50": [2.0, 4.0, 3.0]})
    want = float(np.sqrt(np.mean([0.25, 1.0, 0.0])) / 3.0)
    r = exercises.check_nrmse(want, cv, {"baseline_nrmse_trend": want})
    assert r.passed and "21.5% of the mean yield" in r.message and "notebook's metrics" in r.message
    assert not exercises.check_nrmse(None, cv).passed
    r = exercises.check_nrmse(want * 3.0, cv)  # the RMSE, not normalized
    assert not r.passed and "divide it by the mean observed yield" in r.message
    r = exercises.check_nrmse(float(np.sqrt(np.mean([0.25, 1.0, 0.0])) / cv["baseline_trend"].mean()), cv)
    assert not r.passed and "mean(observed)" in r.message
