"""NASA POWER daily point data (the CSV with its header block, or the API's JSON) as the kit's weather table.

What a POWER daily point file holds (power.larc.nasa.gov, temporal API
``daily/point``):

- **CSV**: a header block from ``-BEGIN HEADER-`` to ``-END HEADER-`` with
  ``Location: Latitude  31.63   Longitude -8.01``, ``Elevation from MERRA-2:
  Average for 0.5 x 0.625 degree lat/lon region = 470.2 meters``, the fill
  value (``... availability range: -999``) and one line per parameter ending
  in its unit (``T2M_MAX   MERRA-2 Temperature at 2 Meters Maximum (C)``);
  then columns ``YEAR,MO,DY,...`` or ``YEAR,DOY,...``. Downloaded with
  ``header=false`` it starts straight at the columns (no site, no units).
- **JSON**: a GeoJSON Feature, ``geometry.coordinates`` = ``[lon, lat,
  elevation]``, ``properties.parameter.NAME.YYYYMMDD`` = value,
  ``header.fill_value``, ``parameters.NAME.units``.

Parameters used: ``T2M_MAX``, ``T2M_MIN`` (°C), ``T2MDEW`` (°C; else from
``QV2M`` g/kg and ``PS`` kPa), ``RH2M`` (%, daily mean), ``WS2M`` (m/s at
2 m; else ``WS10M`` at 10 m), ``ALLSKY_SFC_SW_DWN`` (MJ/m²/day in the AG
community, kW-hr/m²/day in RE and older files, W/m² as a daily mean: the
unit the file declares is honoured; undeclared, radiation is left out) and
``PRECTOTCORR`` (mm/day; ``PRECTOT`` in files before 2021). Days are POWER's
(local solar time unless the file says UTC).
"""
from __future__ import annotations

import io
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from kit.agro.weather_sources.description import contract_table, new_description
from kit.errors import InputDataError
from kit.i18n import _

#: Unit spellings POWER uses → factor to the contract's unit, per kind of parameter.
UNIT_FACTORS = {
    "temperature": {"C": 1.0},
    "percent": {"%": 1.0},
    "wind": {"m/s": 1.0},
    "rain": {"mm/day": 1.0, "mm": 1.0},
    "radiation": {"MJ/m^2/day": 1.0, "kW-hr/m^2/day": 3.6, "kWh/m^2/day": 3.6, "W/m^2": 0.0864},
    "humidity": {"g/kg": 1.0},
    "pressure": {"kPa": 1.0, "hPa": 0.1},
}
#: POWER parameter → (contract column, kind of unit). Where two feed one column, the first present wins.
PARAMETERS = {
    "T2M_MAX": ("tmax_c", "temperature"), "T2M_MIN": ("tmin_c", "temperature"), "T2MDEW": ("tdew_c", "temperature"),
    "RH2M": ("rh_mean_pct", "percent"), "WS2M": ("wind_ms", "wind"), "WS10M": ("wind_ms", "wind"),
    "ALLSKY_SFC_SW_DWN": ("rs_mj_m2", "radiation"), "PRECTOTCORR": ("rain_mm", "rain"), "PRECTOT": ("rain_mm", "rain"),
    "QV2M": (None, "humidity"), "PS": (None, "pressure"),
}
DEFAULT_FILL = -999.0

__all__ = ["PARAMETERS", "UNIT_FACTORS", "convert_power_csv", "convert_power_json"]


