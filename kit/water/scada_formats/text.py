"""Delimited text as spreadsheets and loggers write it: separator and decimal mark sniffed, not assumed.

A European Excel or a BattLeDIM CSV is ``;``-separated with decimal
commas (``50,49``) and CRLF line ends; pandas' defaults read such a file as
one column without complaint. :func:`read_delimited` looks at the first
lines to choose the separator (the one that splits every line into the
same number of fields) and the decimal mark (a comma when numbers are
written ``d,d`` and never ``d.d``), then reads with those.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from kit.errors import InputDataError
from kit.i18n import _

__all__ = ["TIME_NAMES", "find_column", "header_unit", "is_text", "read_delimited", "sniff_delimited"]

#: Header spellings of the time column (compared case-insensitively).
TIME_NAMES = ("timestamp", "time", "datetime", "date_time", "time_stamp")
_SEPARATORS = (";", "\t", ",", "|")
_COMMA_NUMBER = re.compile(r"^[+-]?\d+,\d+(?:[eE][+-]?\d+)?$")
_POINT_NUMBER = re.compile(r"^[+-]?\d*\.\d+(?:[eE][+-]?\d+)?$")
_HEADER_UNIT = re.compile(r"^(?P<name>.*?)\s*[\(\[]\s*(?P<unit>[^\)\]]*?)\s*[\)\]]\s*$")


def _first_lines(path: Path, n: int = 50) -> list:
    raw = path.open("rb").read(256 * 1024)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    lines = [line for line in text.splitlines() if line.strip()]
    if len(raw) == 256 * 1024 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut in the middle
    return lines[:n]


def sniff_delimited(path) -> tuple[str, str]:
    """Separator and decimal mark of a delimited text file.

    Returns
    -------
    (sep, decimal) : tuple of str
        ``sep`` among ``;``, tab, ``,``, ``|`` (``,`` when no candidate splits
        every line alike); ``decimal`` is ``,`` only with another separator.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "p.csv"
    >>> _ = f.write_bytes(b"Timestamp;n1;n4\\r\\n2019-01-01 00:00;50,49;49,01\\r\\n")
    >>> sniff_delimited(f)
    (';', ',')
    """
    lines = _first_lines(Path(path))
    if not lines:
        return ",", "."
    best, best_count = ",", 0
    for sep in _SEPARATORS:
        counts = {line.count(sep) for line in lines}
        if len(counts) == 1 and (count := counts.pop()) > best_count:
            best, best_count = sep, count
    decimal = "."
    if best != ",":
        cells = [c.strip().strip('"') for line in lines[1:] for c in line.split(best)]
        if any(_COMMA_NUMBER.match(c) for c in cells) and not any(_POINT_NUMBER.match(c) for c in cells):
            decimal = ","
    return best, decimal


def is_text(column: pd.Series) -> bool:
    """True for a column of text cells (object or string dtype), not numbers or datetimes."""
    return not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column)
                or isinstance(column.dtype, pd.CategoricalDtype))


def find_column(columns, names) -> str | None:
    """The first of ``columns`` whose stripped, lower-cased name is one of ``names``."""
    for col in columns:
        if str(col).strip().lower() in names:
            return col
    return None


def header_unit(header) -> tuple[str, str | None]:
    """``(name, unit)`` of a header such as ``n1 (bar)`` or ``p227 [L/s]``; unit None when it has none.

    Examples
    --------
    >>> header_unit("p227 [L/s]"), header_unit("n1")
    (('p227', 'L/s'), ('n1', None))
    """
    text = str(header).strip()
    m = _HEADER_UNIT.match(text)
    if m and m.group("name") and m.group("unit"):
        return m.group("name"), m.group("unit")
    return text, None


def read_delimited(path, what: str, *, text_columns=TIME_NAMES, all_text: bool = False) -> pd.DataFrame:
    """Read a delimited text file with its own separator and decimal mark.

    Parameters
    ----------
    path : path
    what : str
        How the file is named in errors (e.g. ``"SCADA file x.csv"``).
    text_columns : iterable of str
        Lower-case header names read as text (the time column: left for the
        caller to parse).
    all_text : bool
        Read every cell as text, empty cells as ``""`` (tables of names).

    Returns
    -------
    pandas.DataFrame
        Header names stripped; numbers written with decimal commas in
        columns that also hold text come back as ``"50.49"`` text, so that a
        later ``pd.to_numeric`` reads them.
    """
    path = Path(path)
    sep, decimal = sniff_delimited(path)
    encoding = "utf-8-sig"
    try:
        try:
            header = pd.read_csv(path, sep=sep, nrows=0, encoding=encoding).columns
        except UnicodeDecodeError:  # written by an old Windows tool
            encoding = "latin-1"
            header = pd.read_csv(path, sep=sep, nrows=0, encoding=encoding).columns
        kw = dict(dtype=str, keep_default_na=False) if all_text else dict(
            dtype={c: str for c in header if str(c).strip().lower() in text_columns})
        table = pd.read_csv(path, sep=sep, decimal=decimal, encoding=encoding, **kw)
    except Exception as exc:
        raise InputDataError(_("{what} could not be read ({error}); save it as CSV (any of , ; tab as separator) with a "
                               "header line").format(what=what, error=f"{type(exc).__name__}: {exc}")) from None
    table.columns = [str(c).strip() for c in table.columns]
    if decimal == "," and not all_text:
        for col in table.columns:
            if is_text(table[col]) and col.lower() not in text_columns:
                table[col] = table[col].map(lambda v: v.replace(",", ".") if isinstance(v, str) else v)
    return table
