"""Irrigation policies: what the balance kernel applies to every field at the start of each day.

Each strategy is an irrigation *policy*: a function the balance kernel calls
at the start of every day with the state of all fields (depletion, TAW,
RAW, today's ETc, the rain forecast) and which returns the gross depth to
apply to each field, with array-API operations only, so planning 10 000
fields costs the same few vector operations per day as simulating them.

A policy is bound to the :class:`kit.agro.engine.Inputs` of a run
(:meth:`IrrigationPolicy.bind`), so the same policy serves a fields table
and every block of a grid. The seasonal quota is shared across fields here
too (:func:`allocate_quota`), from the production each field gains per m³.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kit.errors import InputDataError, ParameterError

STRATEGIES = ("mad", "calendar", "interval", "deficit", "quota")

__all__ = ["STRATEGIES", "IrrigationPolicy", "allocate_quota", "applied_irrigation", "check_quota_options",
           "production_gain_per_m3", "quota_volume_m3"]


def _cumsum(xp, x):
    f = getattr(xp, "cumulative_sum", None)
    return f(x) if f is not None else xp.cumsum(x)


@dataclass
class IrrigationPolicy:
    """State shared by the strategies: thresholds, forecast postponement, budgets and delivery capacity.

    Parameters are those of :func:`kit.agro.schedule`; ``budget_mm`` (gross
    mm per field for the season) and ``priority`` (order of service under
    ``capacity_m3_day``, highest first) come from the quota allocation.
    """

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
        """The daily policy function for ``inputs`` (fields, days) on ``backend``."""
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
            zero = xp.zeros_like(s.depletion_mm)
            net = xp.clip(self._net_need(xp, s, cal, zero), 0.0, None)
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

    def _net_need(self, xp, s, cal, zero):
        """Today's net depth of the strategy, before forecast, budget and capacity."""
        refill = s.depletion_mm + s.etc_mm - self.refill_fraction * s.taw_mm
        threshold = s.raw_mm if self.mad_fraction is None else self.mad_fraction * s.taw_mm
        if self.strategy in ("mad", "quota"):
            return xp.where(s.depletion_mm > threshold, refill, zero)
        if self.strategy == "deficit":
            return xp.where(s.depletion_mm > threshold, self.deficit_fraction * refill, zero)
        if self.strategy == "interval":
            due = (s.day > 0) & (xp.remainder(s.day, float(self.interval_days)) == 0)
            amount = refill if self.depth_mm is None else zero + self.depth_mm * s.irrigation_efficiency
            return xp.where(due, amount, zero)
        return cal[:, s.t] * s.irrigation_efficiency  # calendar: fixed gross depths on fixed dates


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


def applied_irrigation(irrigation: pd.DataFrame, inputs, backend):
    """The policy of irrigation already applied: a table ``field_id, date, depth_mm`` (gross mm)."""
    table = irrigation.copy()
    for col in ("field_id", "date", "depth_mm"):
        if col not in table.columns:
            raise InputDataError(f"irrigation table has no column {col!r}; give field_id, date, depth_mm (gross, mm)")
    index = {f: i for i, f in enumerate(inputs.fields["field_id"])}
    unknown = ~table["field_id"].astype(str).isin(index)
    if unknown.any():
        raise InputDataError(f"irrigation table row {int(np.flatnonzero(unknown)[0]) + 1}: unknown field_id {table['field_id'][unknown].iloc[0]!r}")
    depth = np.zeros((inputs.n_fields, len(inputs.times)))
    t = inputs.times.get_indexer(pd.to_datetime(table["date"]).dt.normalize())
    ok = t >= 0
    np.add.at(depth, (table["field_id"].astype(str).map(index).to_numpy()[ok], t[ok]), table["depth_mm"].to_numpy(float)[ok])
    depth = backend.asarray(depth)
    return lambda state: depth[:, state.t]


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


def production_gain_per_m3(fields: pd.DataFrame, season_etc_mm) -> np.ndarray:
    """Production gained per m³ of gross irrigation, per field (FAO-33: ``value_per_ha × Ky × efficiency / ETc``)."""
    return (fields["value_per_ha"].to_numpy(float) * fields["ky"].to_numpy(float)
            * fields["irrigation_efficiency"].to_numpy(float) / (10.0 * np.maximum(season_etc_mm, 1e-9)))


def check_quota_options(quota_m3, quota_mm) -> None:
    """Refuse a quota strategy given neither or both of ``quota_m3`` and ``quota_mm``."""
    if (quota_m3 is None) == (quota_mm is None):
        raise ParameterError("strategy 'quota' needs exactly one of quota_m3 (m³) or quota_mm (mm over the total area)")


def quota_volume_m3(quota_m3, quota_mm, total_area_ha: float) -> float:
    """The seasonal quota in m³: ``quota_m3``, or ``quota_mm`` over ``total_area_ha``; finite and >= 0."""
    check_quota_options(quota_m3, quota_mm)
    quota = float(quota_m3) if quota_m3 is not None else float(quota_mm) * float(total_area_ha) * 10.0
    if not quota >= 0 or math.isinf(quota):
        raise ParameterError(f"quota must be a finite number >= 0, got {quota}")
    return quota
