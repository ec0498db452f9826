"""Leak scenarios on a network: SCADA files and the truth behind them.

The simulated network is deliberately not the nominal model a detector
sees: every junction's demand is scaled by a random factor, pipes'
roughness is perturbed, and demand follows the model's own weekly patterns
times day-to-day and AR(1) noise shared by spatial groups of junctions. On
top come leaks (abrupt or incipient, orifice law), optional short non-leak
bursts (hydrant-like draws), sensor noise, mixed declared units, gaps, stuck
sensors and duplicated timestamps. All draws come from one seed.

Files written by :meth:`Scenario.write`:

``scada.csv``
    ``timestamp`` (ISO 8601 with the UTC offset of ``tz``) and one column per
    sensor, in the sensor's declared unit.
``sensors.csv``
    ``sensor_id, kind, element, unit`` (pressure in m, bar, kPa or psi; flow
    in L/s or m3/h; level in m).
``truth.csv``
    ``event_id, node, type (abrupt|incipient|burst), is_leak, start, peak,
    end, peak_flow_lps, mean_flow_lps, area_m2``; bursts are not leaks
    (``is_leak`` False) and must not be scored as such.
``injected_faults.csv``
    ``sensor_id, start, end, fault (gap|stuck|duplicate)``: what the
    ingestion should flag.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kit.errors import ParameterError
from kit.io import atomic_path
from kit.water.hydraulics import Leak, simulate
from kit.water.network import WaterNetwork, load_network
from kit.water.units import UNITS

__all__ = ["Scenario", "LeakSpec", "generate_scenario", "ltown_demo", "nominal_pressure_m"]

TRUTH_COLUMNS = ["event_id", "node", "type", "is_leak", "start", "peak", "end", "peak_flow_lps",
                 "mean_flow_lps", "area_m2"]


@dataclass(frozen=True)
class LeakSpec:
    """A leak or burst to place, in wall-clock terms.

    Parameters
    ----------
    node : str
        Junction id.
    start : str or Timestamp
        Local time of ``tz`` (or any time with an offset).
    flow_lps : float, L/s
        Leak flow at the junction's mean pressure once at full size; turned
        into a hole area, so the simulated flow varies with pressure.
    type : {"abrupt", "incipient", "burst"}
    peak : str or Timestamp, optional
        Incipient leaks: when they reach full size (default start + 5 days).
    end : str or Timestamp, optional
        Repair (or end of a burst; default start + 2 h for bursts).
    """

    node: str
    start: object
    flow_lps: float
    type: str = "abrupt"
    peak: object = None
    end: object = None

    def __post_init__(self):
        if self.type not in ("abrupt", "incipient", "burst"):
            raise ParameterError(f"leak type must be abrupt, incipient or burst, got {self.type!r}")
        if not self.flow_lps > 0:
            raise ParameterError(f"leak at {self.node}: flow_lps must be > 0, got {self.flow_lps}")


@dataclass
class Scenario:
    """A generated scenario: what the sensors saw and what really happened.

    Attributes
    ----------
    scada : pandas.DataFrame
        As written: ``timestamp`` column (tz-aware) and one column per sensor
        in its declared unit, with noise, gaps, stuck periods and duplicates.
    sensors : pandas.DataFrame
        ``sensor_id, kind, element, unit`` (declared units).
    truth : pandas.DataFrame
        One row per leak or burst (columns ``TRUTH_COLUMNS``).
    faults : pandas.DataFrame
        Injected data faults: ``sensor_id, start, end, fault``.
    readings : pandas.DataFrame
        Noise-free simulated values in m and L/s, tz-aware index.
    leak_flow_lps : pandas.DataFrame
        Simulated flow of each event (columns ``event_id``), L/s.
    demand_factors, roughness_factors : pandas.Series
        How the simulated network differs from the nominal model.
    """

    scada: pd.DataFrame
    sensors: pd.DataFrame
    truth: pd.DataFrame
    faults: pd.DataFrame
    readings: pd.DataFrame
    leak_flow_lps: pd.DataFrame
    demand_lps: pd.Series
    demand_factors: pd.Series = field(repr=False)
    roughness_factors: pd.Series = field(repr=False)
    config: dict = field(default_factory=dict)

    def write(self, folder, *, scada_format: str = "csv") -> dict:
        """Write ``scada.csv`` (or ``.parquet``), ``sensors.csv``, ``truth.csv``, ``injected_faults.csv``.

        Returns
        -------
        dict of name to Path
        """
        folder = Path(folder)
        paths = {
            "scada": folder / f"scada.{scada_format}",
            "sensors": folder / "sensors.csv",
            "truth": folder / "truth.csv",
            "faults": folder / "injected_faults.csv",
        }
        with atomic_path(paths["scada"]) as tmp:
            if scada_format == "csv":
                out = self.scada.copy()
                out["timestamp"] = out["timestamp"].map(lambda t: t.isoformat())
                out.to_csv(tmp, index=False, float_format="%.4f")
            elif scada_format == "parquet":
                self.scada.to_parquet(tmp, index=False)
            else:
                raise ParameterError(f"scada_format must be 'csv' or 'parquet', got {scada_format!r}")
        for name in ("sensors", "truth", "faults"):
            with atomic_path(paths[name]) as tmp:
                getattr(self, name).to_csv(tmp, index=False)
        return paths


def nominal_pressure_m(network: WaterNetwork, hours: float = 24.0, step_s: int = 3600) -> pd.Series:
    """Mean pressure of every junction of the nominal model over ``hours``, m."""
    nodes = network.junctions
    table = pd.DataFrame({"sensor_id": nodes, "kind": "pressure", "element": nodes})
    res = simulate(network, hours * 3600, step_s=step_s, sensors=table)
    return res.readings.mean()


def _area_for_flow(flow_lps: float, pressure_m: float, cd: float = 0.75) -> float:
    return flow_lps / 1000.0 / (cd * np.sqrt(2 * 9.81 * max(pressure_m, 1.0)))


def _demand_series(network: WaterNetwork, start: pd.Timestamp, n: int, step_s: int, groups: np.ndarray,
                   noise: float, daily_sigma: float, rng) -> tuple[dict, dict]:
    """Group patterns: the model's multipliers × day-to-day factor × AR(1) noise."""
    wn = network.wn
    ps = int(wn.options.time.pattern_timestep)
    monday = (start.tz_localize(None) - start.tz_localize(None).normalize()).total_seconds() + start.day_of_week * 86400
    t = monday + np.arange(n) * step_s
    n_days = int(np.ceil(n * step_s / 86400)) + 2
    day_index = (t // 86400 - monday // 86400).astype(int)  # calendar days since the start
    weekday = ((t // 86400) % 7).astype(int)
    rho = np.exp(-step_s / (4 * 3600.0))  # about 4 h correlation time
    patterns, used = {}, set()
    for j in network.junctions:
        for d in wn.get_node(j).demand_timeseries_list:
            used.add(d.pattern_name)
    for pid in sorted(p for p in used if p is not None):
        mult = np.asarray(wn.get_pattern(pid).multipliers, dtype=float)
        base = mult[(t // ps).astype(int) % len(mult)]
        if len(mult) * ps < 7 * 86400:
            base = base * np.where(weekday >= 5, 0.92, 1.0)  # weekly shape the model's daily pattern lacks
        for g in np.unique(groups):
            day = np.exp(rng.normal(0.0, daily_sigma, n_days))[day_index]
            eps = rng.normal(0.0, noise * np.sqrt(1 - rho**2), n)
            ar = np.empty(n)
            ar[0] = rng.normal(0.0, noise)
            for k in range(1, n):
                ar[k] = rho * ar[k - 1] + eps[k]
            patterns[f"{pid}~g{g}"] = np.maximum(base * day * np.exp(ar), 0.0)
    pattern_of = {}
    for j, g in zip(network.junctions, groups):
        pattern_of[j] = [None if d.pattern_name is None else f"{d.pattern_name}~g{g}"
                         for d in wn.get_node(j).demand_timeseries_list]
    return patterns, pattern_of


def _spatial_groups(network: WaterNetwork, k: int, rng) -> np.ndarray:
    xy = network.node_xy().loc[network.junctions].to_numpy()
    centres = xy[rng.choice(len(xy), size=min(k, len(xy)), replace=False)]
    return np.argmin(((xy[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)


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

    groups = _spatial_groups(network, demand_groups, rng)
    patterns, pattern_of = _demand_series(network, t_start, n + 1, step_s, groups, demand_noise, daily_sigma, rng)
    demand_factors = pd.Series(np.exp(rng.normal(0, demand_sigma, len(network.junctions))), index=network.junctions)
    pipes = list(network.wn.pipe_name_list)
    roughness_factors = pd.Series(np.exp(rng.normal(0, roughness_sigma, len(pipes))), index=pipes)

    if leaks is None:
        leaks = _random_specs(network, rng, t_start, t_end, n_leaks, n_bursts, leak_flow_range_lps,
                              incipient_fraction, pressure)
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

    sim = simulate(network, (n - 1) * step_s, step_s=step_s, leaks=events, sensors=network.sensors,
                   demand_patterns=patterns, pattern_of=pattern_of, demand_factors=demand_factors.to_dict(),
                   roughness_factors=roughness_factors.to_dict())
    index = pd.DatetimeIndex(t_start + pd.to_timedelta(sim.readings.index, unit="s"), name="timestamp")
    readings = sim.readings.set_axis(index)
    leak_flow = sim.leak_flow_lps.set_axis(index)
    leak_flow.columns = [row[0] for row in truth_rows]
    truth = pd.DataFrame(truth_rows, columns=TRUTH_COLUMNS)
    for col in ("start", "peak", "end"):
        truth[col] = pd.to_datetime(truth[col]).dt.tz_convert(tz) if truth[col].notna().any() else pd.NaT
    for i, eid in enumerate(truth["event_id"]):
        q = leak_flow[eid]
        active = q[q > 0]
        truth.loc[i, "peak_flow_lps"] = float(q.max())
        truth.loc[i, "mean_flow_lps"] = float(active.mean()) if len(active) else 0.0

    sensors = network.sensors[["sensor_id", "kind", "element"]].copy()
    sensors["unit"] = [_declared_unit(kind, mixed_units, rng) for kind in sensors["kind"]]
    noisy = _add_noise(readings, sensors, pressure_noise_m, flow_noise_frac, level_noise_m, rng)
    scada, faults = _inject_faults(noisy, sensors, n_gaps, n_stuck, n_duplicates, step_s, rng)
    for row in sensors.itertuples(index=False):
        scada[row.sensor_id] = (scada[row.sensor_id] / UNITS[row.kind][row.unit]).round(_DECIMALS[row.unit])
    scada = scada.reset_index()
    config = dict(start=str(t_start), days=days, step_min=step_min, seed=seed, tz=tz, network=network.name)
    return Scenario(scada=scada, sensors=sensors.reset_index(drop=True), truth=truth, faults=faults,
                    readings=readings, leak_flow_lps=leak_flow, demand_lps=sim.demand_lps.set_axis(index),
                    demand_factors=demand_factors, roughness_factors=roughness_factors, config=config)


_DECIMALS = {"m": 3, "bar": 5, "kPa": 2, "psi": 4, "L/s": 3, "m3/h": 3, "m3/s": 6}


def _declared_unit(kind, mixed, rng):
    if not mixed:
        return {"pressure": "m", "flow": "L/s", "level": "m"}[kind]
    if kind == "pressure":
        return str(rng.choice(["m", "bar", "kPa", "psi"], p=[0.4, 0.3, 0.2, 0.1]))
    if kind == "flow":
        return str(rng.choice(["L/s", "m3/h"]))
    return "m"


def _add_noise(readings, sensors, p_sd, q_frac, l_sd, rng):
    out = readings.copy()
    for row in sensors.itertuples(index=False):
        x = out[row.sensor_id].to_numpy()
        if row.kind == "pressure":
            sd = p_sd
        elif row.kind == "flow":
            sd = q_frac * np.abs(x) + 0.02
        else:
            sd = l_sd
        out[row.sensor_id] = x + rng.normal(0.0, 1.0, len(x)) * sd
    return out


def _inject_faults(values, sensors, n_gaps, n_stuck, n_dup, step_s, rng):
    values = values.copy()
    n = len(values)
    rows = []
    ids = list(sensors["sensor_id"])
    per_hour = 3600 // step_s
    for fault, count, (lo, hi) in (("gap", n_gaps, (1, 12)), ("stuck", n_stuck, (6, 48))):
        for _ in range(count):
            sid = str(rng.choice(ids))
            length = int(rng.integers(lo * per_hour, hi * per_hour + 1))
            length = min(length, n - 2)
            i0 = int(rng.integers(1, n - length))
            col = values.columns.get_loc(sid)
            if fault == "gap":
                values.iloc[i0:i0 + length, col] = np.nan
            else:
                values.iloc[i0:i0 + length, col] = values.iloc[i0 - 1, col]
            rows.append((sid, values.index[i0], values.index[i0 + length - 1], fault))
    if n_dup:
        picks = np.sort(rng.choice(np.arange(1, n), size=min(n_dup, n - 1), replace=False))
        for i in picks:
            rows.append(("*", values.index[i], values.index[i], "duplicate"))
        values = pd.concat([values, values.iloc[picks]]).sort_index(kind="stable")
    faults = pd.DataFrame(rows, columns=["sensor_id", "start", "end", "fault"])
    return values, faults


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
