"""One table per quantity (BattLeDIM's layout) to one wide table and its sensors.

BattLeDIM hands over its SCADA as one sheet (or one CSV) per quantity:
``Pressures (m)``, ``Flows (m3_h)``, ``Levels (m)``, ``Demands (L_h)``, each
with a ``Timestamp`` column and one column per node or link, named by its
bare id. The quantity and its unit come from the sheet's (or file's) name,
a unit written in a column's header (``n1 (bar)``) wins for that column,
and the element is the header itself, checked against the network. A
demand is a consumer meter at a node that may also carry a pressure
logger (BattLeDIM's ``n1``): its sensor id is ``demand_<node>``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kit.errors import InputDataError
from kit.i18n import N_, _
from kit.water.scada_formats.raw import RawScada
from kit.water.scada_formats.sensors import SENSOR_COLUMNS, sensor_unit
from kit.water.scada_formats.text import TIME_NAMES, find_column, header_unit, is_text

__all__ = ["BATTLEDIM_UNITS", "QuantityTable", "quantity_of_file", "quantity_of_sheet", "wide_from_quantities"]

#: Units of BattLeDIM's sheets when a name carries none.
BATTLEDIM_UNITS = {"pressure": "m", "flow": "m3/h", "level": "m", "demand": "L/h"}
_WORD = r"(?P<word>pressures?|flows?|levels?|demands?)"
_SHEET = re.compile(rf"^\s*{_WORD}\s*(?:[\(\[]\s*(?P<unit>[^\)\]]*?)\s*[\)\]])?\s*$", re.IGNORECASE)
_IN_NAME = re.compile(_WORD, re.IGNORECASE)
_BRACKETED = re.compile(r"[\(\[]\s*([^\)\]]*?)\s*[\)\]]")


@dataclass
class QuantityTable:
    """One sheet or file of one quantity: ``Timestamp`` and one column per element."""

    label: str  # e.g. "sheet 'Pressures (m)' of SCADA workbook x.xlsx"
    kind: str
    unit: str  # as written (``m3_h`` allowed)
    frame: pd.DataFrame


def _kind(word: str) -> str:
    return word.lower().rstrip("s")


def quantity_of_sheet(name: str) -> tuple[str, str] | None:
    """``(kind, unit)`` of a sheet named like BattLeDIM's, or None for another sheet.

    Examples
    --------
    >>> quantity_of_sheet("Flows (m3_h)"), quantity_of_sheet("Levels"), quantity_of_sheet("Info")
    (('flow', 'm3_h'), ('level', 'm'), None)
    """
    m = _SHEET.match(str(name))
    if m is None:
        return None
    kind = _kind(m.group("word"))
    return kind, m.group("unit") or BATTLEDIM_UNITS[kind]


def quantity_of_file(stem: str, where: str) -> tuple[str, str] | None:
    """``(kind, unit)`` of a file named like ``2019_SCADA_Pressures`` or ``Flows (L_s)``, or None.

    A unit in brackets after the quantity must be known; a bare suffix
    (``Pressures_bar``) counts only when it is a unit of that kind, else
    BattLeDIM's unit applies.

    Examples
    --------
    >>> quantity_of_file("2019_SCADA_Flows", ""), quantity_of_file("Pressures_bar", "")
    (('flow', 'm3/h'), ('pressure', 'bar'))
    """
    m = _IN_NAME.search(stem)
    if m is None:
        return None
    kind = _kind(m.group("word"))
    rest = stem[m.end():]
    bracketed = _BRACKETED.search(rest)
    if bracketed:
        return kind, sensor_unit(kind, bracketed.group(1), where)[0]
    token = rest.strip(" _-.")
    if token:
        try:
            return kind, sensor_unit(kind, token)[0]
        except InputDataError:
            pass  # a suffix such as "_final" is not a unit
    return kind, BATTLEDIM_UNITS[kind]


def _trimmed(part: QuantityTable) -> pd.DataFrame:
    """The part's frame without blank columns (no header, no value) and blank rows; time column first."""
    frame = part.frame
    keep = []
    for j, col in enumerate(frame.columns):
        blank_header = str(col).strip() == "" or str(col).startswith("Unnamed:")
        if not blank_header:
            keep.append(col)
        elif frame[col].notna().any() and (frame[col].astype(str).str.strip() != "").any():
            raise InputDataError(_("{label}: column {column} has values but no header; name it by its node or link id").format(
                label=part.label, column=j + 1))
    frame = frame[keep]
    time_col = find_column(frame.columns, TIME_NAMES)
    if time_col is None:
        raise InputDataError(_("{label} has no Timestamp column; its first column must be Timestamp (then one column per "
                               "node or link id)").format(label=part.label))
    filled = frame.notna()
    for col in frame.columns:
        if is_text(frame[col]):
            filled[col] &= frame[col].astype(str).str.strip() != ""
    frame = frame.loc[filled.any(axis=1)].reset_index(drop=True)
    return frame.rename(columns={time_col: "timestamp"})[["timestamp", *[c for c in frame.columns if c != time_col]]]


