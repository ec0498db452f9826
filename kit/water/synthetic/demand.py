"""Demand of the simulated network: the model's patterns with day-to-day and AR(1) noise per spatial group.

Junctions are grouped around random centres; each group shares one noise
series, so nearby demand moves together the way a district's does.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.water.network import WaterNetwork

__all__ = ["demand_patterns", "spatial_groups"]


def demand_patterns(network: WaterNetwork, start: pd.Timestamp, n: int, step_s: int, groups: np.ndarray,
                    noise: float, daily_sigma: float, rng) -> tuple[dict, dict]:
    """Group patterns: the model's multipliers × day-to-day factor × AR(1) noise.

    Returns
    -------
    patterns : dict of pattern id to ndarray
        ``"<model pattern>~g<group>"`` multipliers at ``step_s`` intervals.
    pattern_of : dict of junction id to list
        The new pattern of each of the junction's demand categories.
    """
    wn = network.wn
    ps = int(wn.options.time.pattern_timestep)
    monday = (start.tz_localize(None) - start.tz_localize(None).normalize()).total_seconds() + start.day_of_week * 86400
    t = monday + np.arange(n) * step_s
    n_days = int(np.ceil(n * step_s / 86400)) + 2
    day_index = (t // 86400 - monday // 86400).astype(int)  # calendar days since the start
    weekday = ((t // 86400) % 7).astype(int)
    rho = np.exp(-step_s / (4 * 3600.0))  # about 4 h correlation time
    patterns, used = {}, set()
    for j in network.junctions:
        for d in wn.get_node(j).demand_timeseries_list:
            used.add(d.pattern_name)
    for pid in sorted(p for p in used if p is not None):
        mult = np.asarray(wn.get_pattern(pid).multipliers, dtype=float)
        base = mult[(t // ps).astype(int) % len(mult)]
        if len(mult) * ps < 7 * 86400:
            base = base * np.where(weekday >= 5, 0.92, 1.0)  # weekly shape the model's daily pattern lacks
        for g in np.unique(groups):
            day = np.exp(rng.normal(0.0, daily_sigma, n_days))[day_index]
            eps = rng.normal(0.0, noise * np.sqrt(1 - rho**2), n)
            ar = np.empty(n)
            ar[0] = rng.normal(0.0, noise)
            for k in range(1, n):
                ar[k] = rho * ar[k - 1] + eps[k]
            patterns[f"{pid}~g{g}"] = np.maximum(base * day * np.exp(ar), 0.0)
    pattern_of = {}
    for j, g in zip(network.junctions, groups):
        pattern_of[j] = [None if d.pattern_name is None else f"{d.pattern_name}~g{g}"
                         for d in wn.get_node(j).demand_timeseries_list]
    return patterns, pattern_of


def spatial_groups(network: WaterNetwork, k: int, rng) -> np.ndarray:
    """Group of each junction: the nearest of ``k`` junctions drawn as centres."""
    xy = network.node_xy().loc[network.junctions].to_numpy()
    centres = xy[rng.choice(len(xy), size=min(k, len(xy)), replace=False)]
    return np.argmin(((xy[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
