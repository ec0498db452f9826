"""What the SCADA records of the simulated truth: declared units, sensor noise, gaps, stuck sensors, duplicates."""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.water.units import UNITS

__all__ = ["DECIMALS", "scada_records"]

# Digits each declared unit is written with.
DECIMALS = {"m": 3, "bar": 5, "kPa": 2, "psi": 4, "L/s": 3, "m3/h": 3, "m3/s": 6}


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


def scada_records(readings: pd.DataFrame, sensor_table: pd.DataFrame, rng, *, mixed_units: bool,
                  pressure_noise_m: float, flow_noise_frac: float, level_noise_m: float, n_gaps: int, n_stuck: int,
                  n_duplicates: int, step_s: int):
    """Turn noise-free readings (m, L/s) into what the SCADA writes.

    Parameters
    ----------
    readings : pandas.DataFrame
        Simulated values in m and L/s, one column per sensor.
    sensor_table : pandas.DataFrame
        ``sensor_id, kind, element`` of the network's sensors.
    rng : numpy.random.Generator
        Draws units, then noise, then faults.

    Returns
    -------
    sensors : pandas.DataFrame
        ``sensor_id, kind, element, unit`` (declared units).
    scada : pandas.DataFrame
        Timestamp index; values in the declared units, rounded as written.
    faults : pandas.DataFrame
        ``sensor_id, start, end, fault``.
    """
    sensors = sensor_table[["sensor_id", "kind", "element"]].copy()
    sensors["unit"] = [_declared_unit(kind, mixed_units, rng) for kind in sensors["kind"]]
    noisy = _add_noise(readings, sensors, pressure_noise_m, flow_noise_frac, level_noise_m, rng)
    scada, faults = _inject_faults(noisy, sensors, n_gaps, n_stuck, n_duplicates, step_s, rng)
    for row in sensors.itertuples(index=False):
        scada[row.sensor_id] = (scada[row.sensor_id] / UNITS[row.kind][row.unit]).round(DECIMALS[row.unit])
    return sensors, scada, faults
