"""Historian exports in the long layout: one row per reading, ``timestamp, tag, value[, unit]``.

A historian (OSIsoft PI, Wonderware, an Ignition or SQL tag history)
exports each reading on its own row, for many more tags than the network
model knows. A *tag mapping* (``tag`` or ``sensor_id``, ``element``,
optional ``kind`` and ``unit``) says which tags are sensors of the model;
the kind defaults to what the element is (a link's flow, a tank's level,
a junction's pressure) and the unit to the row's own ``unit`` column, else
the mapping's. Tags the mapping does not name are left out and listed as
``unmapped_tag`` flags (``unmapped="error"`` refuses them instead): an
export rarely holds only the tags one needs. Without a mapping, tags must
be element ids of the network and the export must carry units.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.errors import InputDataError
from kit.i18n import _
from kit.water.scada_formats.raw import RawScada
from kit.water.scada_formats.sensors import SENSOR_COLUMNS, SI_UNIT, check_element, kind_of_element, sensor_unit
from kit.water.scada_formats.text import TIME_NAMES, find_column

__all__ = ["TAG_NAMES", "UNIT_NAMES", "VALUE_NAMES", "is_long", "wide_from_long"]

TAG_NAMES = ("tag", "tagname", "tag_name", "point", "pointname", "point_name")
VALUE_NAMES = ("value", "val")
UNIT_NAMES = ("unit", "units", "uom")


def is_long(columns) -> bool:
    """True when ``columns`` name a time, a tag and a value column (the long layout)."""
    return all(find_column(columns, names) is not None for names in (TIME_NAMES, TAG_NAMES, VALUE_NAMES))


def _mapping(mapping: pd.DataFrame, network, source: str) -> dict:
    """``tag -> (sensor_id, kind, element, unit or None)`` from a mapping table."""
    cols = {str(c).strip().lower(): c for c in mapping.columns}
    key = cols.get("tag", cols.get("sensor_id"))
    if key is None or "element" not in cols:
        raise InputDataError(_("{source} needs a column tag (or sensor_id) and a column element; optional: kind, unit").format(
            source=source))
    key_name = "tag" if "tag" in cols else "sensor_id"
    out = {}
    for i, row in enumerate(mapping.to_dict("records")):
        get = lambda name: str(row.get(cols.get(name), "") or "").strip()  # noqa: E731
        tag, element, unit = get(key_name), get("element"), get("unit")
        where = _("{source} row {row}, tag {tag!r}: ").format(source=source, row=i + 2, tag=tag)
        if tag in out:
            raise InputDataError(_("{where}the tag appears twice; keep one row per tag").format(where=where))
        kind = get("kind").lower() or (kind_of_element(element, network) if network is not None else None)
        if not kind:
            raise InputDataError(_("{where}element {element!r} is not a node or link of network {network}; use an id of "
                                   "the .inp file").format(where=where, element=element, network=network.name)
                                 if network is not None else
                                 _("{where}no kind and no network to infer it from; add a kind column").format(where=where))
        check_element(kind, element, network, where)
        if unit:
            sensor_unit(kind, unit, where)
        out[tag] = (get("sensor_id") or tag, kind, element, unit or None)
    return out


def _element_tags(tags: pd.Series, network, source: str) -> dict:
    """Without a mapping: each tag is an element id of the network."""
    if network is None:
        raise InputDataError(_("{source} has tags but no tag mapping; give sensors= a mapping (tag, element) or the network "
                               "whose element ids the tags are").format(source=source))
    out = {}
    for tag in pd.unique(tags):
        kind = kind_of_element(tag, network)
        if kind is None:
            raise InputDataError(_("{source}: tag {tag!r} is not a node or link id of network {network}; give sensors= a tag "
                                   "mapping (tag, element[, kind, unit])").format(source=source, tag=tag, network=network.name))
        out[tag] = (tag, kind, tag, None)
    return out


def _row_factors(long: pd.DataFrame, known: dict, unit_col, source: str):
    """Each row's canonical unit and factor (the row's unit, else the mapping's)."""
    mapped = long["tag"].map({t: v[3] for t, v in known.items()})
    if unit_col is not None:
        units = long[unit_col].astype("string").str.strip().replace("", pd.NA).fillna(mapped)
    else:
        units = mapped
    missing = units.isna().to_numpy()
    if missing.any():
        tag = long["tag"].iloc[int(np.flatnonzero(missing)[0])]
        raise InputDataError(_("{source}: tag {tag!r} has no unit; add a unit column to the export or a unit to its row of "
                               "the tag mapping").format(source=source, tag=tag))
    pairs = pd.DataFrame({"kind": long["tag"].map({t: v[1] for t, v in known.items()}), "unit": units.astype(str),
                          "tag": long["tag"]})
    table = {(kind, unit): sensor_unit(kind, unit, _("{source}, tag {tag!r}: ").format(source=source, tag=tag))
             for kind, unit, tag in pairs.drop_duplicates(["kind", "unit"]).itertuples(index=False)}
    keys = list(zip(pairs["kind"], pairs["unit"]))
    return (pd.Series([table[k][0] for k in keys], index=long.index, dtype=object),
            np.array([table[k][1] for k in keys], dtype=float))


