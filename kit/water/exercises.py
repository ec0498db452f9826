"""Checks for the leak-detection notebook's exercises (kit teach).

Each check runs the student's function on small inputs with known answers
and against the kit's own implementation, so it says the same thing whatever
the notebook's parameters.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.exercise_checks import check
from kit.i18n import _, format_date, format_number, get_lang
from kit.water.thresholds import DAYS_PER_MONTH, cusum, gumbel_threshold


def _as_1d(values) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(-1)


def check_cusum(my_cusum):
    """Exercise 1: the one-sided CUSUM ``S_t = max(0, S_{t-1} + z_t - slack)``, NaN keeping ``S``."""
    rng = np.random.default_rng(7)
    long_z = rng.normal(0.0, 1.5, 300)
    long_z[rng.random(300) < 0.05] = np.nan

    def same(z, slack):
        got = _as_1d(my_cusum(np.asarray(z, dtype=float), slack))
        want = cusum(np.asarray(z, dtype=float)[:, None], slack)[:, 0]
        return got.shape == want.shape and np.allclose(got, want, atol=1e-9)

    return check(_("exercise 1: the CUSUM by hand"), [
        (callable(my_cusum), _("my_cusum is a function"), _("define my_cusum(z, slack) as a function")),
        (lambda: len(_as_1d(my_cusum(np.zeros(5), 0.5))) == 5, _("one value per hour"),
         _("my_cusum should return one value per element of z")),
        (lambda: same([0.0, 2.0, 2.0, -5.0], 0.5), _("[0, 2, 2, -5] with slack 0.5 gives [0, 1.5, 3, 0]"),
         _("for z = [0, 2, 2, -5] and slack 0.5 the CUSUM is [0, 1.5, 3, 0]: add z - slack, never go below 0")),
        (lambda: same([3.0, np.nan, 1.0], 0.5), _("a missing hour keeps S"),
         _("a missing hour (NaN) must leave S unchanged: [3, NaN, 1] with slack 0.5 gives [2.5, 2.5, 3]")),
        (lambda: same(long_z, 2.0), _("and it matches kit.water.detect.cusum on 300 random hours"),
         _("your CUSUM differs from the kit's on a longer random series (slack 2.0)")),
    ])


def check_threshold_rule(threshold_rule):
    """Exercise 2: the Gumbel threshold from training days' CUSUM maxima and a false-alarm rate."""
    rng = np.random.default_rng(3)
    samples = [rng.gumbel(6.0, 2.0, 7), rng.gumbel(3.0, 1.0, 28), np.array([4.0, 5.5, np.nan, 7.0, 6.0, 5.0])]

    def matches(rate):
        for x in samples:
            want = gumbel_threshold(x, rate / DAYS_PER_MONTH)
            got = float(threshold_rule(x.copy(), rate))
            if not abs(got - want) <= 1e-6 * max(1.0, abs(want)):
                return False
        return True

    def first():
        x = samples[0]
        return float(threshold_rule(x.copy(), 1.0)), gumbel_threshold(x, 1.0 / DAYS_PER_MONTH)

    return check(_("exercise 2: the threshold rule"), [
        (callable(threshold_rule), _("threshold_rule is a function"),
         _("define threshold_rule(daily_max, false_alarms_per_month) as a function")),
        (lambda: np.isfinite(float(threshold_rule(samples[0].copy(), 1.0))), _("it returns a number"),
         _("threshold_rule should return one number (the CUSUM threshold, standard deviations)")),
        (lambda: abs(first()[0] - first()[1]) < 1e-6 * max(1.0, abs(first()[1])),
         lambda: _("one false alarm a month on a week of maxima: {threshold}").format(threshold=format_number(first()[1], 2)),
         _("the level is mu - beta * ln(-ln(1 - p)) with beta = sd * sqrt(6) / pi (sd with ddof=1), "
           "mu = mean - 0.5772 * beta and p = false_alarms_per_month / 30.44 per day")),
        (lambda: matches(1.0) and matches(0.25), _("right for other samples and rates"),
         _("right on one sample but not on others: drop days without a value (NaN) before the mean and sd")),
        (lambda: float(threshold_rule(samples[1].copy(), 0.25)) > float(threshold_rule(samples[1].copy(), 1.0)),
         _("and fewer false alarms a month means a higher threshold (later alarms)"),
         _("a lower false-alarm rate must give a higher threshold")),
    ])


