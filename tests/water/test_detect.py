"""Detection, localization and scoring: hand values, synthetic checks and simulated L-Town leaks."""
import math
import tempfile

import numpy as np
import pandas as pd
import pytest

from kit.errors import InputDataError
from kit.water.detect import LeakDetector, cusum, gumbel_threshold
from kit.water.localize import candidate_area
from kit.water.nightflow import minimum_night_flow, net_consumption_lps
from kit.water.residuals import PressureResiduals
from kit.water.scada import read_scada
from kit.water.synthetic import LeakSpec, generate_scenario
from kit.water.score import score_alarms


def test_cusum_by_hand():
    z = np.array([[0.0, 1.0], [2.0, np.nan], [2.0, 3.0], [-5.0, 0.0]])
    s = cusum(z, 0.5)
    assert s[:, 0].tolist() == [0.0, 1.5, 3.0, 0.0]
    assert s[:, 1].tolist() == [0.5, 0.5, 3.0, 2.5]  # NaN keeps the sum


def test_gumbel_threshold_matches_the_quantile():
    rng = np.random.default_rng(1)
    x = rng.gumbel(3.0, 1.5, 50_000)
    h = gumbel_threshold(x, 1 / 30)
    assert (x > h).mean() == pytest.approx(1 / 30, rel=0.1)
    with pytest.raises(InputDataError, match="at least 2 days"):
        gumbel_threshold([1.0], 0.1)


