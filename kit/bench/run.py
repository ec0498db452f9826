"""``kit bench``: every deployed model of some run folders, through LoadGen, into one results table.

For each model, thread count and runtime (Torch eager fp32, ONNX Runtime fp32
and int8 per execution provider): LoadGen's accuracy mode on the fixed
sample (the task metric, and its change against Torch fp32 with MLPerf's
pass mark of 99 % of the reference), then each scenario ``repeats`` times,
with energy and cost per inference beside the figures. Outputs in ``out``:
LoadGen's logs under ``logs/<model>/<runtime>-<precision>-<provider>-t<threads>/<scenario>/rep<N>/``,
``results.csv`` (:data:`kit.bench.tables.COLUMNS`), ``system.json`` and ``report.html``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit import loadgen
from kit.bench import scenarios
from kit.bench.models import DEFAULT_BOUND_MS, load_run
from kit.bench.runtimes import available_providers, build_runtimes
from kit.bench.tables import COLUMNS
from kit.errors import ParameterError

__all__ = ["BenchOptions", "run_bench"]

#: MLPerf Inference's accuracy target for most models: 99 % of the fp32 reference.
ACCURACY_TARGET = 0.99
#: Largest batch the Server and Offline worker forms.
MAX_BATCH = 16


@dataclass
class BenchOptions:
    """What to measure; the defaults finish the demo's three models in a few minutes on 2 cores.

    Attributes
    ----------
    scenarios : tuple of str
        MultiStream runs only for models that take camera streams (the detector).
    threads : tuple of int
    providers : list of str or None
        None: every execution provider ONNX Runtime has here.
    repeats : int
    duration_s : float, s
        LoadGen's minimum duration of each measured test.
    search_s : float, s
        Duration of each Server search step.
    search_steps : int
    price_per_hour : float or None
        Machine price, currency units per hour, for the cost per million inferences.
    bound_ms : dict
        Server p99 bound per model name or task, ms (defaults :data:`kit.bench.models.DEFAULT_BOUND_MS`).
    """

    scenarios: tuple = loadgen.SCENARIOS
    threads: tuple = (1,)
    providers: list | None = None
    repeats: int = 1
    duration_s: float = 1.0
    search_s: float = 0.5
    search_steps: int = 5
    price_per_hour: float | None = None
    bound_ms: dict = field(default_factory=dict)

    def check(self):
        bad = [s for s in self.scenarios if s not in loadgen.SCENARIOS]
        if bad:
            raise ParameterError(f"unknown scenario(s) {', '.join(bad)}; choose from {', '.join(loadgen.SCENARIOS)}")
        if self.repeats < 1 or self.duration_s <= 0 or self.search_s <= 0 or not self.threads:
            raise ParameterError("repeats must be >= 1, durations > 0 s and at least one thread count given")
        if self.price_per_hour is not None and self.price_per_hour < 0:
            raise ParameterError(f"price per hour must be >= 0, got {self.price_per_hour}")


def _row(rt, model, scenario, metric, unit, value, repeat=0, valid="", why=""):
    return {"model": model.name, "runtime": rt.runtime, "precision": rt.precision, "provider": rt.provider,
            "threads": rt.threads, "scenario": scenario, "metric": metric, "unit": unit,
            "value": float(value) if value is not None else math.nan, "repeat": repeat, "valid": valid, "why": why}


def _warm_up(fn, inputs, max_batch: int) -> tuple[float, float]:
    """``(batch-1 latency s, batched samples/s)``: medians of a few calls after a warm-up (size LoadGen's tests)."""
    fn(inputs[:1])
    one, batched = [], []
    batch = inputs[:max_batch]
    for i in range(5):
        t = time.perf_counter()
        fn(inputs[i % len(inputs)][None])
        one.append(time.perf_counter() - t)
    for _ in range(3):
        t = time.perf_counter()
        fn(batch)
        batched.append(time.perf_counter() - t)
    return float(np.median(one)), len(batch) / float(np.median(batched))


def _log_dir(out, model, rt, scenario, repeat=None) -> Path:
    d = Path(out) / "logs" / model.name / f"{rt.runtime}-{rt.precision}-{rt.provider}-t{rt.threads}" / scenario
    return d / f"rep{repeat}" if repeat is not None else d


def _accuracy(model, rt, out) -> list:
    if model.accuracy_missing():
        return [_row(rt, model, "Accuracy", model.metric, "score", None, valid="no", why=model.accuracy_missing())]
    detail = loadgen.run_test(rt.fn, model.inputs, "Offline", _log_dir(out, model, rt, "Accuracy"), accuracy=True,
                              postprocess=model.postprocess, settings={"offline_expected_qps": 1.0})
    value = model.score(detail["outputs"])
    return [_row(rt, model, "Accuracy", model.metric, "score", value)]


def _server(model, rt, out, opts, speed, repeat) -> tuple:
    bound = float(opts.bound_ms.get(model.name, opts.bound_ms.get(model.task, DEFAULT_BOUND_MS[model.task])))
    search_dir = _log_dir(out, model, rt, "Server") / "search"

    def short(qps):
        s = scenarios.test_settings("Server", opts.search_s, expected_latency_s=speed[0], target_qps=qps, bound_ms=bound)
        return loadgen.run_test(rt.fn, model.inputs, "Server", search_dir, settings=s, max_batch=MAX_BATCH)

    qps, trace = scenarios.server_search(short, bound, 0.5 / speed[0], opts.search_steps, light_qps=0.05 / speed[0])
    import shutil

    shutil.rmtree(search_dir, ignore_errors=True)
    note = f"p99 bound {bound:g} ms; search (qps, p99 ms, passed): {trace}"
    if qps <= 0:
        return None, bound, note + "; no rate tried kept p99 under the bound"
    return qps, bound, note


def _performance(model, rt, scenario, repeat, out, opts, speed, meter) -> list:
    extra, bound, note = {}, 0.0, ""
    if scenario == "Server":
        qps, bound, note = _server(model, rt, out, opts, speed, repeat)
        if qps is None:
            return [_row(rt, model, scenario, "server_qps", "queries/s", None, repeat, "no", note)]
        extra = {"target_qps": qps}
    settings = scenarios.test_settings(scenario, opts.duration_s, expected_latency_s=speed[0], expected_qps=speed[1],
                                       target_qps=extra.get("target_qps", 0.0), bound_ms=bound)
    start, t0 = (meter.read() if meter.available else None), time.perf_counter()
    detail = loadgen.run_test(rt.fn, model.inputs, scenario, _log_dir(out, model, rt, scenario, repeat), settings=settings,
                              max_batch=MAX_BATCH)
    wall = time.perf_counter() - t0
    valid, why = scenarios.validity(scenario, detail, wall)
    why = "; ".join(w for w in (why, note) if w)
    rows = [_row(rt, model, scenario, m, u, v, repeat, valid, why) for m, u, v in scenarios.figures(scenario, detail)]
    rate = scenarios.throughput(scenario, detail, wall)
    n = rate * wall
    if start is not None and n > 0:
        rows.append(_row(rt, model, scenario, "energy_per_inference", "J", meter.joules_since(start) / n, repeat,
                         valid, f"{why}; {meter.source()}, whole package"))
    else:
        rows.append(_row(rt, model, scenario, "energy_per_inference", "J", None, repeat, "no", meter.source()))
    if opts.price_per_hour is not None and rate > 0:
        rows.append(_row(rt, model, scenario, "cost_per_million_inferences", "per 1e6", opts.price_per_hour / 3600
                         / rate * 1e6, repeat, valid, f"{why}; at {opts.price_per_hour:g} per hour, whole machine"))
    return rows


def _missing_rows(model, rt, opts) -> list:
    rows = [_row(rt, model, "Accuracy", model.metric, "score", None, valid="no", why=f"not available: {rt.missing}")]
    return rows + [_row(rt, model, s, "not_available", "-", None, valid="no", why=f"not available: {rt.missing}")
                   for s in _scenarios_of(model, opts)]


def _scenarios_of(model, opts) -> list:
    return [s for s in opts.scenarios if s != "MultiStream" or model.meta.get("multistream")]


def _measure(model, threads, out, opts, meter, progress) -> list:
    import torch

    torch_threads = torch.get_num_threads()
    try:
        return _measure_runtimes(model, threads, out, opts, meter, progress)
    finally:
        torch.set_num_threads(torch_threads)  # the Torch engines set the process-wide count


def _measure_runtimes(model, threads, out, opts, meter, progress) -> list:
    rows = []
    for rt in build_runtimes(model, threads, opts.providers):
        label = f"{model.name} {rt.runtime} {rt.precision} {rt.provider} {threads} thread(s)"
        if rt.fn is None:
            progress(f"{label}: not available ({rt.missing})")
            rows += _missing_rows(model, rt, opts)
            continue
        speed = _warm_up(rt.fn, model.inputs, MAX_BATCH)
        rows += _accuracy(model, rt, out)
        for scenario in _scenarios_of(model, opts):
            for repeat in range(opts.repeats):
                rows += _performance(model, rt, scenario, repeat, out, opts, speed, meter)
        progress(f"{label}: done")
    return rows


def _judge_accuracy(df):
    """Change of the metric against Torch fp32 (else ONNX Runtime fp32 on the first provider), pass at 99 %."""
    acc = df[(df.scenario == "Accuracy") & df.value.notna()]
    extra = []
    for (model, threads), group in acc.groupby(["model", "threads"]):
        ref = group[(group.runtime == "torch") & (group.precision == "fp32")]
        ref_name = "Torch fp32"
        if ref.empty:
            ref, ref_name = group[(group.runtime == "onnxruntime") & (group.precision == "fp32")].head(1), "ONNX Runtime fp32"
        if ref.empty:
            continue
        ref_value = float(ref.value.iloc[0])
        for i, r in group.iterrows():
            ok = r.value >= ACCURACY_TARGET * ref_value
            df.loc[i, ["valid", "why"]] = ["yes" if ok else "no", f"{r.value:.4f} {'>=' if ok else '<'} 99 % of "
                                                                   f"{ref_name} {ref_value:.4f}"]
            extra.append({**r.to_dict(), "metric": f"{r.metric}_change", "unit": "vs " + ref_name,
                          "value": r.value - ref_value})
    return extra


def run_bench(run_dirs, out, options: BenchOptions | None = None, progress=print):
    """Benchmark the models of ``run_dirs`` into ``out``; returns the results table (:data:`kit.bench.tables.COLUMNS`)."""
    import pandas as pd

    from kit.bench.energy import EnergyMeter
    from kit.bench.report import write_report
    from kit.bench.system import describe_system
    from kit.io import atomic_path, write_json

    opts = options or BenchOptions()
    opts.check()
    models = [m for d in run_dirs for m in load_run(d)]  # every folder checked before any test runs
    names = [m.name for m in models]
    for m in models:
        if names.count(m.name) > 1:
            m.name = f"{m.name}-{m.folder.name}"
    build_runtimes(models[0], 1, opts.providers, runtimes=())  # unknown providers fail before any work
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meter = EnergyMeter()
    rows = []
    for model in models:
        for threads in opts.threads:
            rows += _measure(model, int(threads), out, opts, meter, progress)
    df = pd.DataFrame(rows, columns=COLUMNS)
    df = pd.concat([df, pd.DataFrame(_judge_accuracy(df), columns=COLUMNS)], ignore_index=True)
    system = describe_system(opts.providers or available_providers(), meter.source())
    system["bench_options"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(opts).items()}
    write_json(out / "system.json", system)
    with atomic_path(out / "results.csv") as tmp:
        df.to_csv(tmp, index=False)
    write_report(df, system, out / "report.html", title="kit bench")
    return df
