"""What each SCADA column measures: the sensors table, its units, and kinds inferred from the network.

A sensor is ``sensor_id, kind, element, unit`` plus ``factor`` to the kit's
unit. Kinds are ``pressure`` (m), ``flow`` (L/s), ``level`` (m) and
``demand`` (L/s): a consumer meter's reading at a node (BattLeDIM's AMR
sheet, in L/h), kept with the record but not used by the detector.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kit.errors import InputDataError
from kit.i18n import N_, _
from kit.water.scada_formats.text import read_delimited
from kit.water.units import UNITS, canonical_unit

__all__ = ["SENSOR_COLUMNS", "SENSOR_UNITS", "SI_UNIT", "check_element", "declare_sensors", "kind_of_element",
           "read_sensors", "sensor_unit"]

SENSOR_COLUMNS = ["sensor_id", "kind", "element", "unit", "factor"]
SI_UNIT = {"pressure": "m", "flow": "L/s", "level": "m", "demand": "L/s"}
_L_PER_H = 1.0 / 3600.0
#: kind -> canonical unit -> factor to the kit's unit; flows and demands also in L/h (household meters).
SENSOR_UNITS = {**UNITS, "flow": {**UNITS["flow"], "L/h": _L_PER_H},
                "demand": {**UNITS["flow"], "L/h": _L_PER_H}}
_LITRES_PER_HOUR = {"l/h", "lph", "l/hr"}


def sensor_unit(kind: str, unit, where: str = "") -> tuple[str, float]:
    """Canonical spelling of ``unit`` for a sensor ``kind`` and its factor to the kit's unit.

    Sheet and file names cannot hold ``/``: ``m3_h`` is m³/h and ``L_s`` L/s.

    Examples
    --------
    >>> sensor_unit("demand", "L_h")
    ('L/h', 0.0002777777777777778)
    >>> sensor_unit("flow", "m3_h")[0]
    'm3/h'
    """
    kind = str(kind).strip().lower()
    if kind not in SENSOR_UNITS:
        raise InputDataError(_("{where}kind {kind!r} is unknown; use pressure, flow, level or demand").format(where=where, kind=kind))
    text = str(unit).strip().replace("_", "/")
    if kind in ("flow", "demand") and text.lower().replace(" ", "") in _LITRES_PER_HOUR:
        return "L/h", _L_PER_H
    try:
        name = canonical_unit("flow" if kind == "demand" else kind, text, where)
    except InputDataError:
        raise InputDataError(_("{where}unit {unit!r} is unknown for a {kind} sensor; use one of {units}").format(
            where=where, unit=unit, kind=kind, units=", ".join(SENSOR_UNITS[kind]))) from None
    return name, SENSOR_UNITS[kind][name]


def kind_of_element(element: str, network) -> str | None:
    """What a sensor on ``element`` measures by default: a link's flow, a tank's level, another node's pressure."""
    if element in set(network.links):
        return "flow"
    if element in set(network.wn.tank_name_list):
        return "level"
    if element in set(network.nodes):
        return "pressure"
    return None


def check_element(kind: str, element: str, network, where: str) -> None:
    """Refuse an element the network lacks: flows are on links, the other kinds at nodes."""
    if network is None:
        return
    pool, what = (network.links, N_("link")) if kind == "flow" else (network.nodes, N_("node"))
    if element not in set(pool):
        raise InputDataError(_("{where}element {element!r} is not a {what} of network {network}; use the id of a {what} "
                               "of the .inp file").format(where=where, element=element, what=_(what), network=network.name))


def declare_sensors(table: pd.DataFrame, network=None, *, source: str = "sensors table",
                    header_rows: int = 1) -> pd.DataFrame:
    """Check a sensors table and give it canonical units and factors.

    Parameters
    ----------
    table : pandas.DataFrame
        ``sensor_id, kind, element, unit`` (text).
    network : WaterNetwork, optional
        When given, each element must be a link (flow) or a node (the other kinds).
    source : str
        How the table is named in errors; rows are counted after ``header_rows``.

    Returns
    -------
    pandas.DataFrame
        :data:`SENSOR_COLUMNS`, kinds lower-case.

    Examples
    --------
    >>> t = pd.DataFrame({"sensor_id": ["P1"], "kind": ["Pressure"], "element": ["n1"], "unit": ["bar"]})
    >>> declare_sensors(t).round(4).values.tolist()
    [['P1', 'pressure', 'n1', 'bar', 10.1972]]
    """
    missing = [c for c in ("sensor_id", "kind", "element", "unit") if c not in table.columns]
    if missing:
        raise InputDataError(_("{source} has no column {column!r}; its header must be sensor_id,kind,element,unit").format(
            source=source, column=missing[0]))
    table = table[["sensor_id", "kind", "element", "unit"]].astype(str).apply(lambda s: s.str.strip())
    dup = table["sensor_id"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputDataError(_("{source} row {row}: sensor_id {sensor!r} appears twice; keep one row per sensor").format(
            source=source, row=i + 1 + header_rows, sensor=table.sensor_id.iloc[i]))
    units, factors = [], []
    for i, row in enumerate(table.itertuples(index=False)):
        where = _("{source} row {row}, sensor {sensor!r}: ").format(source=source, row=i + 1 + header_rows, sensor=row.sensor_id)
        unit, factor = sensor_unit(row.kind, row.unit, where)
        check_element(row.kind.lower(), row.element, network, where)
        units.append(unit)
        factors.append(factor)
    table["kind"] = table["kind"].str.lower()
    table["unit"] = units
    table["factor"] = factors
    return table.reset_index(drop=True)


def read_sensors(sensors_path, network=None) -> pd.DataFrame:
    """Read and check a sensors table (CSV, separator sniffed).

    Parameters
    ----------
    sensors_path : path
        Columns ``sensor_id, kind, element, unit``.
    network : WaterNetwork, optional
        When given, each element must be a node (pressure, level, demand) or a
        link (flow) of it.

    Returns
    -------
    pandas.DataFrame
        Units in canonical spelling, plus ``factor`` to m or L/s.
    """
    path = Path(sensors_path)
    if not path.is_file():
        raise InputDataError(_("sensors table {path} does not exist; give a CSV with sensor_id, kind, element, unit").format(
            path=path))
    source = _("sensors table {path}").format(path=path)
    return declare_sensors(read_delimited(path, source, all_text=True), network, source=source)
