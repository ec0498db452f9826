"""The alarm scan's confirmation window, on a hand-made residual record and a stand-in localizer."""
from types import SimpleNamespace

import numpy as np
import pytest
import pandas as pd

from kit.water.alarm_scan import scan_alarms
from kit.water.localize import coverage_share


class _Network:
    """Two junctions 1 km apart along pipes."""

    junctions = ["a", "b"]

    def distances_m(self):
        return pd.DataFrame([[0.0, 1000.0], [1000.0, 0.0]], index=self.junctions, columns=self.junctions)


class _Localizer:
    """Cannot tell a from b on a short shift; a fits far better after ``sharp_after_h`` hours of it."""

    def __init__(self, sharp_after_h):
        self.sharp_after_h = sharp_after_h

    def rank(self, shift, sigma):
        sharp = len(shift) >= self.sharp_after_h
        table = pd.DataFrame({"leak_flow_lps": [3.0, 3.0], "misfit": [10.0, 40.0 if sharp else 10.0],
                              "explained": [0.8, 0.2 if sharp else 0.8]}, index=["b", "a"] if not sharp else ["a", "b"])
        table.attrs["n_obs"] = 2 * len(shift)
        return table


class _BySensor:
    """Junction a for a shift that lowers p1 most, b (1 km away) for one that lowers p2 most."""

    def rank(self, shift, sigma):
        order = ["a", "b"] if shift["p1"].mean() < shift["p2"].mean() else ["b", "a"]
        table = pd.DataFrame({"leak_flow_lps": [3.0, 3.0], "misfit": [10.0, 40.0], "explained": [0.8, 0.2]},
                             index=order)
        table.attrs["n_obs"] = 2 * len(shift)
        return table


def _detector(confirm_h, sharp_after_h=30, hold_floor=True):
    sensors = ["p1", "p2"]
    return SimpleNamespace(tz="UTC", persistence_h=4, slack=2.0, threshold_=10.0, settle_h=48,
                           sigma_smooth_=pd.Series(0.01, index=sensors), sigma_hour_=pd.Series(0.01, index=sensors),
                           localizer_=_Localizer(sharp_after_h), regions_={}, network_=_Network(), merge_radius_m=600.0,
                           min_score=0.1, drift_score=0.35, report_by="coverage", area_radius_m=300.0,
                           n_candidates=2, confirm_share=0.6, confirm_h=confirm_h, corr_h=2.0,
                           hold_floor=hold_floor, known_candidates=0, night_hours=(1, 5),
                           min_night_excess_lps=0.5, night_wait_score=0.4)


def _record():
    """10 days of zero residuals; p1 drops by 5 cm (5 standard deviations) from hour 100."""
    idx = pd.date_range("2024-01-01", periods=240, freq="1h", tz="UTC")
    rng = np.random.default_rng(0)
    hourly = pd.DataFrame(rng.normal(0, 0.002, (240, 2)), index=idx, columns=["p1", "p2"])
    hourly.iloc[100:, 0] -= 0.05
    return hourly


def test_spread_candidates_wait_for_the_confirmation_window():
    hourly = _record()
    now, _, _ = scan_alarms(_detector(confirm_h=0), hourly, None)
    later, _, _ = scan_alarms(_detector(confirm_h=24), hourly, None)
    assert len(now) == 1 and len(later) == 1
    assert now["candidates"].iloc[0].split(";")[0] in ("a", "b")
    delay_h = (later["detected_at"].iloc[0] - now["detected_at"].iloc[0]) / pd.Timedelta("1h")
    assert delay_h == 24
    assert later["candidates"].iloc[0].split(";")[0] == "a"  # the longer shift settles it
    assert later["start_estimate"].iloc[0] == now["start_estimate"].iloc[0]


