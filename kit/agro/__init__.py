"""Irrigation planning: FAO-56 ET0, crop coefficients, soil water balance and schedules.

Entry points used by the ``irrigation_planning`` notebook:

- :func:`read_weather`, :func:`read_fields`: the input contracts, checked.
- :func:`et0`: reference evapotranspiration with the method used per day.
- :func:`water_balance`: daily FAO-56 soil water balance, fields × days.
- :func:`schedule`: irrigation schedules (MAD, calendar, interval, deficit,
  seasonal quota) with the expected relative yield.
- Gridded fields (a NetCDF/GeoTIFF or Dataset with dims ``y, x``, Dask-chunked
  allowed) go through the same two functions, pixel by pixel, chunk by chunk
  (:mod:`kit.agro.gridded`).

The numerical kernels (:mod:`kit.agro.fao56`, :mod:`kit.agro.balance`) are
written against the Python array API and run on NumPy, CuPy or Torch.
"""
from kit.agro import fao56, synthetic
from kit.agro.crops import CROPS, SOILS, adjust_kc_for_climate
from kit.agro.engine import summarize
from kit.agro.evapotranspiration import et0
from kit.agro.fields import read_fields
from kit.agro.gridded import GridPlan, read_fields_grid
from kit.agro.planning import Plan, compare_strategies, schedule, water_balance
from kit.agro.policy import STRATEGIES
from kit.agro.weather import GapFillWarning, read_weather

__all__ = [
    "CROPS", "SOILS", "STRATEGIES", "GapFillWarning", "GridPlan", "Plan", "adjust_kc_for_climate", "compare_strategies", "et0",
    "fao56", "read_fields", "read_fields_grid", "read_weather", "schedule", "summarize", "synthetic", "water_balance",
]