def _time_order(raw: pd.Series, source: str, header_rows: int) -> pd.Series:
    """Instants to sort the rows by (naive times as they are); refuses an unparseable time naming its row."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        key = raw.dt.tz_convert("UTC") if raw.dt.tz is not None else raw.dt.tz_localize("UTC")
    else:
        key = pd.to_datetime(raw.astype("string").str.strip(), format="ISO8601", utc=True, errors="coerce")
    bad = np.flatnonzero(key.isna().to_numpy())
    if bad.size:
        raise InputDataError(_("{source} row {row}: time {value!r} cannot be parsed; write times in ISO 8601, e.g. "
                               "2024-01-31T13:05:00+01:00").format(source=source, row=bad[0] + 1 + header_rows,
                                                                    value=raw.iloc[bad[0]]))
    return key


def wide_from_long(long_table: pd.DataFrame, mapping: pd.DataFrame | None = None, network=None, *,
                   source: str = "long SCADA table", mapping_source: str = "tag mapping", unmapped: str = "flag",
                   header_rows: int = 1) -> RawScada:
    """Turn long readings (one row per reading) into the wide table and sensors the cleaning takes.

    Parameters
    ----------
    long_table : pandas.DataFrame
        Columns time (``timestamp``, ``time`` or ``datetime``), tag (``tag``,
        ``tagname`` or ``point``), value (``value`` or ``val``) and optionally
        unit (``unit``, ``units`` or ``uom``), any case.
    mapping : pandas.DataFrame, optional
        ``tag`` (or ``sensor_id``), ``element``, optional ``kind``, ``unit``
        and ``sensor_id``. None: tags are element ids of ``network`` and
        the unit column is needed.
    network : WaterNetwork, optional
        Checks elements and infers kinds.
    source, mapping_source : str
        How the table and the mapping are named in errors.
    unmapped : {"flag", "error"}
        Tags the mapping lacks: left out with an ``unmapped_tag`` flag each
        (count: rows), or refused naming the first.
    header_rows : int
        Lines before the first data row of ``long_table`` (1 for a CSV, 0 for
        a query result), for row numbers in errors.

    Returns
    -------
    RawScada
        One column per sensor; a tag read in one unit keeps it (with its
        factor), a tag read in several is converted row by row to the kit's
        unit (m, L/s).

    Examples
    --------
    >>> long = pd.DataFrame({"Time": ["2024-01-01T00:00", "2024-01-01T00:00", "2024-01-01T00:05"],
    ...                      "TagName": ["PT1", "PT1", "PT1"], "Value": [3.0, 30.0, 3.1],
    ...                      "UoM": ["bar", "m", "bar"]})
    >>> mapping = pd.DataFrame({"tag": ["PT1"], "element": ["n1"], "kind": ["pressure"]})
    >>> raw = wide_from_long(long, mapping)
    >>> raw.table.round(2).values.tolist(), raw.sensors.unit.tolist()
    ([['2024-01-01T00:00', 30.59], ['2024-01-01T00:00', 30.0], ['2024-01-01T00:05', 31.61]], ['m'])
    """
    cols = {what: find_column(long_table.columns, names)
            for what, names in (("time", TIME_NAMES), ("tag", TAG_NAMES), ("value", VALUE_NAMES))}
    for what, col in cols.items():
        if col is None:
            raise InputDataError(_("{source} has no {what} column; name its columns timestamp, tag, value[, unit]").format(
                source=source, what=what))
    unit_col = find_column(long_table.columns, UNIT_NAMES)
    long = long_table.reset_index(drop=True)
    long = long.assign(tag=long[cols["tag"]].astype(str).str.strip())
    flags = []
    if mapping is None:
        if unit_col is None:
            raise InputDataError(_("{source} has no unit column; add one (the unit of each row) or give sensors= a tag mapping "
                                   "with units").format(source=source))
        known = _element_tags(long["tag"], network, source)
    else:
        known = _mapping(mapping, network, mapping_source)
        long, flags = _drop_unmapped(long, known, source, unmapped)
    return _pivot(long, known, cols, unit_col, source, header_rows, flags)


def _drop_unmapped(long: pd.DataFrame, known: dict, source: str, unmapped: str):
    """Rows of mapped tags, and an ``unmapped_tag`` flag per other tag (or a refusal)."""
    if unmapped not in ("flag", "error"):
        raise InputDataError(_("unmapped must be 'flag' or 'error', got {value!r}").format(value=unmapped))
    inside = long["tag"].isin(set(known)).to_numpy()
    if inside.all():
        return long, []
    first = long["tag"].iloc[int(np.flatnonzero(~inside)[0])]
    if unmapped == "error" or not inside.any():
        message = (_("{source}: tag {tag!r} is not in the tag mapping; add a row for it (tag, element[, kind, unit]) or "
                     "leave it out of the export") if inside.any() else
                   _("{source}: tag {tag!r} is not in the tag mapping (nor is any other tag); add a row for it (tag, "
                     "element[, kind, unit]) or leave it out of the export"))
        raise InputDataError(message.format(source=source, tag=first))
    counts = long.loc[~inside, "tag"].value_counts(sort=False)
    flags = [(tag, pd.NaT, pd.NaT, "unmapped_tag", int(n)) for tag, n in counts.items()]
    return long.loc[inside].reset_index(drop=True), flags


def _numeric(column: pd.Series) -> pd.Series:
    """A column as numbers when every cell is one; else as written (the cleaning flags the text)."""
    try:
        return pd.to_numeric(column)
    except (ValueError, TypeError):
        return column


def _pivot(long, known, cols, unit_col, source, header_rows, flags) -> RawScada:
    """The long rows as one column per sensor, rows in time order (a repeated stamp stays a repeated row)."""
    key = _time_order(long[cols["time"]], source, header_rows)
    units, factors = _row_factors(long, known, unit_col, source)
    sensor = long["tag"].map({t: v[0] for t, v in known.items()})
    value = long[cols["value"]].astype(object)
    rows = []
    for sid, own in units.groupby(sensor, sort=False):
        kind, element = known[long["tag"].iloc[own.index[0]]][1:3]
        if own.nunique() == 1:
            rows.append((sid, kind, element, own.iloc[0], float(factors[own.index[0]])))
            continue
        # One column cannot hold two units: this sensor's rows are converted to the kit's unit.
        number = pd.to_numeric(value[own.index], errors="coerce")
        value[own.index] = np.where(number.notna(), number * factors[own.index], value[own.index])
        rows.append((sid, kind, element, SI_UNIT[kind], 1.0))
    frame = pd.DataFrame({"key": key, "sensor": sensor, "value": value, "time": long[cols["time"]]})
    frame["repeat"] = frame.groupby(["key", "sensor"]).cumcount()
    wide = frame.pivot(index=["key", "repeat"], columns="sensor", values="value").sort_index()
    stamps = frame.groupby(["key", "repeat"])["time"].first().reindex(wide.index)
    wide = wide[[r[0] for r in rows]].reset_index(drop=True).apply(_numeric)
    wide.columns.name = None
    wide.insert(0, "timestamp", stamps.reset_index(drop=True))  # datetimes stay datetimes
    return RawScada(wide, pd.DataFrame(rows, columns=SENSOR_COLUMNS), source, tuple(flags), header_rows)
