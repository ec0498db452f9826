"""BattLeDIM's SCADA files: the workbook (``2019_SCADA.xlsx``) and its per-sheet CSVs.

The workbook, as BattLeDIM's dataset generator writes it (pandas with
xlsxwriter, one ``to_excel(sheet_name=..., index=False)`` per quantity),
has the sheets ``Pressures (m)``, ``Demands (L_h)``, ``Flows (m3_h)`` and
``Levels (m)``; each starts with a ``Timestamp`` column of date-time cells
(2019-01-01 00:00, every 5 minutes) followed by one column per sensor named
by its bare node or link id (``n1``, ``p227``, ``PUMP_1``, ``T1``). Sheets
are found by name, in any order; other sheets are ignored.

The CSV variant (``2019_SCADA_Pressures.csv`` and so on) holds the same
tables as ``;``-separated text with decimal commas, CRLF line ends and
``Timestamp`` as text (``2019-01-01 00:00``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from kit.errors import InputDataError
from kit.i18n import _
from kit.water.scada_formats.quantities import QuantityTable, quantity_of_file, quantity_of_sheet, wide_from_quantities
from kit.water.scada_formats.raw import RawScada
from kit.water.scada_formats.text import read_delimited

__all__ = ["read_csv_folder", "read_workbook"]

_EXPECTED = "'Pressures (m)', 'Flows (m3_h)', 'Levels (m)' or 'Demands (L_h)'"


def read_workbook(path, network=None, sensors: pd.DataFrame | None = None) -> RawScada:
    """Read a SCADA workbook laid out like BattLeDIM's (any file name).

    Parameters
    ----------
    path : path
        ``.xlsx`` with one sheet per quantity, found by name: ``Pressures
        (m)``, ``Flows (m3_h)``, ``Levels (m)``, optionally ``Demands (L_h)``;
        units from the name (also ``bar``, ``kPa``, ``psi``, ``L_s``, ``L/s``),
        BattLeDIM's when the name has none.
    network : WaterNetwork, optional
        Column ids must be its nodes (pressures, levels, demands) or links (flows).
    sensors : pandas.DataFrame, optional
        Declared sensors that override what the sheet names say.

    Returns
    -------
    RawScada
    """
    path = Path(path)
    source = f"SCADA workbook {path}"
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:
        raise InputDataError(_("{source} could not be opened ({error}); save it from Excel or LibreOffice as .xlsx").format(
            source=source, error=f"{type(exc).__name__}: {exc}")) from None
    with book:
        parts = []
        for name in book.sheet_names:
            quantity = quantity_of_sheet(name)
            if quantity is not None:
                parts.append(QuantityTable(f"sheet {name!r} of {source}", *quantity,
                                           pd.read_excel(book, sheet_name=name)))
    if not parts:
        raise InputDataError(_("{source} has no sheet named {expected} (its sheets: {sheets}); name each sheet by its quantity "
                               "and unit as BattLeDIM does").format(source=source, expected=_EXPECTED,
                                                                    sheets=", ".join(book.sheet_names)))
    return wide_from_quantities(parts, network, sensors, source=source)


def read_csv_folder(path, network=None, sensors: pd.DataFrame | None = None) -> RawScada:
    """Read a folder of per-quantity CSVs laid out like BattLeDIM's (``*Pressures*.csv``, ``*Flows*.csv``, ...).

    Parameters
    ----------
    path : path
        Folder holding ``*Pressures*.csv``, ``*Flows*.csv``, ``*Levels*.csv``
        and optionally ``*Demands*.csv`` (e.g. ``2019_SCADA_Pressures.csv``);
        separator and decimal mark are sniffed. Units from the file name
        (``Pressures (bar).csv``, ``Flows_L_s.csv``) or a column header
        (``n1 (bar)``), else BattLeDIM's: pressures and levels m, flows m³/h,
        demands L/h. Other files (``2019_Leakages.csv``) are ignored; files
        of one quantity with the same header (``2018_...``, ``2019_...``)
        are joined end to end.
    network, sensors
        As for :func:`read_workbook`.

    Returns
    -------
    RawScada
    """
    path = Path(path)
    source = f"SCADA folder {path}"
    parts = []
    for file in sorted(path.iterdir()):
        if not (file.is_file() and file.suffix.lower() == ".csv"):
            continue
        label = f"SCADA file {file}"
        quantity = quantity_of_file(file.stem, f"{label}: ")
        if quantity is not None:
            parts.append(QuantityTable(label, *quantity, read_delimited(file, label)))
    if not parts:
        raise InputDataError(_("{source} holds no *Pressures*.csv, *Flows*.csv, *Levels*.csv or *Demands*.csv; put "
                               "BattLeDIM's per-sheet CSVs (e.g. 2019_SCADA_Pressures.csv) in it").format(source=source))
    return wide_from_quantities(_years_joined(parts), network, sensors, source=source)


def _years_joined(parts: list) -> list:
    """Files of one quantity with the same header (``2018_SCADA_Pressures.csv``, ``2019_...``) as one table.

    Joined end to end in file-name order, so that a folder can hold the
    training year and the evaluation year; the cleaning checks the order.
    """
    joined: dict = {}
    for part in parts:
        key = (part.kind, part.unit, tuple(part.frame.columns))
        if key in joined:
            first = joined[key]
            joined[key] = QuantityTable(f"{first.label} + {part.label}", part.kind, part.unit,
                                        pd.concat([first.frame, part.frame], ignore_index=True))
        else:
            joined[key] = part
    return list(joined.values())
