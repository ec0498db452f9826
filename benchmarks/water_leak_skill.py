"""Leak-detection skill over generated L-Town scenarios, beside baselines, BattLeDIM-scored.

Each scenario is a four-week record made here, not the embedded one: a
start drawn across the year (so other weekdays, seasons of the demand
pattern and Ramadan are not special-cased), a leak-free training week,
then three weeks with 1–3 leaks of 2–8 L/s (40 % incipient, growing over
2–10 days), a 1–3 h burst in half of them (not a leak), demand noise and
day-to-day variation drawn per scenario, sensor gaps and stuck sensors.
Scores are BattLeDIM's (:func:`kit.water.score.score_alarms`): an alarm is
a true positive when a leak runs and its first candidate lies within 300 m
along pipes; the economic score is the water saved from the detection to
the end (0.80 €/m³) minus 500 € per false positive and the crew's search
cost; the *perfect* score detects every leak at its start at 0 m.

Rows printed, side by side:

* **kit**: :class:`~kit.water.detect.LeakDetector` at its defaults.
* **kit, snapshots only**: the same without the extended-period
  re-ranking of each alarm's shortlist (``refine_regions=0``).
* **kit, 2026-12-01 settings**: the detector naming the best-fit
  junction first and raising every alarm at once (``report_by="misfit",
  min_score=0, drift_score=0, refine_regions=0, merge_radius_m=600,
  confirm_h=0, hold_floor=False, corr_h=2``), as it did before coverage
  reporting, the drift test, the refinement, the confirmation window, the
  300 m merge radius, the lowest held level and the day-long residual
  correlation.
* **night-flow baseline**: what a utility does without a model: an alarm
  when the minimum night flow (inlets minus tank storage, 01–05 h) exceeds
  the training nights' median by 3 of their standard deviations (at least
  1 L/s) two nights running; the candidate is the junction of the pressure
  sensor whose night pressure fell most; the night that raised it is the
  next alarm's baseline.

Measured (December 2026, the kit row, 12 scenarios each of seeds 3, 7 and 11;
before -> after ``hold_floor=True, corr_h=8``): precision 0.438/0.679/0.618
-> 0.615/0.586/0.786 (all 0.574 -> 0.663), economic share 0.509/0.632/0.675
-> 0.706/0.530/0.731 (all 0.607 -> 0.657), recall of leaks >= 2 L/s 0.973 ->
0.945, incipient recall 0.967 -> 0.967, false alarms a month 0.28 -> 0.28,
median abrupt delay 6.3 -> 6.6 h, median localization 228 -> 197 m
(``hold_floor`` alone: precision 0.636, economic share 0.630; with ``corr_h=24``
0.724 and 0.638, but a second leak within 40 h of the first was missed).
Of the 38 false positives before, 20 were second alarms raised while an
alarmed leak still ran: the leak raises some sensors' residuals and that
raise fades over days. Tried and not kept: an evidence-based merge (an open alarm's candidate fitting the new shift within 1 or 3 of log-likelihood:
precision 0.60-0.70 but recall of new leaks near old ones 0.89-0.95).
Tried after (same 36 scenarios, against the defaults' precision 0.663, economic share 0.657,
recall >= 2 L/s 0.945) and not kept: merging an alarm into an open one when the first
*reported* candidates (after coverage ordering and the refinement), not only the snapshot's best
fits, lie within ``merge_radius_m``: precision 0.716, no repeats left, but two leaks near earlier
ones merged away (recall 0.918, economic share 0.635: a repeat costs nothing in BattLeDIM's score,
a missed leak its water); waiting 12 h before describing every alarm (``confirm_share=1,
confirm_h=12``): precision 0.689, economic share 0.544, delay 18.3 h (the water lost waiting
outweighs the better localization); a generalized least-squares localizer whitening the residual
shift by the sensors' residual correlation in training (mean |r| 0.10-0.15 between sensors, the first
eigenvector 11-17 % of the variance; Ledoit-Wolf or 0.3 shrinkage towards the identity): precision
0.696-0.709, economic share 0.611-0.617, seed 3's recall 0.81 (its ``explained`` share is lower and
more alarms were taken for drift); with the drift test read from the diagonal fit, recall 0.973,
incipient recall 1.00, precision 0.679, economic share 0.619.

Then (December 2026, same 36 scenarios) ``known_candidates=3``: an alarm raised while earlier alarms'
leaks run is fitted with the signatures of each earlier alarm's first three candidates projected out of
its shift, hour by hour with free amounts (an incipient leak keeps growing after its alarm and pulled the
new fit towards itself; 11 of the 23 false positives before were such second alarms, 300-950 m off).
Precision 0.615/0.586/0.786 -> 0.615/0.633/0.821 (all 0.663 -> 0.690), economic share
0.706/0.530/0.731 -> 0.668/0.577/0.770 (all 0.657 -> 0.673), recall of leaks >= 2 L/s 0.945 -> 0.959,
incipient recall 0.967, repeats 5 -> 1, median abrupt delay 6.6 -> 7.3 h, median localization
197 -> 213 m. With only the first candidate projected: precision 0.687, economic share 0.669, recall
0.932; with the first five: 0.675, 0.634, 0.959; with the projection also inside the extended-period re-ranking: precision 0.705 but economic
share 0.636 (seed 3 0.567). Not kept either: signatures at eight hours of the day instead of four
(precision 0.659, economic share 0.668), a higher threshold (``margin=1.8``: precision 0.690,
economic share 0.656, abrupt delay 7.8 h), and other rules for the candidate named first, scored on the
same alarms (the best fit alone 0.614; coverage at correlation times of 1-32 h 0.639-0.675; the
150 or 200 m neighbourhood 0.639-0.687; the least expected distance 0.639-0.675): the posterior,
not the rule that reads it, is what misplaces the remaining alarms.

Is the posterior wrong because the nominal model is? (December 2026, same 36 scenarios.) The generator
perturbs the simulated network against the nominal one (junction demands log-normal 10 %, pipe
roughness 5 %). The leak signatures of the perturbed network differ from the nominal ones by 1 % in
median (90th percentile 4.5-4.9 %, cosine of the two signature vectors 0.9999 at its 10th percentile,
scenario seed 3 no. 0, 03:00 and 09:00), and the detector fitted on each scenario's *true* perturbed
network (signatures and the extended-period re-ranking; an oracle no utility has) scores precision
0.659, economic share 0.586, recall >= 2 L/s 0.904 against the nominal model's 0.690, 0.673 and 0.959
(reproduced in the same run). Calibrating static demands or roughness on the training week therefore
cannot be the lever: what misplaces alarms is the record's noise (grouped demand varying day to day
and within the day), not a wrong network.

Then (December 2026, same 36 scenarios) the night check (:mod:`kit.water.night_check`, ``min_night_excess_lps=0.5,
night_wait_score=0.4``): before an alarm is raised, the lowest net consumption of the latest night since its shift
began must exceed that of the same local hours a week before *and* of the night before the shift by 0.5 L/s (a
leak runs at night, a day of unusual demand does not; leaks already running are in the night before); an alarm
with no night behind it yet is raised at once when it explains 0.4 of the residual pattern, else it waits for the
night's end (its settle period counting from its first crossing). Without -> with: precision 0.615/0.633/0.821 ->
0.750/0.821/0.846 (all 0.690 -> 0.811), economic share 0.674/0.577/0.770 -> 0.638/0.692/0.753 (all 0.675 ->
0.696), recall of leaks >= 2 L/s 0.959 -> 0.973, incipient recall 0.967 -> 1.000, false alarms a month 0.28 ->
0.08, median abrupt delay 7.3 -> 6.6 h, median localization 213 -> 215 m, 84 -> 74 alarms. Steps measured on the
way: the week before alone 0.763 precision, 0.681 economic share, recall 0.945 (15 of its 18 false positives were
alarms 300-900 m from a running leak, several of them repeats of an alarmed incipient leak that had grown, whose
water the week before lacked); the nights' mean flow instead of their lowest hour moved with the demand pattern's
shift at Ramadan (-0.5 L/s for a 6 L/s leak in ``tests/water/test_estimator_checks.py``). Not kept: a 1.0 L/s
threshold (precision 0.822, economic share 0.696: one alarm, and half the smallest leak the goals name), waiting
for the night unless 0.6 is explained (with the week before alone: precision 0.784, recall 0.932).
Held out (24 scenarios of seeds 13 and 17, simulated and scored after the rule was chosen; ``--seed 13``,
``--seed 17``): without -> with the night check, precision 0.684 -> 0.796 (0.621/0.750 -> 0.680/0.917),
economic share 0.618 -> 0.630, false alarms a month 0.06 -> 0.06, abrupt delay 6.2 -> 5.8 h, localization
203 -> 194 m, but recall of leaks >= 2 L/s 0.929 -> 0.875 (seed 13 1.000 -> 0.893) and incipient recall
0.955 -> 0.864: three leaks the detector found late (delays of 166-217 h, the shift's estimated start days
after the leak's) were dropped, their water already in the night before the shift. Using that night only when
an alarm raised in the week before could explain the excess brought recall back (0.911, incipient 0.955) but
gave back precision (held out 0.745, economic share 0.616; the 36 scenarios 0.753, 0.674, recall 0.945): not kept.
Nor the week before alone with the balance flows of the alarms raised since subtracted from its excess (held out:
recall 0.911, precision 0.741, economic share 0.627; the 36: 0.945, 0.787, 0.683): a grown incipient leak's
water is more than its flow at its alarm.

Run: ``.venv/bin/python benchmarks/water_leak_skill.py [--n 12] [--seed 7]``
(about 50 s per scenario on one core; the scenarios are simulated once per run).
"""
from __future__ import annotations

