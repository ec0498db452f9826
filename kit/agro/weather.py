"""The weather input contract: reading, validating and gap-filling a daily weather table.

Columns (exactly these names; see ``datasets/irrigation/README.md``):

=================  =======  ==========================================
column             unit     notes
=================  =======  ==========================================
``date``           ISO day  required, one row per day, no duplicates
``tmin_c``         °C       required
``tmax_c``         °C       required, >= ``tmin_c``
``rh_min_pct``     %        optional, 0-100
``rh_max_pct``     %        optional, 0-100
``rh_mean_pct``    %        optional, 0-100
``tdew_c``         °C       optional
``wind_ms``        m/s      optional, >= 0, measured at ``wind_height_m``
``wind_height_m``  m        optional, default 2
``rs_mj_m2``       MJ/m²/d  optional, >= 0, measured solar radiation
``sunshine_h``     h        optional, 0-24
``rain_mm``        mm       optional (0 when absent), >= 0
``rain_forecast_mm`` mm     optional, rain forecast issued that day for the next days, >= 0
``lat_deg``        °N       column or argument
``elevation_m``    m        column or argument
=================  =======  ==========================================

Empty cells in optional columns are missing values: ET0 then follows the
FAO-56 missing-data procedure for that day.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from kit.agro.weather_sources import DEFAULT_TZ, convert_weather, sniff_weather_format
from kit.errors import InputDataError
from kit.i18n import N_, _
from kit.io import read_csv_table

REQUIRED = ("date", "tmin_c", "tmax_c")
OPTIONAL = (
    "rh_min_pct", "rh_max_pct", "rh_mean_pct", "tdew_c", "wind_ms", "wind_height_m",
    "rs_mj_m2", "sunshine_h", "rain_mm", "rain_forecast_mm", "lat_deg", "elevation_m",
)
#: Longest run of missing dates that is filled (linear interpolation, no rain); longer runs are an error.
MAX_GAP_DAYS = 3
_NON_NEGATIVE = ("wind_ms", "rs_mj_m2", "sunshine_h", "rain_mm", "rain_forecast_mm")
_PERCENT = ("rh_min_pct", "rh_max_pct", "rh_mean_pct")

__all__ = ["REQUIRED", "OPTIONAL", "MAX_GAP_DAYS", "GapFillWarning", "read_weather"]


class GapFillWarning(UserWarning):
    """Missing dates were filled by interpolation; the message counts them."""


def _where(source: str, df: pd.DataFrame, i: int) -> str:
    # Line numbers are the file's (header is line 1) so users can find the row in a spreadsheet.
    return _("{source} line {line} (date {date})").format(source=source, line=int(df["_line"].iloc[i]),
                                                          date=f"{df['date'].iloc[i]:%Y-%m-%d}")


def read_weather(path_or_df, lat_deg=None, elevation_m=None, *, lon_deg=None, tz: str = DEFAULT_TZ,
                 max_gap_days: int = MAX_GAP_DAYS) -> pd.DataFrame:
    """Read and check a daily weather table.

    Parameters
    ----------
    path_or_df : str, path or pandas.DataFrame
        CSV file (or a DataFrame) with the columns of the input contract, or
        a file as a reanalysis service delivers it: a NASA POWER daily point
        CSV or JSON, an ERA5 / ERA5-Land hourly NetCDF (or the CDS zip of
        NetCDFs). The format is told from the file; a converted file's
        description (units converted, fill values, days kept) is in
        ``attrs["conversion"]`` (:func:`kit.agro.weather_sources.convert_weather`).
    lat_deg : float, optional, degrees north
        Site latitude; overrides a ``lat_deg`` column. For an ERA5 file of
        several cells, with ``lon_deg``, the site whose nearest cell is taken.
    elevation_m : float, optional, m
        Site elevation; overrides an ``elevation_m`` column.
    lon_deg : float, optional, degrees east
        Site longitude; used only to pick the ERA5 cell.
    tz : str
        Time zone of the local days built from hourly ERA5 data (default
        Morocco's, ``Africa/Casablanca``).
    max_gap_days : int
        Longest run of missing dates filled by linear interpolation (rain and
        forecast 0 on filled days), with a :class:`GapFillWarning` that counts
        them; a longer run raises :class:`~kit.errors.InputDataError`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``date`` (daily, complete, sorted), every contract column
        present (optional ones NaN when absent; ``rain_mm`` 0,
        ``wind_height_m`` 2), ``lat_deg``/``elevation_m`` filled when known,
        and ``filled`` (True on gap-filled days). ``attrs`` holds
        ``lat_deg``, ``elevation_m`` and ``source``.

    Raises
    ------
    kit.errors.InputDataError
        One line naming the file line and column: missing required column,
        unparsable value, Tmax < Tmin, RH outside 0-100, negative rain, wind,
        radiation or sunshine, duplicated dates, a gap longer than
        ``max_gap_days``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"date": ["2024-06-01", "2024-06-02"], "tmin_c": [18.0, 19.0], "tmax_c": [33.0, 35.0]})
    >>> w = read_weather(df, lat_deg=31.6, elevation_m=466)
    >>> w.attrs["lat_deg"], float(w["rain_mm"].sum())
    (31.6, 0.0)
    """
    raw, source, conversion = _read_table(path_or_df, lat_deg, lon_deg, tz)
    df = _parse_values(_contract_columns(raw, source), source)
    _check_values(df, source)
    df = df.sort_values("date", kind="stable").reset_index(drop=True)
    _check_unique_dates(df, source)
    df = _fill_gaps(df, source, max_gap_days)
    site = _site(df, source, lat_deg, elevation_m)
    for col in OPTIONAL:
        if col not in df.columns:
            df[col] = np.nan
    df["rain_mm"] = df["rain_mm"].fillna(0.0)
    df["wind_height_m"] = df["wind_height_m"].fillna(2.0)
    df = df.drop(columns="_line").set_index("date")
    df = df[[c for c in REQUIRED[1:] + OPTIONAL] + ["filled"]]
    df.attrs.update(site, source=source)
    if conversion is not None:
        df.attrs["conversion"] = conversion
    return df


def _read_table(path_or_df, lat_deg, lon_deg, tz) -> tuple[pd.DataFrame, str, dict | None]:
    """The raw table (a copy of a DataFrame, a CSV read as text, or a converted file), its name in messages
    and, for a converted file, what the conversion did."""
    conversion = None
    if isinstance(path_or_df, pd.DataFrame):
        raw, source = path_or_df.copy(), "weather table"
        if "date" not in raw.columns and raw.index.name == "date":
            raw = raw.reset_index()
    elif _file_format(path_or_df) != "kit_csv":
        raw, conversion = convert_weather(path_or_df, lat_deg=lat_deg, lon_deg=lon_deg, tz=tz)
        source = f"{path_or_df} ({conversion['source']})"
    else:
        raw = read_csv_table(path_or_df, "weather", "the path of a CSV with columns date, tmin_c, tmax_c")
        source = raw.attrs["source"]
    raw.columns = [str(c).strip() for c in raw.columns]
    return raw, source, conversion


def _file_format(path) -> str:
    """The weather format of an existing file; anything not recognised is left to the CSV reader to explain."""
    if not Path(path).is_file():
        return "kit_csv"
    try:
        return sniff_weather_format(path)
    except InputDataError as err:
        if "GRIB" in str(err):
            raise
        return "kit_csv"


def _contract_columns(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """The contract's columns of ``raw`` and ``_line`` (file line of each row); required ones checked, others warned of."""
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise InputDataError(_("{source}: missing required column(s) {missing}; columns are {columns} (required: date, "
                               "tmin_c, tmax_c; see the irrigation dataset card)").format(
            source=source, missing=", ".join(missing), columns=", ".join(raw.columns)))
    unknown = [c for c in raw.columns if c not in REQUIRED + OPTIONAL]
    if unknown:
        # stacklevel 3: the warning names the caller of read_weather
        warnings.warn(_("{source}: ignoring column(s) {columns} (not in the weather contract)").format(
            source=source, columns=", ".join(unknown)), stacklevel=3)
    df = raw[[c for c in raw.columns if c in REQUIRED + OPTIONAL]].copy()
    df["_line"] = np.arange(len(df)) + 2
    return df


