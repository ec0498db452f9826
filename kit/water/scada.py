"""SCADA ingestion: any format the kit reads, onto a regular grid in m and L/s, with what was repaired flagged.

Reading and cleaning are two steps. A format reader
(:mod:`kit.water.scada_formats`) turns the file as its tool wrote it into
the raw wide table (``timestamp`` + one column per sensor id, values in
their declared unit) and its sensors table (``sensor_id, kind, element,
unit, factor``); :func:`read_scada` picks the reader from what the file
is. :func:`scada_from_table` then converts every column to the kit's
units (m for pressure and level, L/s for flow and demand), puts the record
on a regular UTC grid, and flags what it had to repair or mask rather
than stopping: duplicated stamps, gaps, stuck sensors, out-of-range and
non-numeric values. Only what makes the record ambiguous stops it: an
unknown sensor, element or unit, or a timestamp that cannot be parsed or
goes back in time. A reader of another source (a SQL historian) feeds
:func:`scada_from_table` the same two tables, e.g. through
:func:`~kit.water.scada_formats.historian.wide_from_long`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kit.errors import InputDataError
from kit.i18n import _
from kit.params import is_url
from kit.water.scada_formats import declare_sensors, read_raw_scada, read_sensors, wide_from_long
from kit.water.scada_formats.sensors import SI_UNIT  # noqa: F401  (the kit's unit per kind, imported from here before)

__all__ = ["ScadaData", "FLAG_COLUMNS", "read_scada", "read_sensors", "scada_from_table", "wide_from_long"]

FLAG_COLUMNS = ["sensor_id", "start", "end", "flag", "count"]
# Physically plausible ranges in the kit's units; outside them a reading is a sensor fault.
DEFAULT_RANGES = {"pressure": (-10.0, 200.0), "flow": (-10_000.0, 10_000.0), "level": (0.0, 100.0),
                  "demand": (0.0, 10_000.0)}
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


def _parse_times(raw: pd.Series, source: str, tz: str, flags: list, header_rows: int = 1) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(raw):
        t = raw
        bad = t.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputDataError(_("{source} row {row}: empty timestamp; fill or remove the row").format(source=source, row=i + 1 + header_rows))
        naive = t.dt.tz is None
    else:
        text = raw.astype("string").str.strip()
        has_offset = text.str.contains(_OFFSET, na=False)
        if has_offset.any() and not has_offset.all():
            i = int(np.flatnonzero(~has_offset.to_numpy())[0])
            raise InputDataError(_("{source} row {row}: timestamp {value!r} has no UTC offset while others have one; write every "
                                   "timestamp with its offset (e.g. +01:00)").format(source=source, row=i + 1 + header_rows, value=raw.iloc[i]))
        naive = not has_offset.any()
        t = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=not naive)
        bad = t.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputDataError(_("{source} row {row}: timestamp {value!r} cannot be parsed; write timestamps in ISO 8601, e.g. "
                                   "2024-01-31T13:05:00+01:00").format(source=source, row=i + 1 + header_rows, value=raw.iloc[i]))
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


def read_scada(scada_path, sensors_path=None, network=None, *, step=None, tz: str = "UTC", stuck_hours: float = 2.0,
               ranges: dict | None = None, table: str = "scada", window=None) -> ScadaData:
    """Read SCADA readings in any format the kit knows and put them on a regular grid in m and L/s.

    Parameters
    ----------
    scada_path : path
        What the file is decides how it is read (not its name):

        - a wide CSV or Parquet: ``timestamp`` and one column per sensor id
          (needs ``sensors_path``);
        - a long historian export (CSV or Parquet): ``timestamp, tag,
          value[, unit]`` (also ``time``/``datetime``, ``tagname``/``point``,
          ``val``, ``units``/``uom``, any case);
        - a workbook (``.xlsx``) laid out like BattLeDIM's ``2019_SCADA.xlsx``:
          sheets ``Pressures (m)``, ``Flows (m3_h)``, ``Levels (m)``,
          optionally ``Demands (L_h)``, each ``Timestamp`` + one column per
          node or link id;
        - a folder of BattLeDIM's per-sheet CSVs (``*Pressures*.csv``, ...);
        - a SQLAlchemy URL of a SQL historian (``postgresql://reader@host/db``,
          ``sqlite:///historian.db``) whose ``table`` (or query) gives the long
          format; credentials from the driver's files or environment
          (``~/.pgpass``, ``PGPASSWORD``), never in the URL.

        CSV separators (``,`` ``;`` tab) and decimal commas are sniffed.
        Timestamps in ISO 8601 (or date-time cells), all with a UTC offset
        or all without (then they are local times of ``tz``).
    sensors_path : path, optional
        Wide tables: CSV ``sensor_id, kind (pressure|flow|level|demand),
        element, unit``; units m, bar, kPa, psi (pressure), L/s, m3/h, m3/s,
        L/h (flow, demand), m (level). Long exports: the tag mapping (``tag``
        or ``sensor_id``, ``element``, optional ``kind`` and ``unit``), or
        None when tags are element ids and rows carry units. Workbooks and
        CSV folders: not needed; a sensors table given overrides what the
        sheet names say.
    network : WaterNetwork, optional
        Checks that elements exist (a workbook's column ids must be its
        node and link ids); tank levels are then range-checked against the
        tank's minimum and maximum level.
    step : str or Timedelta, optional
        Grid step, e.g. ``"5min"``; default the median interval of the file.
    tz : str
        Time zone of timestamps without an offset.
    stuck_hours : float, h
        A sensor repeating exactly the same value this long is stuck (a flow
        or demand of exactly zero is not: a stopped pump reads zero).
    ranges : dict, optional
        ``sensor_id -> (low, high)`` in the kit's units, overriding the
        plausible range of its kind.
    table : str
        SQL source only: a table (``schema.table``) or a ``SELECT`` using
        ``:start`` and ``:end``, giving ``timestamp, tag, value[, unit]``.
    window : (Timestamp, Timestamp or None), optional
        SQL source only: the rows fetched, start inclusive, end exclusive
        (None: to the newest).

    Returns
    -------
    ScadaData

    Raises
    ------
    InputDataError
        A SCADA column not in the sensors table, a wide table without one,
        an element not in the network, an unknown unit, kind or tag, an
        unparseable or backward timestamp; the message names the file.

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
    if is_url(scada_path):
        raw = _read_sql(scada_path, sensors_path, network, table, window, tz)
        header_rows = 0
    else:
        raw = read_raw_scada(scada_path, sensors_path, network)
        header_rows = raw.header_rows
    return scada_from_table(raw.table, raw.sensors, network, source=raw.source, step=step, tz=tz,
                            stuck_hours=stuck_hours, ranges=ranges, header_rows=header_rows, flags=raw.flags)


def _read_sql(url: str, sensors_path, network, table: str, window, tz: str):
    """Long rows of a SQL historian for ``window``, as the raw wide table and its sensors."""
    from kit.water.scada_formats.read import mapping_table
    from kit.water.scada_sql import describe_source, read_sql_long

    start, end = window if window is not None else (None, None)
    long = read_sql_long(url, table, start=start, end=end, tz=tz)
    where = describe_source(url, table)["url"]
    raw = wide_from_long(long, mapping_table(sensors_path), network, source=f"SCADA source {where}",
                         mapping_source=f"tag mapping {sensors_path}", header_rows=0)
    return raw._replace(flags=tuple(long.attrs.get("flags", ())) + tuple(raw.flags))


def scada_from_table(table: pd.DataFrame, sensors: pd.DataFrame, network=None, *, source: str = "SCADA table",
                     step=None, tz: str = "UTC", stuck_hours: float = 2.0, ranges: dict | None = None,
                     header_rows: int = 1, flags=()) -> ScadaData:
    """Clean a raw wide SCADA table onto a regular grid in m and L/s (what :func:`read_scada` does after reading).

    Parameters
    ----------
    table : pandas.DataFrame
        ``timestamp`` (ISO 8601 text or datetimes; naive ones are local
        times of ``tz``) and one column per sensor id, values in the
        sensor's declared unit (numbers, or text the cleaning flags).
    sensors : pandas.DataFrame
        ``sensor_id, kind, element, unit`` and optionally ``factor`` (to the
        kit's unit; computed from ``unit`` and checked when absent).
    network : WaterNetwork, optional
        As for :func:`read_scada`.
    source : str
        How the record is named in errors, e.g. ``"SCADA query on historian"``.
    step, tz, stuck_hours, ranges
        As for :func:`read_scada`.
    header_rows : int
        Lines before the first data row as the user sees the source (1 for
        a file with a header, 0 for a query result), for row numbers in errors.
    flags : iterable of tuple
        Flags raised while reading (rows of :data:`FLAG_COLUMNS`), kept.

    Returns
    -------
    ScadaData

    Examples
    --------
    >>> table = pd.DataFrame({"timestamp": ["2024-01-01T00:00", "2024-01-01T00:05"], "Q1": [36.0, 72.0]})
    >>> sensors = pd.DataFrame({"sensor_id": ["Q1"], "kind": ["flow"], "element": ["p227"], "unit": ["m3/h"]})
    >>> scada_from_table(table, sensors).values["Q1"].tolist()
    [10.0, 20.0]
    """
    if "factor" not in sensors.columns:
        sensors = declare_sensors(sensors, network, source=f"sensors of {source}")
    table = _checked_table(table, sensors, source)
    flags = list(flags)
    table, times, step = _time_axis(table, source, tz, step, flags, header_rows)
    index = pd.DatetimeIndex(times, name="timestamp")
    stuck_span = max(pd.Timedelta(hours=stuck_hours), 2 * step)
    tanks = _tank_ranges(network)
    columns, present_cols = {}, {}
    for row in sensors.itertuples(index=False):
        sid = row.sensor_id
        if sid not in table.columns:
            flags.append((sid, pd.NaT, pd.NaT, "no_data", 0))
            continue
        lo, hi = (ranges or {}).get(sid) or (tanks.get(row.element) if row.kind == "level" else None) \
            or DEFAULT_RANGES[row.kind]
        columns[sid], present_cols[sid] = _clean_column(table[sid], row, times, step, stuck_span, (lo, hi), flags)
    if not columns:
        raise InputDataError(_("{source} has no sensor column; add columns named by the sensors table").format(source=source))
    values = pd.DataFrame(columns, index=index).resample(step).mean()
    present = pd.DataFrame(present_cols, index=index).resample(step).sum() > 0
    for sid in present.columns:
        for a, b in _runs(~present[sid].to_numpy()):
            flags.append((sid, present.index[a], present.index[b - 1], "gap", int(b - a)))
    return ScadaData(values=values, sensors=sensors, flags=_flag_table(flags), step=step)


def _checked_table(table: pd.DataFrame, sensors: pd.DataFrame, source: str) -> pd.DataFrame:
    """The table, refused when it has no ``timestamp``, no rows or a column the sensors table lacks."""
    table = table.rename(columns=lambda c: str(c).strip())
    if "timestamp" not in table.columns:
        raise InputDataError(_("{source} has no 'timestamp' column; name the time column timestamp").format(source=source))
    known = set(sensors["sensor_id"])
    for col in table.columns:
        if col != "timestamp" and col not in known:
            raise InputDataError(_("{source}: column {column!r} is not in the sensors table; add a row for it (sensor_id, kind, "
                                   "element, unit) or remove the column").format(source=source, column=col))
    if not len(table):
        raise InputDataError(_("{source} has no rows; export a period with readings").format(source=source))
    return table


def _time_axis(table: pd.DataFrame, source: str, tz: str, step, flags: list, header_rows: int = 1):
    """Parsed UTC times (rows without one dropped), checked for order, and the grid step.

    Flags duplicated and off-grid stamps. Returns ``table, times, step``.
    """
    times = _parse_times(table["timestamp"], source, tz, flags, header_rows)
    keep = times.notna().to_numpy()
    table, times = table.loc[keep].reset_index(drop=True), times[keep].reset_index(drop=True)
    diffs = times.diff().dt.total_seconds().to_numpy()
    back = np.flatnonzero(diffs < 0)
    if back.size:
        i = int(back[0])
        raise InputDataError(_("{source} row {row}: timestamp {value} is earlier than the row before; sort the file by time "
                               "(duplicated stamps are allowed)").format(source=source, row=i + 1 + header_rows, value=table["timestamp"].iloc[i]))
    dups = diffs == 0
    if dups.any():
        flags.append(("*", times[dups].min(), times[dups].max(), "duplicate_timestamp", int(dups.sum())))

    positive = diffs[diffs > 0]
    if step is None:
        if not positive.size:
            raise InputDataError(_("{source} has a single time stamp; give step= or a longer record").format(source=source))
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
    run; a flow of exactly zero is a stopped pump and a demand of zero an
    empty house, not a stuck sensor.
    """
    mask = np.zeros(len(v), dtype=bool)
    same = np.concatenate([[False], v[1:] == v[:-1]])
    for a, b in _runs(same):
        first = a - 1
        lasting = times[b - 1] - times[first] + step
        if lasting >= stuck_span and not (row.kind in ("flow", "demand") and v[first] == 0):
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