import argparse
import tempfile

import numpy as np
import pandas as pd

TZ = "Africa/Casablanca"
GOALS = {"recall_ge_2lps": ">= 0.90", "false_alarms_per_month": "<= 1", "median_delay_abrupt_h": "<= 24",
         "median_localization_m": "<= 300", "precision": ">= 0.80", "incipient_recall": ">= 0.85",
         "economic_share": ">= 0.65"}
# Figures the issue reports for the kit of 2026-12-01 on 30 scenarios made independently of the kit.
REPORTED = {"recall_ge_2lps": 1.00, "false_alarms_per_month": 0.57, "median_delay_abrupt_h": 5.5,
            "median_localization_m": 178, "precision": 0.68, "incipient_recall": 0.73, "economic_share": 0.536}


def scenario_specs(network, n: int, seed: int, train_days: int = 7, test_days: int = 21) -> list[dict]:
    """Leak layouts and generator settings of ``n`` scenarios (see the module docstring)."""
    from kit.water.synthetic import LeakSpec, nominal_pressure_m

    rng = np.random.default_rng(seed)
    pressure = nominal_pressure_m(network)
    nodes = [j for j in network.junctions if pressure.get(j, 0) > 15.0]
    specs = []
    for k in range(n):
        start = pd.Timestamp("2024-03-04") + pd.Timedelta(days=int(rng.integers(0, 200)))
        start -= pd.Timedelta(days=start.day_of_week)
        test0 = start + pd.Timedelta(days=train_days)
        leaks = []
        for _ in range(int(rng.integers(1, 4))):
            t0 = (test0 + pd.Timedelta(hours=float(rng.uniform(6, test_days * 24 * 0.8)))).floor("5min")
            kind = "incipient" if rng.random() < 0.4 else "abrupt"
            peak = t0 + pd.Timedelta(days=float(rng.uniform(2, 10))) if kind == "incipient" else None
            leaks.append(LeakSpec(str(rng.choice(nodes)), t0, float(rng.uniform(2.0, 8.0)), kind, peak=peak))
        if rng.random() < 0.5:
            t0 = (test0 + pd.Timedelta(hours=float(rng.uniform(6, test_days * 24 - 12)))).floor("5min")
            leaks.append(LeakSpec(str(rng.choice(nodes)), t0, float(rng.uniform(2, 6)), "burst",
                                  end=t0 + pd.Timedelta(hours=float(rng.uniform(1, 3)))))
        specs.append(dict(leaks=leaks, start=start, days=train_days + test_days, seed=5000 + k + 100 * seed,
                          demand_noise=float(rng.uniform(0.03, 0.07)), daily_sigma=float(rng.uniform(0.02, 0.06)),
                          n_gaps=int(rng.integers(0, 3)), n_stuck=int(rng.integers(0, 2))))
    return specs


