"""The block driver of a grid run: every field pixel of a grid simulated or planned, block by block.

A rainfed balance or a schedule runs the kernel once per block of field
pixels (:class:`kit.agro.gridded.blocks.FieldBlocks`) and puts the results
on the maps (:class:`kit.agro.gridded.result.GridMaps`). A seasonal quota
couples all pixels: a first pass finds each pixel's need and gain per m³,
one allocation shares the quota over the whole grid, and the second pass
plans every block within its pixels' budgets.
"""
from __future__ import annotations

import numpy as np

from kit.agro.crops import CROPS
from kit.agro.evapotranspiration import et0 as compute_et0
from kit.agro.gridded.blocks import FieldBlocks, simulation_window
from kit.agro.gridded.contract import read_fields_grid
from kit.agro.gridded.result import GridMaps, GridPlan
from kit.agro.engine import run
from kit.agro.policy import (STRATEGIES, IrrigationPolicy, allocate_quota, check_quota_options, production_gain_per_m3,
                             quota_volume_m3)
from kit.backend import as_backend
from kit.errors import InputDataError, ParameterError

#: Daily variables a gridded run can keep, (y, x, time).
DAILY = ("et0_mm", "rain_mm", "etc_mm", "eta_mm", "depletion_mm", "raw_mm", "taw_mm", "ks", "irrigation_mm",
         "effective_rain_mm", "runoff_mm", "deep_percolation_mm")
#: Daily variables :func:`kit.agro.water_balance` and :func:`kit.agro.schedule` keep on a grid by default.
GRID_DAILY = ("et0_mm", "etc_mm", "eta_mm", "depletion_mm", "raw_mm", "taw_mm", "ks", "irrigation_mm", "rain_mm")
_NEEDED = ("etc_mm", "eta_mm", "ks", "irrigation_mm", "effective_rain_mm", "runoff_mm")
_POLICY_OPTIONS = ("mad_fraction", "refill_fraction", "deficit_fraction", "interval_days", "depth_mm", "calendar",
                   "forecast_fraction", "max_postpone_days")
_NO_FIELD = "the fields grid has no field pixel (crop code 0 everywhere)"

__all__ = ["DAILY", "GRID_DAILY", "run_grid"]


def run_grid(fields, weather, strategy: str | None = None, *, quota_m3=None, quota_mm=None, daily=(), start=None, end=None,
             crops=None, adjust_kc: bool = True, runoff: bool = True, initial_depletion_fraction: float = 0.0,
             fw_irrigation: float = 1.0, et0_method: str = "fao56", krs: float = 0.16, lat_deg=None, elevation_m=None,
             method: str = "single", backend=None, dtype: str = "float32", chunk_pixels: int = 262_144,
             chunks=None, **policy_options) -> GridPlan:
    """Water balance (``strategy=None``, rainfed) or a schedule for every field pixel of a grid.

    Called by :func:`kit.agro.water_balance` and :func:`kit.agro.schedule`
    when ``fields`` is gridded; parameters are theirs, plus:

    Parameters
    ----------
    daily : sequence of str
        Daily variables to keep as ``(y, x, time)`` (names in :data:`DAILY`);
        default none: seasonal maps only, so large grids fit in memory.
    dtype : {"float32", "float64"}
        Precision of the kernels (float32: half the memory, ~1e-5 mm).
    chunk_pixels : int
        Pixels per block when the input is not chunked already.
    chunks : dict, optional
        Dask chunks to open a gridded file with, e.g. ``{"y": 256}``.

    Returns
    -------
    GridPlan

    Examples
    --------
    >>> from kit.agro.synthetic import perimeter, weather
    >>> plan = run_grid(perimeter(size=12), weather("marrakech", seasons=1), "mad")
    >>> sorted(plan.balance["seasonal_irrigation_mm"].dims), plan.balance["spatial_ref"].attrs["epsg"]
    (['x', 'y'], 32629)
    """
    _check_options(strategy, daily, policy_options)
    grid = read_fields_grid(fields, chunks=chunks)
    window = simulation_window(grid, weather, start, end, lat_deg, elevation_m)
    station_et0 = None
    if window.station is not None:
        station_et0 = compute_et0(window.station.loc[window.times[0]:window.times[-1]], window.lat_deg, window.elevation_m,
                                  et0_method, krs=krs)
    prepare_options = dict(crops=crops, adjust_kc=adjust_kc, initial_depletion_fraction=initial_depletion_fraction,
                           fw_irrigation=fw_irrigation, et0_method=et0_method, krs=krs, lat_deg=window.lat_deg,
                           elevation_m=window.elevation_m)
    blocks = FieldBlocks(grid, window, crops=CROPS if crops is None else crops, prepare_options=prepare_options,
                         station_et0=station_et0, krs=krs, et0_method=et0_method, dtype=dtype, chunk_pixels=chunk_pixels)
    common = {k: v for k, v in policy_options.items() if k in _POLICY_OPTIONS}
    common["use_forecast"] = policy_options.get("use_forecast", True)
    kernel = dict(method=method, runoff=runoff, backend=as_backend(backend), dtype=dtype)  # resolved once, not per block
    quota = budgets = gains = None
    if strategy == "quota":
        check_quota_options(quota_m3, quota_mm)
        quota, budgets, gains = _share_quota(blocks, grid, common, kernel, quota_m3, quota_mm)
    maps = GridMaps(grid.sizes["y"], grid.sizes["x"], window.times, daily)
    keep = tuple(dict.fromkeys(_NEEDED + tuple(k for k in daily if k not in ("et0_mm", "rain_mm"))))
    _simulate(blocks, maps, strategy, common, kernel, keep, budgets, gains)
    ds = maps.to_dataset(grid, station_et0, method=method, strategy=strategy)
    if strategy == "quota":
        ds.attrs["quota_m3"] = quota
    return GridPlan(balance=ds, strategy=strategy)


