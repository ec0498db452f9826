"""Leak signatures: how each sensor's pressure moves when a junction leaks.

For localization, each candidate junction gets the pressure change a leak
there causes at every pressure sensor. The table is computed on the nominal
model at one time of day, as a steady state (EPANET snapshot): a base solve,
then for each junction an emitter is switched on, the network re-solved
from the base solution (a warm start, a few Newton iterations) and switched
off again. One EPANET project serves all junctions, which is what makes a
782-junction table take seconds rather than the tens of minutes of one
WNTRSimulator run per junction (``benchmarks/water_signatures.py``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kit.errors import ParameterError
from kit.water.epanet import (EN_DURATION, EN_EMITTER, EN_FLOW, EN_JUNCTION, EN_NODECOUNT, EN_PATTERNSTART,
                              EN_PRESSURE, EpanetProject)

__all__ = ["LeakSignatures", "leak_signatures"]


@dataclass
class LeakSignatures:
    """Sensor responses to a leak at each junction.

    Attributes
    ----------
    dp_m : pandas.DataFrame
        Index junction id, columns pressure (and level) sensor ids: pressure
        with the leak minus without, m (negative: pressure drops).
    dq_lps : pandas.DataFrame
        Same for flow sensors, L/s (e.g. the extra inlet flow).
    leak_flow_lps : pandas.Series
        The leak's flow at each junction (near ``leak_flow_lps`` asked for;
        lower where the leak itself lowers the pressure), L/s.
    base : pandas.Series
        Sensor readings without a leak (m, L/s).
    hour : float
        Time of day of the snapshot, h.
    """

    dp_m: pd.DataFrame
    dq_lps: pd.DataFrame
    leak_flow_lps: pd.Series
    base: pd.Series
    hour: float

    def per_lps(self) -> pd.DataFrame:
        """Pressure change per L/s of leak flow, m/(L/s)."""
        return self.dp_m.div(self.leak_flow_lps, axis=0)


def leak_signatures(network, *, leak_flow_lps: float = 1.0, hour: float = 3.0, junctions=None, sensors=None,
                    accuracy: float = 1e-6) -> LeakSignatures:
    """Sensor pressure change for a leak of ``leak_flow_lps`` at each junction.

    The leak is an emitter (orifice law, as in :mod:`kit.water.hydraulics`)
    sized so that it would discharge ``leak_flow_lps`` at the junction's
    pressure without the leak.

    Parameters
    ----------
    network : WaterNetwork
        The nominal model.
    leak_flow_lps : float, L/s
    hour : float, h
        Time of the demand patterns (hours after the patterns' start; L-Town:
        Monday 00:00 + ``hour``). Tanks are at their initial level.
    junctions : list of str, optional
        Candidates; all junctions by default.
    sensors : pandas.DataFrame, optional
        Defaults to the network's sensors.
    accuracy : float
        EPANET convergence criterion; tight, because a 1 L/s leak moves
        pressures by centimetres.

    Returns
    -------
    LeakSignatures
        Junctions whose base pressure is not positive (no leak possible)
        get NaN rows.

    Examples
    --------
    >>> from kit.water.network import load_network
    >>> sig = leak_signatures(load_network(), junctions=["n343", "n105"])
    >>> sig.dp_m.shape
    (2, 34)
    >>> bool((sig.dp_m.to_numpy() <= 1e-4).all())
    True
    """
    if not leak_flow_lps > 0:
        raise ParameterError(f"leak_flow_lps must be > 0, got {leak_flow_lps}")
    sensors = network.sensors if sensors is None else sensors
    node_sensors = sensors[sensors["kind"] != "flow"]
    flow_sensors = sensors[sensors["kind"] == "flow"]
    with EpanetProject(network.inp_path, accuracy) as pr:
        pr.set_time_param(EN_DURATION, 0)
        pr.set_time_param(EN_PATTERNSTART, int(round(hour * 3600)))
        p_idx = [pr.node_index(e) for e in node_sensors["element"]]
        q_idx = [pr.link_index(e) for e in flow_sensors["element"]]
        if junctions is None:
            cand = [i for i in range(1, pr.count(EN_NODECOUNT) + 1) if pr.node_type(i) == EN_JUNCTION]
            names = [pr._en.ENgetnodeid(i) for i in cand]
        else:
            names = list(junctions)
            cand = [pr.node_index(j) for j in names]
            for j, i in zip(names, cand):
                if pr.node_type(i) != EN_JUNCTION:
                    raise ParameterError(f"leak_signatures: {j!r} is not a junction; candidates must be junctions")

        def solve():
            pr.init_hydraulics(0)  # 0: start from the current flows (the base solution)
            pr.run()
            p = np.array([pr.node_value(i, EN_PRESSURE) for i in p_idx])
            q = np.array([pr.link_value(i, EN_FLOW) for i in q_idx])
            return p, q

        pr.open_hydraulics()
        base_p, base_q = solve()
        base_emitter = np.array([pr.node_value(i, EN_EMITTER) for i in cand])
        p_cand = np.array([pr.node_value(i, EN_PRESSURE) for i in cand])
        dp = np.full((len(cand), len(p_idx)), np.nan)
        dq = np.full((len(cand), len(q_idx)), np.nan)
        flow = np.full(len(cand), np.nan)
        for k, (i, p0) in enumerate(zip(cand, p_cand)):
            if p0 <= 0:
                continue
            c = leak_flow_lps / math.sqrt(p0)
            pr.set_node_value(i, EN_EMITTER, base_emitter[k] + c)
            p, q = solve()
            flow[k] = c * math.sqrt(max(pr.node_value(i, EN_PRESSURE), 0.0))
            pr.set_node_value(i, EN_EMITTER, base_emitter[k])
            dp[k], dq[k] = p - base_p, q - base_q
    index = pd.Index(names, name="junction")
    base = pd.Series(np.concatenate([base_p, base_q]),
                     index=list(node_sensors["sensor_id"]) + list(flow_sensors["sensor_id"]))
    return LeakSignatures(dp_m=pd.DataFrame(dp, index=index, columns=list(node_sensors["sensor_id"])),
                          dq_lps=pd.DataFrame(dq, index=index, columns=list(flow_sensors["sensor_id"])),
                          leak_flow_lps=pd.Series(flow, index=index, name="leak_flow_lps"), base=base, hour=hour)
