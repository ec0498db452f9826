"""MLPerf Inference scenarios on LoadGen: short test settings, the figures each reports, and validity.

The kit runs short tests (about a second each by default). LoadGen checks
them against the settings it was given; MLPerf's rules ask for more: every
scenario at least 600 s, and at least 1024 queries (SingleStream), 662
(MultiStream), 270 336 (Server) or 24 576 samples (Offline). A row is valid
only when LoadGen says VALID *and* those minimums are met; ``why`` lists
what fell short, so a short run reads as what it is.

Server: the highest target QPS whose 99th-percentile latency stays under the
model's bound, found by a short search (:func:`server_search`) before the
measured run at that QPS.
"""
from __future__ import annotations

import re

__all__ = ["MLPERF_MIN", "figures", "server_search", "test_settings", "throughput", "validity"]

#: MLPerf Inference minimums per scenario: (duration s, queries, samples).
MLPERF_MIN = {"SingleStream": (600, 1024, 0), "MultiStream": (600, 662, 0), "Server": (600, 270336, 0),
              "Offline": (600, 1, 24576)}
MULTISTREAM_SAMPLES = 8
_PCT = re.compile(r"result_(\d+\.\d+)_percentile(_per_query)?_latency_ns")


def test_settings(scenario: str, duration_s: float, *, expected_latency_s: float, expected_qps: float = 1.0,
                  target_qps: float = 0.0, bound_ms: float = 0.0) -> dict:
    """``mlperf_loadgen.TestSettings`` attributes of one short test.

    Parameters
    ----------
    scenario : str
    duration_s : float, s
        LoadGen's minimum duration.
    expected_latency_s : float, s
        One batch-1 query (from warm-up calls).
    expected_qps : float, samples/s
        Batched throughput (from a warm-up batch); sizes the Offline query.
    target_qps : float
        Server's arrival rate, queries per second.
    bound_ms : float, ms
        Server's p99 latency bound.
    """
    ms = max(1, int(duration_s * 1000))
    s = {"min_duration_ms": ms, "min_query_count": 1}
    if scenario == "SingleStream":
        s.update(single_stream_expected_latency_ns=max(1, int(expected_latency_s * 1e9)), min_query_count=32)
    elif scenario == "MultiStream":
        s.update(multi_stream_samples_per_query=MULTISTREAM_SAMPLES, min_query_count=16,
                 multi_stream_expected_latency_ns=max(1, int(MULTISTREAM_SAMPLES * expected_latency_s * 1e9)))
    elif scenario == "Server":
        # A slow rate must not stretch the test to min_query_count queries: the duration is capped.
        s.update(server_target_qps=float(target_qps), server_target_latency_ns=int(bound_ms * 1e6),
                 server_target_latency_percentile=0.99, max_duration_ms=2 * ms + 1000)
    else:  # Offline: one query of about duration_s worth of samples at the batched speed
        # LoadGen sizes the query from this rate; 1.5x so a warm-up that ran slow still fills the duration.
        s.update(offline_expected_qps=max(1.0, 1.5 * float(expected_qps)))
    return s


def figures(scenario: str, detail: dict) -> list:
    """``[(metric, unit, value)]`` a scenario reports, from LoadGen's detail log entries."""
    pct = {}
    for key, value in detail.items():
        m = _PCT.fullmatch(key or "")
        if m and value is not None:
            pct[float(m.group(1))] = float(value) / 1e6
    lat = [(f"latency_p{q:g}_ms", "ms", pct[q]) for q in (50.0, 90.0, 99.0) if q in pct]
    if scenario == "SingleStream":
        return lat + [("qps", "queries/s", float(detail.get("result_qps_without_loadgen_overhead", 0.0)))]
    if scenario == "MultiStream":
        return lat + [("samples_per_query", "samples", MULTISTREAM_SAMPLES)]
    if scenario == "Server":
        return [("server_qps", "queries/s", float(detail.get("result_scheduled_samples_per_sec", 0.0))),
                ("completed_qps", "queries/s", float(detail.get("result_completed_samples_per_sec", 0.0)))] + lat
    # Offline's per-sample latencies only say where in the one big query a sample fell: not reported.
    return [("samples_per_s", "samples/s", float(detail.get("result_samples_per_second", 0.0)))]


def throughput(scenario: str, detail: dict, wall_s: float) -> float:
    """Samples per second a test processed (for energy and cost per inference)."""
    n = float(detail.get("result_query_count") or 0) * (MULTISTREAM_SAMPLES if scenario == "MultiStream" else 1)
    if scenario == "Offline":
        return float(detail.get("result_samples_per_second") or 0.0)
    if scenario == "Server":
        return float(detail.get("result_completed_samples_per_sec") or 0.0)
    return n / wall_s if wall_s > 0 else 0.0


def validity(scenario: str, detail: dict, wall_s: float) -> tuple[str, str]:
    """``("yes" | "no", why)`` under MLPerf's rules: LoadGen's verdict and MLPerf's minimums."""
    why = []
    if detail.get("result_validity") != "VALID":
        flags = {"result_min_duration_met": "LoadGen's minimum duration", "result_min_queries_met": "its minimum queries",
                 "early_stopping_met": "early stopping", "result_perf_constraints_met": "the latency bound"}
        failed = [text for key, text in flags.items() if detail.get(key) is False]
        why.append("LoadGen: INVALID" + (f" ({', '.join(failed)} not met)" if failed else ""))
    min_s, min_q, min_samples = MLPERF_MIN[scenario]
    if wall_s < min_s:
        why.append(f"ran {wall_s:.1f} s < MLPerf's {min_s} s")
    queries = int(detail.get("result_query_count") or 0)
    if queries < min_q:
        why.append(f"{queries} queries < {min_q}")
    samples = int(detail.get("generated_samples_per_query") or 0)
    if min_samples and samples < min_samples:
        why.append(f"{samples} samples < {min_samples}")
    return ("no", "; ".join(why)) if why else ("yes", "")


def server_search(run, bound_ms: float, start_qps: float, steps: int = 5, light_qps: float = 0.0) -> tuple[float, list]:
    """The highest tried QPS whose p99 latency stays under ``bound_ms``.

    Parameters
    ----------
    run : callable
        ``qps -> LoadGen detail dict`` of one short Server test.
    bound_ms : float, ms
    start_qps : float
        First guess (batch-1 throughput).
    steps : int
        Tests in the search: the rate grows by half while it passes, then bisects.
    light_qps : float
        A rate this low that fails means the latency itself exceeds the bound:
        the search stops.

    Returns
    -------
    (qps, trace)
        The best passing QPS (0 when none passed) and ``[(qps, p99_ms, passed)]``.
    """
    lo, hi, qps, trace = 0.0, None, max(1.0, float(start_qps)), []
    for _ in range(max(1, int(steps))):
        detail = run(qps)
        p99 = float(detail.get("result_99.00_percentile_latency_ns") or float("inf")) / 1e6
        ok = p99 <= bound_ms
        trace.append((round(qps, 2), round(p99, 3), ok))
        if ok:
            lo = qps
        else:
            hi = qps
            if lo == 0 and qps <= light_qps:
                break
        qps = lo * 1.5 if hi is None else (lo + hi) / 2 if lo > 0 else hi / 3
    return lo, trace
