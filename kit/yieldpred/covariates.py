"""Field and season covariates of the feature table: the soil's water capacity, the fields' and yields' own columns."""
from __future__ import annotations

import pandas as pd

from kit.yieldpred.water_stress import field_taw_mm_per_m

__all__ = ["covariate_columns"]


def covariate_columns(table: pd.DataFrame, fields: pd.DataFrame, yields: pd.DataFrame) -> pd.DataFrame:
    """``table`` (columns ``field_id, year``) with ``soil_taw_mm_per_m``, ``field_<column>`` and ``season_<column>``.

    Parameters
    ----------
    table : DataFrame with ``field_id`` and ``year`` columns
    fields : DataFrame indexed by ``field_id`` (:class:`kit.yieldpred.FeatureBuilder`'s ``fields``)
    yields : DataFrame indexed by ``(field_id, year)``: its columns other than ``yield_t_ha`` and ``planting_date``
        become ``season_*`` columns (numeric or category).
    """
    f = fields
    # The ARID bucket's capacity: a field's own taw_mm_per_m, its soil class's where that is NaN (NaN left only
    # where neither is known, for the trees' missing-value branch).
    table["soil_taw_mm_per_m"] = table["field_id"].map(field_taw_mm_per_m(f)).to_numpy(float)
    skip_f = {"field_id", "planting_date", "taw_mm_per_m", "soil", "geometry"}
    for col in f.columns:
        if col in skip_f:
            continue
        values = table["field_id"].map(f[col])
        table[f"field_{col}"] = pd.to_numeric(values, errors="coerce") if _numeric(f[col]) else values.astype("category")
    y = yields
    for col in y.columns:
        if col in ("yield_t_ha", "planting_date"):
            continue
        series = y[col] if y.index.is_unique else y[col].groupby(level=[0, 1]).first()
        values = pd.Series(series.reindex(pd.MultiIndex.from_arrays([table["field_id"], table["year"]])).to_numpy(), index=table.index)
        table[f"season_{col}"] = pd.to_numeric(values, errors="coerce") if _numeric(y[col]) else values.astype("category")
    return table


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.to_numeric(series.dropna(), errors="coerce").notna().all()