def convert_power_csv(path, lat_deg=None):
    """A NASA POWER daily CSV as the kit's weather table.

    Parameters
    ----------
    path : str or Path
    lat_deg : float, optional, degrees north
        Overrides the header's latitude (needed for a file without header).

    Returns
    -------
    (pandas.DataFrame, dict)
        The table (``date`` and the contract columns the file feeds) and the
        description (:func:`~kit.agro.weather_sources.description.new_description`).
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8", errors="replace").lstrip("\ufeff").splitlines()
    meta, body = _split_header(lines, path)
    try:
        raw = pd.read_csv(io.StringIO("\n".join(body)), skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputDataError(_("{path}: the POWER columns after the header are not readable CSV ({error})").format(
            path=path, error=exc)) from None
    raw.columns = [str(c).strip().upper() for c in raw.columns]
    raw.index = _csv_dates(raw, path)
    values = raw.drop(columns=[c for c in ("YEAR", "MO", "DY", "DOY", "LAT", "LON") if c in raw.columns])
    return _to_contract(values, meta, new_description("nasa_power_csv", "NASA POWER daily point data (CSV)", path),
                        lat_deg)


def convert_power_json(path, lat_deg=None):
    """A NASA POWER daily point JSON (as the API returns it) as the kit's weather table.

    Parameters and returns as :func:`convert_power_csv`.
    """
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    header = data.get("header") or {}
    coords = list((data.get("geometry") or {}).get("coordinates") or [])
    series = data["properties"]["parameter"]
    if not isinstance(series, dict) or not series:
        raise InputDataError(_("{path}: properties.parameter holds no parameter; download daily point data again").format(
            path=path))
    keys = {len(str(k)) for s in series.values() for k in s}
    if keys != {8}:
        raise InputDataError(_("{path}: POWER keys are not YYYYMMDD days (hourly or monthly data); "
                               "download from the daily temporal API").format(path=path))
    values = pd.DataFrame({name: pd.Series(s, dtype=float) for name, s in series.items()})
    values.index = pd.to_datetime(values.index, format="%Y%m%d")
    meta = {
        "lon_deg": _number(coords[0]) if len(coords) > 0 else None,
        "lat_deg": _number(coords[1]) if len(coords) > 1 else None,
        "elevation_m": _number(coords[2]) if len(coords) > 2 else None,
        "fill": float(header.get("fill_value", DEFAULT_FILL)),
        "units": {k: str(v.get("units")) for k, v in (data.get("parameters") or {}).items() if v.get("units")},
        "time_standard": str(header.get("time_standard", "LST")).upper(),
    }
    return _to_contract(values.sort_index(), meta,
                        new_description("nasa_power_json", "NASA POWER daily point data (JSON)", path), lat_deg)


def _split_header(lines, path):
    """The header's site, fill value and units, and the lines of the table after it."""
    meta = {"lat_deg": None, "lon_deg": None, "elevation_m": None, "fill": DEFAULT_FILL, "units": {},
            "time_standard": "LST"}
    if not lines or lines[0].strip().upper() != "-BEGIN HEADER-":
        return meta, lines
    end = next((i for i, line in enumerate(lines) if line.strip().upper() == "-END HEADER-"), None)
    if end is None:
        raise InputDataError(_("{path}: -BEGIN HEADER- without -END HEADER-; the POWER file is cut, download it again")
                             .format(path=path))
    for line in lines[1:end]:
        _read_header_line(line.strip(), meta, path)
    return meta, lines[end + 1:]


def _read_header_line(line: str, meta: dict, path) -> None:
    low = line.lower()
    if low.startswith("nasa/power") and re.search(r"\b(hourly|monthly|climatolog)", low):
        raise InputDataError(_("{path}: {line!r} is not daily data; download from the daily temporal API").format(
            path=path, line=line))
    if m := re.match(r"location:\s*latitude\s+(\S+)\s+longitude\s+(\S+)", line, re.I):
        meta["lat_deg"], meta["lon_deg"] = _number(m.group(1)), _number(m.group(2))
    elif low.startswith("elevation") and (m := re.search(r"=\s*(\S+)\s*meters", line, re.I)):
        meta["elevation_m"] = _number(m.group(1))
    elif "missing" in low and ":" in line:
        fill = _number(line.rsplit(":", 1)[1])
        meta["fill"] = DEFAULT_FILL if fill is None else fill
    elif low.startswith("dates") and (m := re.search(r"\bin\s+(LST|UTC)\b", line, re.I)):
        meta["time_standard"] = m.group(1).upper()
    elif (m := re.match(r"([A-Z0-9_]+)\s+.*\(([^()]*)\)\s*;?$", line)) and m.group(1) in PARAMETERS:
        meta["units"][m.group(1)] = m.group(2).strip()


def _number(text):
    try:
        value = float(str(text).strip())
    except ValueError:
        return None  # "na" elevation, "NA" fill
    return None if np.isnan(value) else value


def _csv_dates(raw: pd.DataFrame, path) -> pd.DatetimeIndex:
    if "HR" in raw.columns:
        raise InputDataError(_("{path}: hourly POWER data (an HR column); download from the daily temporal API").format(
            path=path))
    try:
        if {"YEAR", "MO", "DY"} <= set(raw.columns):
            return pd.DatetimeIndex(pd.to_datetime(
                {"year": raw["YEAR"], "month": raw["MO"], "day": raw["DY"]}))
        if {"YEAR", "DOY"} <= set(raw.columns):
            stamp = raw["YEAR"].astype(int).astype(str) + raw["DOY"].astype(int).astype(str).str.zfill(3)
            return pd.DatetimeIndex(pd.to_datetime(stamp, format="%Y%j"))
    except (ValueError, TypeError) as exc:
        raise InputDataError(_("{path}: POWER date columns are not whole numbers ({error})").format(path=path, error=exc)) from None
    raise InputDataError(_("{path}: POWER columns {columns} have neither YEAR,MO,DY nor YEAR,DOY").format(
        path=path, columns=", ".join(raw.columns[:6])))