def _declare_column(part: QuantityTable, header, network, given: dict) -> tuple:
    """``(sensor_id, kind, element, unit, factor)`` of one column of a quantity table."""
    where = _("{label}, column {column!r}: ").format(label=part.label, column=str(header))
    text = str(header).strip()
    name, unit = (text, None) if network is not None and text in set(network.nodes) | set(network.links) \
        else header_unit(text)
    sensor_id = f"demand_{name}" if part.kind == "demand" else name
    if sensor_id in given:
        return tuple(given[sensor_id][c] for c in SENSOR_COLUMNS)
    pool = _(N_("link")) if part.kind == "flow" else _(N_("node"))
    if network is not None and name not in set(network.links if part.kind == "flow" else network.nodes):
        raise InputDataError(_("{label}: column {column!r} is not a {pool} of network {network}; name the column by a {pool} "
                               "id of the .inp file, or map it in a sensors table").format(
            label=part.label, column=name, pool=pool, network=network.name))
    canonical, factor = sensor_unit(part.kind, unit or part.unit, where)
    return sensor_id, part.kind, name, canonical, factor


def _time_key(frame: pd.DataFrame, label: str) -> pd.Series:
    """Each row's time as a UTC instant (naive times taken as they are), to align tables; refuses disorder."""
    raw = frame["timestamp"]
    if pd.api.types.is_datetime64_any_dtype(raw):
        key = raw.dt.tz_convert("UTC") if raw.dt.tz is not None else raw.dt.tz_localize("UTC")
    else:
        key = pd.to_datetime(raw.astype("string").str.strip(), format="ISO8601", utc=True, errors="coerce")
    bad = np.flatnonzero(key.isna().to_numpy())
    if bad.size:
        raise InputDataError(_("{label} row {row}: Timestamp {value!r} cannot be parsed; write date-time cells or ISO 8601 "
                               "text, e.g. 2019-01-01 00:05").format(label=label, row=bad[0] + 2, value=raw.iloc[bad[0]]))
    back = np.flatnonzero(key.diff().dt.total_seconds().to_numpy() < 0)
    if back.size:
        raise InputDataError(_("{label} row {row}: Timestamp {value} is earlier than the row before; sort it by time").format(
            label=label, row=back[0] + 2, value=raw.iloc[back[0]]))
    return key


def _aligned(frames: list, labels: list) -> pd.DataFrame:
    """One wide table: side by side when every table has the same stamps, else joined on time.

    Joined tables are matched on (time, n-th repeat of that time), so a
    duplicated stamp stays a duplicated row.
    """
    first = frames[0]["timestamp"]
    if all(len(f) == len(first) and f["timestamp"].equals(first) for f in frames[1:]):
        return pd.concat([frames[0]] + [f.drop(columns="timestamp") for f in frames[1:]], axis=1)
    keyed = []
    for frame, label in zip(frames, labels):
        key = _time_key(frame, label)
        index = pd.MultiIndex.from_arrays([key, key.groupby(key).cumcount()], names=["key", "repeat"])
        keyed.append(frame.set_index(index))
    joined = pd.concat([k.drop(columns="timestamp") for k in keyed], axis=1).sort_index()
    stamps = pd.concat([k["timestamp"] for k in keyed], axis=1).reindex(joined.index).bfill(axis=1).iloc[:, 0]
    return pd.concat([stamps.rename("timestamp"), joined], axis=1).reset_index(drop=True)


def wide_from_quantities(parts: list, network=None, sensors: pd.DataFrame | None = None, *,
                         source: str) -> RawScada:
    """The wide table and sensors of a set of quantity tables.

    Parameters
    ----------
    parts : list of QuantityTable
    network : WaterNetwork, optional
        Column ids are checked against its nodes (pressure, level, demand)
        and links (flow).
    sensors : pandas.DataFrame, optional
        Declared sensors (:func:`~kit.water.scada_formats.sensors.declare_sensors`)
        overriding what the names say, matched by sensor id (the column id;
        ``demand_<id>`` in a demands table).
    source : str
        How the whole is named in errors.
    """
    given = {} if sensors is None else {r["sensor_id"]: r for r in sensors.to_dict("records")}
    rows, frames, labels, seen = [], [], [], {}
    for part in parts:
        frame = _trimmed(part)
        renamed = {}
        for header in frame.columns[1:]:
            row = _declare_column(part, header, network, given)
            if row[0] in seen:
                raise InputDataError(_("sensor {sensor!r} is in both {first} and {second}; keep one column per sensor").format(
                    sensor=row[0], first=seen[row[0]], second=part.label))
            seen[row[0]] = part.label
            renamed[header] = row[0]
            rows.append(row)
        frames.append(frame.rename(columns=renamed))
        labels.append(part.label)
    if not rows:
        raise InputDataError(_("{source} has no sensor column; add columns named by node or link ids").format(source=source))
    for sid, row in given.items():  # declared but never written: the cleaning flags them no_data
        if sid not in seen:
            rows.append(tuple(row[c] for c in SENSOR_COLUMNS))
    table = _aligned(frames, labels)
    return RawScada(table, pd.DataFrame(rows, columns=SENSOR_COLUMNS), source)
