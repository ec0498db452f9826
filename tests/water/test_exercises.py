"""The leak notebook's exercise checks: right answers pass, typical mistakes get their hint."""
import numpy as np
import pandas as pd

from kit.water import exercises


def solution_cusum(z, slack):
    s, out = 0.0, []
    for value in z:
        if not np.isnan(value):
            s = max(0.0, s + value - slack)
        out.append(s)
    return np.array(out)


def solution_threshold(daily_max, false_alarms_per_month):
    x = np.asarray(daily_max, dtype=float)
    x = x[np.isfinite(x)]
    beta = x.std(ddof=1) * np.sqrt(6) / np.pi
    mu = x.mean() - 0.5772156649 * beta
    return mu - beta * np.log(-np.log(1 - false_alarms_per_month / 30.44))


def solution_mnf(mnf_lps, baseline_nights=7, rise_lps=1.0):
    base = mnf_lps.iloc[:baseline_nights].median()
    later = mnf_lps.iloc[baseline_nights:]
    over = later[later > base + rise_lps]
    return over.index[0] if len(over) else None


def test_cusum_check(capsys):
    assert exercises.check_cusum(solution_cusum).passed
    assert not exercises.check_cusum(lambda z, slack: np.zeros(len(z))).passed
    # Forgetting the floor at zero: the classic mistake.
    r = exercises.check_cusum(lambda z, slack: np.nancumsum(np.asarray(z) - slack))
    assert not r.passed and "never go below 0" in r.message
    # NaN resetting S instead of keeping it.
    def nan_resets(z, slack):
        s, out = 0.0, []
        for v in z:
            s = 0.0 if np.isnan(v) else max(0.0, s + v - slack)
            out.append(s)
        return out
    r = exercises.check_cusum(nan_resets)
    assert not r.passed and "NaN" in r.message
    assert "✘ Not yet (exercise 1" in capsys.readouterr().out


def test_threshold_check():
    r = exercises.check_threshold_rule(solution_threshold)
    assert r.passed and "one false alarm a month" in r.message
    assert not exercises.check_threshold_rule(lambda x, rate: None).passed
    # Population sd (ddof=0) is a different Gumbel scale.
    def ddof0(x, rate):
        x = np.asarray(x)[np.isfinite(x)]
        beta = x.std() * np.sqrt(6) / np.pi
        return x.mean() - 0.5772156649 * beta - beta * np.log(-np.log(1 - rate / 30.44))
    assert not exercises.check_threshold_rule(ddof0).passed
    # Without dropping NaN days the third sample fails.
    def keeps_nan(x, rate):
        x = np.asarray(x, dtype=float)
        beta = np.nanstd(x, ddof=1) * np.sqrt(6) / np.pi
        return np.mean(x) - 0.5772156649 * beta - beta * np.log(-np.log(1 - rate / 30.44))
    r = exercises.check_threshold_rule(keeps_nan)
    assert not r.passed and "NaN" in r.message


def test_night_flow_check():
    days = pd.date_range("2024-01-01", periods=20).date
    mnf = pd.Series(np.r_[np.full(9, 8.0), np.full(11, 14.0)], index=days)
    r = exercises.check_night_flow_alarm(solution_mnf, mnf)
    assert r.passed and "first rise on 2024-01-10" in r.message
    assert not exercises.check_night_flow_alarm(lambda m, baseline_nights=7, rise_lps=1.0: None).passed
    # The mean is pulled up by one odd night.
    def mean_base(m, baseline_nights=7, rise_lps=1.0):
        base = m.iloc[:baseline_nights].mean()
        over = m.iloc[baseline_nights:][m.iloc[baseline_nights:] > base + rise_lps]
        return over.index[0] if len(over) else None
    r = exercises.check_night_flow_alarm(mean_base)
    assert not r.passed and "MEDIAN" in r.message
    # Ignoring the arguments.
    r = exercises.check_night_flow_alarm(lambda m, baseline_nights=7, rise_lps=1.0: solution_mnf(m))
    assert not r.passed and "arguments" in r.message


def test_reference_mnf_alarm_on_the_embedded_scenario_night_flow():
    # The reference against an independent reading of a simple series.
    mnf = pd.Series([5.0, 5.2, np.nan, 4.9, 5.1, 5.0, 5.0, 5.3, 7.0, 7.1], index=pd.date_range("2024-01-01", periods=10).date)
    assert str(exercises.reference_mnf_alarm(mnf)) == "2024-01-09"
    assert exercises.reference_mnf_alarm(mnf, rise_lps=3.0) is None
