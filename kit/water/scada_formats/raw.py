"""What a format reader hands to the cleaning: the raw wide table, its sensors, and notes on the reading."""
from __future__ import annotations

from typing import NamedTuple

import pandas as pd

__all__ = ["RawScada"]


class RawScada(NamedTuple):
    """A SCADA record as read, before cleaning.

    Attributes
    ----------
    table : pandas.DataFrame
        ``timestamp`` (text or datetimes, as written) and one column per
        sensor id, values in the sensor's declared unit.
    sensors : pandas.DataFrame
        ``sensor_id, kind, element, unit, factor`` (factor to m or L/s).
    source : str
        How the record is named in errors, e.g. ``"SCADA file x.csv"``.
    flags : tuple
        Notes of the reading as flag rows ``(sensor_id, start, end, flag, count)``
        (e.g. ``unmapped_tag``), kept in :attr:`ScadaData.flags`.
    header_rows : int
        Lines before the first data row of ``table`` as the user sees it
        (1 for a CSV header, 0 for a query result), for row numbers in errors.
    """

    table: pd.DataFrame
    sensors: pd.DataFrame
    source: str
    flags: tuple = ()
    header_rows: int = 1