def reference_mnf_alarm(mnf_lps: pd.Series, baseline_nights: int = 7, rise_lps: float = 1.0):
    """First night after the baseline nights whose MNF exceeds their median by more than ``rise_lps``; else None.

    Examples
    --------
    >>> mnf = pd.Series([10.0] * 8 + [13.0], index=pd.date_range("2024-01-01", periods=9).date)
    >>> str(reference_mnf_alarm(mnf))
    '2024-01-09'
    """
    values = mnf_lps.astype(float)
    base = values.iloc[:baseline_nights].median()  # pandas skips NaN nights
    if not np.isfinite(base):
        return None
    later = values.iloc[baseline_nights:]
    over = later[later > base + rise_lps]
    return over.index[0] if len(over) else None


def _night(day) -> str:
    """A night's date as the check says it: ``2024-01-10`` in English, ``10 janvier 2024`` in French."""
    if day is None:
        return _("no night")
    return format_date(str(day)) if get_lang() == "fr" else str(day)


def check_night_flow_alarm(first_mnf_alarm, mnf_lps: pd.Series | None = None):
    """Exercise 3: a minimum-night-flow alarm, on small series and on the notebook's own night flow."""
    days = pd.date_range("2024-01-01", periods=14).date
    step = pd.Series(np.r_[np.full(9, 10.0), np.full(5, 12.5)], index=days)
    small = pd.Series(np.r_[np.full(9, 10.0), np.full(5, 10.8)], index=days)
    gappy = step.copy()
    gappy.iloc[[1, 4]] = np.nan
    early = pd.Series(np.r_[np.full(3, 10.0), np.full(11, 13.0)], index=days)  # rise inside the baseline nights
    spiky = pd.Series(np.r_[np.full(6, 10.0), 16.0, np.full(7, 11.5)], index=days)  # a hydrant flushing one night

    def same(series, **kw):
        got = first_mnf_alarm(series, **kw)
        want = reference_mnf_alarm(series, **kw)
        return (got is None and want is None) or (got is not None and want is not None and str(got) == str(want))

    real = []
    if mnf_lps is not None:
        real = [(lambda: same(mnf_lps), lambda: _("on this record's night flow: first rise on {night}").format(
                     night=_night(reference_mnf_alarm(mnf_lps))),
                 _("right on small series but not on the notebook's night flow (result.night_flow_lps)"))]
    return check(_("exercise 3: a night-flow alarm"), [
        (callable(first_mnf_alarm), _("first_mnf_alarm is a function"),
         _("define first_mnf_alarm(mnf_lps, baseline_nights=7, rise_lps=1.0) as a function")),
        (lambda: same(step), _("a 2.5 L/s rise on the 10th night is found"),
         _("for 9 nights at 10 L/s then 12.5 L/s, the alarm night is the 10th (return the index label, a date)")),
        (lambda: same(small), _("a 0.8 L/s rise stays below 1 L/s: no alarm (None)"),
         _("a rise smaller than rise_lps must give None")),
        (lambda: same(gappy), _("nights without data are skipped in the baseline"),
         _("use the median of the baseline nights that have a value (NaN nights skipped)")),
        (lambda: same(spiky), _("one odd night does not move the baseline (median, not mean)"),
         _("the baseline is the MEDIAN of the baseline nights, so one odd night (a flushing) does not move it")),
        (lambda: same(early) and same(early, baseline_nights=2) and same(small, rise_lps=0.5),
         _("the baseline is the first baseline_nights nights, and the parameters are used"),
         _("the baseline is the median of the FIRST baseline_nights nights, and only later nights can alarm; "
           "use the baseline_nights and rise_lps arguments")),
        *real,
    ])
