"""SCADA ingestion: wide CSV or Parquet plus a sensors table, to a regular grid in m and L/s.

The SCADA file has a ``timestamp`` column and one column per sensor; the
sensors table (``sensor_id, kind, element, unit``) declares what each column
measures and in which unit. :func:`read_scada` converts every column to the
kit's units (m for pressure and level, L/s for flow), puts the record on a
regular UTC grid, and flags what it had to repair or mask rather than
stopping: duplicated stamps, gaps, stuck sensors, out-of-range and
non-numeric values. Only what makes the file ambiguous stops it: an
unknown sensor, element or unit, or a timestamp that cannot be parsed or
goes back in time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kit.errors import InputDataError
from kit.water.units import UNITS, canonical_unit

__all__ = ["ScadaData", "FLAG_COLUMNS", "read_scada", "read_sensors"]

FLAG_COLUMNS = ["sensor_id", "start", "end", "flag", "count"]
SI_UNIT = {"pressure": "m", "flow": "L/s", "level": "m"}
# Physically plausible ranges in the kit's units; outside them a reading is a sensor fault.
DEFAULT_RANGES = {"pressure": (-10.0, 200.0), "flow": (-10_000.0, 10_000.0), "level": (0.0, 100.0)}
_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")  # offset after a time


@dataclass
class ScadaData:
    """SCADA readings on a regular grid, in the kit's units.

    Attributes
    ----------
    values : pandas.DataFrame
        UTC ``DatetimeIndex`` named ``timestamp`` at ``step``; one column per
        sensor (m or L/s); NaN where there was no data or a value was masked
        (stuck, out of range, non-numeric).
    sensors : pandas.DataFrame
        ``sensor_id, kind, element, unit`` (declared, canonical spelling) and
        ``factor`` (to the kit's unit).
    flags : pandas.DataFrame
        ``sensor_id, start, end, flag, count``; ``flag`` is one of
        ``duplicate_timestamp`` (sensor ``*``), ``repeated_local_time`` (``*``,
        kept: the hour a clock change repeats, read in file order),
        ``ambiguous_local_time`` (``*``, dropped: skipped or unresolvable local times),
        ``off_grid`` (``*``), ``gap``, ``stuck``, ``out_of_range``,
        ``bad_value``, ``no_data``; ``count`` is rows or grid steps.
    step : pandas.Timedelta
    """

    values: pd.DataFrame
    sensors: pd.DataFrame
    flags: pd.DataFrame
    step: pd.Timedelta

    def of_kind(self, kind: str) -> pd.DataFrame:
        """Columns of the sensors of one kind (``pressure``, ``flow`` or ``level``)."""
        ids = self.sensors.loc[self.sensors["kind"] == kind, "sensor_id"]
        return self.values[[s for s in ids if s in self.values.columns]]


def read_sensors(sensors_path, network=None) -> pd.DataFrame:
    """Read and check a sensors table (CSV).

    Parameters
    ----------
    sensors_path : path
        Columns ``sensor_id, kind, element, unit``.
    network : WaterNetwork, optional
        When given, each element must be a node (pressure, level) or a link
        (flow) of it.

    Returns
    -------
    pandas.DataFrame
        Units in canonical spelling, plus ``factor`` to m or L/s.
    """
    path = Path(sensors_path)
    if not path.is_file():
        raise InputDataError(f"sensors table {path} does not exist; give a CSV with sensor_id, kind, element, unit")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise InputDataError(f"sensors table {path} could not be read as CSV ({exc}); save it as UTF-8 CSV") from None
    table.columns = [c.strip() for c in table.columns]
    missing = [c for c in ("sensor_id", "kind", "element", "unit") if c not in table.columns]
    if missing:
        raise InputDataError(f"sensors table {path} has no column {missing[0]!r}; "
                             "its header must be sensor_id,kind,element,unit")
    table = table[["sensor_id", "kind", "element", "unit"]].apply(lambda s: s.str.strip())
    dup = table["sensor_id"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputDataError(f"sensors table {path} row {i + 2}: sensor_id {table.sensor_id[i]!r} appears twice; "
                             "keep one row per sensor")
    units, factors = [], []
    nodes = set(network.nodes) if network is not None else None
    links = set(network.links) if network is not None else None
    for i, row in enumerate(table.itertuples(index=False)):
        where = f"sensors table {path} row {i + 2}, sensor {row.sensor_id!r}: "
        kind = row.kind.lower()
        unit = canonical_unit(kind, row.unit, where)
        units.append(unit)
        factors.append(UNITS[kind][unit])
        if network is not None:
            pool, what = (links, "link") if kind == "flow" else (nodes, "node")
            if row.element not in pool:
                raise InputDataError(f"{where}element {row.element!r} is not a {what} of network {network.name}; "
                                     f"use the id of a {what} of the .inp file")
    table["kind"] = table["kind"].str.lower()
    table["unit"] = units
    table["factor"] = factors
    return table


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputDataError(f"SCADA file {path} does not exist; give a CSV or Parquet file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype={"timestamp": str})
    except Exception as exc:
        raise InputDataError(f"SCADA file {path} could not be read ({type(exc).__name__}: {exc}); "
                             "save it as CSV or Parquet with a timestamp column") from None


def _parse_times(raw: pd.Series, path: Path, tz: str, flags: list) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(raw):
        t = raw
        bad = t.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputDataError(f"SCADA file {path} row {i + 1}: empty timestamp; fill or remove the row")
        naive = t.dt.tz is None
    else:
        text = raw.astype("string").str.strip()
        has_offset = text.str.contains(_OFFSET, na=False)
        if has_offset.any() and not has_offset.all():
            i = int(np.flatnonzero(~has_offset.to_numpy())[0])
            raise InputDataError(f"SCADA file {path} row {i + 2}: timestamp {raw.iloc[i]!r} has no UTC offset while "
                                 "others have one; write every timestamp with its offset (e.g. +01:00)")
        naive = not has_offset.any()
        t = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=not naive)
        bad = t.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputDataError(f"SCADA file {path} row {i + 2}: timestamp {raw.iloc[i]!r} cannot be parsed; "
                                 "write timestamps in ISO 8601, e.g. 2024-01-31T13:05:00+01:00")
    if naive:
        t = _localize(t, tz, flags)
    return t.dt.tz_convert("UTC")


def _localize(t: pd.Series, tz: str, flags: list) -> pd.Series:
    """Naive local times of ``tz`` as aware times; the hour a clock change repeats is resolved by order.

    When the clock goes back (Morocco to UTC+0 for Ramadan, European
    autumn) a logger writing wall-clock time repeats an hour: in file order
    the first run is the earlier offset, and the rows are kept and flagged
    ``repeated_local_time`` (rows missing from either run do not matter).
    What order cannot settle (a repeated hour written only once) and local
    times the clock skips are dropped and flagged ``ambiguous_local_time``.
    """
    strict = t.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    unsure = strict.isna()
    if not unsure.any():
        return strict
    try:
        local = t.dt.tz_localize(tz, ambiguous="infer", nonexistent="NaT")
    except ValueError:  # the repeated hour cannot be read in order
        local = strict
    resolved = unsure & local.notna()
    if resolved.any():
        flags.append(("*", local[resolved].min(), local[resolved].max(), "repeated_local_time", int(resolved.sum())))
    lost = local.isna()
    if lost.any():
        flags.append(("*", local[~lost].min(), local[~lost].max(), "ambiguous_local_time", int(lost.sum())))
    return local


def _runs(mask: np.ndarray):
    """Start and stop (exclusive) of each run of True."""
    m = np.concatenate([[False], mask, [False]])
    d = np.diff(m.astype(np.int8))
    return zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1))


def read_scada(scada_path, sensors_path, network=None, *, step=None, tz: str = "UTC", stuck_hours: float = 2.0,
               ranges: dict | None = None) -> ScadaData:
    """Read SCADA readings and put them on a regular grid in m and L/s.

    Parameters
    ----------
    scada_path : path
        Wide CSV or Parquet: ``timestamp`` and one column per sensor id.
        Timestamps in ISO 8601, all with a UTC offset or all without (then
        they are local times of ``tz``).
    sensors_path : path
        CSV ``sensor_id, kind (pressure|flow|level), element, unit``; units
        m, bar, kPa, psi (pressure), L/s, m3/h, m3/s (flow), m (level).
    network : WaterNetwork, optional
        Checks that elements exist; tank levels are then range-checked
        against the tank's minimum and maximum level.
    step : str or Timedelta, optional
        Grid step, e.g. ``"5min"``; default the median interval of the file.
    tz : str
        Time zone of timestamps without an offset.
    stuck_hours : float, h
        A sensor repeating exactly the same value this long is stuck (a flow
        of exactly zero is not: a stopped pump reads zero).
    ranges : dict, optional
        ``sensor_id -> (low, high)`` in the kit's units, overriding the
        plausible range of its kind.

    Returns
    -------
    ScadaData

    Raises
    ------
    InputDataError
        A SCADA column not in the sensors table, an element not in the
        network, an unknown unit or kind, an unparseable or backward timestamp.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "s.csv").write_text("sensor_id,kind,element,unit\\nP1,pressure,n1,bar\\n")
    >>> _ = (d / "x.csv").write_text("timestamp,P1\\n2024-01-01T00:00:00+01:00,3.0\\n2024-01-01T00:05:00+01:00,3.1\\n")
    >>> data = read_scada(d / "x.csv", d / "s.csv")
    >>> data.values.round(3).to_dict("list")
    {'P1': [30.591, 31.611]}
    >>> str(data.values.index[0])
    '2023-12-31 23:00:00+00:00'
    """
    path = Path(scada_path)
    sensors = read_sensors(sensors_path, network)
    table = _read_checked_table(path, sensors, sensors_path)
    flags: list = []
    table, times, step = _time_axis(table, path, tz, step, flags)
    index = pd.DatetimeIndex(times, name="timestamp")
    stuck_span = max(pd.Timedelta(hours=stuck_hours), 2 * step)
    tanks = _tank_ranges(network)
    columns = {}
    present_cols = {}
    for row in sensors.itertuples(index=False):
        sid = row.sensor_id
        if sid not in table.columns:
            flags.append((sid, pd.NaT, pd.NaT, "no_data", 0))
            continue
        lo, hi = (ranges or {}).get(sid) or (tanks.get(row.element) if row.kind == "level" else None) \
            or DEFAULT_RANGES[row.kind]
        columns[sid], present_cols[sid] = _clean_column(table[sid], row, times, step, stuck_span, (lo, hi), flags)
    if not columns:
        raise InputDataError(f"SCADA file {path} has no sensor column; add columns named by the sensors table")
    values = pd.DataFrame(columns, index=index).resample(step).mean()
    present = pd.DataFrame(present_cols, index=index).resample(step).sum() > 0
    for sid in present.columns:
        for a, b in _runs(~present[sid].to_numpy()):
            flags.append((sid, present.index[a], present.index[b - 1], "gap", int(b - a)))
    return ScadaData(values=values, sensors=sensors, flags=_flag_table(flags), step=step)


def _read_checked_table(path: Path, sensors: pd.DataFrame, sensors_path) -> pd.DataFrame:
    """The SCADA table, refused when it has no ``timestamp``, no rows or a column the sensors table lacks."""
    table = _read_table(path)
    table.columns = [str(c).strip() for c in table.columns]
    if "timestamp" not in table.columns:
        raise InputDataError(f"SCADA file {path} has no 'timestamp' column; name the time column timestamp")
    known = set(sensors["sensor_id"])
    for col in table.columns:
        if col != "timestamp" and col not in known:
            raise InputDataError(f"SCADA file {path}: column {col!r} is not in the sensors table {sensors_path}; "
                                 "add a row for it (sensor_id, kind, element, unit) or remove the column")
    if not len(table):
        raise InputDataError(f"SCADA file {path} has no rows; export a period with readings")
    return table


def _time_axis(table: pd.DataFrame, path: Path, tz: str, step, flags: list):
    """Parsed UTC times (rows without one dropped), checked for order, and the grid step.

    Flags duplicated and off-grid stamps. Returns ``table, times, step``.
    """
    times = _parse_times(table["timestamp"], path, tz, flags)
    keep = times.notna().to_numpy()
    table, times = table.loc[keep].reset_index(drop=True), times[keep].reset_index(drop=True)
    diffs = times.diff().dt.total_seconds().to_numpy()
    back = np.flatnonzero(diffs < 0)
    if back.size:
        i = int(back[0])
        raise InputDataError(f"SCADA file {path} row {i + 2}: timestamp {table['timestamp'].iloc[i]} is earlier than "
                             "the row before; sort the file by time (duplicated stamps are allowed)")
    dups = diffs == 0
    if dups.any():
        flags.append(("*", times[dups].min(), times[dups].max(), "duplicate_timestamp", int(dups.sum())))

    positive = diffs[diffs > 0]
    if step is None:
        if not positive.size:
            raise InputDataError(f"SCADA file {path} has a single time stamp; give step= or a longer record")
        step = pd.Timedelta(seconds=float(np.median(positive)))
    step = pd.Timedelta(step)
    off = ((times - times.dt.floor(step)) != pd.Timedelta(0)).to_numpy()
    if off.any():
        flags.append(("*", times[off].min(), times[off].max(), "off_grid", int(off.sum())))
    return table, times, step


def _tank_ranges(network) -> dict:
    """Plausible level range of each tank of ``network``, m (its minimum and maximum level, 0.1 m slack)."""
    tanks = {}
    if network is not None:
        for name in network.wn.tank_name_list:
            tank = network.wn.get_node(name)
            tanks[name] = (float(tank.min_level) - 0.1, float(tank.max_level) + 0.1)
    return tanks


def _clean_column(raw: pd.Series, row, times: pd.Series, step, stuck_span, limits, flags: list):
    """One sensor's readings in the kit's unit, with bad, stuck and out-of-range values masked (NaN).

    Returns ``values, given`` (``given``: rows with a non-empty cell; a gap
    is an empty cell, a non-numeric one is a bad value).
    """
    sid = row.sensor_id
    x = pd.to_numeric(raw, errors="coerce")
    given = (raw.notna() & (raw.astype(str).str.strip() != "")).to_numpy()
    bad = x.isna().to_numpy() & given
    if bad.any():
        flags.append((sid, times[bad].min(), times[bad].max(), "bad_value", int(bad.sum())))
    v = x.to_numpy(dtype=float)
    mask = _stuck_mask(v, row, times, step, stuck_span, flags)
    v = v * row.factor
    lo, hi = limits
    oor = ~np.isnan(v) & ((v < lo) | (v > hi)) & ~mask
    if oor.any():
        flags.append((sid, times[oor].min(), times[oor].max(), "out_of_range", int(oor.sum())))
    v[mask | oor] = np.nan
    return v, given


def _stuck_mask(v: np.ndarray, row, times: pd.Series, step, stuck_span, flags: list) -> np.ndarray:
    """Readings of a stuck sensor: the same value repeated for ``stuck_span`` or more.

    Measured in time, so that duplicated stamps neither break nor lengthen a
    run; a flow of exactly zero is a stopped pump, not a stuck sensor.
    """
    mask = np.zeros(len(v), dtype=bool)
    same = np.concatenate([[False], v[1:] == v[:-1]])
    for a, b in _runs(same):
        first = a - 1
        lasting = times[b - 1] - times[first] + step
        if lasting >= stuck_span and not (row.kind == "flow" and v[first] == 0):
            mask[first:b] = True
            flags.append((row.sensor_id, times[first], times[b - 1], "stuck", int(times[first:b].nunique())))
    return mask


def _flag_table(flags: list) -> pd.DataFrame:
    """The flags as a table of :data:`FLAG_COLUMNS`, with the same dtypes whether or not any flag was raised.

    A clean record gives an empty table whose ``start``/``end`` are still UTC
    datetimes and ``count`` an integer, so that ``.dt`` and sorting work on it.
    """
    flag_table = pd.DataFrame(flags, columns=FLAG_COLUMNS)
    flag_table = flag_table.astype({"sensor_id": object, "flag": object, "count": "int64"})
    flag_table["start"] = pd.to_datetime(flag_table["start"], utc=True)
    flag_table["end"] = pd.to_datetime(flag_table["end"], utc=True)
    return flag_table.sort_values(["flag", "sensor_id", "start"], kind="stable").reset_index(drop=True)
