"""Triage metrics: AUROC with a bootstrap interval, the operating point, subgroups.

All functions take 0/1 labels and a score (probability or logit; only the
order matters except for thresholds) as NumPy-compatible arrays.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from kit.errors import InputDataError, ParameterError


def _arrays(labels, scores):
    y = np.asarray(labels).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise InputDataError(f"{y.size} labels but {s.size} scores; give one score per labelled study")
    if not np.isin(y, (0, 1)).all():
        raise InputDataError("labels must be 0 or 1; drop studies without a label (-1) before evaluating")
    if not np.isfinite(s).all():
        raise InputDataError("scores contain NaN or infinite values; check the model output")
    return y.astype(np.int64), s


def auroc(labels, scores) -> float:
    """Area under the ROC curve by the Mann-Whitney U statistic (ties count one half).

    Returns NaN when only one class is present.

    Examples
    --------
    >>> auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y, s = _arrays(labels, scores)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auroc_bootstrap(labels, scores, n_boot: int = 1000, level: float = 0.95, seed: int = 0):
    """AUROC and a percentile bootstrap interval, resampling positives and negatives separately.

    Stratified resampling keeps the prevalence of the sample (the interval
    is for the discrimination of this model, not for a different case mix).

    Parameters
    ----------
    labels, scores : array (n,)
    n_boot : int
        Bootstrap replicates.
    level : float
        Interval coverage, e.g. 0.95.
    seed : int

    Returns
    -------
    (auc, low, high) : tuple of float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.zeros(200), np.ones(100)]
    >>> s = rng.normal(size=300) + 2 * y
    >>> auc, low, high = auroc_bootstrap(y, s, n_boot=300)
    >>> bool(low < auc < high), round(high - low, 2)
    (True, 0.07)
    """
    if not 0 < level < 1:
        raise ParameterError(f"level must be between 0 and 1, got {level}")
    y, s = _arrays(labels, scores)
    auc = auroc(y, s)
    pos, neg = s[y == 1], s[y == 0]
    if not len(pos) or not len(neg):
        return auc, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    # Mann-Whitney per replicate without re-ranking: draw negatives as counts over the sorted
    # negatives, then each drawn positive scores the drawn negatives below it plus half the ties.
    neg_sorted = np.sort(neg)
    lo = np.searchsorted(neg_sorted, pos, side="left")
    hi = np.searchsorted(neg_sorted, pos, side="right")
    stats = np.empty(n_boot)
    for b in range(n_boot):
        ip = rng.integers(0, len(pos), len(pos))
        counts = np.bincount(rng.integers(0, len(neg), len(neg)), minlength=len(neg))
        cum = np.r_[0, np.cumsum(counts)].astype(np.float64)
        stats[b] = (cum[lo[ip]] + 0.5 * (cum[hi[ip]] - cum[lo[ip]])).sum() / (len(pos) * len(neg))
    alpha = (1 - level) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return auc, float(low), float(high)


def threshold_at_sensitivity(labels, scores, target: float) -> float:
    """Score threshold at which the sensitivity on these (validation) data is ``target``.

    A study is called urgent when ``score >= threshold``. The threshold is the
    ``1 - target`` quantile of the positives' scores (linear interpolation),
    so that on new data from the same distribution the expected sensitivity
    is the target rather than systematically above it.

    Examples
    --------
    >>> threshold_at_sensitivity([1, 1, 1, 1, 0], [0.2, 0.4, 0.6, 0.8, 0.1], 0.75)
    0.35
    """
    if not 0 < target < 1:
        raise ParameterError(f"target_sensitivity must be between 0 and 1 (e.g. 0.9), got {target}")
    y, s = _arrays(labels, scores)
    pos = s[y == 1]
    if len(pos) == 0:
        raise InputDataError("no urgent (label 1) studies in the validation split; cannot set the operating point")
    return round(float(np.quantile(pos, 1 - target)), 12)


OPERATING_RULES = ("lower_bound", "quantile")