def test_a_fading_raise_after_a_leak_is_not_a_new_leak():
    # The leak lowers p1 and raises p2 (the model predicts p2 from p1); the raise fades from hour 200 to 300.
    idx = pd.date_range("2024-01-01", periods=340, freq="1h", tz="UTC")
    rng = np.random.default_rng(0)
    hourly = pd.DataFrame(rng.normal(0, 0.002, (340, 2)), index=idx, columns=["p1", "p2"])
    hourly.iloc[100:, 0] -= 0.05
    hourly.iloc[100:, 1] += 0.05 * np.clip((300 - np.arange(100, 340)) / 100, 0, 1)
    runs = []
    for hold_floor in (False, True):
        det = _detector(confirm_h=0, hold_floor=hold_floor)
        det.localizer_ = _BySensor()
        runs.append(scan_alarms(det, hourly, None)[0])
    newest, lowest = runs
    assert len(newest) == 2 and newest["sensor"].iloc[1] == "p2"  # the fading raise, read as a drop
    assert len(lowest) == 1 and lowest["sensor"].iloc[0] == "p1"


def test_concentrated_candidates_are_raised_at_once():
    hourly = _record()
    now, _, _ = scan_alarms(_detector(confirm_h=0, sharp_after_h=1), hourly, None)
    waited, _, _ = scan_alarms(_detector(confirm_h=24, sharp_after_h=1), hourly, None)
    assert waited["detected_at"].tolist() == now["detected_at"].tolist()


def test_coverage_share_splits_between_distant_equals():
    r = pd.DataFrame({"misfit": [10.0, 10.0, 10.0]}, index=["a", "b", "c"])
    r.attrs["n_obs"] = 100
    net = _Network()
    net.junctions = ["a", "b", "c"]
    net.distances_m = lambda: pd.DataFrame([[0, 1000, 100], [1000, 0, 1000], [100, 1000, 0]], index=list("abc"),
                                           columns=list("abc"), dtype=float)
    first, share = coverage_share(r, net)
    assert first in ("a", "c") and abs(share - 2 / 3) < 1e-9
    r.loc["b", "misfit"] = 1e6  # b ruled out: a and c are one search area
    assert abs(coverage_share(r, net)[1] - 1.0) < 1e-9


class _TwoLeaks(_Localizer):
    """Best fit a for a shift starting before hour 200, c (400 m from a) after."""

    def __init__(self, t_switch):
        self.t_switch = t_switch

    def rank(self, shift, sigma):
        best, other = ("a", "c") if shift.index[0] < self.t_switch else ("c", "a")
        table = pd.DataFrame({"leak_flow_lps": [3.0, 3.0], "misfit": [10.0, 1e3], "explained": [0.8, 0.0]},
                             index=[best, other])
        table.attrs["n_obs"] = 2 * len(shift)
        return table


def test_a_second_leak_beyond_the_merge_radius_is_raised():
    idx = pd.date_range("2024-01-01", periods=400, freq="1h", tz="UTC")
    hourly = pd.DataFrame(np.random.default_rng(1).normal(0, 0.002, (400, 2)), index=idx, columns=["p1", "p2"])
    hourly.iloc[100:, 0] -= 0.05
    hourly.iloc[250:, 1] -= 0.05

    def run(merge_radius_m):
        net = _Network()
        net.junctions = ["a", "c"]
        net.distances_m = lambda: pd.DataFrame([[0.0, 400.0], [400.0, 0.0]], index=["a", "c"], columns=["a", "c"])
        det = _detector(confirm_h=0)
        det.network_, det.merge_radius_m, det.localizer_ = net, merge_radius_m, _TwoLeaks(idx[200])
        return scan_alarms(det, hourly, None)[0]

    assert run(600.0)["candidates"].str[0].tolist() == ["a"]  # taken for the first leak growing
    assert run(300.0)["candidates"].str[0].tolist() == ["a", "c"]