def _parse_values(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """``df`` with dates parsed (to the day) and every other column as floats; a cell that parses as neither is an error."""
    dates = pd.to_datetime(df["date"], errors="coerce", format="mixed")
    bad = dates.isna()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputDataError(_("{source} line {line}, column date: {value!r} is not a date; write YYYY-MM-DD").format(
            source=source, line=i + 2, value=df["date"].iloc[i]))
    df["date"] = dates.dt.normalize()
    for col in [c for c in df.columns if c not in ("date", "_line")]:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna() & (df[col].astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputDataError(_("{where}, column {column}: {value!r} is not a number").format(
                where=_where(source, df, i), column=col, value=df[col].iloc[i]))
        df[col] = values.astype(float)
    return df


def _check_unique_dates(df: pd.DataFrame, source: str) -> None:
    dup = df["date"].duplicated(keep=False)
    if dup.any():
        rows = df.loc[dup, "_line"].tolist()
        day = df.loc[dup, "date"].iloc[0]
        raise InputDataError(_("{source} lines {lines}, column date: {date} appears more than once; keep one row per "
                               "day").format(source=source, lines=", ".join(map(str, rows[:4])), date=f"{day:%Y-%m-%d}"))


def _site(df: pd.DataFrame, source: str, lat_deg, elevation_m) -> dict:
    """Latitude and elevation of the station (argument, else the file's one value, else None), written into ``df``'s columns."""
    site = {}
    for name, given in (("lat_deg", lat_deg), ("elevation_m", elevation_m)):
        if given is None and name in df.columns and df[name].notna().any():
            values = df[name].dropna().unique()
            if len(values) > 1:
                raise InputDataError(_("{source}, column {column}: several values ({first}, {second}, ...); one station per "
                                       "file").format(source=source, column=name, first=values[0], second=values[1]))
            given = float(values[0])
        site[name] = None if given is None else float(given)
        df[name] = np.nan if given is None else float(given)
    if site["lat_deg"] is not None and not -90 <= site["lat_deg"] <= 90:
        raise InputDataError(_("{source}: lat_deg {value} is outside -90..90; give the latitude in decimal degrees").format(
            source=source, value=site["lat_deg"]))
    return site




def _check_values(df: pd.DataFrame, source: str) -> None:
    def fail(mask, col, what):
        i = int(np.flatnonzero(mask.to_numpy())[0])
        raise InputDataError(_("{where}, column {column}: {value} {problem}").format(
            where=_where(source, df, i), column=col, value=f"{df[col].iloc[i]:g}", problem=_(what)))

    for col in ("tmin_c", "tmax_c"):
        if df[col].isna().any():
            i = int(np.flatnonzero(df[col].isna().to_numpy())[0])
            raise InputDataError(_("{where}, column {column}: value is empty; {column} is required every day").format(
                where=_where(source, df, i), column=col))
    bad = df["tmax_c"] < df["tmin_c"]
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputDataError(_("{where}, column tmax_c: {tmax} °C is below tmin_c {tmin} °C; check for swapped columns")
                             .format(where=_where(source, df, i), tmax=f"{df['tmax_c'].iloc[i]:g}",
                                     tmin=f"{df['tmin_c'].iloc[i]:g}"))
    for col in _PERCENT:
        if col in df.columns:
            bad = (df[col] < 0) | (df[col] > 100)
            if bad.any():
                fail(bad, col, N_("is outside 0-100 %; give relative humidity in percent"))
    for col in _NON_NEGATIVE:
        if col in df.columns:
            bad = df[col] < 0
            if bad.any():
                fail(bad, col, N_("is negative; it must be >= 0"))
    if "sunshine_h" in df.columns and (df["sunshine_h"] > 24).any():
        fail(df["sunshine_h"] > 24, "sunshine_h", N_("hours exceeds 24"))
    if "wind_height_m" in df.columns and (df["wind_height_m"] <= 0.5).any():
        fail(df["wind_height_m"] <= 0.5, "wind_height_m", N_("m is too low for the log wind profile; give the anemometer height (> 0.5 m)"))
    for col in ("tmin_c", "tmax_c", "tdew_c"):
        if col in df.columns:
            bad = (df[col] < -60) | (df[col] > 60)
            if bad.any():
                fail(bad, col, N_("°C is not a plausible air temperature; check the unit (°C)"))


def _fill_gaps(df: pd.DataFrame, source: str, max_gap_days: int) -> pd.DataFrame:
    full = pd.date_range(df["date"].iloc[0], df["date"].iloc[-1], freq="D")
    df = df.set_index("date")
    df["filled"] = False
    if len(full) == len(df):
        return df.reset_index()
    missing = full.difference(df.index)
    # Runs of consecutive missing days.
    run_id = np.cumsum(np.r_[1, np.diff(missing.values.astype("datetime64[D]").astype(np.int64)) != 1])
    runs = pd.Series(missing).groupby(run_id)
    longest = max(runs, key=lambda kv: len(kv[1]))[1]
    if len(longest) > max_gap_days:
        raise InputDataError(_("{source}, column date: {n} missing days from {first} to {last} (at most {max_gap} "
                               "consecutive days are filled); complete the record or pass a shorter season").format(
            source=source, n=len(longest), first=f"{longest.iloc[0]:%Y-%m-%d}", last=f"{longest.iloc[-1]:%Y-%m-%d}",
            max_gap=max_gap_days))
    out = df.reindex(full)
    out.index.name = "date"
    out["filled"] = out["filled"].isna()
    rain_like = [c for c in ("rain_mm", "rain_forecast_mm") if c in out.columns]
    out[rain_like] = out[rain_like].where(~out["filled"], 0.0)
    others = [c for c in out.columns if c not in rain_like + ["filled", "_line"]]
    # Only the inserted days are interpolated: an empty cell on a recorded day stays missing,
    # so ET0 applies the FAO-56 missing-data rule to it rather than an invented value.
    interp = out[others].interpolate(method="time", limit_area="inside")
    out.loc[out["filled"], others] = interp.loc[out["filled"], others]
    out["_line"] = out["_line"].ffill()
    warnings.warn(
        _("{source}: filled {n} missing date(s) in {gaps} gap(s) by interpolation (no rain on filled days)").format(
            source=source, n=len(missing), gaps=run_id[-1]),
        GapFillWarning,
        stacklevel=3,
    )
    return out.reset_index()
