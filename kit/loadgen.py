"""One LoadGen test: the system under test and query sample library around a model, and LoadGen's verdict.

The SUT answers LoadGen's queries with a batch function (``float32 batch ->
outputs``). SingleStream and MultiStream queries are run in LoadGen's issue
call (LoadGen waits for each before the next anyway); Server and Offline
queries go to one worker thread that takes whatever is queued, up to
``max_batch`` samples, as one batch (the dynamic batching MLPerf allows),
so LoadGen's scheduler is never held up by inference.

In performance mode the response carries no data; in accuracy mode each
sample's post-processed output is handed to LoadGen (it lands in
``mlperf_log_accuracy.json``) and kept for the metric.

LoadGen's own logs (``mlperf_log_summary.txt``, ``mlperf_log_detail.txt``)
are written into the test's folder; :func:`parse_detail` reads the results
back from the detail log's ``:::MLLOG`` lines.
"""
from __future__ import annotations

import json
import queue
import threading
import time
from pathlib import Path

import numpy as np

from kit.errors import ParameterError

__all__ = ["SCENARIOS", "parse_detail", "run_test", "run_unlogged"]

SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")
_TRACE = "mlperf_log_trace.json"


class _SUT:
    """The batch function, the sample inputs and the outputs kept in accuracy mode."""

    def __init__(self, fn, inputs, postprocess, accuracy: bool, max_batch: int, threaded: bool):
        self.fn, self.inputs, self.postprocess = fn, inputs, postprocess
        self.accuracy, self.max_batch, self.threaded = accuracy, max(1, int(max_batch)), threaded
        self.outputs, self.queue, self.error, self.batch_times_s = {}, queue.Queue(), None, []

    def run(self, samples):
        import mlperf_loadgen as lg

        for start in range(0, len(samples), self.max_batch):
            chunk = samples[start:start + self.max_batch]
            idx = [s.index for s in chunk]
            t = time.perf_counter()
            out = self.fn(self.inputs[idx])
            self.batch_times_s.append(time.perf_counter() - t)
            if not self.accuracy:
                lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in chunk])
                continue
            per = self.postprocess(out)
            keep = [np.ascontiguousarray(p, dtype=np.float32) for p in per]
            for i, p in zip(idx, keep):
                self.outputs[i] = p
            lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, p.ctypes.data if p.size else 0, p.nbytes)
                                     for s, p in zip(chunk, keep)])

    def issue(self, samples):
        if not self.threaded:
            self.run(list(samples))
            return
        for s in samples:
            self.queue.put(s)

    def worker(self):
        while True:
            first = self.queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    nxt = self.queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self.queue.put(None)
                    break
                batch.append(nxt)
            try:
                self.run(batch)
            except Exception as exc:  # noqa: BLE001 - a dead worker would hang LoadGen: answer, then re-raise after
                import mlperf_loadgen as lg

                self.error = self.error or exc
                lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in batch])


def _settings(scenario, accuracy, settings):
    import mlperf_loadgen as lg

    s = lg.TestSettings()
    s.scenario = getattr(lg.TestScenario, scenario)
    s.mode = lg.TestMode.AccuracyOnly if accuracy else lg.TestMode.PerformanceOnly
    for name, value in settings.items():
        if not hasattr(s, name):
            raise ParameterError(f"LoadGen has no test setting {name!r}")
        setattr(s, name, value)
    return s


def run_test(fn, inputs, scenario: str, out_dir, *, settings: dict, accuracy: bool = False, postprocess=None,
             max_batch: int = 16) -> dict:
    """Run one LoadGen test and return its results.

    Parameters
    ----------
    fn : callable
        ``float32 array (B, ...) -> outputs``; must finish the work before returning.
    inputs : array (N, ...) float32
        The query sample library (all samples stay loaded).
    scenario : {"SingleStream", "MultiStream", "Server", "Offline"}
    out_dir : path
        LoadGen's logs go there (created).
    settings : dict
        ``mlperf_loadgen.TestSettings`` attributes (``min_duration_ms``,
        ``server_target_qps``, ...).
    accuracy : bool
        LoadGen's AccuracyOnly mode: every sample once, outputs kept.
    postprocess : callable, optional
        ``outputs -> list of per-sample arrays`` (accuracy mode).
    max_batch : int
        Largest batch the Server and Offline worker forms.

    Returns
    -------
    dict
        The detail log's results (see :func:`parse_detail`), ``batch_times_s``
        (each call of ``fn``, s) and in accuracy mode ``outputs``: per-sample
        arrays in sample order.
    """
    import mlperf_loadgen as lg

    if scenario not in SCENARIOS:
        raise ParameterError(f"scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    if accuracy and postprocess is None:
        raise ParameterError("accuracy mode needs a postprocess function")
    inputs = np.ascontiguousarray(inputs, dtype=np.float32)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sut = _SUT(fn, inputs, postprocess, accuracy, max_batch, threaded=scenario in ("Server", "Offline"))
    worker = threading.Thread(target=sut.worker, daemon=True) if sut.threaded else None
    if worker is not None:
        worker.start()
    log = lg.LogOutputSettings()
    log.outdir, log.copy_summary_to_stdout = str(out_dir), False
    log_settings = lg.LogSettings()
    log_settings.log_output, log_settings.enable_trace = log, False
    n = len(inputs)
    handle_sut = lg.ConstructSUT(sut.issue, lambda: None)
    handle_qsl = lg.ConstructQSL(n, n, lambda samples: None, lambda samples: None)
    try:
        lg.StartTestWithLogSettings(handle_sut, handle_qsl, _settings(scenario, accuracy, settings), log_settings)
    finally:
        if worker is not None:
            sut.queue.put(None)
            worker.join()
        lg.DestroyQSL(handle_qsl)
        lg.DestroySUT(handle_sut)
    if sut.error is not None:
        raise sut.error
    (out_dir / _TRACE).unlink(missing_ok=True)  # empty without enable_trace
    if not accuracy:
        (out_dir / "mlperf_log_accuracy.json").unlink(missing_ok=True)
    result = parse_detail(out_dir / "mlperf_log_detail.txt")
    result["batch_times_s"] = list(sut.batch_times_s)
    if accuracy:
        result["outputs"] = [sut.outputs[i] for i in range(n)]
    return result


def run_unlogged(fn, inputs, scenario: str, *, settings: dict, max_batch: int = 16) -> dict:
    """:func:`run_test` in performance mode with its logs in a temporary folder, removed after.

    For the notebooks' short speed tables, which keep LoadGen's figures but not its logs.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kit-loadgen-") as logs:
        return run_test(fn, inputs, scenario, logs, settings=settings, max_batch=max_batch)


def parse_detail(path) -> dict:
    """``{key: value}`` of the ``:::MLLOG`` entries of a ``mlperf_log_detail.txt`` (last value wins).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "mlperf_log_detail.txt"
    >>> _ = p.write_text(':::MLLOG {"key": "result_validity", "value": "VALID", "time_ms": 1}\\n')
    >>> parse_detail(p)["result_validity"]
    'VALID'
    """
    out = {}
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(":::MLLOG"):
            try:
                entry = json.loads(line[len(":::MLLOG"):])
            except json.JSONDecodeError:
                continue
            out[entry.get("key")] = entry.get("value")
    return out
