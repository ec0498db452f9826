import numpy as np

from kit.water import Leak, simulate
from kit.water.signatures import leak_signatures


def test_signatures_match_an_independent_extended_run(ltown):
    # The table's snapshot at 0 h equals the first step of a simulate() run with the same emitter.
    sig = leak_signatures(ltown, junctions=["n343", "n628"], hour=0.0)
    pressure = sig.base  # base sensor readings at 0 h
    base = simulate(ltown, 0)
    sensors = list(sig.dp_m.columns)
    np.testing.assert_allclose(base.readings[sensors].iloc[0].to_numpy(), pressure[sensors].to_numpy(), atol=1e-3)
    for j in sig.dp_m.index:
        p0 = simulate(ltown, 0, sensors=_one(j)).readings.iloc[0, 0]
        area = 1.0 / np.sqrt(p0) / (0.75 * np.sqrt(2 * 9.81) * 1000.0)
        run = simulate(ltown, 0, leaks=[Leak(j, start_s=0, area_m2=area)], accuracy=1e-6)
        dp = run.readings[sensors].iloc[0] - simulate(ltown, 0, accuracy=1e-6).readings[sensors].iloc[0]
        np.testing.assert_allclose(sig.dp_m.loc[j].to_numpy(), dp.to_numpy(), atol=2e-4)
        assert abs(sig.leak_flow_lps[j] - run.leak_flow_lps.iloc[0, 0]) < 1e-3


def _one(node):
    import pandas as pd

    return pd.DataFrame({"sensor_id": [node], "kind": ["pressure"], "element": [node]})


def test_signature_is_strongest_near_the_leak(ltown):
    sig = leak_signatures(ltown, junctions=["n54", "n105", "n740"])
    assert sig.leak_flow_lps.between(0.99, 1.0).all()
    for j in ["n54", "n105", "n740"]:  # each is itself a pressure sensor
        row = sig.dp_m.loc[j]
        assert row.idxmin() == j
    # The inlets supply the leak, minus what the tank contributes: a share in (0, 1] of the 1 L/s.
    inlets = sig.dq_lps[["p227", "p235"]].sum(axis=1)
    assert ((inlets > 0.05) & (inlets < 1.0 + 1e-3)).all()