def simulate_record(network, spec: dict):
    """Truth, simulated leak flows and the SCADA record as ``read_scada`` reads the written files."""
    from kit.water.scada import read_scada
    from kit.water.synthetic import generate_scenario

    sc = generate_scenario(network, mixed_units=False, tz=TZ, **spec)
    with tempfile.TemporaryDirectory() as d:
        paths = sc.write(d)
        data = read_scada(paths["scada"], paths["sensors"], network, tz=TZ)
    return sc.truth, sc.leak_flow_lps, data


def night_flow_alarms(data, network, t0, t1) -> pd.DataFrame:
    """The night-flow baseline's alarms (``alarm_id, detected_at, candidates``)."""
    from kit.water.nightflow import minimum_night_flow, net_consumption_lps

    mnf = minimum_night_flow(net_consumption_lps(data, network), night_hours=(1, 5), tz=TZ)
    mnf.index = pd.DatetimeIndex(mnf.index)
    if mnf.index.tz is None:
        mnf.index = mnf.index.tz_localize(TZ)
    train = mnf[(mnf.index >= t0) & (mnf.index < t1)]
    limit = train.median() + max(3 * train.std(), 1.0)
    pressure = data.of_kind("pressure")
    local = pressure.index.tz_convert(TZ)
    night = pressure[(local.hour >= 1) & (local.hour < 5)]
    night_mean = night.groupby(night.index.tz_convert(TZ).date).mean()
    base = night_mean[[pd.Timestamp(d).tz_localize(TZ) < t1 for d in night_mean.index]].median()
    element = data.sensors.set_index("sensor_id")["element"]
    level, margin = train.median(), max(3 * train.std(), 1.0)
    rows, above = [], 0
    for day, q in mnf[mnf.index >= t1].items():
        above = above + 1 if q > level + margin else 0
        if above >= 2:  # two nights running: the new level is the next alarm's baseline
            drop = (night_mean.loc[day.date()] - base).idxmin()
            at = (day + pd.Timedelta(hours=6)).tz_convert("UTC")
            rows.append({"alarm_id": f"N{len(rows) + 1}", "detected_at": at, "candidates": element[drop]})
            level, above = q, 0
    return pd.DataFrame(rows, columns=["alarm_id", "detected_at", "candidates"])


