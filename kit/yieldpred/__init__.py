"""Cereal yield prediction per field: the ``yield_prediction`` notebook's library.

- :mod:`kit.yieldpred.synthetic`: the embedded Chaouia-like region (fields, imagery, weather, process-model yields).
- :mod:`kit.yieldpred.data`: input contracts (fields, yields, index series).
- :mod:`kit.yieldpred.imagery`: stack -> cloud-masked per-field index series.
- :mod:`kit.yieldpred.season`: the season calendar (first day of a season, day of a forecast date).
- :mod:`kit.yieldpred.features`: season features up to a forecast date, climatology after it.
- :mod:`kit.yieldpred.estimator`: the P10/P50/P90 yield model and its training rows.
- :mod:`kit.yieldpred.validation`: leak-proof cross-validation and skill by lead time.
"""
from kit.yieldpred.data import SkippedWarning, UnknownFieldsWarning, read_fields_table, read_index_series, read_yields
from kit.yieldpred.estimator import YieldModel, model_columns, training_table
from kit.yieldpred.features import FeatureBuilder
from kit.yieldpred.imagery import index_series_from_stack
from kit.yieldpred.season import forecast_day, season_start_date
from kit.yieldpred.synthetic import cereal_region
from kit.yieldpred.validation import cross_validate, cross_validate_spatial, skill_by_lead_time

__all__ = [
    "FeatureBuilder", "SkippedWarning", "UnknownFieldsWarning", "YieldModel", "cereal_region", "cross_validate",
    "cross_validate_spatial", "forecast_day", "index_series_from_stack", "model_columns", "read_fields_table",
    "read_index_series", "read_yields", "season_start_date", "skill_by_lead_time", "training_table",
]
