"""A prioritized reading worklist, and a shift simulation of what it changes.

Value of triage is measured as time to read: how long an urgent study waits
between arriving on the worklist and a radiologist opening it. The
simulation replays the same shifts (same arrivals, same read times) under two
policies:

- ``"fifo"``: first in, first out;
- ``"ai"``: studies the model flags (``score >= threshold``) first, in arrival
  order, then the rest; with an **aging cap**: a study that has waited
  ``aging_cap_min`` minutes goes ahead of everything not older than it, so
  the urgent studies the model missed are not buried under a stream of flagged
  ones. Without the cap, AI priority raised the maximum pneumothorax
  turnaround from 890 to 1293 min in Baltruschat et al. 2021 (while cutting the
  mean from 80 to 36 min); Annarumma et al. 2019 cut critical-finding delays
  from 11.2 to 2.7 days.

Arrivals are a Poisson process over the shift at the rate that keeps the
readers busy ``utilization`` of the time; read times are log-normal. Reading
goes on after the last arrival until the list is empty.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kit.errors import InputDataError, ParameterError

POLICIES = ("fifo", "ai")
WORKLIST_COLUMNS = ["study_id", "p_urgent", "priority", "rank"]


def triage_worklist(study_ids, p_urgent, threshold: float, score=None) -> pd.DataFrame:
    """The worklist to read in order: ``study_id, p_urgent, priority, rank``.

    Parameters
    ----------
    study_ids : sequence of str
        De-identified Study Instance UIDs (never the original ones).
    p_urgent : array, probability
        Calibrated probability of an urgent finding.
    threshold : float
        Operating point on the scale of ``score`` (of ``p_urgent`` when no
        score is given); ``priority`` is ``"urgent"`` at or above it, else ``"routine"``.
    score : array, optional
        Ranking score (default ``p_urgent``); pass logits so that near-certain
        probabilities that round to 1.0 still rank and threshold apart.

    Examples
    --------
    >>> triage_worklist(["a", "b", "c"], [0.2, 0.97, 0.6], 0.5).to_dict("list")
    {'study_id': ['b', 'c', 'a'], 'p_urgent': [0.97, 0.6, 0.2], 'priority': ['urgent', 'urgent', 'routine'], 'rank': [1, 2, 3]}
    """
    p = np.asarray(p_urgent, dtype=np.float64)
    s = p if score is None else np.asarray(score, dtype=np.float64)
    ids = np.asarray(study_ids, dtype=object)
    if not (len(ids) == len(p) == len(s)):
        raise InputDataError(f"{len(ids)} study ids but {len(p)} probabilities; give one per study")
    order = np.lexsort((ids.astype(str), -s))  # ties broken by id, so the list is reproducible
    return pd.DataFrame({
        "study_id": ids[order].astype(str),
        "p_urgent": p[order],
        "priority": np.where(s[order] >= threshold, "urgent", "routine"),
        "rank": np.arange(1, len(ids) + 1),
    })


def read_order(arrival_min, read_min, flagged, policy: str = "fifo", readers: int = 1,
               aging_cap_min: float | None = 30.0) -> np.ndarray:
    """Start time (minutes) of each study's read under ``policy``.

    Parameters
    ----------
    arrival_min : array (n,), minutes
        Arrival times on the worklist.
    read_min : array (n,), minutes
        Reading time of each study.
    flagged : array (n,) of bool
        Studies the model calls urgent (used by ``"ai"`` only).
    policy : {"fifo", "ai"}
    readers : int
        Radiologists reading in parallel.
    aging_cap_min : float or None, minutes
        Under ``"ai"``, a study waiting this long goes ahead of flagged studies
        (oldest first). ``None`` disables the cap.

    Returns
    -------
    ndarray (n,), minutes

    Examples
    --------
    >>> arrival = [0.0, 1.0, 2.0]; read = [5.0, 5.0, 5.0]
    >>> read_order(arrival, read, [False, False, True], "fifo").tolist()
    [0.0, 5.0, 10.0]
    >>> read_order(arrival, read, [False, False, True], "ai").tolist()
    [0.0, 10.0, 5.0]
    """
    if policy not in POLICIES:
        raise ParameterError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    if readers < 1:
        raise ParameterError(f"readers must be >= 1, got {readers}")
    arrival = np.asarray(arrival_min, dtype=np.float64)
    read = np.asarray(read_min, dtype=np.float64)
    flag = np.asarray(flagged, dtype=bool)
    n = len(arrival)
    order = np.argsort(arrival, kind="stable")
    start = np.full(n, np.nan)
    free = [0.0] * readers  # when each reader is next free
    heapq.heapify(free)
    fifo: list = []  # (arrival, idx) of every waiting study
    urgent: list = []  # (arrival, idx) of waiting flagged studies
    done = np.zeros(n, dtype=bool)
    nxt = 0
    for _ in range(n):
        t = heapq.heappop(free)
        if nxt < n and not _pending(fifo, done) and arrival[order[nxt]] > t:
            t = arrival[order[nxt]]  # idle reader waits for the next arrival
        while nxt < n and arrival[order[nxt]] <= t:
            i = int(order[nxt])
            heapq.heappush(fifo, (arrival[i], i))
            if flag[i]:
                heapq.heappush(urgent, (arrival[i], i))
            nxt += 1
        i = _pick(fifo, urgent, done, t, policy, aging_cap_min)
        start[i] = t
        done[i] = True
        heapq.heappush(free, t + read[i])
    return start


def _pending(heap, done) -> bool:
    while heap and done[heap[0][1]]:
        heapq.heappop(heap)
    return bool(heap)


def _pick(fifo, urgent, done, t, policy, cap) -> int:
    _pending(fifo, done)
    if policy == "ai":
        oldest_arrival, oldest = fifo[0]
        if cap is not None and t - oldest_arrival >= cap:
            return oldest
        if _pending(urgent, done):
            return urgent[0][1]
    return fifo[0][1]


@dataclass
class ShiftSimulation:
    """Per-study waits of simulated shifts under both policies.

    Attributes
    ----------
    studies : DataFrame
        ``shift, study, arrival_min, read_min, urgent, flagged, score,
        wait_fifo_min, wait_ai_min``.
    summary : DataFrame
        Wait statistics (minutes) by policy and group (urgent, urgent missed
        by the model, routine, all): ``mean, median, p95, max, n``.
    """

    studies: pd.DataFrame
    summary: pd.DataFrame

    def metric(self, stat: str, policy: str, group: str = "urgent") -> float:
        """One figure, e.g. ``metric("median", "ai")``."""
        row = self.summary[(self.summary.policy == policy) & (self.summary.group == group)]
        return float(row[stat].iloc[0]) if len(row) else float("nan")


def _stats(w):
    w = np.asarray(w, dtype=np.float64)
    if not len(w):
        return {"n": 0, "mean": np.nan, "median": np.nan, "p95": np.nan, "max": np.nan}
    return {"n": len(w), "mean": w.mean(), "median": np.median(w), "p95": np.quantile(w, 0.95), "max": w.max()}


def simulate_shifts(scores, urgent, threshold: float, *, n_shifts: int = 40, shift_h: float = 8.0,
                    readers: int = 2, read_min: float = 4.0, read_cv: float = 0.6, utilization: float = 0.92,
                    aging_cap_min: float | None = 30.0, seed: int = 0) -> ShiftSimulation:
    """Replay ``n_shifts`` shifts of studies drawn from scored, labelled studies under FIFO and AI priority.

    Parameters
    ----------
    scores : array (n,)
        Model score of each available study (probability or logit).
    urgent : array (n,) of 0/1
        Ground truth (1 = urgent finding).
    threshold : float
        Studies with ``score >= threshold`` are flagged.
    n_shifts : int
        Independent shifts simulated (statistics pool them).
    shift_h : float, hours
        Time over which studies arrive.
    readers : int
        Radiologists reading in parallel.
    read_min : float, minutes
        Mean reading time per study.
    read_cv : float
        Coefficient of variation of the (log-normal) reading time.
    utilization : float
        Fraction of reader time the arrivals demand (< 1 for a stable list; near 1
        the list backs up during the shift, as in a busy department).
    aging_cap_min : float or None, minutes
        Waiting time after which any study goes first under AI priority.
    seed : int

    Returns
    -------
    ShiftSimulation

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random(500) < 0.3
    >>> s = rng.normal(size=500) + 3 * y
    >>> sim = simulate_shifts(s, y, threshold=1.5, n_shifts=5)
    >>> sim.metric("median", "ai") < sim.metric("median", "fifo")
    True
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(urgent).astype(bool)
    if len(s) != len(y) or not len(s):
        raise InputDataError(f"{len(s)} scores but {len(y)} labels; give one score and one label per study")
    if not 0 < utilization < 1.5:
        raise ParameterError(f"utilization must be between 0 and 1.5, got {utilization}")
    if read_min <= 0 or shift_h <= 0 or n_shifts < 1:
        raise ParameterError("read_min, shift_h and n_shifts must be positive")
    rng = np.random.default_rng(seed)
    rate_per_min = utilization * readers / read_min
    sigma = np.sqrt(np.log1p(read_cv ** 2))
    mu = np.log(read_min) - sigma ** 2 / 2
    frames = []
    for shift in range(n_shifts):
        n = rng.poisson(rate_per_min * shift_h * 60)
        arrival = np.sort(rng.uniform(0, shift_h * 60, n))
        pick = rng.integers(0, len(s), n)
        read = rng.lognormal(mu, sigma, n)
        flag = s[pick] >= threshold
        frame = pd.DataFrame({"shift": shift, "study": pick, "arrival_min": arrival, "read_min": read,
                              "urgent": y[pick], "flagged": flag, "score": s[pick]})
        for policy in POLICIES:
            start = read_order(arrival, read, flag, policy, readers, aging_cap_min)
            frame[f"wait_{policy}_min"] = start - arrival
        frames.append(frame)
    studies = pd.concat(frames, ignore_index=True)
    groups = {
        "urgent": studies.urgent,
        "urgent_missed": studies.urgent & ~studies.flagged,
        "routine": ~studies.urgent,
        "all": pd.Series(True, index=studies.index),
    }
    rows = [{"policy": policy, "group": g, **_stats(studies.loc[m, f"wait_{policy}_min"])}
            for policy in POLICIES for g, m in groups.items()]
    return ShiftSimulation(studies=studies, summary=pd.DataFrame(rows))
