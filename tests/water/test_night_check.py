"""The night check's hours and excess flow: clean records, clock changes in local time, gaps."""
import numpy as np
import pandas as pd
import pytest

from kit.water.night_check import latest_night_hours, next_night_end, night_excess_lps

TZ = "Africa/Casablanca"


def _local(stamp):
    return pd.Timestamp(stamp, tz=TZ).tz_convert("UTC")


def test_a_clean_week_has_no_excess_and_a_leak_adds_its_flow():
    idx = pd.date_range("2024-05-01", periods=24 * 14, freq="1h", tz="UTC")
    hour = np.asarray(idx.tz_convert(TZ).hour, dtype=float)
    base = 8.0 + 4.0 * np.sin(2 * np.pi * (hour - 4) / 24)  # night minimum, day peak
    q = pd.Series(base, index=idx)
    night = latest_night_hours(_local("2024-05-10 12:00"), _local("2024-05-11 12:00"), TZ)
    assert list(night.tz_convert(TZ).hour) == [1, 2, 3, 4]
    assert night_excess_lps(q, night, TZ) == pytest.approx(0.0, abs=1e-12)
    leak = q + 2.5 * (idx >= _local("2024-05-10 18:00"))
    assert night_excess_lps(leak, night, TZ) == pytest.approx(2.5)
    day_only = q + 5.0 * ((hour >= 8) & (hour < 20))  # a day of unusual demand leaves the night alone
    assert night_excess_lps(day_only, night, TZ) == pytest.approx(0.0, abs=1e-12)


def test_ramadan_clock_changes_compare_wall_clock_hours():
    # Africa/Casablanca: UTC+1, UTC+0 for Ramadan (10 March to 14 April 2024, changes at 03:00 and 02:00).
    idx = pd.date_range("2024-02-20", "2024-04-30", freq="1h", tz="UTC")
    q = pd.Series(np.asarray(idx.tz_convert(TZ).hour, dtype=float), index=idx)  # flow set by the local hour
    back = latest_night_hours(_local("2024-03-09 12:00"), _local("2024-03-10 08:00"), TZ)
    assert len(back) == 5  # 02:00 comes twice
    ahead = latest_night_hours(_local("2024-04-13 12:00"), _local("2024-04-14 08:00"), TZ)
    assert list(ahead.tz_convert(TZ).hour) == [1, 3, 4]  # 02:00 skipped
    inside = latest_night_hours(_local("2024-03-11 12:00"), _local("2024-03-12 08:00"), TZ)
    assert night_excess_lps(q, inside, TZ) == pytest.approx(0.0)  # the week before was on UTC+1
    naive = q.reindex(inside).mean() - q.reindex(inside - pd.Timedelta(days=7)).mean()
    assert naive == pytest.approx(-1.0)  # what a UTC lag would have read
    assert np.isfinite(night_excess_lps(q, back, TZ)) and np.isfinite(night_excess_lps(q, ahead, TZ))


def test_gaps_and_the_records_start_give_nan():
    idx = pd.date_range("2024-05-01", periods=24 * 10, freq="1h", tz="UTC")
    q = pd.Series(10.0, index=idx)
    night = latest_night_hours(_local("2024-05-08 12:00"), _local("2024-05-09 12:00"), TZ)
    assert night_excess_lps(q, night, TZ) == pytest.approx(0.0)
    gappy = q.copy()
    gappy[night[:3]] = np.nan
    assert np.isnan(night_excess_lps(gappy, night, TZ))
    early = latest_night_hours(_local("2024-05-02 12:00"), _local("2024-05-03 12:00"), TZ)
    assert np.isnan(night_excess_lps(q, early, TZ))  # no week before in the record
    assert np.isnan(night_excess_lps(q, pd.DatetimeIndex([], tz="UTC"), TZ))


def test_a_leak_starting_at_night_is_read_on_the_rest_of_that_night():
    part = latest_night_hours(_local("2024-05-09 02:10"), _local("2024-05-09 12:00"), TZ)
    assert list(part.tz_convert(TZ).hour) == [3, 4]
    assert len(latest_night_hours(_local("2024-05-09 04:10"), _local("2024-05-09 23:00"), TZ)) == 0
    assert next_night_end(_local("2024-05-09 04:10"), TZ) == _local("2024-05-10 04:00")
    assert next_night_end(_local("2024-05-09 02:00"), TZ) == _local("2024-05-09 04:00")
