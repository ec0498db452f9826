"""The fast EPANET stepping against WNTR's own leak model (WNTRSimulator + add_leak)."""
import math

import numpy as np
import pytest

from kit.water import Leak, emitter_coefficient, simulate


def test_emitter_coefficient_is_the_orifice_law():
    # q = Cd A sqrt(2 g p): 1 cm² at 30 m with Cd 0.75 gives 1.8196 L/s (hand computation).
    c = emitter_coefficient(1e-4, 0.75)
    assert c * math.sqrt(30.0) == pytest.approx(0.75 * 1e-4 * math.sqrt(2 * 9.81 * 30.0) * 1000, rel=1e-12)
    assert c * math.sqrt(30.0) == pytest.approx(1.8196, abs=1e-4)


def test_incipient_leak_ramps_linearly():
    leak = Leak("n1", start_s=3600, peak_s=7200, area_m2=2e-4)
    full = emitter_coefficient(2e-4)
    assert leak.kind == "incipient"
    assert leak.coefficient(3599) == 0.0
    assert leak.coefficient(5400) == pytest.approx(full / 2)
    assert leak.coefficient(9000) == pytest.approx(full)
    ended = Leak("n1", start_s=0, area_m2=1e-4, end_s=600)
    assert ended.kind == "abrupt" and ended.coefficient(600) == 0.0


def test_matches_wntr_simulator_add_leak(ltown):
    import wntr

    duration, start, node, area = 6 * 3600, 2 * 3600, "n400", 3e-4
    wn = wntr.network.WaterNetworkModel(str(ltown.inp_path))
    wn.options.time.duration = duration
    wn.get_node(node).add_leak(wn, area=area, discharge_coeff=0.75, start_time=start, end_time=None)
    ref = wntr.sim.WNTRSimulator(wn).run_sim()
    ref_p = ref.node["pressure"]
    ref_p.index = ref_p.index.astype(int)
    ref_leak = ref.node["leak_demand"][node] * 1000.0  # m³/s -> L/s
    ref_leak.index = ref_leak.index.astype(int)

    ours = simulate(ltown, duration, leaks=[Leak(node, start_s=start, area_m2=area)])
    t = ours.readings.index
    leak = ours.leak_flow_lps[f"{node}#0"]
    assert leak.loc[: start - 1].eq(0).all()
    assert leak.loc[start:].min() > 2.0  # a real leak of a few L/s, not a trivial comparison
    np.testing.assert_allclose(leak.to_numpy(), ref_leak.loc[t].to_numpy(), atol=0.01)

    nodes = ltown.sensors.loc[ltown.sensors.kind != "flow", ["sensor_id", "element"]]
    ours_p = ours.readings[nodes.sensor_id].to_numpy()
    theirs = ref_p.loc[t, nodes.element].to_numpy()
    assert np.abs(ours_p - theirs).max() < 0.01  # m
    # The leak is visible: pressures drop by more than the disagreement.
    no_leak = simulate(ltown, duration)
    drop = (no_leak.readings[nodes.sensor_id] - ours.readings[nodes.sensor_id]).to_numpy()
    assert drop[-1].max() > 0.1

    flows = ltown.sensors.loc[ltown.sensors.kind == "flow"]
    ref_q = ref.link["flowrate"]
    ref_q.index = ref_q.index.astype(int)
    np.testing.assert_allclose(ours.readings[flows.sensor_id].to_numpy(),
                               ref_q.loc[t, flows.element].to_numpy() * 1000, atol=0.01)


def test_demand_factors_and_roughness_change_the_run(ltown):
    base = simulate(ltown, 3600)
    more = simulate(ltown, 3600, demand_factors={j: 1.2 for j in ltown.junctions})
    assert more.demand_lps.iloc[0] == pytest.approx(base.demand_lps.iloc[0] * 1.2, rel=1e-4)
    rough = simulate(ltown, 3600, roughness_factors={p: 0.8 for p in ltown.wn.pipe_name_list})
    p = ltown.sensors.loc[ltown.sensors.kind == "pressure", "sensor_id"]
    assert (rough.readings[p].iloc[0] <= base.readings[p].iloc[0] + 1e-6).all()
    assert (base.readings[p].iloc[0] - rough.readings[p].iloc[0]).max() > 0.1


def test_demand_patterns_replace_multipliers(ltown):
    n = 13
    flat = {pid: np.ones(n) for pid in ltown.wn.pattern_name_list}
    res = simulate(ltown, 3600, demand_patterns=flat)
    # With all multipliers 1 the consumer demand is the sum of base demands (m³/s -> L/s).
    total = sum(d.base_value for j in ltown.junctions for d in ltown.wn.get_node(j).demand_timeseries_list) * 1000
    np.testing.assert_allclose(res.demand_lps.to_numpy(), total, rtol=1e-4)  # solver residual


def test_bad_leak_node(ltown):
    from kit.errors import InputDataError, ParameterError

    with pytest.raises(InputDataError, match="n99999"):
        simulate(ltown, 600, leaks=[Leak("n99999", start_s=0, area_m2=1e-4)])
    with pytest.raises(ParameterError, match="not a junction"):
        simulate(ltown, 600, leaks=[Leak("T1", start_s=0, area_m2=1e-4)])
