"""The planning entry points: a water balance or an irrigation schedule of a fields table or a grid.

:func:`water_balance` and :func:`schedule` take fields as a table or as a
grid (:func:`kit.agro.gridded.is_gridded`) and send them to the table
engine (:mod:`kit.agro.engine` under a policy of :mod:`kit.agro.policy`)
or to the grid driver (:func:`kit.agro.gridded.run_grid`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from kit.agro.gridded.contract import is_gridded
from kit.agro.gridded.driver import GRID_DAILY, run_grid
from kit.agro.engine import prepare, run, summarize, to_dataset
from kit.agro.policy import (STRATEGIES, IrrigationPolicy, allocate_quota, applied_irrigation, production_gain_per_m3,
                             quota_volume_m3)
from kit.backend import as_backend
from kit.errors import ParameterError
from kit.io import atomic_path

__all__ = ["Plan", "compare_strategies", "schedule", "water_balance"]


@dataclass
class Plan:
    """A planned schedule: the water balance, the event table and the field summary.

    Attributes
    ----------
    balance : xarray.Dataset
        :func:`kit.agro.water_balance`'s Dataset under this schedule.
    table : pandas.DataFrame
        ``field_id, date, depth_mm, volume_m3`` (gross), one row per event.
    summary : pandas.DataFrame
        Per field: water used (mm, m³), irrigation events, days under
        stress, ETa, ETc, relative yield (FAO-33).
    strategy : str
    """

    balance: xr.Dataset
    table: pd.DataFrame
    summary: pd.DataFrame
    strategy: str

    @property
    def water_used_m3(self) -> float:
        return float(self.table["volume_m3"].sum())

    @property
    def relative_yield(self) -> float:
        """Area-weighted mean relative yield."""
        s = self.summary
        return float((s["relative_yield"] * s["area_ha"]).sum() / s["area_ha"].sum())

    def write(self, output_dir) -> dict:
        """Write ``schedule.csv``, ``water_balance.nc`` and ``fields_summary.csv`` atomically."""
        out = Path(output_dir)
        paths = {"schedule": out / "schedule.csv", "water_balance": out / "water_balance.nc", "fields_summary": out / "fields_summary.csv"}
        with atomic_path(paths["schedule"]) as tmp:
            self.table.to_csv(tmp, index=False, date_format="%Y-%m-%d")
        with atomic_path(paths["water_balance"]) as tmp:
            self.balance.to_netcdf(tmp)
        with atomic_path(paths["fields_summary"]) as tmp:
            self.summary.to_csv(tmp)
        return paths


def _events(ds: xr.Dataset) -> pd.DataFrame:
    irr = ds["irrigation_mm"].fillna(0.0)
    f, t = np.nonzero(irr.values > 1e-9)
    depth = irr.values[f, t]
    area = ds["area_ha"].values[f]
    return pd.DataFrame({
        "field_id": ds["field"].values[f], "date": pd.DatetimeIndex(ds["time"].values[t]),
        "depth_mm": depth, "volume_m3": depth * area * 10.0,
    }).sort_values(["date", "field_id"], kind="stable").reset_index(drop=True)


def water_balance(fields, weather, *, method: str = "single", irrigation=None, start=None, end=None, crops=None,
                  adjust_kc: bool = True, runoff: bool = True, initial_depletion_fraction: float = 0.0,
                  fw_irrigation: float = 1.0, et0_method: str = "fao56", krs: float = 0.16, lat_deg=None,
                  elevation_m=None, backend=None, dtype: str | None = None, daily=None, chunks=None) -> xr.Dataset:
    """Daily FAO-56 soil water balance of every field (or every field pixel of a grid).

    Parameters
    ----------
    fields : str, path, DataFrame or xarray.Dataset
        Fields contract (see :func:`kit.agro.read_fields`): a table (CSV,
        GeoJSON, DataFrame) or a grid (NetCDF/GeoTIFF path or Dataset with
        dims ``y, x``, see :mod:`kit.agro.gridded`; Dask-chunked allowed).
    weather : str, path, DataFrame or xarray.Dataset
        Weather contract of one station (see :func:`kit.agro.read_weather`),
        or, for gridded fields, a Dataset / NetCDF with dims ``(time,)`` or
        ``(y, x, time)``.
    method : {"single", "dual"}
        Single crop coefficient (Kc, FAO-56 ch. 6) or dual (Kcb + Ke, ch. 7).
    irrigation : DataFrame, optional
        Applied irrigation, ``field_id, date, depth_mm`` (gross mm); none
        means rainfed. To plan irrigation use :func:`kit.agro.schedule`.
    start, end : date-like, optional
        Simulation window inside the weather record.
    crops : DataFrame, optional
        Crop table replacing :data:`kit.agro.crops.CROPS`.
    adjust_kc : bool
        Climatic adjustment of Kc mid/end (eq. 62, 65, 70).
    runoff : bool
        Curve-number runoff.
    initial_depletion_fraction : float
        Root-zone depletion at planting as a fraction of TAW (0 = field capacity).
    fw_irrigation : float
        Fraction of the surface wetted by irrigation (FAO-56 Table 20: 1
        sprinkler/basin, 0.3-0.4 drip); used by the evaporation layer.
    et0_method, krs, lat_deg, elevation_m :
        Passed to :func:`kit.agro.et0`.
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}
        Where the kernels run: the notebook's Backend, or a device to resolve.
    dtype : {"float64", "float32"}, optional
        Kernel precision; default float64 for tables, float32 for grids.
    daily : sequence of str, optional
        Gridded fields only: daily variables kept as ``(y, x, time)``
        (default :data:`kit.agro.gridded.GRID_DAILY`; ``()`` for seasonal maps only, on
        large grids).
    chunks : dict, optional
        Gridded fields only: Dask chunks to open the file with, e.g. ``{"y": 256}``.

    Returns
    -------
    xarray.Dataset
        Gridded fields: :attr:`kit.agro.gridded.GridPlan.balance` (seasonal
        maps ``(y, x)``, daily ``(y, x, time)``, ``spatial_ref``). Tables:
        dims ``(field, time)``: ``etc_mm, eta_mm, depletion_mm`` (end of
        day), ``raw_mm, taw_mm, ks, kc, zr_m, irrigation_mm`` (gross),
        ``net_irrigation_mm, effective_rain_mm, runoff_mm,
        deep_percolation_mm, surface_depletion_mm`` (and ``kcb, ke,
        evaporation_mm`` for the dual method), NaN outside a field's
        season; ``(time,)``: ``et0_mm, rain_mm, method`` (ET0 method of the
        day); ``(field,)``: ``crop, soil, area_ha, ky`` and the seasonal
        summary of :func:`summarize`.

    Examples
    --------
    >>> import pandas as pd
    >>> weather = pd.DataFrame({"date": pd.date_range("2024-04-01", periods=180).strftime("%Y-%m-%d"),
    ...                         "tmin_c": 15.0, "tmax_c": 30.0, "rain_mm": 0.0})
    >>> fields = pd.DataFrame({"field_id": ["T1"], "crop": ["tomato"], "planting_date": ["2024-04-01"],
    ...                        "area_ha": [1.0], "soil": ["loam"]})
    >>> ds = water_balance(fields, weather, lat_deg=31.6, elevation_m=466)
    >>> ds["depletion_mm"].dims, bool((ds["depletion_mm"] <= ds["taw_mm"]).all())
    (('field', 'time'), True)
    """
    backend = as_backend(backend)
    options = dict(start=start, end=end, crops=crops, adjust_kc=adjust_kc,
                   initial_depletion_fraction=initial_depletion_fraction, fw_irrigation=fw_irrigation,
                   et0_method=et0_method, krs=krs, lat_deg=lat_deg, elevation_m=elevation_m)
    if is_gridded(fields):
        if irrigation is not None:
            raise ParameterError("irrigation= applies to fields tables; for a grid, plan with kit.agro.schedule")
        return run_grid(fields, weather, None, method=method, runoff=runoff, backend=backend, dtype=dtype or "float32",
                        daily=GRID_DAILY if daily is None else tuple(daily), chunks=chunks, **options).balance
    if daily is not None or chunks is not None:
        raise ParameterError("daily= and chunks= apply to gridded fields (NetCDF/GeoTIFF or a Dataset with dims y, x)")
    inputs = prepare(fields, weather, **options)
    policy = None if irrigation is None else applied_irrigation(irrigation, inputs, backend)
    out = run(inputs, method=method, policy=policy, runoff=runoff, backend=backend, dtype=dtype or "float64")
    return to_dataset(inputs, out, method)


def schedule(fields, weather, strategy: str = "mad", *, quota_m3: float | None = None, quota_mm: float | None = None,
             capacity_m3_day: float | None = None, mad_fraction: float | None = None, refill_fraction: float = 0.0,
             deficit_fraction: float = 0.6, interval_days: int = 7, depth_mm: float | None = None, calendar=None,
             use_forecast: bool = True, forecast_fraction: float = 0.5, max_postpone_days: int = 3,
             method: str = "single", backend=None, dtype: str | None = None, daily=None, chunks=None,
             **balance_options) -> Plan:
    """Plan irrigation for every field and return the schedule, the water balance and the yield outlook.

    Parameters
    ----------
    fields, weather :
        Contracts of :func:`kit.agro.read_fields` and :func:`kit.agro.read_weather`;
        gridded fields (NetCDF/GeoTIFF or a Dataset with dims ``y, x``) and
        gridded weather as in :func:`kit.agro.water_balance`, which then
        returns a :class:`kit.agro.gridded.GridPlan` (same attributes,
        ``.write`` adds GeoTIFFs of seasonal irrigation and relative yield).
        ``capacity_m3_day`` is not available on grids.
    strategy : {"mad", "calendar", "interval", "deficit", "quota"}
        - ``mad``: irrigate when depletion exceeds the management-allowed
          depletion (RAW, or ``mad_fraction`` × TAW) and refill to field
          capacity (or to ``refill_fraction`` × TAW of depletion).
        - ``calendar``: fixed gross depths on fixed dates (``calendar``
          table ``date, depth_mm[, field_id]``; default 40 mm, or
          ``depth_mm``, on the 1st and 16th of each month).
        - ``interval``: every ``interval_days`` after planting, refill (or
          apply ``depth_mm`` gross).
        - ``deficit``: MAD trigger, apply ``deficit_fraction`` of the refill.
        - ``quota``: share ``quota_m3`` (or ``quota_mm`` over the total
          area) across fields to maximize expected production with FAO-33
          Ky (weights ``value_per_ha`` × area), then MAD within each
          field's allocation.
    capacity_m3_day : float, optional
        Delivery capacity of the network; each day requests are served in
        order of priority (gain per m³ for ``quota``, file order otherwise).
    use_forecast : bool
        Postpone an irrigation when the weather's ``rain_forecast_mm`` is at
        least ``forecast_fraction`` of the net need and the crop can wait
        (depletion below the midpoint of RAW and TAW), for at most
        ``max_postpone_days`` days.
    method : {"single", "dual"}
    dtype, daily, chunks :
        As in :func:`kit.agro.water_balance` (float64 for tables, float32 for grids by default).
    **balance_options :
        ``start, end, crops, adjust_kc, runoff, initial_depletion_fraction,
        fw_irrigation, et0_method, krs, lat_deg, elevation_m`` of
        :func:`kit.agro.water_balance`.

    Returns
    -------
    Plan
        ``.balance`` (Dataset), ``.table`` (``field_id, date, depth_mm,
        volume_m3``), ``.summary`` (water used, days under stress, relative
        yield), ``.write(output_dir)``.

    Examples
    --------
    >>> from kit.agro.synthetic import fields as demo_fields, weather as demo_weather
    >>> w = demo_weather("marrakech", seasons=1, seed=0)
    >>> f = demo_fields("marrakech", n=5, seed=0)
    >>> plan = schedule(f, w, "mad")
    >>> list(plan.table.columns)
    ['field_id', 'date', 'depth_mm', 'volume_m3']
    """
    if strategy not in STRATEGIES:
        raise ParameterError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    backend = as_backend(backend)
    if is_gridded(fields):
        return run_grid(fields, weather, strategy, quota_m3=quota_m3, quota_mm=quota_mm, capacity_m3_day=capacity_m3_day,
                        mad_fraction=mad_fraction, refill_fraction=refill_fraction, deficit_fraction=deficit_fraction,
                        interval_days=interval_days, depth_mm=depth_mm, calendar=calendar, use_forecast=use_forecast,
                        forecast_fraction=forecast_fraction, max_postpone_days=max_postpone_days, method=method,
                        backend=backend, dtype=dtype or "float32", daily=GRID_DAILY if daily is None else tuple(daily),
                        chunks=chunks, **balance_options)
    if daily is not None or chunks is not None:
        raise ParameterError("daily= and chunks= apply to gridded fields (NetCDF/GeoTIFF or a Dataset with dims y, x)")
    balance_options["dtype"] = dtype or "float64"
    inputs = prepare(fields, weather, **{k: v for k, v in balance_options.items() if k != "dtype"})
    runoff = balance_options.get("runoff", True)
    common = dict(mad_fraction=mad_fraction, refill_fraction=refill_fraction, deficit_fraction=deficit_fraction,
                  interval_days=interval_days, depth_mm=depth_mm, calendar=calendar, use_forecast=use_forecast,
                  forecast_fraction=forecast_fraction, max_postpone_days=max_postpone_days, capacity_m3_day=capacity_m3_day)
    f = inputs.fields
    if strategy == "quota":
        quota = quota_volume_m3(quota_m3, quota_mm, f["area_ha"].sum())
        # Unconstrained need first, then the allocation that maximizes production, then MAD within it.
        need = run(inputs, method=method, policy=IrrigationPolicy("mad", **{**common, "capacity_m3_day": None}), runoff=runoff, backend=backend,
                   dtype=balance_options["dtype"])
        need_mm = np.nansum(need["irrigation_mm"], axis=1)
        etc_mm = np.nansum(need["etc_mm"], axis=1)
        area = f["area_ha"].to_numpy(float)
        gain = production_gain_per_m3(f, etc_mm)
        alloc_m3 = allocate_quota(need_mm * area * 10.0, gain, quota)
        policy = IrrigationPolicy("quota", **common, budget_mm=alloc_m3 / (area * 10.0), priority=gain)
    else:
        policy = IrrigationPolicy(strategy, **common)
    out = run(inputs, method=method, policy=policy, runoff=runoff, backend=backend, dtype=balance_options["dtype"])
    ds = to_dataset(inputs, out, method)
    ds.attrs["strategy"] = strategy
    if strategy == "quota":
        ds.attrs["quota_m3"] = quota
    return Plan(balance=ds, table=_events(ds), summary=summarize(ds), strategy=strategy)


def compare_strategies(fields, weather, strategies=("calendar", "mad", "deficit"), **options) -> pd.DataFrame:
    """Run several strategies on the same inputs and compare water and yield.

    Returns
    -------
    pandas.DataFrame
        One row per strategy: ``water_m3``, ``relative_yield`` (area-weighted),
        ``days_under_stress`` (mean per field), ``events``.
    """
    rows = []
    for s in strategies:
        opts = dict(options)
        if s != "quota":
            opts.pop("quota_m3", None)
            opts.pop("quota_mm", None)
        plan = schedule(fields, weather, s, **opts)
        rows.append({"strategy": s, "water_m3": plan.water_used_m3, "relative_yield": plan.relative_yield,
                     "days_under_stress": float(plan.summary["days_under_stress"].mean()), "events": len(plan.table)})
    return pd.DataFrame(rows).set_index("strategy")
