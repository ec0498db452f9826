"""Which weather format a file is, told from its first bytes and, for NetCDF, its variable names."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from kit.errors import InputDataError
from kit.i18n import N_, _

#: Formats :func:`sniff_weather_format` recognises.
FORMATS = ("kit_csv", "kit_netcdf", "nasa_power_csv", "nasa_power_json", "era5_netcdf")
#: ERA5 / ERA5-Land short names (as the CDS writes them in NetCDF) that mark a reanalysis file.
ERA5_NAMES = ("t2m", "d2m", "u10", "v10", "ssrd", "tp")

EXPECTED = N_("expected the kit's weather CSV (columns date, tmin_c, tmax_c), a NASA POWER daily CSV "
            "(-BEGIN HEADER- ... -END HEADER-, then YEAR,MO,DY or YEAR,DOY columns) or JSON, or an ERA5/ERA5-Land "
            "NetCDF (or the CDS zip of NetCDFs) with t2m")

_NETCDF_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")

__all__ = ["ERA5_NAMES", "EXPECTED", "FORMATS", "sniff_weather_format"]


def sniff_weather_format(path) -> str:
    """Tell the weather format of a file.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
        ``"kit_csv"`` (the kit's own daily CSV), ``"kit_netcdf"`` (a NetCDF
        already holding the contract's variables, ``tmin_c``, ...),
        ``"nasa_power_csv"``, ``"nasa_power_json"`` or ``"era5_netcdf"``
        (a CDS NetCDF, or the zip of NetCDFs the new CDS delivers).

    Raises
    ------
    kit.errors.InputDataError
        The file does not exist, is GRIB, or fits none of these: one line
        naming what was expected.
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError(_("weather file {path} does not exist; give a path to a weather file ({expected})").format(
            path=path, expected=_(EXPECTED)))
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"GRIB"):
        raise InputDataError(_("{path} is GRIB; download the ERA5 data as NetCDF (CDS data_format 'netcdf')").format(path=path))
    if head.startswith(_NETCDF_MAGIC):
        return _netcdf_kind(path)
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return _json_kind(path)
    first = _first_line(text)
    if first.strip().upper().startswith("-BEGIN HEADER-") or _is_power_columns(first):
        return "nasa_power_csv"
    names = {c.strip().lower() for c in first.split(",")}
    if {"date", "tmin_c", "tmax_c"} <= names:
        return "kit_csv"
    raise InputDataError(_("{path}: not a weather file the kit can read ({expected})").format(path=path,
                                                                                              expected=_(EXPECTED)))


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line
    return ""


def _is_power_columns(line: str) -> bool:
    # A POWER CSV downloaded with header=false starts straight at its column names.
    names = [c.strip().upper() for c in line.split(",")]
    return names[:1] == ["YEAR"] and (names[1:3] == ["MO", "DY"] or names[1:2] == ["DOY"])


def _json_kind(path: Path) -> str:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputDataError(_("{path}: starts like JSON but is not readable JSON ({error}); {expected}").format(
            path=path, error=exc, expected=_(EXPECTED))) from None
    if isinstance(data, dict) and isinstance(data.get("properties"), dict) and "parameter" in data["properties"]:
        return "nasa_power_json"
    raise InputDataError(_("{path}: JSON without properties.parameter, so not a NASA POWER point file; {expected}").format(
        path=path, expected=_(EXPECTED)))


def _netcdf_kind(path: Path) -> str:
    import xarray as xr

    try:
        with xr.open_dataset(path, decode_times=False) as ds:
            names = set(map(str, ds.data_vars))
    except (OSError, ValueError) as exc:
        raise InputDataError(_("{path}: NetCDF that could not be opened ({error})").format(path=path, error=exc)) from None
    if {"tmin_c", "tmax_c"} <= names:
        return "kit_netcdf"
    if names & set(ERA5_NAMES):
        return "era5_netcdf"
    if not names:
        raise InputDataError(_("{path}: NetCDF with no data variable; {expected}").format(path=path, expected=_(EXPECTED)))
    raise InputDataError(_("{path}: NetCDF with variables {names}; {expected}").format(
        path=path, names=", ".join(sorted(names)), expected=_(EXPECTED)))


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            members = [n for n in zf.namelist() if n.lower().endswith(".nc")]
    except zipfile.BadZipFile:
        raise InputDataError(_("{path}: a damaged zip file; download it again").format(path=path)) from None
    if members:
        return "era5_netcdf"
    raise InputDataError(_("{path}: zip without NetCDF (.nc) files; {expected}").format(path=path, expected=_(EXPECTED)))
