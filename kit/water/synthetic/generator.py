"""Generating a leak scenario: perturb the network, place leaks, simulate, record as a SCADA would.

All draws come from one seed, in a fixed order: demand groups and their
noise, demand and roughness factors, random leaks (when none are given),
then declared units, sensor noise and data faults.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kit.errors import ParameterError
from kit.water.hydraulics import Leak, simulate
from kit.water.network import WaterNetwork, load_network
from kit.water.synthetic.demand import demand_patterns, spatial_groups
from kit.water.synthetic.scenario import TRUTH_COLUMNS, LeakSpec, Scenario
from kit.water.synthetic.sensors import scada_records

__all__ = ["generate_scenario", "ltown_demo", "nominal_pressure_m"]


def nominal_pressure_m(network: WaterNetwork, hours: float = 24.0, step_s: int = 3600) -> pd.Series:
    """Mean pressure of every junction of the nominal model over ``hours``, m."""
    nodes = network.junctions
    table = pd.DataFrame({"sensor_id": nodes, "kind": "pressure", "element": nodes})
    res = simulate(network, hours * 3600, step_s=step_s, sensors=table)
    return res.readings.mean()


def _area_for_flow(flow_lps: float, pressure_m: float, cd: float = 0.75) -> float:
    return flow_lps / 1000.0 / (cd * np.sqrt(2 * 9.81 * max(pressure_m, 1.0)))


def _random_specs(network, rng, start, end, n_leaks, n_bursts, flow_range, incipient_fraction, pressure):
    candidates = [j for j in network.junctions if pressure.get(j, 0) > 15.0]
    nodes = rng.choice(candidates, size=n_leaks + n_bursts, replace=False)
    span = (end - start).total_seconds()
    specs = []
    for k, node in enumerate(nodes):
        if k < n_leaks:
            kind = "incipient" if rng.random() < incipient_fraction else "abrupt"
            t0 = start + pd.Timedelta(seconds=float(rng.uniform(0.25, 0.7) * span))
            t0 = t0.floor("5min")
            peak = t0 + pd.Timedelta(days=float(rng.uniform(3, 8))) if kind == "incipient" else None
            specs.append(LeakSpec(str(node), t0, float(rng.uniform(*flow_range)), kind, peak=peak))
        else:
            t0 = (start + pd.Timedelta(seconds=float(rng.uniform(0.1, 0.9) * span))).floor("5min")
            specs.append(LeakSpec(str(node), t0, float(rng.uniform(2.0, 6.0)), "burst",
                                  end=t0 + pd.Timedelta(hours=float(rng.uniform(1, 3)))))
    return specs


def _local(ts, tz):
    ts = pd.Timestamp(ts)
    return ts.tz_localize(tz) if ts.tzinfo is None else ts.tz_convert(tz)


def _events(leaks, network, pressure, t_start, tz):
    """Simulator leaks (seconds from the start, hole areas) and truth rows of the wall-clock specs."""
    events, truth_rows = [], []
    for k, spec in enumerate(leaks):
        if spec.node not in pressure.index:
            raise ParameterError(f"leak node {spec.node!r} is not a junction of {network.name}")
        s0 = _local(spec.start, tz)
        peak = _local(spec.peak, tz) if spec.peak is not None else (
            s0 + pd.Timedelta(days=5) if spec.type == "incipient" else s0)
        end = _local(spec.end, tz) if spec.end is not None else (
            s0 + pd.Timedelta(hours=2) if spec.type == "burst" else None)
        area = _area_for_flow(spec.flow_lps, pressure[spec.node])
        sec = lambda ts: (ts - t_start).total_seconds()  # noqa: E731
        events.append(Leak(spec.node, start_s=sec(s0), area_m2=area, peak_s=sec(peak),
                           end_s=None if end is None else sec(end)))
        truth_rows.append([f"E{k + 1}", spec.node, spec.type, spec.type != "burst", s0, peak, end, np.nan, np.nan,
                           area])
    return events, truth_rows


def _truth_table(truth_rows, leak_flow: pd.DataFrame, tz) -> pd.DataFrame:
    """The truth rows as a table, with each event's simulated peak and mean flow."""
    truth = pd.DataFrame(truth_rows, columns=TRUTH_COLUMNS)
    for col in ("start", "peak", "end"):
        truth[col] = pd.to_datetime(truth[col]).dt.tz_convert(tz) if truth[col].notna().any() else pd.NaT
    for i, eid in enumerate(truth["event_id"]):
        q = leak_flow[eid]
        active = q[q > 0]
        truth.loc[i, "peak_flow_lps"] = float(q.max())
        truth.loc[i, "mean_flow_lps"] = float(active.mean()) if len(active) else 0.0
    return truth


