"""SCADA formats: each reader turns a file as its own tool writes it into the raw wide table and its sensors.

What every reader returns (:class:`RawScada`): ``timestamp`` plus one
column per sensor id, values in the sensor's declared unit, and the
sensors table ``sensor_id, kind, element, unit, factor``. The cleaning
(:func:`kit.water.scada.scada_from_table`) takes it from there.

- :mod:`~kit.water.scada_formats.read`: which format a path holds (by content) and :func:`read_raw_scada`.
- :mod:`~kit.water.scada_formats.battledim`: BattLeDIM's workbook and its folder of per-sheet CSVs.
- :mod:`~kit.water.scada_formats.quantities`: one table per quantity to one wide table.
- :mod:`~kit.water.scada_formats.historian`: long historian exports and tag mappings (:func:`wide_from_long`).
- :mod:`~kit.water.scada_formats.sensors`: the sensors table, units (with demands in L/h), kinds of elements.
- :mod:`~kit.water.scada_formats.text`: delimited text with its separator and decimal mark sniffed.
- :mod:`~kit.water.scada_formats.raw`: :class:`RawScada`.
"""
from kit.water.scada_formats.battledim import read_csv_folder, read_workbook
from kit.water.scada_formats.historian import wide_from_long
from kit.water.scada_formats.raw import RawScada
from kit.water.scada_formats.read import read_raw_scada, scada_format
from kit.water.scada_formats.sensors import SENSOR_UNITS, SI_UNIT, declare_sensors, read_sensors, sensor_unit
from kit.water.scada_formats.text import read_delimited, sniff_delimited

__all__ = ["RawScada", "SENSOR_UNITS", "SI_UNIT", "declare_sensors", "read_csv_folder", "read_delimited",
           "read_raw_scada", "read_sensors", "read_workbook", "scada_format", "sensor_unit", "sniff_delimited",
           "wide_from_long"]
