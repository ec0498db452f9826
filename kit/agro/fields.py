"""The fields input contract: one row (or GeoJSON feature) per field.

Columns: ``field_id, crop, planting_date, area_ha`` and either ``soil`` (a
class of :data:`kit.agro.crops.SOILS`) or ``taw_mm_per_m`` (or both: the
number wins); optional ``lat_deg, elevation_m, irrigation_efficiency``
(0-1, default 1: depths are net) and ``value_per_ha`` (weight of a field's
full yield when a quota is shared, default 1).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from kit.agro.crops import CROPS, SOILS, normalize_name
from kit.errors import InputDataError
from kit.io import read_csv_table

REQUIRED = ("field_id", "crop", "planting_date", "area_ha")
OPTIONAL = ("soil", "taw_mm_per_m", "lat_deg", "elevation_m", "irrigation_efficiency", "value_per_ha")

__all__ = ["read_fields", "REQUIRED", "OPTIONAL"]


def _read_geojson(path: Path) -> pd.DataFrame:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputDataError(f"{path} is not valid GeoJSON ({exc}); export the layer as GeoJSON (RFC 7946)") from None
    feats = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(feats, list):
        raise InputDataError(f"{path} has no 'features' list; give a GeoJSON FeatureCollection")
    rows = [dict(f.get("properties") or {}) for f in feats]
    return pd.DataFrame(rows)


def read_fields(path_or_df, crops: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and check the fields table (CSV, GeoJSON or DataFrame).

    Parameters
    ----------
    path_or_df : str, path or pandas.DataFrame
        ``.csv`` or ``.geojson``/``.json`` (properties of each feature).
    crops : pandas.DataFrame, optional
        Crop table with the columns of :data:`kit.agro.crops.CROPS`
        (to add crops or change stage lengths); default FAO-56 table.

    Returns
    -------
    pandas.DataFrame
        One row per field, in file order: the contract columns with ``crop``
        and ``soil`` normalized (``"Sugar beet"`` -> ``"sugar_beet"``),
        ``planting_date`` as datetime, ``taw_mm_per_m`` filled from the soil
        class, ``irrigation_efficiency`` 1 and ``value_per_ha`` 1 when absent.

    Raises
    ------
    kit.errors.InputDataError
        One line naming the row (file line, or feature number) and column:
        missing column, unknown crop or soil, bad date, area <= 0,
        efficiency outside (0, 1], duplicated field_id.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"field_id": ["A1"], "crop": ["Wheat"], "planting_date": ["2023-11-15"],
    ...                    "area_ha": [2.5], "soil": ["loam"]})
    >>> row = read_fields(df).iloc[0]
    >>> row["crop"], float(row["taw_mm_per_m"])
    ('wheat', 155.0)
    """
    table = CROPS if crops is None else crops
    rows = _read_rows(path_or_df)
    df = pd.DataFrame({"field_id": _field_ids(rows)})
    df["crop"] = _crops(rows, table)
    df["planting_date"] = _planting_dates(rows)
    df["area_ha"] = _areas(rows)
    df["soil"], df["taw_mm_per_m"] = _soils_and_taw(rows)
    df["lat_deg"] = rows.numeric("lat_deg")
    df["elevation_m"] = rows.numeric("elevation_m")
    df["irrigation_efficiency"] = _efficiencies(rows)
    df["value_per_ha"] = _values_per_ha(rows)
    df.attrs["source"] = rows.source
    return df