def perfect_score_eur(truth, leak_flow_lps, period_start, period_end) -> float:
    """BattLeDIM score of detecting every leak of the test period at its start, at 0 m."""
    from kit.water.score import WATER_COST_EUR_PER_M3, leak_volume_m3

    t = truth.copy()
    for col in ("start", "end", "peak"):
        t[col] = pd.to_datetime(t[col], utc=True)
    leaks = t[t["is_leak"].astype(bool) & (t["start"] >= period_start)]
    return float(sum(leak_volume_m3(r, r["start"], period_end, leak_flow_lps[r["event_id"]].tz_convert("UTC"))
                     for _, r in leaks.iterrows()) * WATER_COST_EUR_PER_M3)


def skill(alarms: pd.DataFrame, leaks: pd.DataFrame, eur: float, perfect_eur: float, months: float) -> dict:
    """The figures of one method over all scenarios (tables of :func:`score_alarms`, concatenated)."""
    big = leaks[leaks["peak_flow_lps"] >= 2.0]
    incipient = leaks[leaks["type"] == "incipient"]
    abrupt = leaks[(leaks["type"] == "abrupt") & leaks["detected"]]
    n = len(alarms)
    return {
        "recall_ge_2lps": float(big["detected"].mean()),
        "false_alarms_per_month": float((~alarms["time_match"].astype(bool)).sum() / months) if n else 0.0,
        "median_delay_abrupt_h": float(abrupt["delay_h"].median()),
        "median_localization_m": float(leaks.loc[leaks["detected"], "distance_m"].median()),
        "precision": float((alarms["outcome"] == "true_positive").sum() / n) if n else float("nan"),
        "incipient_recall": float(incipient["detected"].mean()),
        "economic_share": eur / perfect_eur,
        "alarms": n, "leaks": len(leaks),
    }


def main(argv=None):
    from tqdm.auto import tqdm

    from kit.water import load_network
    from kit.water.detect import LeakDetector
    from kit.water.score import score_alarms

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=12, help="scenarios")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    net = load_network()
    methods = {
        "kit": lambda: LeakDetector(tz=TZ),
        "kit, snapshots only": lambda: LeakDetector(tz=TZ, refine_regions=0),
        "kit, 2026-12-01 settings": lambda: LeakDetector(tz=TZ, report_by="misfit", min_score=0.0, drift_score=0.0,
                                                         refine_regions=0, merge_radius_m=600.0, confirm_h=0,
                                                         hold_floor=False, corr_h=2.0),
    }
    tables = {name: ([], [], 0.0) for name in [*methods, "night-flow baseline"]}
    perfect = 0.0
    for spec in tqdm(scenario_specs(net, args.n, args.seed), desc="scenarios"):
        truth, leak_flow, data = simulate_record(net, spec)
        t0, end = data.values.index[0], data.values.index[-1]
        t1 = t0 + pd.Timedelta(days=7)
        perfect += perfect_score_eur(truth, leak_flow, t1, end)
        found = {name: make().fit(data, net, t0, t1).predict(data).alarms for name, make in methods.items()}
        found["night-flow baseline"] = night_flow_alarms(data, net, t0, t1)
        for name, alarms in found.items():
            scored, leaks, summary = score_alarms(alarms[alarms["detected_at"] >= t1], truth, net, period_start=t1,
                                                  period_end=end, leak_flow_lps=leak_flow)
            a, k, eur = tables[name]
            tables[name] = (a + [scored], k + [leaks], eur + summary["economic_score_eur"])
    months = args.n * 21 / 30.44
    rows = {name: skill(pd.concat(a, ignore_index=True), pd.concat(k, ignore_index=True), eur, perfect, months)
            for name, (a, k, eur) in tables.items()}
    table = pd.DataFrame(rows)
    table.insert(0, "goal", pd.Series(GOALS))
    table["reported 2026-12-01 (30 scenarios)"] = pd.Series(REPORTED)
    print(f"\n{args.n} scenarios (seed {args.seed}), {months:.1f} months of test data, "
          f"perfect economic score {perfect:,.0f} EUR\n")
    with pd.option_context("display.width", 200, "display.max_columns", 10):
        print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    return table


if __name__ == "__main__":
    main()