def _synthetic(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2024-01-01", periods=n, freq="5min", tz="UTC")
    demand = 1 + 0.5 * np.sin(2 * np.pi * np.arange(n) / 288) + 0.2 * rng.standard_normal(n).cumsum() / 30
    gains = np.linspace(1.0, 4.0, 6)
    x = pd.DataFrame({f"P{i}": 40 - g * demand + rng.normal(0, 0.02, n) for i, g in enumerate(gains)}, index=idx)
    return x


def test_residuals_are_at_the_noise_floor_and_see_a_local_drop():
    x = _synthetic()
    model = PressureResiduals().fit(x.iloc[:1000], folds=4)
    assert model.sigma_m_.max() < 0.03  # sensor noise 0.02 m; demand explained by the other sensors
    assert model.oof_residuals_.std().max() < 0.035
    y = x.copy()
    y.iloc[1500:, 2] -= 0.3  # a local drop on P2 only
    r = model.predict(y)
    drop = r["P2"].iloc[1500:].mean() - r["P2"].iloc[1000:1500].mean()
    assert drop == pytest.approx(-0.3, abs=0.08)
    # The linear map predicts the same change.
    amap = model.linear_map()
    dx = np.zeros(6)
    dx[2] = -0.3
    expected = amap.to_numpy() @ dx
    observed = (r.iloc[1500:].mean() - r.iloc[1000:1500].mean()).to_numpy()
    np.testing.assert_allclose(observed, expected, atol=0.02)


def test_missing_sensor_does_not_blank_the_others():
    x = _synthetic()
    model = PressureResiduals().fit(x.iloc[:1000])
    y = x.iloc[1000:].copy()
    y.iloc[:100, 0] = np.nan
    r = model.predict(y)
    assert r["P0"].iloc[:100].isna().all()
    assert r.drop(columns="P0").iloc[:100].notna().all().all()
    assert r.drop(columns="P0").iloc[:100].std().max() < 0.04


def test_score_by_hand(ltown):
    t = pd.Timestamp("2024-01-10", tz="UTC")
    truth = pd.DataFrame({"event_id": ["E1", "E2"], "node": ["n343", "n505"], "type": ["abrupt", "burst"],
                          "is_leak": [True, False], "start": [t, t + pd.Timedelta("3D")], "peak": [t, pd.NaT],
                          "end": [pd.NaT, t + pd.Timedelta("3D2h")], "peak_flow_lps": [3.0, 4.0],
                          "mean_flow_lps": [3.0, 4.0]})
    near = candidate_area(ltown, "n343", 300.0)[-1]
    x = float(ltown.distances_m().loc[near, "n343"])
    alarms = pd.DataFrame({"alarm_id": ["A1", "A2", "A3", "A4"],
                           "detected_at": [t + pd.Timedelta("6h"), t + pd.Timedelta("1D"), t - pd.Timedelta("1D"),
                                           t + pd.Timedelta("3D1h")],
                           "candidates": [f"{near};n1", "n343", "n343", "n505"]})
    end = t + pd.Timedelta("10D")
    scored, leaks, s = score_alarms(alarms, truth, ltown, period_end=end)
    # A1 finds E1 at distance x: water saved 3 L/s over 9.75 days at 0.8 EUR/m3, minus 500 * x / 300.
    saved = 3.0 * 9.75 * 86400 / 1000 * 0.8
    assert scored.loc[scored.alarm_id == "A1", "score_eur"].item() == pytest.approx(saved - 500 * x / 300)
    assert scored.set_index("alarm_id")["outcome"].to_dict() == {
        "A3": "false_positive", "A1": "true_positive", "A2": "repeat", "A4": "false_positive"}
    # A3 comes before any leak: a false alarm in time. A4 (at the burst) falls while E1 still runs, so it is
    # not a false alarm in time, but BattLeDIM counts it false: n505 is far from E1.
    assert s["false_alarms"] == 1 and s["true_positives"] == 1 and s["false_positives"] == 2
    assert s["economic_score_eur"] == pytest.approx(saved - 500 * x / 300 - 1000)
    assert leaks["delay_h"].tolist() == [6.0]


@pytest.fixture(scope="module")
def two_leaks(ltown):
    specs = [LeakSpec("n343", "2024-02-12 10:00", 6.0, "abrupt"),
             LeakSpec("n105", "2024-02-14 02:00", 3.0, "abrupt"),
             LeakSpec("n505", "2024-02-13 09:00", 4.0, "burst", end="2024-02-13 11:00")]
    sc = generate_scenario(ltown, start="2024-02-05", days=11, leaks=specs, n_gaps=2, n_stuck=1, n_duplicates=2,
                           tz="Africa/Casablanca", seed=5)
    with tempfile.TemporaryDirectory() as d:
        paths = sc.write(d)
        data = read_scada(paths["scada"], paths["sensors"], ltown)
    return sc, data


def test_detects_and_localizes_two_abrupt_leaks(two_leaks, ltown):
    sc, data = two_leaks
    det = LeakDetector(tz="Africa/Casablanca").fit(data, ltown, "2024-02-05", "2024-02-12")
    res = det.predict(data)
    test = res.alarms[res.alarms.detected_at >= pd.Timestamp("2024-02-12", tz="Africa/Casablanca")]
    scored, leaks, s = score_alarms(test, sc.truth, ltown, period_end=data.values.index[-1],
                                    leak_flow_lps=sc.leak_flow_lps)
    assert leaks["detected"].all(), leaks
    assert s["false_alarms"] == 0, scored  # the 2-hour burst is not an alarm
    assert (leaks["delay_h"] < 24).all()
    # At detection time the best candidate is not always inside BattLeDIM's 300 m (here n343: about 360 m).
    assert leaks["distance_m"].median() < 300 and leaks["distance_m"].max() < 600
    assert s["true_positives"] >= 1  # BattLeDIM-style: the 360 m one is outside its 300 m radius
    first = test.iloc[0]
    start = sc.truth.loc[0, "start"]
    assert abs(first.start_estimate - start) < pd.Timedelta("6h")
    assert first.leak_flow_lps == pytest.approx(6.0, rel=0.6)  # signature fit on the nominal model
    assert len(first.candidates.split(";")) == 10 and first.area.split(";")[0] == first.candidates.split(";")[0]


def test_leak_running_in_training_does_not_break_it(ltown):
    # n343 leaks from day 2 of training: part of "normal"; the later n105 leak must still be found.
    specs = [LeakSpec("n343", "2024-02-07 10:00", 6.0, "abrupt"),
             LeakSpec("n105", "2024-02-13 02:00", 3.0, "abrupt")]
    sc = generate_scenario(ltown, start="2024-02-05", days=10, leaks=specs, mixed_units=False, seed=6)
    with tempfile.TemporaryDirectory() as d:
        paths = sc.write(d)
        data = read_scada(paths["scada"], paths["sensors"], ltown)
    det = LeakDetector().fit(data, ltown, "2024-02-05", "2024-02-12")
    res = det.predict(data)
    test = res.alarms[res.alarms.detected_at >= pd.Timestamp("2024-02-12", tz="UTC")]
    scored, leaks, s = score_alarms(test, sc.truth, ltown, period_start=pd.Timestamp("2024-02-12", tz="UTC"),
                                    period_end=data.values.index[-1])
    assert leaks.set_index("event_id").loc["E2", "detected"]
    assert s["false_alarms"] <= 1


def test_night_flow_rises_by_the_leak(two_leaks, ltown):
    sc, data = two_leaks
    mnf = minimum_night_flow(net_consumption_lps(data, ltown), tz="Africa/Casablanca")
    before = mnf.loc[pd.Timestamp("2024-02-06").date():pd.Timestamp("2024-02-12").date()].median()
    after = mnf.loc[pd.Timestamp("2024-02-15").date():pd.Timestamp("2024-02-15").date()].median()
    leak = sc.leak_flow_lps[["E1", "E2"]].sum(axis=1)
    night_leak = leak[(leak.index.hour >= 1) & (leak.index.hour < 5)].loc["2024-02-15"].mean()
    assert after - before == pytest.approx(night_leak, abs=1.5)  # demand varies a few % night to night


def test_training_window_without_data(two_leaks, ltown):
    _, data = two_leaks
    with pytest.raises(InputDataError, match="holds no SCADA data"):
        LeakDetector().fit(data, ltown, "2023-01-01", "2023-01-08")
    with pytest.raises(InputDataError, match="too short"):
        LeakDetector().fit(data, ltown, "2024-02-05", "2024-02-06")


@pytest.mark.slow
def test_skill_over_20_scenarios(ltown):
    from kit.water.evaluate import run_skill, summarize

    leaks, alarms, months = run_skill(ltown, 20, seed=0)
    s = summarize(leaks, alarms, months)
    print(s)
    assert s["detected_fraction_ge_2lps"] >= 0.9
    assert s["false_alarms_per_month"] <= 1.0  # measured 0.87: 4 in 4.6 months of test data
    assert s["median_delay_abrupt_h"] < 24
    assert s["median_localization_m"] < 300
    assert math.isfinite(s["economic_score_eur"])
