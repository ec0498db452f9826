"""Refining leak candidates with extended-period simulations of the nominal model.

The signature localizer (:mod:`kit.water.localize`) compares the residual
shift with steady-state snapshots, in which every tank holds its level. A
leak in a zone fed by a tank drains it instead: hour by hour the level falls
and the pump runs longer, and the residual model, which reads the level,
explains much of the zone's pressure drop by it. A snapshot misses that and
ranks such candidates far down. Here the shortlist, the snapshot's best
candidates plus one representative junction per region of similar
signatures, is re-scored with the residual change an extended-period
simulation (EPS) of the leak predicts, hour by hour from the estimated start,
through the same linear residual map; the region that wins is then searched
member by member.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.water.hydraulics import G, Leak, simulate
from kit.water.localize import posterior_weights

__all__ = ["signature_regions", "dynamic_residual_change", "refine_ranking"]


def signature_regions(expected: np.ndarray, candidates, valid: np.ndarray, n_regions: int = 16,
                      seed: int = 0) -> dict:
    """Group candidates whose snapshot residual signatures point the same way.

    Parameters
    ----------
    expected : ndarray (candidates, targets)
        Expected residual change per L/s (a :class:`SignatureLocalizer`'s ``expected_[h]``), m/(L/s).
    candidates : list of str
        Junction of each row.
    valid : ndarray of bool (candidates,)
        Rows that can be fitted (the others join no region).
    n_regions : int
    seed : int
        Seed of the k-means initialization.

    Returns
    -------
    dict of int to list of str
        The junctions of each region, the one most typical of it (closest to
        its mean direction) first.

    Examples
    --------
    >>> e = np.array([[1.0, 0.0], [2.0, 0.1], [0.0, 1.0], [0.1, 3.0]])
    >>> regions = signature_regions(e, ["a", "b", "c", "d"], np.ones(4, bool), n_regions=2)
    >>> sorted(sorted(m) for m in regions.values())
    [['a', 'b'], ['c', 'd']]
    """
    from sklearn.cluster import KMeans

    names = [c for c, ok in zip(candidates, valid) if ok]
    x = np.nan_to_num(np.asarray(expected)[np.asarray(valid)])
    # Direction, not size: a leak's flow scales the signature.
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    k = int(min(n_regions, len(x)))
    if not k:
        return {}
    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(x)
    regions = {}
    for r in range(k):
        rows = np.flatnonzero(km.labels_ == r)
        typical = np.argsort(-(x[rows] @ km.cluster_centers_[r]), kind="stable")
        regions[r] = [names[i] for i in rows[typical]]
    return regions


def dynamic_residual_change(network, junctions, sensors: pd.DataFrame, amap: pd.DataFrame, start_local: pd.Timestamp,
                            hours: int, leak_flow_lps: float = 5.0) -> dict:
    """Residual change per L/s, hour by hour, of a leak appearing at ``start_local`` at each junction.

    Parameters
    ----------
    network : WaterNetwork
        The nominal model (weekly demand patterns from Monday 00:00).
    junctions : list of str
    sensors : pandas.DataFrame
        ``sensor_id, kind, element`` of the residual model's inputs.
    amap : pandas.DataFrame
        The residual model's linear map (targets × inputs).
    start_local : pandas.Timestamp
        Leak start in the patterns' local time.
    hours : int
        Hours simulated after the start.
    leak_flow_lps : float, L/s
        Leak size simulated at 30 m of pressure (the response is nearly
        linear in it, and divided by the flow the orifice really gives).

    Returns
    -------
    dict of str to ndarray (hours, targets)
        Expected residual change per L/s of leak flow, m/(L/s), for hours 1..``hours`` after the start.
    """
    inputs = (sensors.set_index("sensor_id").reindex(amap.columns).dropna(subset=["element"])
              .rename_axis("sensor_id").reset_index())
    pattern_start_s = int(((start_local.day_of_week * 24 + start_local.hour) * 3600 + start_local.minute * 60)
                          % (168 * 3600))
    duration = hours * 3600

    def run(leaks):
        res = simulate(network, duration, step_s=3600, leaks=leaks, sensors=inputs, pattern_start_s=pattern_start_s)
        return res.readings.reindex(columns=amap.columns).fillna(0.0).to_numpy()[1:], res.leak_flow_lps

    base, _ = run(())
    a = amap.to_numpy()
    area_m2 = leak_flow_lps / 1000.0 / (Leak.discharge_coeff * np.sqrt(2 * G * 30.0))  # orifice law at 30 m
    out = {}
    for j in junctions:
        leaky, flow = run((Leak(j, start_s=0.0, area_m2=area_m2),))
        q = flow.to_numpy()[1:, 0]
        out[j] = ((leaky - base) @ a.T) / np.maximum(q, 1e-6)[:, None]
    return out


def _fit(y0: np.ndarray, obs: np.ndarray, w: np.ndarray, e: np.ndarray, max_flow: float):
    """Weighted least-squares flow ≥ 0 of ``y ≈ flow · e`` and its misfit."""
    num = float((e * y0 * w).sum())
    den = float((e**2 * obs * w).sum())
    flow = min(max(num, 0.0) / den, max_flow) if den > 0 else 0.0
    energy = float((y0**2 * w).sum())
    return flow, energy - 2 * flow * num + flow**2 * den, energy


def refine_ranking(ranking: pd.DataFrame, shift_m: pd.DataFrame, sigma_m: pd.Series, simulate_change, regions: dict,
                   targets, n_top: int = 8, max_hours: int = 48, max_flow_lps: float = 50.0,
                   min_evidence: float = 1.5, corr_h: float = 2.0) -> pd.DataFrame:
    """Re-rank a snapshot ranking's shortlist by how well an EPS of each candidate reproduces the shift.

    Parameters
    ----------
    ranking : pandas.DataFrame
        A :meth:`SignatureLocalizer.rank` table (index junction, best first).
    shift_m : pandas.DataFrame, m
        The hourly residual shift since the estimated start (targets as columns).
    sigma_m : pandas.Series, m
        Hourly residual noise per target.
    simulate_change : callable
        ``simulate_change(junctions, start, hours)`` → dict junction → (hours, targets)
        residual change per L/s of a leak present from ``start`` (UTC)
        (:func:`dynamic_residual_change` bound to the network and the residual model).
    regions : dict of str to list of str
        Junctions of each region, its representative first.
    targets : list of str
        The residual model's targets, in the order of ``simulate_change``'s columns.
    n_top : int
        Snapshot candidates kept in the shortlist.
    max_hours : int
        Hours of the shift compared: the last ``max_hours`` (a growing leak
        is largest there; a tank zone's daily cycle has settled by then).
    min_evidence : float
        The snapshot's best candidate keeps its place unless the simulations
        fit another one better by this log-likelihood margin
        (``Δmisfit / (2 s²)``, ``s²`` the best misfit per effective
        observation, as in :func:`~kit.water.localize.posterior_weights`):
        a simulation of the nominal model is no truer than a snapshot where
        both fit about as well.
    corr_h : float, h
        Correlation time of hourly residuals (effective observations).

    Returns
    -------
    pandas.DataFrame
        ``ranking`` itself when the evidence is short of ``min_evidence``;
        else the same columns, the shortlist first, by EPS misfit, then the others
        in snapshot order with an infinite misfit (their snapshot misfits are
        not comparable); ``attrs["n_obs"]`` the residual values compared.
    """
    window = shift_m.iloc[-max_hours:]
    y = window.reindex(columns=targets).to_numpy(dtype=float)
    w = 1.0 / np.maximum(sigma_m.reindex(targets).to_numpy(dtype=float), 1e-4) ** 2
    obs = np.isfinite(y)
    y0 = np.where(obs, y, 0.0)
    hours = len(y)
    scores = {}

    def score(junctions):
        todo = [j for j in junctions if j not in scores]
        for j, e in simulate_change(todo, window.index[0], hours).items():
            scores[j] = _fit(y0, obs, w, np.nan_to_num(e[:hours]), max_flow_lps)

    reps = [members[0] for members in regions.values()]
    score(list(ranking.index[:n_top]) + reps)
    best_rep = min(reps, key=lambda j: scores[j][1])
    region = next(m for m in regions.values() if m[0] == best_rep)
    in_region = [j for j in ranking.index if j in set(region)]
    score(in_region[:n_top])
    fits = pd.DataFrame({"misfit": [scores[j][1] for j in scores]}, index=list(scores))
    fits.attrs["n_obs"] = int(obs.sum())
    weight = dict(zip(fits.index, posterior_weights(fits, corr_h)))
    if weight[ranking.index[0]] > np.exp(-min_evidence):  # the evidence against the snapshot's best is too weak
        return ranking
    refined = ranking.loc[list(scores)].copy()
    refined["leak_flow_lps"] = [scores[j][0] for j in refined.index]
    refined["misfit"] = [scores[j][1] for j in refined.index]
    refined["explained"] = [1 - s[1] / s[2] if s[2] > 0 else 0.0 for s in (scores[j] for j in refined.index)]
    refined = refined.sort_values("misfit", kind="stable")
    rest = ranking.drop(index=refined.index).assign(misfit=np.inf)
    out = pd.concat([refined, rest])
    out.attrs = {**ranking.attrs, "n_obs": int(obs.sum())}
    return out
