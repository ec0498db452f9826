"""Irrigation schedules planned inside the daily water balance, and a seasonal quota shared across fields.

Each strategy is an irrigation *policy*: a function the balance kernel calls
at the start of every day with the state of all fields (depletion, TAW,
RAW, today's ETc, the rain forecast) and which returns the gross depth to
apply to each field, with array-API operations only, so planning 10 000
fields costs the same few vector operations per day as simulating them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from kit.agro.model import prepare, run, summarize, to_dataset
from kit.errors import InputDataError, ParameterError
from kit.io import atomic_path

STRATEGIES = ("mad", "calendar", "interval", "deficit", "quota")

__all__ = ["STRATEGIES", "Plan", "schedule", "compare_strategies", "allocate_quota"]


def _cumsum(xp, x):
    f = getattr(xp, "cumulative_sum", None)
    return f(x) if f is not None else xp.cumsum(x)


@dataclass
class _Policy:
    """State shared by the strategies: thresholds, forecast postponement, budgets and delivery capacity."""

    strategy: str
    mad_fraction: float | None = None
    refill_fraction: float = 0.0
    deficit_fraction: float = 0.6
    interval_days: int = 7
    depth_mm: float | None = None
    calendar: pd.DataFrame | None = None
    use_forecast: bool = True
    forecast_fraction: float = 0.5
    max_postpone_days: int = 3
    budget_mm: np.ndarray | None = None
    capacity_m3_day: float | None = None
    priority: np.ndarray | None = None
    extras: dict = field(default_factory=dict)

    def bind(self, inputs, backend):
        xp = backend.xp
        n = inputs.n_fields
        area = backend.asarray(inputs.fields["area_ha"].to_numpy(float))
        postponed = backend.asarray(np.zeros(n))
        budget = None if self.budget_mm is None else backend.asarray(np.asarray(self.budget_mm, float))
        cal = None
        if self.strategy == "calendar":
            cal = backend.asarray(_calendar_depths(self.calendar, inputs, self.depth_mm))
        order = inv = None
        if self.capacity_m3_day is not None:
            prio = np.zeros(n) if self.priority is None else np.asarray(self.priority, float)
            o = np.argsort(-prio, kind="stable")
            order, inv = backend.asarray(o), backend.asarray(np.argsort(o))
        state_box = {"postponed": postponed, "budget": budget}

        def policy(s):
            refill = s.depletion_mm + s.etc_mm - self.refill_fraction * s.taw_mm
            threshold = s.raw_mm if self.mad_fraction is None else self.mad_fraction * s.taw_mm
            zero = xp.zeros_like(s.depletion_mm)
            if self.strategy in ("mad", "quota"):
                net = xp.where(s.depletion_mm > threshold, refill, zero)
            elif self.strategy == "deficit":
                net = xp.where(s.depletion_mm > threshold, self.deficit_fraction * refill, zero)
            elif self.strategy == "interval":
                due = (s.day > 0) & (xp.remainder(s.day, float(self.interval_days)) == 0)
                amount = refill if self.depth_mm is None else zero + self.depth_mm * s.irrigation_efficiency
                net = xp.where(due, amount, zero)
            else:  # calendar: fixed gross depths on fixed dates
                net = cal[:, s.t] * s.irrigation_efficiency
            net = xp.clip(net, 0.0, None)
            if self.use_forecast and self.strategy != "calendar":
                # Postpone when the forecast rain covers a good part of the need and the crop can wait:
                # depletion stays below the midpoint between RAW and TAW, for at most max_postpone_days.
                forecast = xp.where(xp.isnan(s.forecast_mm), zero, s.forecast_mm)
                can_wait = (s.depletion_mm + s.etc_mm) < (s.raw_mm + s.taw_mm) / 2.0
                wait = (net > 0) & (forecast >= self.forecast_fraction * net) & can_wait & (state_box["postponed"] < self.max_postpone_days)
                net = xp.where(wait, zero, net)
                state_box["postponed"] = xp.where(wait, state_box["postponed"] + 1.0, xp.where(net > 0, zero, state_box["postponed"]))
            gross = net / s.irrigation_efficiency
            if state_box["budget"] is not None:
                gross = xp.minimum(gross, xp.clip(state_box["budget"], 0.0, None))
            if order is not None:
                volume = gross * area * 10.0
                v_sorted = xp.take(volume, order, axis=0)
                before = _cumsum(xp, v_sorted) - v_sorted
                allowed = xp.clip(self.capacity_m3_day - before, 0.0, None)
                v_sorted = xp.minimum(v_sorted, allowed)
                gross = xp.take(v_sorted, inv, axis=0) / (area * 10.0)
            gross = xp.where(s.active, gross, zero)
            if state_box["budget"] is not None:
                state_box["budget"] = state_box["budget"] - gross
            return gross

        return policy


def _calendar_depths(calendar, inputs, depth_mm) -> np.ndarray:
    """(fields, days) gross depths of a fixed calendar; default the 1st and 16th of each month."""
    times = inputs.times
    depth = np.zeros((inputs.n_fields, len(times)))
    if calendar is None:
        on = np.isin(times.day, (1, 16))
        depth[:, on] = 40.0 if depth_mm is None else depth_mm
        return depth
    cal = pd.DataFrame(calendar)
    if "date" not in cal.columns or "depth_mm" not in cal.columns:
        raise InputDataError("calendar needs columns date, depth_mm (gross mm) and optionally field_id")
    t = times.get_indexer(pd.to_datetime(cal["date"]).dt.normalize())
    ok = t >= 0
    if "field_id" in cal.columns:
        index = {f: i for i, f in enumerate(inputs.fields["field_id"])}
        rows = cal["field_id"].astype(str).map(index)
        if rows.isna().any():
            raise InputDataError(f"calendar: unknown field_id {cal['field_id'][rows.isna()].iloc[0]!r}")
        np.add.at(depth, (rows.to_numpy(int)[ok], t[ok]), cal["depth_mm"].to_numpy(float)[ok])
    else:
        for ti, d in zip(t[ok], cal["depth_mm"].to_numpy(float)[ok]):
            depth[:, ti] += d
    return depth


def allocate_quota(requirement_m3, gain_per_m3, quota_m3) -> np.ndarray:
    """Share a seasonal quota to maximize expected production with linear FAO-33 yield response.

    With ``1 - Ya/Ym = Ky (1 - ETa/ETm)`` the production gained per m³ is
    constant per field, so the optimum (a fractional knapsack) serves fields
    in decreasing gain per m³, each up to its full requirement.

    Parameters
    ----------
    requirement_m3 : array, m³ per field (unconstrained seasonal need)
    gain_per_m3 : array, production gained per m³ (any unit)
    quota_m3 : float, m³

    Returns
    -------
    array, m³ allocated per field; sums to ``min(quota, total need)``.

    Examples
    --------
    >>> allocate_quota([100.0, 100.0, 100.0], [1.0, 3.0, 2.0], 150.0)
    array([  0., 100.,  50.])
    """
    need = np.asarray(requirement_m3, float)
    order = np.argsort(-np.asarray(gain_per_m3, float), kind="stable")
    cum_before = np.cumsum(need[order]) - need[order]
    got = np.clip(quota_m3 - cum_before, 0.0, need[order])
    out = np.empty_like(need)
    out[order] = got
    return out


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


def schedule(fields, weather, strategy: str = "mad", *, quota_m3: float | None = None, quota_mm: float | None = None,
             capacity_m3_day: float | None = None, mad_fraction: float | None = None, refill_fraction: float = 0.0,
             deficit_fraction: float = 0.6, interval_days: int = 7, depth_mm: float | None = None, calendar=None,
             use_forecast: bool = True, forecast_fraction: float = 0.5, max_postpone_days: int = 3,
             method: str = "single", device: str = "cpu", dtype: str | None = None, daily=None, chunks=None,
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
    >>> from kit.agro.datasets import fields as demo_fields, weather as demo_weather
    >>> w = demo_weather("marrakech", seasons=1, seed=0)
    >>> f = demo_fields("marrakech", n=5, seed=0)
    >>> plan = schedule(f, w, "mad")
    >>> list(plan.table.columns)
    ['field_id', 'date', 'depth_mm', 'volume_m3']
    """
    if strategy not in STRATEGIES:
        raise ParameterError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    from kit.agro.gridded import is_gridded, run_grid
    from kit.agro.model import GRID_DAILY

    if is_gridded(fields):
        return run_grid(fields, weather, strategy, quota_m3=quota_m3, quota_mm=quota_mm, capacity_m3_day=capacity_m3_day,
                        mad_fraction=mad_fraction, refill_fraction=refill_fraction, deficit_fraction=deficit_fraction,
                        interval_days=interval_days, depth_mm=depth_mm, calendar=calendar, use_forecast=use_forecast,
                        forecast_fraction=forecast_fraction, max_postpone_days=max_postpone_days, method=method,
                        device=device, dtype=dtype or "float32", daily=GRID_DAILY if daily is None else tuple(daily),
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
        if (quota_m3 is None) == (quota_mm is None):
            raise ParameterError("strategy 'quota' needs exactly one of quota_m3 (m³) or quota_mm (mm over the total area)")
        quota = float(quota_m3) if quota_m3 is not None else float(quota_mm) * float(f["area_ha"].sum()) * 10.0
        if not quota >= 0 or math.isinf(quota):
            raise ParameterError(f"quota must be a finite number >= 0, got {quota}")
        # Unconstrained need first, then the allocation that maximizes production, then MAD within it.
        need = run(inputs, method=method, policy=_Policy("mad", **{**common, "capacity_m3_day": None}), runoff=runoff, device=device,
                   dtype=balance_options["dtype"])
        need_mm = np.nansum(need["irrigation_mm"], axis=1)
        etc_mm = np.nansum(need["etc_mm"], axis=1)
        area = f["area_ha"].to_numpy(float)
        gain = f["value_per_ha"].to_numpy(float) * f["ky"].to_numpy(float) * f["irrigation_efficiency"].to_numpy(float) / (10.0 * np.maximum(etc_mm, 1e-9))
        alloc_m3 = allocate_quota(need_mm * area * 10.0, gain, quota)
        policy = _Policy("quota", **common, budget_mm=alloc_m3 / (area * 10.0), priority=gain)
    else:
        policy = _Policy(strategy, **common)
    out = run(inputs, method=method, policy=policy, runoff=runoff, device=device, dtype=balance_options["dtype"])
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
