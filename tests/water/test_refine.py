"""EPS refinement of leak candidates: dynamic residual changes and the re-ranking they drive."""
import numpy as np
import pandas as pd
import pytest

from kit.water import load_network
from kit.water.refine import dynamic_residual_change, refine_ranking, signature_regions


@pytest.fixture(scope="module")
def net():
    return load_network()


def _identity_map(net):
    """A residual map that passes every pressure sensor through and ignores levels and flows."""
    sensors = net.sensors
    targets = list(sensors.loc[sensors["kind"] == "pressure", "sensor_id"])
    amap = pd.DataFrame(0.0, index=targets, columns=list(sensors["sensor_id"]))
    for t in targets:
        amap.loc[t, t] = 1.0
    return amap


def test_dynamic_change_drops_pressure_most_near_the_leak(net):
    amap = _identity_map(net)
    start = pd.Timestamp("2024-03-04 02:00")
    change = dynamic_residual_change(net, ["n54", "n400"], net.sensors, amap, start, hours=6)
    for j, e in change.items():
        assert e.shape == (6, len(amap.index))
        assert np.all(e.mean(axis=0) <= 1e-3), j  # a leak lowers pressures
    # n54 carries a pressure sensor: its own reading drops most (per L/s)
    e54 = change["n54"]
    assert int(np.argmin(e54.mean(axis=0))) == list(amap.index).index("n54")


def test_tank_zone_leak_changes_with_time(net):
    """A leak below the tank drains it: the response moves over the hours by far more than the noise."""
    amap = _identity_map(net)
    e = dynamic_residual_change(net, ["n2"], net.sensors, amap, pd.Timestamp("2024-03-04 00:00"), hours=24)["n2"]
    col = list(amap.index).index("n1")
    assert np.ptp(e[:, col]) > 0.05  # m per L/s; a snapshot would give one value at each hour of day
    assert e[:, col].mean() < -0.05


def test_refine_ranks_the_simulated_junction_first(net):
    amap = _identity_map(net)
    targets = list(amap.index)
    start = pd.Timestamp("2024-03-05 10:00", tz="UTC")
    truth = "n2"
    rng = np.random.default_rng(0)
    e = dynamic_residual_change(net, [truth], net.sensors, amap, start.tz_convert("UTC"), hours=24)[truth]
    shift = pd.DataFrame(4.0 * e + rng.normal(0, 0.01, e.shape), columns=targets,
                         index=pd.date_range(start, periods=24, freq="1h"))
    # A snapshot ranking that buries the truth: it must come back through its region.
    others = ["n343", "n105", "n400", "n600", "n700"]
    ranking = pd.DataFrame({"leak_flow_lps": 1.0, "misfit": np.arange(8.0), "explained": 0.5},
                           index=pd.Index(others + ["n3", "n4", truth], name="junction"))
    regions = {0: ["n343", "n400"], 1: ["n3", truth, "n4"]}

    def change(junctions, at, hours):
        assert at == start
        return dynamic_residual_change(net, junctions, net.sensors, amap, at.tz_convert("UTC"), hours)

    out = refine_ranking(ranking, shift, pd.Series(0.01, index=targets), change, regions, targets, n_top=3)
    assert out.index[0] == truth
    assert out["leak_flow_lps"].iloc[0] == pytest.approx(4.0, rel=0.1)
    assert out["explained"].iloc[0] > 0.9
    assert np.isinf(out["misfit"].iloc[-1])
    assert set(out.index) == set(ranking.index)


def test_regions_group_by_direction():
    e = np.array([[1.0, 0.0], [3.0, 0.2], [0.0, 1.0], [0.2, 2.0], [np.nan, 1.0]])
    regions = signature_regions(e, list("abcde"), np.array([True, True, True, True, False]), n_regions=2)
    assert sorted(sorted(m) for m in regions.values()) == [["a", "b"], ["c", "d"]]