def threshold_at_sensitivity_bound(labels, scores, target: float, level: float = 0.95) -> float:
    """The highest threshold at which the validation sensitivity's Wilson lower bound is at least ``target``.

    :func:`threshold_at_sensitivity` meets the target only on average: on a
    test split of the same size the sensitivity falls below it about half the
    time, by the sampling error of both splits. Asking the lower end of the
    validation sensitivity's ``level`` Wilson interval to reach the target
    instead buys that margin with specificity, more of it the fewer urgent
    studies validation has. When even flagging every urgent validation study
    cannot reach it, the threshold is the lowest urgent score (all flagged).

    Examples
    --------
    >>> scores = np.r_[np.linspace(0, 1, 200), np.linspace(-1, 0.5, 200)]
    >>> labels = np.r_[np.ones(200), np.zeros(200)]
    >>> t = threshold_at_sensitivity_bound(labels, scores, 0.9)
    >>> sens = float((scores[labels == 1] >= t).mean())
    >>> round(sens, 3), wilson_interval(round(sens * 200), 200)[0] >= 0.9
    (0.945, True)
    """
    if not 0 < target < 1:
        raise ParameterError(f"target_sensitivity must be between 0 and 1 (e.g. 0.9), got {target}")
    y, s = _arrays(labels, scores)
    pos = np.sort(s[y == 1])[::-1]
    if len(pos) == 0:
        raise InputDataError("no urgent (label 1) studies in the validation split; cannot set the operating point")
    n = len(pos)
    lows = np.array([wilson_interval(k, n, level)[0] for k in range(1, n + 1)])
    ok = np.nonzero(lows >= target)[0]
    k = int(ok[0]) + 1 if len(ok) else n
    return float(pos[k - 1])  # exactly a score: rounding could unflag that study


def operating_threshold(labels, scores, target: float, rule: str = "lower_bound", level: float = 0.95) -> float:
    """Threshold at ``target`` sensitivity by ``rule``: ``"lower_bound"`` (Wilson, ``level``) or ``"quantile"``."""
    if rule == "lower_bound":
        return threshold_at_sensitivity_bound(labels, scores, target, level)
    if rule == "quantile":
        return threshold_at_sensitivity(labels, scores, target)
    raise ParameterError(f"operating_rule must be one of {', '.join(OPERATING_RULES)}, got {rule!r}")