def _to_contract(values: pd.DataFrame, meta: dict, info: dict, lat_deg):
    """POWER parameters (one column each, fill values still in) as contract columns, with the description."""
    values = values.apply(pd.to_numeric, errors="coerce")
    for name in values.columns:
        filled = np.isclose(values[name].to_numpy(dtype=float), meta["fill"])
        if filled.any():
            info["fill_values_replaced"][name] = int(filled.sum())
            values.loc[filled, name] = np.nan
    cols = {}
    for name, (column, kind) in PARAMETERS.items():
        if name not in values.columns or column is None or column in cols:
            continue
        factor = _factor(name, kind, meta["units"], info)
        if factor is not None:
            cols[column] = values[name].to_numpy(dtype=float) * factor
            info["variables"][column] = name
    missing = [name for name, column in (("T2M_MIN", "tmin_c"), ("T2M_MAX", "tmax_c")) if column not in cols]
    if missing:
        raise InputDataError(_("{file}: no {missing} parameter (parameters: {parameters}); request T2M_MIN and "
                               "T2M_MAX from POWER").format(file=info["file"], missing=" or ".join(missing),
                                                            parameters=", ".join(values.columns)))
    if "wind_ms" in cols:
        cols["wind_height_m"] = 10.0 if info["variables"]["wind_ms"] == "WS10M" else 2.0
    if "tdew_c" not in cols and {"QV2M", "PS"} <= set(values.columns):
        cols["tdew_c"] = _dew_point_c(values, meta["units"], info)
    _site(cols, meta, info, lat_deg)
    table = contract_table(cols, values.index)
    return _drop_days_without_temperature(table, info), info


def _factor(name: str, kind: str, units: dict, info: dict):
    unit = units.get(name)
    if unit is None:
        if kind == "radiation":
            info["notes"].append(f"{name} has no declared unit (file without header): left out, ET0 estimates Rs")
            warnings.warn(_("{file}: {name} has no declared unit; radiation left out").format(file=info["file"], name=name),
                          stacklevel=4)
            return None
        return 1.0  # every other daily parameter has one unit only
    factors = UNIT_FACTORS[kind]
    if unit not in factors:
        raise InputDataError(_("{file}: {name} is in {unit!r}; expected one of {units}").format(
            file=info["file"], name=name, unit=unit, units=", ".join(factors)))
    if factors[unit] != 1.0:
        info["units_converted"][name] = f"{unit} × {factors[unit]:g} → MJ/m²/day" if kind == "radiation" \
            else f"{unit} × {factors[unit]:g}"
    return factors[unit]


def _dew_point_c(values: pd.DataFrame, units: dict, info: dict) -> np.ndarray:
    """Dew point from specific humidity and surface pressure: e = q p / (0.622 + 0.378 q), then eq. 11 inverted."""
    q = values["QV2M"].to_numpy(dtype=float) * _factor("QV2M", "humidity", units, info) / 1000.0
    p = values["PS"].to_numpy(dtype=float) * _factor("PS", "pressure", units, info)
    ea = q * p / (0.622 + 0.378 * q)
    info["variables"]["tdew_c"] = "QV2M, PS (vapour pressure, FAO-56 eq. 11 inverted)"
    return dew_point_from_vapour_pressure_c(ea)


def dew_point_from_vapour_pressure_c(ea_kpa):
    """Dew point (°C) whose saturation vapour pressure (FAO-56 eq. 11) is ``ea_kpa`` (kPa).

    Eq. 11 solved for T, so the kit's ET0 recovers the same ``ea`` from
    ``tdew_c`` (eq. 14).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.log(np.asarray(ea_kpa, dtype=float) / 0.6108)
        return 237.3 * x / (17.27 - x)


def _site(cols: dict, meta: dict, info: dict, lat_deg) -> None:
    lat = lat_deg if lat_deg is not None else meta["lat_deg"]
    info["site"] = {
        "lat_deg": lat, "lon_deg": meta["lon_deg"], "elevation_m": meta["elevation_m"],
        "lat_from": "argument" if lat_deg is not None else ("file" if lat is not None else None),
        "elevation_from": "file (MERRA-2 cell mean)" if meta["elevation_m"] is not None else None,
        "days_in": meta["time_standard"],
    }
    if lat is not None:
        cols["lat_deg"] = float(lat)
    if meta["elevation_m"] is not None:
        cols["elevation_m"] = float(meta["elevation_m"])
    info["notes"].append(f"days are POWER's ({meta['time_standard']}); fill value {meta['fill']:g} read as missing")


def _drop_days_without_temperature(table: pd.DataFrame, info: dict) -> pd.DataFrame:
    bad = table["tmin_c"].isna() | table["tmax_c"].isna()
    if bad.any():
        info["days_dropped"] = table.loc[bad, "date"].dt.strftime("%Y-%m-%d").tolist()
        info["notes"].append(f"{int(bad.sum())} day(s) without T2M_MIN/T2M_MAX dropped (fill value)")
        table = table.loc[~bad].reset_index(drop=True)
    if table.empty:
        raise InputDataError(_("{file}: no day has both T2M_MIN and T2M_MAX; download another period").format(
            file=info["file"]))
    info["days"] = len(table)
    return table
