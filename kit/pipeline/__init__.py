"""Scheduled runs: YAML pipeline specs, executed locally or on Dask, indexed."""
from kit.pipeline.spec import Pipeline, PlannedRun, load_pipeline

__all__ = ["Pipeline", "PlannedRun", "load_pipeline"]