def _check_options(strategy, daily, policy_options) -> None:
    """Refuse an unknown strategy or daily variable, and a delivery capacity (it couples all pixels every day)."""
    if strategy is not None and strategy not in STRATEGIES:
        raise ParameterError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if policy_options.get("capacity_m3_day") is not None:
        raise ParameterError("capacity_m3_day is not supported for gridded fields (the daily capacity couples all pixels); "
                             "give the fields as a table, or plan without a capacity")
    unknown = [k for k in daily if k not in DAILY]
    if unknown:
        raise ParameterError(f"unknown daily variable(s) {', '.join(unknown)}; choose from {', '.join(DAILY)}")


def _share_quota(blocks: FieldBlocks, grid, common: dict, kernel: dict, quota_m3, quota_mm):
    """Pass 1 of a quota plan: each pixel's unconstrained (MAD) need and production gained per m³; one global allocation.

    Returns
    -------
    (quota_m3, budget_mm, gain_per_m3)
        The quota (m³) and, per pixel ``(y, x)``, the gross budget (mm) and
        the gain per m³ that orders delivery; NaN off the fields.
    """
    need, gain, area, where = [], [], [], []
    for b in blocks:
        out = run(b.inputs, policy=IrrigationPolicy("mad", **common), outputs=("irrigation_mm", "etc_mm"), **kernel)
        etc = np.nansum(out["etc_mm"], axis=1, dtype=float)
        f = b.inputs.fields
        need.append(np.nansum(out["irrigation_mm"], axis=1, dtype=float) * f["area_ha"].to_numpy() * 10.0)
        gain.append(production_gain_per_m3(f, etc))
        area.append(f["area_ha"].to_numpy())
        where.append((b.gy, b.ix))
    if not need:
        raise InputDataError(_NO_FIELD)
    area_all = np.concatenate(area)
    quota = quota_volume_m3(quota_m3, quota_mm, area_all.sum())
    alloc = allocate_quota(np.concatenate(need), np.concatenate(gain), quota)
    shape = (grid.sizes["y"], grid.sizes["x"])
    budgets, gains = np.full(shape, np.nan), np.full(shape, np.nan)
    gy, gx = np.concatenate([w[0] for w in where]), np.concatenate([w[1] for w in where])
    budgets[gy, gx] = alloc / (area_all * 10.0)
    gains[gy, gx] = np.concatenate(gain)
    return quota, budgets, gains


def _simulate(blocks: FieldBlocks, maps: GridMaps, strategy, common: dict, kernel: dict, keep, budgets, gains) -> None:
    """Every block under its policy (none for a rainfed balance), its outputs put on ``maps``."""
    any_field = False
    for b in blocks:
        any_field = True
        if strategy is None:
            policy = None
        elif strategy == "quota":
            policy = IrrigationPolicy("quota", **common, budget_mm=budgets[b.gy, b.ix], priority=gains[b.gy, b.ix])
        else:
            policy = IrrigationPolicy(strategy, **common)
        out = run(b.inputs, policy=policy, outputs=keep, **kernel)
        maps.add(b.gy, b.ix, b.table, b.inputs, out)
    if not any_field:
        raise InputDataError(_NO_FIELD)
