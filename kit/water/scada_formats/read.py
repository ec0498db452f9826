"""Which SCADA format a path holds, told by its content, and the reader for it.

A folder is BattLeDIM's per-sheet CSVs; a file starting with the ZIP
signature is a workbook (``.xlsx``), with ``PAR1`` a Parquet file, else
delimited text. A table (CSV or Parquet) whose header names a time, a tag
and a value column is a long historian export; any other is wide
(``timestamp`` + one column per sensor) and needs its sensors table.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from kit.errors import InputDataError
from kit.i18n import N_, _
from kit.water.scada_formats.battledim import read_csv_folder, read_workbook
from kit.water.scada_formats.historian import is_long, wide_from_long
from kit.water.scada_formats.raw import RawScada
from kit.water.scada_formats.sensors import read_sensors
from kit.water.scada_formats.text import read_delimited

__all__ = ["read_raw_scada", "scada_format"]

_FORMATS = N_("a wide CSV or Parquet file with its sensors table, a long historian export, a BattLeDIM .xlsx " \
           "workbook or a folder of BattLeDIM CSVs")


def scada_format(path) -> str:
    """``"csv_folder"``, ``"workbook"``, ``"parquet"`` or ``"csv"``, from what ``path`` is, not its name."""
    path = Path(path)
    if path.is_dir():
        return "csv_folder"
    if not path.is_file():
        raise InputDataError(_("SCADA file {path} does not exist; give {formats}").format(path=path, formats=_(_FORMATS)))
    with path.open("rb") as fh:
        magic = fh.read(8)
    if magic.startswith(b"PK\x03\x04"):
        return "workbook"
    if magic.startswith(b"PAR1"):
        return "parquet"
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputDataError(_("SCADA file {path} is an old Excel .xls workbook; save it as .xlsx").format(path=path))
    return "csv"


def _table(path: Path, kind: str) -> pd.DataFrame:
    if kind == "parquet":
        try:
            table = pd.read_parquet(path)
        except Exception as exc:
            raise InputDataError(_("SCADA file {path} could not be read ({error}); save it as CSV or Parquet with a timestamp "
                                   "column").format(path=path, error=f"{type(exc).__name__}: {exc}")) from None
        table.columns = [str(c).strip() for c in table.columns]
        return table
    return read_delimited(path, _("SCADA file {path}").format(path=path))


def mapping_table(sensors_path) -> pd.DataFrame | None:
    """The tag mapping CSV of a long export as text (None when not given)."""
    if sensors_path is None:
        return None
    path = Path(sensors_path)
    if not path.is_file():
        raise InputDataError(_("tag mapping {path} does not exist; give a CSV with tag, element[, kind, unit]").format(path=path))
    return read_delimited(path, _("tag mapping {path}").format(path=path), all_text=True)


def _wide(path: Path, table: pd.DataFrame, sensors_path, network, header_rows: int) -> RawScada:
    """A wide table checked against its sensors table (which it cannot do without)."""
    if sensors_path is None:
        raise InputDataError(_("SCADA file {path} is a wide table (timestamp + one column per sensor) and needs its sensors "
                               "table: give sensors (sensor_id, kind, element, unit)").format(path=path))
    sensors = read_sensors(sensors_path, network)
    time_col = next((c for c in table.columns if c.lower() == "timestamp"), None)
    if time_col is None:
        raise InputDataError(_("SCADA file {path} has no 'timestamp' column; name the time column timestamp").format(path=path))
    table = table.rename(columns={time_col: "timestamp"})
    known = set(sensors["sensor_id"])
    for col in table.columns:
        if col != "timestamp" and col not in known:
            raise InputDataError(_("SCADA file {path}: column {column!r} is not in the sensors table {sensors}; add a row for it "
                                   "(sensor_id, kind, element, unit) or remove the column").format(
                path=path, column=col, sensors=sensors_path))
    return RawScada(table, sensors, _("SCADA file {path}").format(path=path), (), header_rows)


def read_raw_scada(scada_path, sensors_path=None, network=None) -> RawScada:
    """Read any SCADA format the kit knows into its raw wide table and sensors.

    Parameters
    ----------
    scada_path : path
        A wide CSV or Parquet file (``timestamp`` + one column per sensor), a
        long historian export (``timestamp, tag, value[, unit]``), a workbook
        laid out like BattLeDIM's ``2019_SCADA.xlsx``, or a folder of
        BattLeDIM's per-sheet CSVs. CSV separators and decimal commas are sniffed.
    sensors_path : path, optional
        Wide tables: the sensors table (needed). Long exports: the tag
        mapping (``tag`` or ``sensor_id``, ``element``, optional ``kind``,
        ``unit``; without it tags must be element ids and rows carry units).
        Workbooks and CSV folders: a sensors table overriding what the sheet
        names say (not needed).
    network : WaterNetwork, optional
        Checks elements; infers kinds of long tags.

    Returns
    -------
    RawScada
    """
    path = Path(scada_path)
    kind = scada_format(path)
    if kind in ("workbook", "csv_folder"):
        sensors = read_sensors(sensors_path, network) if sensors_path is not None else None
        reader = read_workbook if kind == "workbook" else read_csv_folder
        return reader(path, network, sensors)
    table = _table(path, kind)
    header_rows = 0 if kind == "parquet" else 1
    if is_long(table.columns):
        mapping = mapping_table(sensors_path)
        return wide_from_long(table, mapping, network, source=_("SCADA file {path}").format(path=path),
                              mapping_source=_("tag mapping {path}").format(path=sensors_path), header_rows=header_rows)
    return _wide(path, table, sensors_path, network, header_rows)
