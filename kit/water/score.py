"""Scoring alarms against the truth, in the style of BattLeDIM 2020.

BattLeDIM's scoring (Vrachimis et al. 2022; KIOS-Research/BattLeDIM,
``Scoring Algorithm``) takes detections in time order. A detection made
while a leak runs and within ``xmax`` = 300 m along pipes of it is a true
positive and earns the water it saves from the detection to the end of the
evaluation (0.80 €/m³) minus the crew's search cost, ``500 € × x / xmax``;
a second detection of an already found leak scores 0; any other detection is
a false positive and costs the crew's 500 €. BattLeDIM measured distances
between pipe centres; here alarms name junctions, so ``x`` is the distance
along pipes between the best candidate and the leak junction.

For the kit's skill figures a leak counts as *detected* when an alarm falls
inside its active period, wherever the candidates are; localization error is
reported separately. Bursts (``is_leak`` False) are never leaks: an alarm
during one is a false alarm.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["score_alarms", "leak_volume_m3"]

WATER_COST_EUR_PER_M3 = 0.80
CREW_COST_EUR = 500.0
XMAX_M = 300.0


def leak_volume_m3(row, t_from, t_to, leak_flow_lps: pd.Series | None = None) -> float:
    """Water a leak loses between ``t_from`` and ``t_to``, m³.

    From the simulated leak flow when given, else from the truth row (abrupt:
    ``mean_flow_lps``; incipient: linear growth to ``peak_flow_lps`` at ``peak``).

    Examples
    --------
    >>> row = pd.Series({"type": "abrupt", "start": pd.Timestamp("2024-01-01", tz="UTC"), "end": pd.NaT,
    ...                  "peak": pd.NaT, "mean_flow_lps": 2.0, "peak_flow_lps": 2.0})
    >>> leak_volume_m3(row, pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-02", tz="UTC"))
    172.8
    """
    end = row["end"] if pd.notna(row["end"]) else t_to
    t_from, t_to = max(t_from, row["start"]), min(t_to, end)
    if t_to <= t_from:
        return 0.0
    if leak_flow_lps is not None:
        q = leak_flow_lps[(leak_flow_lps.index >= t_from) & (leak_flow_lps.index < t_to)]
        if len(q) > 1:
            step = (q.index[1] - q.index[0]).total_seconds()
            return float(q.sum() * step / 1000.0)
    if row["type"] == "incipient" and pd.notna(row["peak"]) and row["peak"] > row["start"]:
        grid = pd.date_range(t_from, t_to, periods=200)
        frac = np.clip((grid - row["start"]) / (row["peak"] - row["start"]), 0, 1)
        q = float(row["peak_flow_lps"]) * np.asarray(frac, dtype=float)
        return float(np.trapezoid(q, dx=(t_to - t_from).total_seconds() / 199) / 1000.0)
    return float(row["mean_flow_lps"]) * (t_to - t_from).total_seconds() / 1000.0


def score_alarms(alarms: pd.DataFrame, truth: pd.DataFrame, network, *, period_end=None, period_start=None,
                 leak_flow_lps: pd.DataFrame | None = None, xmax_m: float = XMAX_M,
                 water_cost_eur_per_m3: float = WATER_COST_EUR_PER_M3, crew_cost_eur: float = CREW_COST_EUR):
    """Match alarms to leaks and score them.

    Parameters
    ----------
    alarms : pandas.DataFrame
        ``alarm_id, detected_at, candidates`` (best first, ';'-separated).
    truth : pandas.DataFrame
        ``event_id, node, type, is_leak, start, end, peak, peak_flow_lps, mean_flow_lps``.
    network : WaterNetwork
        For distances along pipes.
    period_end : Timestamp
        End of the evaluated record (water saved runs to it; open leaks end there).
    period_start : Timestamp, optional
        Start of the evaluated period: leaks that started before it (in
        training) are not counted as missed.
    leak_flow_lps : pandas.DataFrame, optional
        Simulated leak flow per event id (exact saved volumes).

    Returns
    -------
    alarms : pandas.DataFrame
        Input plus ``event_id`` (matched leak or empty), ``outcome``
        (``true_positive``, ``repeat``, ``false_positive``), ``time_match``
        (inside a leak's active period), ``distance_m``, ``score_eur``.
    leaks : pandas.DataFrame
        Per leak: ``detected`` (an alarm while it ran), ``detected_at``,
        ``delay_h``, ``distance_m`` (best candidate of the first alarm),
        ``battledim_tp``.
    summary : dict
        Counts, rates and the economic score (€).

    Examples
    --------
    >>> from kit.water import load_network
    >>> t = pd.Timestamp("2024-01-10", tz="UTC")
    >>> truth = pd.DataFrame({"event_id": ["E1"], "node": ["n343"], "type": ["abrupt"], "is_leak": [True],
    ...     "start": [t], "peak": [t], "end": [pd.NaT], "peak_flow_lps": [3.0], "mean_flow_lps": [3.0]})
    >>> alarms = pd.DataFrame({"alarm_id": ["A1", "A2"], "detected_at": [t + pd.Timedelta("6h"), t - pd.Timedelta("2D")],
    ...     "candidates": ["n343;n342", "n1"]})
    >>> _, leaks, s = score_alarms(alarms, truth, load_network(), period_end=t + pd.Timedelta("10D"))
    >>> s["true_positives"], s["false_positives"], leaks.delay_h.tolist()
    (1, 1, [6.0])
    """
    truth = truth.copy()
    for col in ("start", "end", "peak"):
        truth[col] = pd.to_datetime(truth[col], utc=True)
    period_end = pd.Timestamp(period_end).tz_convert("UTC") if period_end is not None else None
    leaks = _leaks_to_score(truth, period_start)
    dist = network.distances_m()
    alarms = alarms.copy().sort_values("detected_at", kind="stable").reset_index(drop=True)
    alarms["detected_at"] = pd.to_datetime(alarms["detected_at"], utc=True)
    found: set = set()
    costs = dict(xmax_m=xmax_m, water_cost_eur_per_m3=water_cost_eur_per_m3, crew_cost_eur=crew_cost_eur)
    out = [_score_alarm(a, leaks, dist, found, leak_flow_lps, period_end, **costs)
           for a in alarms.itertuples(index=False)]
    scored = pd.concat([alarms, pd.DataFrame(out, index=alarms.index)], axis=1) if len(alarms) else \
        alarms.assign(event_id=[], outcome=[], time_match=[], distance_m=[], score_eur=[])
    leak_table = _leak_outcomes(leaks, alarms, dist, found)
    return scored, leak_table, _summary(scored, leak_table)


def _leaks_to_score(truth: pd.DataFrame, period_start) -> pd.DataFrame:
    """The truth's leaks (bursts dropped); those started before ``period_start`` dropped too."""
    period_start = pd.Timestamp(period_start).tz_convert("UTC") if period_start is not None else None
    leaks = truth[truth["is_leak"].astype(str).str.lower().isin(["true", "1"])].copy()
    if period_start is not None:
        leaks = leaks[leaks["start"] >= period_start]
    return leaks


def _score_alarm(a, leaks, dist, found: set, leak_flow_lps, period_end, *, xmax_m, water_cost_eur_per_m3,
                 crew_cost_eur) -> dict:
    """BattLeDIM's outcome and score of one alarm, in time order (``found`` collects the leaks found so far)."""
    best = str(a.candidates).split(";")[0] if isinstance(a.candidates, str) and a.candidates else None
    t = a.detected_at
    active = leaks[(leaks["start"] <= t) & (leaks["end"].isna() | (t <= leaks["end"]))]
    rec = {"event_id": "", "outcome": "false_positive", "time_match": len(active) > 0, "distance_m": np.nan,
           "score_eur": -crew_cost_eur}
    if not len(active):
        return rec
    d = np.array([dist.loc[best, n] if best in dist.index else np.inf for n in active["node"]])
    rec["distance_m"] = float(d.min())
    within = active[d <= xmax_m]
    dw = d[d <= xmax_m]
    new = [i for i, e in enumerate(within["event_id"]) if e not in found]
    if len(within) and not new:
        rec.update(outcome="repeat", score_eur=0.0, event_id=within["event_id"].iloc[int(np.argmin(dw))])
    elif new:
        i = min(new, key=lambda k: dw[k])
        leak = within.iloc[i]
        found.add(leak["event_id"])
        q = None if leak_flow_lps is None else leak_flow_lps.get(leak["event_id"])
        if q is not None:
            q = q.tz_convert("UTC")
        end = period_end if period_end is not None else t
        saved = leak_volume_m3(leak, t, end, q) * water_cost_eur_per_m3
        rec.update(outcome="true_positive", event_id=leak["event_id"], distance_m=float(dw[i]),
                   score_eur=saved - crew_cost_eur * float(dw[i]) / xmax_m)
    return rec


def _leak_outcomes(leaks: pd.DataFrame, alarms: pd.DataFrame, dist, found: set) -> pd.DataFrame:
    """Per leak: the first alarm while it ran, its delay and the best candidate's distance."""
    rows = []
    for leak in leaks.itertuples(index=False):
        during = alarms[(alarms["detected_at"] >= leak.start)
                        & (pd.isna(leak.end) | (alarms["detected_at"] <= leak.end))]
        first = during.iloc[0] if len(during) else None
        best = str(first["candidates"]).split(";")[0] if first is not None else None
        rows.append({
            "event_id": leak.event_id, "node": leak.node, "type": leak.type, "peak_flow_lps": leak.peak_flow_lps,
            "detected": first is not None,
            "detected_at": first["detected_at"] if first is not None else pd.NaT,
            "delay_h": (first["detected_at"] - leak.start).total_seconds() / 3600 if first is not None else np.nan,
            "distance_m": float(dist.loc[best, leak.node]) if best in dist.index else np.nan,
            "battledim_tp": leak.event_id in found,
        })
    return pd.DataFrame(rows, columns=["event_id", "node", "type", "peak_flow_lps", "detected", "detected_at",
                                       "delay_h", "distance_m", "battledim_tp"])


def _summary(scored: pd.DataFrame, leak_table: pd.DataFrame) -> dict:
    time_fp = int((~scored["time_match"].astype(bool)).sum()) if len(scored) else 0
    return {
        "n_alarms": int(len(scored)),
        "n_leaks": int(len(leak_table)),
        "leaks_detected": int(leak_table["detected"].sum()),
        "true_positives": int((scored["outcome"] == "true_positive").sum()) if len(scored) else 0,
        "false_positives": int((scored["outcome"] == "false_positive").sum()) if len(scored) else 0,
        "false_alarms": time_fp,
        "median_delay_h": float(leak_table["delay_h"].median()) if leak_table["detected"].any() else np.nan,
        "median_localization_m": float(leak_table["distance_m"].median()) if leak_table["detected"].any() else np.nan,
        "economic_score_eur": float(scored["score_eur"].sum()) if len(scored) else 0.0,
    }