def wilson_interval(k: int, n: int, level: float = 0.95):
    """Wilson score interval for a proportion ``k / n``.

    Examples
    --------
    >>> [round(v, 3) for v in wilson_interval(90, 100)]
    [0.826, 0.945]
    """
    from scipy.stats import norm

    if n == 0:
        return float("nan"), float("nan")
    z = norm.ppf(1 - (1 - level) / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def ppv_at_prevalence(sensitivity: float, specificity: float, prevalence: float) -> float:
    """Positive predictive value by Bayes' rule for a given prevalence.

    Examples
    --------
    >>> round(ppv_at_prevalence(0.9, 0.9, 0.1), 3)
    0.5
    """
    if not 0 < prevalence < 1:
        raise ParameterError(f"prevalence must be between 0 and 1, got {prevalence}")
    tp = sensitivity * prevalence
    fp = (1 - specificity) * (1 - prevalence)
    return float(tp / (tp + fp)) if tp + fp > 0 else float("nan")


def operating_point_metrics(labels, scores, threshold: float, prevalence: float | None = None, level: float = 0.95):
    """Sensitivity, specificity, PPV and NPV at ``score >= threshold``, with Wilson intervals.

    Parameters
    ----------
    prevalence : float, optional
        Prevalence the PPV is quoted at (default: the sample's own).

    Returns
    -------
    dict
        ``n, n_urgent, tp, fp, tn, fn, sensitivity(_low/_high), specificity(_low/_high),
        ppv, npv, prevalence, flagged_fraction``.
    """
    y, s = _arrays(labels, scores)
    flag = s >= threshold
    tp, fn = int((flag & (y == 1)).sum()), int((~flag & (y == 1)).sum())
    fp, tn = int((flag & (y == 0)).sum()), int((~flag & (y == 0)).sum())
    sens = tp / (tp + fn) if tp + fn else float("nan")
    spec = tn / (tn + fp) if tn + fp else float("nan")
    prev = float(y.mean()) if prevalence is None else float(prevalence)
    out = {"n": int(y.size), "n_urgent": int(y.sum()), "tp": tp, "fp": fp, "tn": tn, "fn": fn,
           "sensitivity": sens}
    out["sensitivity_low"], out["sensitivity_high"] = wilson_interval(tp, tp + fn, level)
    out["specificity"] = spec
    out["specificity_low"], out["specificity_high"] = wilson_interval(tn, tn + fp, level)
    ok = 0 < prev < 1 and np.isfinite(sens) and np.isfinite(spec)
    out["ppv"] = ppv_at_prevalence(sens, spec, prev) if ok else float("nan")
    npv_den = spec * (1 - prev) + (1 - sens) * prev if ok else 0
    out["npv"] = float(spec * (1 - prev) / npv_den) if npv_den else float("nan")
    out["prevalence"] = prev
    out["flagged_fraction"] = float(flag.mean())
    return out


AGE_BAND_EDGES_YEARS = (40, 60, 80)


def age_band(age_years, edges=AGE_BAND_EDGES_YEARS) -> np.ndarray:
    """Age bands (``"<40"``, ``"40-59"``, ``"60-79"``, ``"80+"`` with the default edges, years); ``""`` when unknown.

    Examples
    --------
    >>> age_band([23.0, 40.0, 79.9, 91.0, float("nan")]).tolist()
    ['<40', '40-59', '60-79', '80+', '']
    """
    age = np.asarray(age_years, dtype=np.float64)
    labels = [f"<{edges[0]}"] + [f"{a}-{b - 1}" for a, b in zip(edges[:-1], edges[1:])] + [f"{edges[-1]}+"]
    idx = np.searchsorted(np.asarray(edges, dtype=np.float64), age, side="right")
    out = np.array(labels, dtype=object)[np.clip(idx, 0, len(labels) - 1)]
    out[~np.isfinite(age)] = ""
    return out.astype(str)


def subgroup_metrics(table: pd.DataFrame, labels, scores, threshold: float, by=("site", "scanner", "sex"),
                     min_n: int = 1, min_cell: int = 0) -> pd.DataFrame:
    """AUROC, sensitivity and specificity per value of each column in ``by``.

    Parameters
    ----------
    table : DataFrame
        Row-aligned with ``labels`` and ``scores`` (e.g. the ingest table's
        test rows: site, scanner, sex and age come from the original headers,
        read in memory before de-identification).
    by : sequence of str
        Columns to split on.
    min_n : int
        Groups smaller than this are left out.
    min_cell : int
        Minimum cell size of the report (0: none). A count of studies below it
        (the group, its urgent or its non-urgent studies) is shown as
        ``"<min_cell"`` and the metrics computed from it are left blank, so no
        small group of patients can be singled out; ``n`` and ``n_urgent``
        are then text.

    Returns
    -------
    DataFrame
        ``attribute, group, n, n_urgent, auroc, sensitivity, sensitivity_low,
        sensitivity_high, specificity, specificity_low, specificity_high``.
    """
    y, s = _arrays(labels, scores)
    if len(table) != len(y):
        raise InputDataError(f"subgroup table has {len(table)} rows but there are {len(y)} scores; align them")
    rows = []
    for col in by:
        if col not in table.columns:
            raise InputDataError(f"subgroup column {col!r} is not in the table; choose from {', '.join(table.columns)}")
        values = table[col].astype(str).replace("", "(blank)").to_numpy()
        for group in sorted(set(values)):
            m = values == group
            if m.sum() < min_n:
                continue
            op = operating_point_metrics(y[m], s[m], threshold)
            rows.append({"attribute": col, "group": group, "n": int(m.sum()), "n_urgent": int(y[m].sum()),
                         "auroc": auroc(y[m], s[m]),
                         **{k: op[k] for k in ("sensitivity", "sensitivity_low", "sensitivity_high",
                                               "specificity", "specificity_low", "specificity_high")}})
    out = pd.DataFrame(rows)
    return _suppress_small_cells(out, min_cell) if min_cell > 0 and len(out) else out


def _suppress_small_cells(sub: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Counts below ``min_cell`` as ``"<min_cell"``, and the metrics that would reveal them blanked."""
    out = sub.copy()
    small_n = out.n < min_cell
    small_pos = small_n | (out.n_urgent < min_cell)
    small_neg = small_n | ((out.n - out.n_urgent) < min_cell)
    out.loc[small_pos, ["sensitivity", "sensitivity_low", "sensitivity_high"]] = np.nan
    out.loc[small_neg, ["specificity", "specificity_low", "specificity_high"]] = np.nan
    out.loc[small_pos | small_neg, "auroc"] = np.nan
    hidden = f"<{min_cell}"
    out["n"] = [hidden if s else str(int(v)) for s, v in zip(small_n, sub.n)]
    out["n_urgent"] = [hidden if s else str(int(v)) for s, v in zip(small_pos, sub.n_urgent)]
    return out


def roc_curve_points(labels, scores):
    """False- and true-positive rates at every distinct threshold (for plotting), from (0, 0) to (1, 1)."""
    y, s = _arrays(labels, scores)
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last = np.r_[np.nonzero(np.diff(s))[0], y.size - 1]
    tps = np.cumsum(y)[last]
    fps = (last + 1) - tps
    tpr = np.r_[0, tps / max(y.sum(), 1)]
    fpr = np.r_[0, fps / max((1 - y).sum(), 1)]
    return fpr, tpr
