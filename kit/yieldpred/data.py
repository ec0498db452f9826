"""Input contracts of the yield notebook: fields, yields, index series (rasters and weather are read elsewhere)."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from kit.agro.crops import CROPS, SOILS, normalize_name
from kit.errors import InputDataError
from kit.i18n import _
from kit.io import read_csv_table

__all__ = ["SkippedWarning", "UnknownFieldsWarning", "read_fields_table", "read_index_series", "read_yields"]


class UnknownFieldsWarning(UserWarning):
    """Rows name fields that are not in the fields file; the message counts them."""


class SkippedWarning(UserWarning):
    """Items were set aside (a year without imagery, a field without clear observations); the message counts them."""


def read_fields_table(path_or_df) -> tuple[pd.DataFrame, dict | None]:
    """Fields: GeoJSON of polygons (properties ``field_id, crop``, extra = covariates) or a CSV without geometry.

    Returns
    -------
    (fields, polygons)
        ``fields`` has ``field_id`` (str), ``crop`` (normalized, a crop of
        :data:`kit.agro.CROPS`) and the other columns; ``polygons`` is the
        GeoJSON document, or None for a CSV.
    """
    polygons = None
    if isinstance(path_or_df, pd.DataFrame):
        df, source = path_or_df.copy(), "fields table"
    elif Path(path_or_df).suffix.lower() in (".geojson", ".json"):
        from kit.raster.zonal import read_field_polygons

        ids, geoms, crs, props = read_field_polygons(path_or_df)
        df, source = pd.DataFrame(props), str(path_or_df)
        polygons = json.loads(Path(path_or_df).read_text(encoding="utf-8"))
    else:
        df = read_csv_table(path_or_df, "fields", "a GeoJSON of field polygons, or a CSV with field_id, crop when index_series is given")
        source = df.attrs["source"]
    for col in ("field_id", "crop"):
        if col not in df.columns:
            raise InputDataError(_("{source}: missing column {column!r}; fields need field_id, crop (extra columns are covariates)"
                                   ).format(source=source, column=col))
    df["field_id"] = df["field_id"].astype(str).str.strip()
    if df["field_id"].duplicated().any():
        dup = df.loc[df["field_id"].duplicated(), "field_id"].iloc[0]
        raise InputDataError(_("{source}: field_id {field_id!r} appears more than once; field ids must be unique").format(
            source=source, field_id=dup))
    df["crop"] = df["crop"].map(normalize_name)
    bad = ~df["crop"].isin(CROPS.index)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputDataError(_("{source} row {row} (field {field_id!r}): unknown crop {crop!r}; known crops: {crops}").format(
            source=source, row=i + 1, field_id=df["field_id"].iloc[i], crop=df["crop"].iloc[i], crops=", ".join(CROPS.index)))
    if "soil" in df.columns:
        soil = df["soil"].map(lambda s: normalize_name(s) if isinstance(s, str) and s.strip() else None)
        bad = soil.notna() & ~soil.isin(SOILS.index)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputDataError(_("{source} row {row}: unknown soil {soil!r}; known soils: {soils}").format(
                source=source, row=i + 1, soil=df["soil"].iloc[i], soils=", ".join(SOILS.index)))
        df["soil"] = soil
    df.attrs["source"] = source
    return df.reset_index(drop=True), polygons


def read_yields(path_or_df, field_ids) -> pd.DataFrame:
    """Yields per field and season: ``field_id, year, yield_t_ha`` (+ season covariates).

    ``year`` is the harvest year naming the season. An empty ``yield_t_ha``
    is allowed (a season to predict, whose covariates such as
    ``planting_date`` are known). Rows for fields missing from the fields
    file are dropped with one :class:`UnknownFieldsWarning` that counts them.

    Raises
    ------
    kit.errors.InputDataError
        Missing column, non-numeric or negative yield, yield above 20 t/ha
        (kg/ha given?), duplicated (field_id, year), a bad planting_date.
    """
    df = path_or_df.copy() if isinstance(path_or_df, pd.DataFrame) else read_csv_table(path_or_df, "yields", "a CSV with columns field_id, year, yield_t_ha")
    source = df.attrs.get("source", "yields table")
    missing = [c for c in ("field_id", "year", "yield_t_ha") if c not in df.columns]
    if missing:
        raise InputDataError(_("{source}: missing column(s) {columns}; give field_id, year (harvest year), yield_t_ha").format(
            source=source, columns=", ".join(missing)))
    df["field_id"] = df["field_id"].astype(str).str.strip()
    year = pd.to_numeric(df["year"], errors="coerce")
    if year.isna().any() or (year % 1 != 0).any():
        i = int(np.flatnonzero(year.isna() | (year % 1 != 0))[0])
        raise InputDataError(_("{source} line {line}: year {year!r} is not a harvest year like 2023").format(
            source=source, line=i + 2, year=df["year"].iloc[i]))
    df["year"] = year.astype(int)
    y = pd.to_numeric(df["yield_t_ha"], errors="coerce")
    bad = y.isna() & df["yield_t_ha"].notna() & (df["yield_t_ha"].astype(str).str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputDataError(_("{source} line {line}: yield_t_ha {value!r} is not a number").format(
            source=source, line=i + 2, value=df["yield_t_ha"].iloc[i]))
    if (y < 0).any():
        i = int(np.flatnonzero(y < 0)[0])
        raise InputDataError(_("{source} line {line}: negative yield {value}; give t/ha").format(
            source=source, line=i + 2, value=y.iloc[i]))
    if (y > 20).any():
        i = int(np.flatnonzero(y > 20)[0])
        raise InputDataError(_("{source} line {line}: yield {value:g} t/ha is implausible for cereals; is the unit kg/ha or "
                                "q/ha? give t/ha").format(source=source, line=i + 2, value=y.iloc[i]))
    df["yield_t_ha"] = y.astype(float)
    dup = df.duplicated(["field_id", "year"])
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputDataError(_("{source} line {line}: field {field_id!r} has two rows for {year}; keep one per season").format(
            source=source, line=i + 2, field_id=df["field_id"].iloc[i], year=df["year"].iloc[i]))
    if "planting_date" in df.columns:
        dates = pd.to_datetime(df["planting_date"], errors="coerce", format="mixed")
        bad = dates.isna() & df["planting_date"].notna()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputDataError(_("{source} line {line}: planting_date {value!r} is not a date; write YYYY-MM-DD").format(
                source=source, line=i + 2, value=df["planting_date"].iloc[i]))
        df["planting_date"] = dates
    known = set(map(str, field_ids))
    unknown = ~df["field_id"].isin(known)
    if unknown.any():
        warnings.warn(
            _("{n} yield row(s) name fields missing from the fields file (e.g. {field_id!r}); they are left out").format(
                n=int(unknown.sum()), field_id=df.loc[unknown, "field_id"].iloc[0]),
            UnknownFieldsWarning, stacklevel=2,
        )
        df = df[~unknown]
    df.attrs["source"] = source
    df.attrs["unknown_rows"] = int(unknown.sum())
    return df.reset_index(drop=True)


def read_index_series(path_or_df) -> pd.DataFrame:
    """Index series exported from Earth Engine or Sentinel Hub: ``field_id, date`` + one column per index.

    Returns
    -------
    pandas.DataFrame
        ``field_id`` (str), ``date`` (Timestamp) and the numeric index
        columns; rows where every index is empty are dropped (cloudy dates).
    """
    df = path_or_df.copy() if isinstance(path_or_df, pd.DataFrame) else read_csv_table(path_or_df, "index_series", "a CSV with field_id, date and one column per index such as ndvi")
    source = df.attrs.get("source", "index series")
    missing = [c for c in ("field_id", "date") if c not in df.columns]
    if missing:
        raise InputDataError(_("{source}: missing column(s) {columns}; give field_id, date and one column per index (ndvi, ...)"
                                ).format(source=source, columns=", ".join(missing)))
    indices = [c for c in df.columns if c not in ("field_id", "date")]
    if not indices:
        raise InputDataError(_("{source}: no index column; add one column per index, e.g. ndvi").format(source=source))
    dates = pd.to_datetime(df["date"], errors="coerce", format="mixed")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna())[0])
        raise InputDataError(_("{source} line {line}: date {value!r} is not a date; write YYYY-MM-DD").format(
            source=source, line=i + 2, value=df["date"].iloc[i]))
    out = pd.DataFrame({"field_id": df["field_id"].astype(str).str.strip(), "date": dates.dt.normalize()})
    for col in indices:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna() & (df[col].astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputDataError(_("{source} line {line}, column {column}: {value!r} is not a number").format(
                source=source, line=i + 2, column=col, value=df[col].iloc[i]))
        if ((values < -1.5) | (values > 1.5)).any():
            raise InputDataError(_("{source}, column {column}: values outside -1..1; give index values, not scaled integers").format(
                source=source, column=col))
        out[col] = values
    out = out.dropna(subset=indices, how="all")
    out.attrs["source"] = source
    return out.sort_values(["field_id", "date"], ignore_index=True)