class _Rows:
    """The raw fields table of one input, and how its rows are named in messages (file line, feature or row)."""

    def __init__(self, raw: pd.DataFrame, source: str, unit: str, offset: int):
        raw.columns = [str(c).strip() for c in raw.columns]
        self.raw, self.source, self.unit, self.offset = raw, source, unit, offset

    def where(self, i: int, col: str) -> str:
        return f"{self.source} {self.unit} {i + self.offset} (field {self.raw['field_id'].iloc[i]!r}), column {col}"

    def numeric(self, col: str, default=np.nan) -> pd.Series:
        """Column ``col`` as floats, ``default`` where empty or absent; a cell that is not a number is an error."""
        raw = self.raw
        if col not in raw.columns:
            return pd.Series(default, index=raw.index, dtype=float)
        values = pd.to_numeric(raw[col], errors="coerce")
        bad = values.isna() & raw[col].notna() & (raw[col].astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputDataError(f"{self.where(i, col)}: {raw[col].iloc[i]!r} is not a number")
        return values.astype(float).fillna(default)


def _read_rows(path_or_df) -> _Rows:
    """The raw table of a DataFrame, CSV or GeoJSON, its contract columns checked to be present."""
    if isinstance(path_or_df, pd.DataFrame):
        rows = _Rows(path_or_df.copy().reset_index(drop=True), "fields table", "row", 1)
    else:
        path = Path(path_or_df)
        if not path.exists():
            raise InputDataError(f"fields file {path} does not exist; give a CSV or GeoJSON with columns {', '.join(REQUIRED)}, soil")
        if path.suffix.lower() in (".geojson", ".json"):
            rows = _Rows(_read_geojson(path), str(path), "feature", 1)
        else:
            rows = _Rows(read_csv_table(path, "fields", "a CSV or GeoJSON"), str(path), "line", 2)
    raw = rows.raw
    missing = [c for c in REQUIRED if c not in raw.columns]
    if "soil" not in raw.columns and "taw_mm_per_m" not in raw.columns:
        missing.append("soil (or taw_mm_per_m)")
    if missing:
        raise InputDataError(f"{rows.source}: missing column(s) {', '.join(missing)}; columns are {', '.join(raw.columns)}")
    return rows


def _field_ids(rows: _Rows) -> pd.Series:
    ids = rows.raw["field_id"].astype(str).str.strip()
    dup = ids.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputDataError(f"{rows.where(i, 'field_id')}: {ids.iloc[i]!r} appears more than once; field ids must be unique")
    return ids


def _crops(rows: _Rows, table: pd.DataFrame) -> pd.Series:
    raw = rows.raw
    crop = raw["crop"].map(normalize_name)
    unknown = ~crop.isin(table.index)
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise InputDataError(f"{rows.where(i, 'crop')}: unknown crop {raw['crop'].iloc[i]!r}; known crops: {', '.join(table.index)}")
    return crop


def _planting_dates(rows: _Rows) -> pd.Series:
    raw = rows.raw
    dates = pd.to_datetime(raw["planting_date"], errors="coerce", format="mixed")
    if dates.isna().any():
        i = int(np.flatnonzero(dates.isna())[0])
        raise InputDataError(f"{rows.where(i, 'planting_date')}: {raw['planting_date'].iloc[i]!r} is not a date; write YYYY-MM-DD")
    return dates.dt.normalize()


def _areas(rows: _Rows) -> pd.Series:
    area = rows.numeric("area_ha")
    if (~(area > 0)).any():
        i = int(np.flatnonzero(~(area > 0))[0])
        raise InputDataError(f"{rows.where(i, 'area_ha')}: area {area.iloc[i]} ha must be > 0")
    return area


def _soils_and_taw(rows: _Rows) -> tuple[pd.Series, pd.Series]:
    """Normalized soil class (None when empty) and TAW (mm/m): the number where given, else the class's."""
    raw = rows.raw
    soil = raw["soil"].where(raw["soil"].notna(), None) if "soil" in raw.columns else pd.Series(None, index=raw.index, dtype=object)
    soil = soil.map(lambda s: None if s is None or (isinstance(s, float) and np.isnan(s)) or str(s).strip() == "" else normalize_name(s))
    taw = rows.numeric("taw_mm_per_m")
    known = ", ".join(SOILS.index)
    for i in range(len(raw)):
        if np.isnan(taw.iloc[i]):
            s = soil.iloc[i]
            if s is None:
                raise InputDataError(f"{rows.where(i, 'soil')}: empty; give a soil class ({known}) or taw_mm_per_m")
            if s not in SOILS.index:
                raise InputDataError(f"{rows.where(i, 'soil')}: unknown soil {raw['soil'].iloc[i]!r}; known soils: {known}")
            taw.iloc[i] = SOILS.loc[s, "taw_mm_per_m"]
        elif soil.iloc[i] is not None and soil.iloc[i] not in SOILS.index:
            raise InputDataError(f"{rows.where(i, 'soil')}: unknown soil {raw['soil'].iloc[i]!r}; known soils: {known}")
        if not 20 <= taw.iloc[i] <= 400:
            raise InputDataError(f"{rows.where(i, 'taw_mm_per_m')}: {taw.iloc[i]:g} mm/m is outside 20-400; give mm of water per m of soil")
    return soil, taw


def _efficiencies(rows: _Rows) -> pd.Series:
    eff = rows.numeric("irrigation_efficiency", 1.0)
    bad = ~((eff > 0) & (eff <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputDataError(f"{rows.where(i, 'irrigation_efficiency')}: {eff.iloc[i]:g} is outside (0, 1]; give a fraction, e.g. 0.9 for drip")
    return eff


def _values_per_ha(rows: _Rows) -> pd.Series:
    value = rows.numeric("value_per_ha", 1.0)
    if (value < 0).any():
        i = int(np.flatnonzero(value < 0)[0])
        raise InputDataError(f"{rows.where(i, 'value_per_ha')}: must be >= 0")
    return value
