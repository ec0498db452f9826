"""Water balance of the network: net consumption and minimum night flow.

Consumption (consumers plus leaks) is what enters through the inlets minus
what goes into storage. On L-Town the tank fills at night through the pump,
so the inlet flow alone has its minimum inflated and moving with the pump
cycle; subtracting the tank's storage change (area × level change) leaves a
night flow whose rise is the leak flow.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from kit.errors import InputDataError

__all__ = ["inlet_sensors", "net_consumption_lps", "minimum_night_flow", "night_mask"]


def inlet_sensors(data, network) -> pd.Series:
    """Flow sensors on links leaving a reservoir, with the sign that makes inflow positive.

    Parameters
    ----------
    data : ScadaData
    network : WaterNetwork

    Returns
    -------
    pandas.Series
        Index sensor id, value +1 or -1 (link drawn into or out of the reservoir).
    """
    wn = network.wn
    reservoirs = set(wn.reservoir_name_list)
    signs = {}
    for row in data.sensors.itertuples(index=False):
        if row.kind != "flow" or row.element not in wn.link_name_list:
            continue
        link = wn.get_link(row.element)
        if link.start_node_name in reservoirs:
            signs[row.sensor_id] = 1.0
        elif link.end_node_name in reservoirs:
            signs[row.sensor_id] = -1.0
    return pd.Series(signs, dtype=float)


def net_consumption_lps(data, network) -> pd.Series:
    """Inlet flow minus tank storage change, L/s, on the SCADA grid.

    Parameters
    ----------
    data : ScadaData
        Needs the flow sensors on the inlet pipes; tank level sensors are
        used when present (a tank without a level sensor is assumed steady).
    network : WaterNetwork
        Identifies the inlets (links from reservoirs) and tank areas.

    Returns
    -------
    pandas.Series, L/s
        NaN where an inlet or tank reading is missing.

    Raises
    ------
    InputDataError
        No flow sensor on a link from a reservoir.
    """
    signs = inlet_sensors(data, network)
    if signs.empty:
        raise InputDataError("no flow sensor on an inlet pipe (a link from a reservoir); the night-flow balance "
                             "needs one: add the inlet meters to the sensors table")
    inflow = (data.values[signs.index] * signs).sum(axis=1, min_count=len(signs))
    step_s = data.step.total_seconds()
    storage = pd.Series(0.0, index=data.values.index)
    wn = network.wn
    for row in data.sensors.itertuples(index=False):
        if row.kind == "level" and row.element in wn.tank_name_list and row.sensor_id in data.values:
            area_m2 = math.pi * float(wn.get_node(row.element).diameter) ** 2 / 4
            level = data.values[row.sensor_id]
            # EPANET moves the level with the step's flow: the change to the next reading.
            storage = storage + (level.shift(-1) - level) * area_m2 * 1000.0 / step_s
    return (inflow - storage).rename("consumption_lps")


def night_mask(local: pd.DatetimeIndex, night_hours=(1, 5)) -> np.ndarray:
    """Which stamps of ``local`` (in the network's time zone) fall in the night hours [start, end).

    A night may span midnight (``(22, 4)``).

    Examples
    --------
    >>> night_mask(pd.date_range("2024-01-01", periods=6, freq="1h"), (22, 2)).tolist()
    [True, True, False, False, False, False]
    """
    lo, hi = night_hours
    h = local.hour
    return np.asarray((h >= lo) & (h < hi) if lo < hi else (h >= lo) | (h < hi))


def minimum_night_flow(consumption_lps: pd.Series, *, night_hours=(1, 5), tz: str = "UTC",
                       window: str = "1h") -> pd.Series:
    """Minimum night flow per night, L/s.

    The consumption is averaged over ``window`` (the level change is noisy at
    5 minutes) and the minimum over the night hours of each local date kept.

    Parameters
    ----------
    consumption_lps : pandas.Series, L/s
        From :func:`net_consumption_lps`; UTC index.
    night_hours : (int, int), h
        Local hours [start, end) that make the night.
    tz : str
        Local time zone of the network.
    window : str
        Averaging window.

    Returns
    -------
    pandas.Series, L/s
        Indexed by local date (``night``); NaN for nights without data.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=48, freq="1h", tz="UTC")
    >>> q = pd.Series(10.0 + (idx.hour == 3) * -2.0, index=idx)
    >>> minimum_night_flow(q).round(1).tolist()
    [8.0, 8.0]
    """
    avg = consumption_lps.resample(window).mean()
    local = avg.index.tz_convert(tz)
    lo, hi = night_hours
    at_night = night_mask(local, night_hours)
    nights = avg[at_night]
    # A night that starts before midnight belongs to the next date.
    day = pd.Index((local[at_night] + pd.Timedelta(hours=24 - lo if lo > hi else 0)).date, name="night")
    out = nights.groupby(day).min()
    return out.rename("mnf_lps").astype(float).where(np.isfinite(out))