def test_known_leaks_are_projected_out_of_a_later_fit():
    """A shift of leak b on top of a growing leak a: fitted alone it looks like a, with a projected out it is b."""
    from kit.water.localize import SignatureLocalizer

    rng = np.random.default_rng(1)
    loc = SignatureLocalizer(None, hours=(3.0,))
    loc.hours_, loc.tz, loc.targets_ = (3.0,), "UTC", [f"p{i}" for i in range(8)]
    loc.candidates_ = ["a", "b", "c"]
    loc.expected_ = {3.0: -np.abs(rng.normal(1.0, 0.5, (3, 8)))}
    loc.valid_ = np.ones(3, bool)
    e = loc.expected_[3.0]
    growth = np.linspace(2.0, 8.0, 24)[:, None]  # L/s of leak a, still growing after its alarm
    shift = pd.DataFrame(growth * e[0] + 1.5 * e[1], index=pd.date_range("2024-01-01", periods=24, freq="1h", tz="UTC"),
                         columns=loc.targets_)
    sigma = pd.Series(0.01, index=loc.targets_)
    assert loc.rank(shift, sigma).index[0] == "a"
    known = loc.rank(shift, sigma, known=["a"])
    assert known.index[0] == "b"
    assert known.loc["b", "leak_flow_lps"] == pytest.approx(1.5, rel=1e-6)
    assert known.loc["b", "explained"] == pytest.approx(1.0, abs=1e-9)
    assert known.loc["a", "leak_flow_lps"] == pytest.approx(0.0, abs=1e-6)


def _demand_record(leak_lps):
    """14 days; p1 drops by 5 cm from hour 200 (9 January, 08:00 UTC) and the consumption rises by ``leak_lps``."""
    idx = pd.date_range("2024-01-01", periods=336, freq="1h", tz="UTC")
    rng = np.random.default_rng(0)
    hourly = pd.DataFrame(rng.normal(0, 0.002, (336, 2)), index=idx, columns=["p1", "p2"])
    hourly.iloc[200:, 0] -= 0.05
    consumption = pd.Series(10.0 + rng.normal(0, 0.2, 336), index=idx)
    consumption.iloc[200:] += leak_lps
    return hourly, consumption


def test_the_night_check_drops_a_day_of_unusual_demand_and_raises_a_leak():
    det = _detector(confirm_h=0)
    det.night_wait_score = 0.9  # the stand-in explains 0.8: it waits for the night
    hourly, dry = _demand_record(0.0)
    assert scan_alarms(det, hourly, dry)[0].empty  # no more water at night: not a leak, however often it recurs
    hourly, wet = _demand_record(3.0)
    alarms = scan_alarms(det, hourly, wet)[0]
    assert len(alarms) == 1
    assert alarms["detected_at"].iloc[0] == pd.Timestamp("2024-01-10 04:00", tz="UTC")  # the night's last hour
    det.min_night_excess_lps = None
    at_once = scan_alarms(det, hourly, dry)[0]
    assert len(at_once) == 1 and at_once["detected_at"].iloc[0] < pd.Timestamp("2024-01-09 20:00", tz="UTC")


def test_a_well_explained_alarm_does_not_wait_for_the_night():
    det = _detector(confirm_h=0)
    hourly, dry = _demand_record(0.0)
    alarms = scan_alarms(det, hourly, dry)[0]  # 0.8 >= night_wait_score 0.4: raised before any night
    assert len(alarms) == 1 and alarms["detected_at"].iloc[0] < pd.Timestamp("2024-01-09 20:00", tz="UTC")


def test_a_leak_already_running_does_not_wet_the_night_of_a_new_alarm():
    det = _detector(confirm_h=0)
    det.night_wait_score = 0.9
    hourly, consumption = _demand_record(0.0)
    # A leak of 4 L/s from 5 January, inside the week before the new shift: the night before the shift holds it too.
    consumption[consumption.index >= pd.Timestamp("2024-01-05", tz="UTC")] += 4.0
    assert scan_alarms(det, hourly, consumption)[0].empty
    consumption.iloc[200:] += 3.0  # new water since the shift began: a leak
    assert len(scan_alarms(det, hourly, consumption)[0]) == 1
