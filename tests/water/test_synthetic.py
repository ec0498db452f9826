"""Scenario generator: seeded, truth consistent with the simulation, files readable by read_scada."""
import numpy as np
import pandas as pd
import pytest

from kit.water.scada import read_scada
from kit.water.synthetic import LeakSpec, generate_scenario


@pytest.fixture(scope="module")
def scenario(ltown):
    specs = [LeakSpec("n343", "2024-03-02 06:00", 5.0, "abrupt"),
             LeakSpec("n628", "2024-03-01 12:00", 3.0, "incipient", peak="2024-03-02 12:00"),
             LeakSpec("n505", "2024-03-02 18:00", 4.0, "burst", end="2024-03-02 19:00")]
    return generate_scenario(ltown, start="2024-03-01", days=2, leaks=specs, n_gaps=2, n_stuck=1, n_duplicates=2,
                             tz="Africa/Casablanca", seed=7)


def test_seeded(ltown):
    a = generate_scenario(ltown, days=0.5, n_leaks=1, n_gaps=1, seed=11)
    b = generate_scenario(ltown, days=0.5, n_leaks=1, n_gaps=1, seed=11)
    c = generate_scenario(ltown, days=0.5, n_leaks=1, n_gaps=1, seed=12)
    pd.testing.assert_frame_equal(a.scada, b.scada)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not a.scada.equals(c.scada)


def test_truth_matches_the_simulated_leaks(scenario):
    truth = scenario.truth.set_index("event_id")
    assert truth["type"].tolist() == ["abrupt", "incipient", "burst"]
    assert truth["is_leak"].tolist() == [True, True, False]
    q = scenario.leak_flow_lps
    e1 = q["E1"]
    start = truth.loc["E1", "start"]
    assert e1[e1.index < start].eq(0).all() and (e1[e1.index >= start] > 4.0).all()
    # Sized at the junction's mean pressure, the flow stays near the 5 L/s asked for.
    assert truth.loc["E1", "mean_flow_lps"] == pytest.approx(5.0, rel=0.1)
    e2 = q["E2"]  # incipient: grows linearly to its peak
    mid = truth.loc["E2", "start"] + (truth.loc["E2", "peak"] - truth.loc["E2", "start"]) / 2
    assert e2.asof(mid) == pytest.approx(e2.asof(truth.loc["E2", "peak"]) / 2, rel=0.05)
    e3 = q["E3"]
    assert (e3 > 0).sum() == 12  # one hour of 5-minute steps


def test_mass_balance_inlets_demand_leaks_tank(scenario, ltown):
    # Inlet flow = consumer demand + leaks + storage change of T1 (16 m diameter): an independent check
    # of the stepping, and the balance minimum-night-flow analysis relies on.
    r = scenario.readings
    area_m2 = np.pi * ltown.wn.get_node("T1").diameter ** 2 / 4
    storage_lps = (r["T1"].shift(-1) - r["T1"]) * area_m2 * 1000 / 300  # EPANET: level moves with the step's flow
    residual = r["p227"] + r["p235"] - scenario.demand_lps - scenario.leak_flow_lps.sum(axis=1) - storage_lps
    assert residual.dropna().abs().median() < 0.05
    assert (residual.dropna().abs() < 0.5).mean() > 0.97  # steps cut by a pump switch excepted


def test_written_files_read_back(scenario, ltown, tmp_path):
    paths = scenario.write(tmp_path)
    assert set(pd.read_csv(paths["sensors"]).columns) == {"sensor_id", "kind", "element", "unit"}
    assert pd.read_csv(paths["truth"])["node"].tolist() == ["n343", "n628", "n505"]
    data = read_scada(paths["scada"], paths["sensors"], ltown)
    assert len(scenario.sensors["unit"].unique()) >= 4  # mixed declared units
    truth = scenario.readings.tz_convert("UTC")
    diff = (data.values - truth).abs()
    for row in scenario.sensors.itertuples():
        tol = {"pressure": 0.3, "level": 0.05, "flow": 1.5}[row.kind]  # noise + rounding
        assert diff[row.sensor_id].median() < tol / 3, row
    flags = data.flags
    faults = scenario.faults
    assert flags.loc[flags.flag == "duplicate_timestamp", "count"].sum() == 2
    for f in faults[faults.fault != "duplicate"].itertuples():
        hit = flags[(flags.sensor_id == f.sensor_id) & (flags.flag == f.fault)]
        assert len(hit) == 1, f
        assert abs(hit.start.iloc[0] - f.start) <= pd.Timedelta("5min")
        assert abs(hit.end.iloc[0] - f.end) <= pd.Timedelta("5min")


def test_parquet_and_15_minutes(ltown, tmp_path):
    sc = generate_scenario(ltown, days=0.5, step_min=15, n_leaks=0, mixed_units=False, seed=1)
    assert sc.truth.empty and len(sc.scada) == 49
    paths = sc.write(tmp_path, scada_format="parquet")
    data = read_scada(paths["scada"], paths["sensors"], ltown)
    assert data.step == pd.Timedelta("15min") and data.flags.empty
