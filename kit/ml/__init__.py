"""Machine learning shared by the notebooks: features, quantile models, leak-proof CV, baselines, metrics.

- :mod:`kit.ml.phenology`: features of an index curve (peak, timing, integral, green-up, senescence).
- :mod:`kit.ml.stages`: weather and water stress by growth stage (with :mod:`kit.agro`), absorbed radiation.
- :class:`QuantileGBM`: LightGBM P10/P50/P90 with feature contributions.
- :mod:`kit.ml.cv`: leave-one-year-out and spatial-group splits that refuse leaks.
- :mod:`kit.ml.baselines`, :mod:`kit.ml.metrics`.
- :mod:`kit.ml.training` (with :mod:`kit.ml.step` and :mod:`kit.ml.checkpoints`): the Torch training
  engine of the sectors' networks (epoch, evaluation, fit loop with early stopping and checkpoints);
  imported on its own, so ``import kit.ml`` does not import Torch.
"""
from kit.ml.baselines import FieldMeanBaseline, LinearTrendBaseline
from kit.ml.cv import (
    LeakingSplitError, check_split, cross_val_predict, leave_one_group_out, leave_one_year_out, year_and_group_folds,
)
from kit.ml.metrics import interval_coverage, mae, nrmse, r2, rmse
from kit.ml.models import QuantileGBM
from kit.ml.phenology import phenology_features
from kit.ml.stages import fapar_from_ndvi, light_use_features, stage_weather_features, temperature_factor, water_deficit_features

__all__ = [
    "FieldMeanBaseline", "LeakingSplitError", "LinearTrendBaseline", "QuantileGBM", "check_split", "cross_val_predict",
    "fapar_from_ndvi", "interval_coverage", "light_use_features", "leave_one_group_out", "leave_one_year_out", "mae", "nrmse", "phenology_features", "r2", "rmse",
    "stage_weather_features", "temperature_factor", "water_deficit_features", "year_and_group_folds",
]
