"""Leak signature table for every L-Town junction: kit (EPANET stepping) against WNTRSimulator.

The kit computes the whole table in one EPANET project (warm-started
snapshots). The peer is the usual way to get such a table: WNTR's own
leak model, ``Junction.add_leak`` + ``WNTRSimulator``, one run per junction,
here as the same snapshot (duration 0 at the same hour) so both sides solve
the same problem; its time for a sample of junctions is extrapolated to all
782. Both sides' pressure changes are compared on the sample.

Run: /work/main/.venv/bin/python benchmarks/water_signatures.py [--sample 5]
"""
from __future__ import annotations

import argparse
import logging
import math
import time

import numpy as np


def main(sample: int = 5, hour: float = 3.0, seed: int = 0):
    import wntr

    from kit.water import load_network
    from kit.water.signatures import leak_signatures

    logging.getLogger("wntr").setLevel(logging.ERROR)
    net = load_network()
    t0 = time.perf_counter()
    sig = leak_signatures(net, hour=hour)
    ours_s = time.perf_counter() - t0
    n = len(sig.dp_m)

    rng = np.random.default_rng(seed)
    picks = list(rng.choice(sig.dp_m.index.to_numpy(), size=sample, replace=False))
    sensors = net.sensors[net.sensors.kind != "flow"]

    def wntr_run(node=None, coeff=None):
        wn = wntr.network.WaterNetworkModel(str(net.inp_path))
        wn.options.time.duration = 0
        wn.options.time.pattern_start = int(hour * 3600)
        if node is not None:
            area = coeff / (0.75 * math.sqrt(2 * 9.81) * 1000.0)  # emitter coefficient -> hole area
            wn.get_node(node).add_leak(wn, area=area, discharge_coeff=0.75, start_time=0)
        res = wntr.sim.WNTRSimulator(wn).run_sim()
        return res.node["pressure"].iloc[0]

    base = wntr_run()
    base_diff = float(np.abs(base[sensors.element].to_numpy() - sig.base[sensors.sensor_id].to_numpy()).max())
    t0 = time.perf_counter()
    worst = 0.0
    for j in picks:
        coeff = 1.0 / math.sqrt(base[j])
        p = wntr_run(j, coeff)
        dp_wntr = p[sensors.element].to_numpy() - base[sensors.element].to_numpy()
        worst = max(worst, float(np.abs(dp_wntr - sig.dp_m.loc[j, sensors.sensor_id].to_numpy()).max()))
    wntr_per = (time.perf_counter() - t0) / sample
    wntr_total = wntr_per * n
    print(f"L-Town signature table, {n} junctions x {len(sensors)} pressure/level sensors, 1 L/s leak at {hour:g} h")
    print(f"  kit (EPANET toolkit stepping): {ours_s:8.2f} s for all {n} junctions")
    print(f"  WNTRSimulator + add_leak     : {wntr_per:8.2f} s per junction (sample of {sample}: {', '.join(picks)})")
    print(f"                                 {wntr_total:8.1f} s extrapolated to {n} junctions")
    print(f"  ratio (WNTR / kit)           : {wntr_total / ours_s:8.0f}x")
    print(f"  agreement: base pressures max |diff| {base_diff * 1000:.2f} mm; "
          f"pressure changes on the sample max |diff| {worst * 1000:.3f} mm "
          f"(largest change in the table {abs(np.nanmin(sig.dp_m.to_numpy())) * 1000:.1f} mm)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=5)
    ap.add_argument("--hour", type=float, default=3.0)
    main(**vars(ap.parse_args()))