def generate_scenario(network: WaterNetwork | None = None, *, start="2024-01-01", days: float = 14,
                      step_min: int = 5, leaks: Sequence[LeakSpec] | None = None, n_leaks: int = 2,
                      n_bursts: int = 0, leak_flow_range_lps=(2.0, 8.0), incipient_fraction: float = 0.5,
                      demand_groups: int = 8, demand_noise: float = 0.05, daily_sigma: float = 0.04,
                      demand_sigma: float = 0.10, roughness_sigma: float = 0.05,
                      pressure_noise_m: float = 0.05, flow_noise_frac: float = 0.01, level_noise_m: float = 0.005,
                      n_gaps: int = 0, n_stuck: int = 0, n_duplicates: int = 0, mixed_units: bool = True,
                      tz: str = "UTC", seed: int = 0) -> Scenario:
    """Simulate a leak scenario and the SCADA data it produces.

    Parameters
    ----------
    network : WaterNetwork, optional
        Default L-Town with BattLeDIM's sensors.
    start : str or Timestamp
        First reading, local time of ``tz``.
    days : float
        Length of the record.
    step_min : int, min
        SCADA interval (5 or 15).
    leaks : list of LeakSpec, optional
        Leaks and bursts to place; when omitted, ``n_leaks`` random leaks
        (flow drawn in ``leak_flow_range_lps``, incipient with probability
        ``incipient_fraction``) and ``n_bursts`` random 1–3 h bursts.
    demand_groups : int
        Spatial groups of junctions sharing demand noise.
    demand_noise : float
        Standard deviation of the AR(1) log-noise on group demand (4 h
        correlation time).
    daily_sigma : float
        Day-to-day log-variation of group demand.
    demand_sigma, roughness_sigma : float
        Log-normal spread of the per-junction demand factor and per-pipe
        roughness factor (the simulated network against the nominal model).
    pressure_noise_m, flow_noise_frac, level_noise_m : float
        Sensor noise (m; fraction of the flow, plus 0.02 L/s; m).
    n_gaps, n_stuck, n_duplicates : int
        Sensor gaps (1–12 h of empty cells), stuck periods (6–48 h at the
        last good value) and duplicated rows.
    mixed_units : bool
        Declare pressure sensors in m, bar, kPa or psi and flows in L/s or
        m3/h at random (values written accordingly).
    tz : str
        Time zone of the written timestamps (e.g. ``"Africa/Casablanca"``).
    seed : int

    Returns
    -------
    Scenario

    Examples
    --------
    >>> sc = generate_scenario(days=1, n_leaks=1, seed=3)
    >>> sc.scada.shape
    (289, 38)
    >>> sc.truth[["type", "is_leak"]].values.tolist()
    [['abrupt', True]]
    """
    network = load_network() if network is None else network
    if step_min <= 0 or days <= 0:
        raise ParameterError(f"step_min and days must be > 0, got {step_min}, {days}")
    rng = np.random.default_rng(seed)
    step_s = int(step_min * 60)
    t_start = _local(start, tz)
    n = int(round(days * 86400 / step_s)) + 1
    t_end = t_start + pd.Timedelta(seconds=(n - 1) * step_s)
    pressure = nominal_pressure_m(network)

    groups = spatial_groups(network, demand_groups, rng)
    patterns, pattern_of = demand_patterns(network, t_start, n + 1, step_s, groups, demand_noise, daily_sigma, rng)
    demand_factors = pd.Series(np.exp(rng.normal(0, demand_sigma, len(network.junctions))), index=network.junctions)
    pipes = list(network.wn.pipe_name_list)
    roughness_factors = pd.Series(np.exp(rng.normal(0, roughness_sigma, len(pipes))), index=pipes)

    if leaks is None:
        leaks = _random_specs(network, rng, t_start, t_end, n_leaks, n_bursts, leak_flow_range_lps,
                              incipient_fraction, pressure)
    events, truth_rows = _events(leaks, network, pressure, t_start, tz)
    sim = simulate(network, (n - 1) * step_s, step_s=step_s, leaks=events, sensors=network.sensors,
                   demand_patterns=patterns, pattern_of=pattern_of, demand_factors=demand_factors.to_dict(),
                   roughness_factors=roughness_factors.to_dict())
    index = pd.DatetimeIndex(t_start + pd.to_timedelta(sim.readings.index, unit="s"), name="timestamp")
    readings = sim.readings.set_axis(index)
    leak_flow = sim.leak_flow_lps.set_axis(index)
    leak_flow.columns = [row[0] for row in truth_rows]
    truth = _truth_table(truth_rows, leak_flow, tz)

    sensors, scada, faults = scada_records(
        readings, network.sensors, rng, mixed_units=mixed_units, pressure_noise_m=pressure_noise_m,
        flow_noise_frac=flow_noise_frac, level_noise_m=level_noise_m, n_gaps=n_gaps, n_stuck=n_stuck,
        n_duplicates=n_duplicates, step_s=step_s)
    scada = scada.reset_index()
    config = dict(start=str(t_start), days=days, step_min=step_min, seed=seed, tz=tz, network=network.name)
    return Scenario(scada=scada, sensors=sensors.reset_index(drop=True), truth=truth, faults=faults,
                    readings=readings, leak_flow_lps=leak_flow, demand_lps=sim.demand_lps.set_axis(index),
                    demand_factors=demand_factors, roughness_factors=roughness_factors, config=config)


def ltown_demo(seed: int = 2020, days: float = 28) -> Scenario:
    """The embedded L-Town scenario (card: ``datasets/leak_detection/README.md``).

    Four weeks from 2024-01-01 at 5-minute steps in Moroccan local time,
    BattLeDIM's 37 sensors in mixed units, three leaks (a large abrupt one,
    a small abrupt one, an incipient one), one 2-hour burst, two gaps and one
    stuck sensor. ``days`` other than 28 shortens or extends the record
    (same events and seed; the unrepaired leaks keep running).
    """
    specs = [
        LeakSpec("n343", "2024-01-09 14:20", 6.0, "abrupt"),
        LeakSpec("n628", "2024-01-12 03:10", 2.5, "incipient", peak="2024-01-20 00:00"),
        LeakSpec("n105", "2024-01-22 09:45", 2.0, "abrupt"),
        LeakSpec("n505", "2024-01-16 18:00", 4.0, "burst", end="2024-01-16 20:00"),
    ]
    return generate_scenario(start="2024-01-01", days=days, step_min=5, leaks=specs, n_gaps=2, n_stuck=1,
                             n_duplicates=3, tz="Africa/Casablanca", seed=seed)
