"""Cereal yield prediction per field: the ``yield_prediction`` notebook's library.

- :mod:`kit.yieldpred.synthetic`: the embedded Chaouia-like region (fields, imagery, weather, process-model yields).
- :mod:`kit.yieldpred.data`: input contracts (fields, yields, index series).
- :mod:`kit.yieldpred.imagery`: stack -> cloud-masked per-field index series.
- :mod:`kit.yieldpred.pipeline`: features up to a forecast date, leak-proof CV, P10/P50/P90 models.
"""
from kit.yieldpred.data import SkippedWarning, UnknownFieldsWarning, read_fields_table, read_index_series, read_yields
from kit.yieldpred.imagery import index_series_from_stack
from kit.yieldpred.pipeline import (
    FeatureBuilder, YieldModel, cross_validate, cross_validate_spatial, forecast_day, season_start_date, skill_by_lead_time, training_table,
)
from kit.yieldpred.synthetic import cereal_region

__all__ = [
    "FeatureBuilder", "SkippedWarning", "UnknownFieldsWarning", "YieldModel", "cereal_region", "cross_validate",
    "cross_validate_spatial",
    "forecast_day", "index_series_from_stack", "read_fields_table", "read_index_series", "read_yields",
    "season_start_date", "skill_by_lead_time", "training_table",
]
