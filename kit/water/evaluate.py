"""Skill of the detector over many simulated scenarios: detection rate, false alarms, delay, localisation.

Each scenario is a fresh L-Town record from :func:`generate_scenario`
(perturbed demands and roughness against the nominal model the detector
sees): a leak-free training week, then a test period with 0–2 leaks of
2–8 L/s (abrupt or incipient) starting after training, some with a short
non-leak burst, sensor gaps and a stuck sensor. The detector is fitted on
the training week and scored with :func:`kit.water.score.score_alarms`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.water.synthetic import LeakSpec, generate_scenario, nominal_pressure_m

__all__ = ["skill_specs", "run_skill", "summarize"]


def skill_specs(network, n: int = 20, *, seed: int = 0, train_days: float = 7, test_days: float = 7):
    """Leak layouts of ``n`` scenarios: every 5th without a leak, every 3rd with a burst, faults on odd ones."""
    rng = np.random.default_rng(seed)
    pressure = nominal_pressure_m(network)
    nodes = [j for j in network.junctions if pressure.get(j, 0) > 15.0]
    start = pd.Timestamp("2024-02-05")  # a Monday
    out = []
    for k in range(n):
        specs = []
        n_leaks = 0 if k % 5 == 0 else (1 if k % 2 else 2)
        t = start + pd.Timedelta(days=train_days)
        for i in range(n_leaks):
            t0 = t + pd.Timedelta(hours=float(rng.uniform(6, 0.5 * test_days * 24 if i == 0 else 0.8 * test_days * 24)))
            t0 = t0.floor("5min")
            kind = "incipient" if rng.random() < 0.3 else "abrupt"
            peak = t0 + pd.Timedelta(days=float(rng.uniform(1, 3))) if kind == "incipient" else None
            specs.append(LeakSpec(str(rng.choice(nodes)), t0, float(rng.uniform(2.0, 8.0)), kind, peak=peak))
        if k % 3 == 1:
            t0 = (t + pd.Timedelta(hours=float(rng.uniform(6, test_days * 24 - 12)))).floor("5min")
            specs.append(LeakSpec(str(rng.choice(nodes)), t0, float(rng.uniform(2.0, 6.0)), "burst",
                                  end=t0 + pd.Timedelta(hours=float(rng.uniform(1, 3)))))
        faults = dict(n_gaps=2, n_stuck=1) if k % 2 else {}
        out.append(dict(leaks=specs, start=start, days=train_days + test_days, seed=1000 + k, **faults))
    return out


def run_skill(network, n: int = 20, *, seed: int = 0, train_days: float = 7, test_days: float = 7,
              detector_kw: dict | None = None, progress: bool = False):
    """Simulate, detect and score ``n`` scenarios.

    Returns
    -------
    leaks : pandas.DataFrame
        One row per leak (``scenario`` plus :func:`score_alarms`' leak table).
    alarms : pandas.DataFrame
        One row per alarm with its outcome.
    months : float
        Months of test data scored.
    """
    from kit.water.detect import LeakDetector
    from kit.water.score import score_alarms

    specs = skill_specs(network, n, seed=seed, train_days=train_days, test_days=test_days)
    leaks, alarms = [], []
    it = specs
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(specs, desc="scenarios")
    for k, spec in enumerate(it):
        sc = generate_scenario(network, mixed_units=False, tz="UTC", **spec)
        data = _as_scada(sc)
        t0 = data.values.index[0]
        t1 = t0 + pd.Timedelta(days=train_days)
        det = LeakDetector(**(detector_kw or {})).fit(data, network, t0, t1)
        res = det.predict(data)
        test = res.alarms[res.alarms["detected_at"] >= t1]
        scored, leak_table, _ = score_alarms(test, sc.truth, network, period_start=t1,
                                             period_end=data.values.index[-1], leak_flow_lps=sc.leak_flow_lps)
        leaks.append(leak_table.assign(scenario=k))
        alarms.append(scored.assign(scenario=k))
    return pd.concat(leaks, ignore_index=True), pd.concat(alarms, ignore_index=True), n * test_days / 30.44


def _as_scada(sc):
    """The scenario's SCADA table as read_scada would give it, without a file round trip."""
    import tempfile

    from kit.water.scada import read_scada

    with tempfile.TemporaryDirectory() as d:
        paths = sc.write(d)
        return read_scada(paths["scada"], paths["sensors"])


def summarize(leaks: pd.DataFrame, alarms: pd.DataFrame, months: float) -> dict:
    """Skill figures of :func:`run_skill`'s tables.

    Returns
    -------
    dict
        ``detected_fraction_ge_2lps`` (share of leaks peaking at 2 L/s or more
        that were detected), ``false_alarms`` (alarms outside every leak's
        active period) and ``false_alarms_per_month``, the median detection
        delays of abrupt and incipient leaks (h), the median distance along
        pipes from the first alarm's best candidate to the leak (m), the BattLeDIM true and false
        positives and economic score (EUR), ``leaks`` and ``months``.
    """
    big = leaks[leaks["peak_flow_lps"] >= 2.0]
    abrupt = leaks[(leaks["type"] == "abrupt") & leaks["detected"]]
    found = leaks[leaks["detected"]]
    fa = int((~alarms["time_match"].astype(bool)).sum()) if len(alarms) else 0
    return {
        "leaks": int(len(leaks)),
        "detected_fraction_ge_2lps": float(big["detected"].mean()) if len(big) else float("nan"),
        "false_alarms": fa,
        "false_alarms_per_month": fa / months,
        "battledim_false_positives": int((alarms["outcome"] == "false_positive").sum()) if len(alarms) else 0,
        "median_delay_abrupt_h": float(abrupt["delay_h"].median()) if len(abrupt) else float("nan"),
        "median_delay_incipient_h": float(leaks.loc[(leaks.type == "incipient") & leaks.detected, "delay_h"].median()),
        "median_localization_m": float(found["distance_m"].median()) if len(found) else float("nan"),
        "battledim_true_positives": int(leaks["battledim_tp"].sum()),
        "economic_score_eur": float(alarms["score_eur"].sum()) if len(alarms) else 0.0,
        "months": months,
    }
