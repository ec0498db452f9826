"""Inference benchmark through MLPerf LoadGen (SingleStream and Offline), with short settings.

SingleStream sends one image at a time and records each query's latency;
MLPerf reports the 90th percentile, we give p50, p90 and p99. Offline
sends all images at once (here in large batches) and reports throughput in
images per second. Both run after warm-up queries, at a fixed thread count
that is printed with the CPU model, since figures mean nothing without them.
LoadGen runs both (:mod:`kit.loadgen`, the engine of ``kit bench``), so the
notebook's ``benchmark.csv`` and ``kit bench`` measure the same way; the
table's columns are as before.
"""
from __future__ import annotations

import contextlib
import os
import platform
import time

import numpy as np

from kit.errors import ParameterError
from kit.loadgen import run_unlogged

__all__ = ["benchmark", "cpu_model", "offline", "single_stream", "torch_engine", "torch_threads"]

COLUMNS = ["backend", "precision", "scenario", "batch", "threads", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms",
           "images_per_s", "queries"]


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


@contextlib.contextmanager
def torch_threads(n: int):
    """Run Torch with ``n`` intra-op threads inside the block, then restore."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def torch_engine(model):
    """A Torch model as a benchmark engine: float32 NumPy batch in, the model's outputs out, without autograd.

    Examples
    --------
    >>> import torch
    >>> run = torch_engine(torch.nn.Flatten())
    >>> tuple(run(np.zeros((2, 3, 4), np.float32)).shape)
    (2, 12)
    """
    import torch

    def run(batch):
        with torch.no_grad():
            return model(torch.from_numpy(batch))

    return run


def _percentiles(lat_s):
    ms = np.asarray(lat_s) * 1000
    return {f"latency_p{q}_ms": float(np.percentile(ms, q)) for q in (50, 90, 99)}


def single_stream(fn, images, *, min_queries: int = 50, min_seconds: float = 1.0, warmup: int = 3) -> dict:
    """Batch-1 latency: MLPerf LoadGen's SingleStream scenario, one query at a time.

    Parameters
    ----------
    fn : callable
        ``(1, ...) float32 array -> anything``; the call must finish the work.
    images : array (N, ...)
        LoadGen picks the queries among them.
    min_queries : int
    min_seconds : float, s
        LoadGen's minimum query count and duration (MLPerf asks for 1024
        queries and 600 s; this is the small version, see ``kit bench``).
    warmup : int

    Returns
    -------
    dict
        LoadGen's ``latency_p50_ms``, ``latency_p90_ms``, ``latency_p99_ms``,
        ``images_per_s`` (1 / mean latency), ``queries``.

    Examples
    --------
    >>> import numpy as np
    >>> r = single_stream(lambda x: x.sum(), np.ones((4, 3, 8, 8), np.float32), min_queries=10, min_seconds=0)
    >>> r["queries"] >= 10, r["latency_p50_ms"] <= r["latency_p99_ms"]
    (True, True)
    """
    if len(images) == 0:
        raise ParameterError("single_stream needs at least one image")
    images = np.ascontiguousarray(images, dtype=np.float32)
    for i in range(warmup):
        fn(images[i % len(images)][None])
    settings = {"min_query_count": max(1, int(min_queries)), "min_duration_ms": int(min_seconds * 1000)}
    d = run_unlogged(fn, images, "SingleStream", settings=settings, max_batch=1)
    pct = {f"latency_p{q}_ms": float(d[f"result_{q}.00_percentile_latency_ns"]) / 1e6 for q in (50, 90, 99)}
    return {**pct, "images_per_s": 1e9 / float(d["result_mean_latency_ns"]), "queries": int(d["result_query_count"])}


def offline(fn, images, *, batch_size: int = 32, min_seconds: float = 1.0, warmup: int = 1) -> dict:
    """Throughput on large batches: MLPerf LoadGen's Offline scenario, its one query run in batches.

    Parameters
    ----------
    fn : callable
        ``(B, ...) float32 array -> anything``.
    images : array (N, ...)
        LoadGen's query holds about ``min_seconds`` worth of samples drawn
        from them (at least ``batch_size``), run ``batch_size`` at a time.
    batch_size : int
    min_seconds : float, s
    warmup : int

    Returns
    -------
    dict
        Per-batch latency percentiles, ``images_per_s`` (LoadGen's samples
        per second) and ``queries`` (batches).
    """
    if len(images) == 0:
        raise ParameterError("offline needs at least one image")
    images = np.ascontiguousarray(images, dtype=np.float32)
    reps = int(np.ceil(batch_size / len(images)))
    batch = (np.concatenate([images] * reps) if reps > 1 else images)[:batch_size]
    t = time.perf_counter()
    for _ in range(max(1, warmup)):
        fn(batch)
    rate = max(1, warmup) * len(batch) / max(time.perf_counter() - t, 1e-9)
    # Offline's min_query_count is LoadGen's minimum sample count: at least one pass over the images and one batch.
    settings = {"min_duration_ms": int(min_seconds * 1000), "min_query_count": max(len(images), batch_size),
                "offline_expected_qps": max(float(rate), batch_size / max(min_seconds, 1e-3))}
    d = run_unlogged(fn, images, "Offline", settings=settings, max_batch=batch_size)
    lat = d["batch_times_s"]
    return {**_percentiles(lat), "images_per_s": float(d["result_samples_per_second"]), "queries": len(lat)}


def benchmark(engines: dict, images, *, threads: int = 1, offline_batch: int = 32, min_queries: int = 50,
              min_seconds: float = 1.0):
    """SingleStream and Offline figures for several engines on the same images.

    Parameters
    ----------
    engines : dict
        ``{(backend, precision): fn}`` where ``fn`` takes a float32 NumPy
        batch, e.g. ``{("torch", "fp32"): ..., ("onnxruntime", "fp32"): ..., ("onnxruntime", "int8"): ...}``.
        Each engine must already use ``threads`` threads (Torch: run inside
        :func:`torch_threads`; ONNX Runtime: ``ort_session(path, threads)``).
    images : array (N, ...) float32
    threads : int
        Written in the table (it does not set anything).
    offline_batch : int
    min_queries : int
    min_seconds : float, s

    Returns
    -------
    pandas.DataFrame
        Columns ``backend, precision, scenario, batch, threads, latency_p50_ms,
        latency_p90_ms, latency_p99_ms, images_per_s, queries``; ``df.attrs``
        holds ``cpu_model`` and ``logical_cpus``.
    """
    import pandas as pd

    images = np.ascontiguousarray(images, dtype=np.float32)
    rows = []
    for (backend, precision), fn in engines.items():
        s = single_stream(fn, images, min_queries=min_queries, min_seconds=min_seconds)
        rows.append({"backend": backend, "precision": precision, "scenario": "SingleStream", "batch": 1, "threads": threads, **s})
        o = offline(fn, images, batch_size=offline_batch, min_seconds=min_seconds)
        rows.append({"backend": backend, "precision": precision, "scenario": "Offline", "batch": offline_batch, "threads": threads, **o})
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs.update(cpu_model=cpu_model(), logical_cpus=os.cpu_count())
    return df
