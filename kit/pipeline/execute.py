"""Execute a pipeline: each run through ``kit run`` in its own process, locally or on Dask.

Every run is a ``kit run`` subprocess (its own kernel, manifest and report), so
a notebook's crash, a dead kernel or a timeout cannot take the others down.
A notebook's own error is a failed run; a dead kernel, a killed process or a
timeout is retried up to ``retries`` times; a lost Dask worker is rescheduled
by Dask itself.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from kit import i18n, runner
from kit.errors import DeviceUnavailable, InputMissing, KitError
from kit.i18n import _
from kit.index import write_index
from kit.io import write_json
from kit.pipeline.spec import Pipeline, PlannedRun

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
RETRYABLE_ERRORS = {"DeadKernelError", "Timeout", "KilledProcess"}  # the machine's fault, not the notebook's
# Conditions a valid spec can meet on one machine or day and not another: the run is set aside, named by its type.
UNMET_CONDITIONS = (DeviceUnavailable, InputMissing)


def _refusal(exc: KitError) -> dict:
    kind = type(exc).__name__ if isinstance(exc, UNMET_CONDITIONS) else "BadInput"
    return {"type": kind, "message": str(exc)}


@dataclass
class RunResult:
    run_id: str
    notebook: str
    status: str  # ok | failed
    out: str
    attempts: int = 1
    reused_from: str | None = None
    error: str | None = None
    duration_s: float | None = None


def thread_cap(parallel: int) -> int:
    """Math-library threads per run so ``parallel`` runs share the cores without oversubscribing."""
    return max(1, (os.cpu_count() or 1) // max(1, parallel))


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _failure_folder(out: Path, notebook: str, params: dict, error: dict) -> None:
    """A run refused before it started still gets a folder the index can show."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    write_json(tmp / "manifest.json", {
        "notebook": notebook, "parameters": params, "overrides": sorted(params), "status": "failed",
        "error": error, "start": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "duration_s": 0.0,
    })
    write_json(tmp / "metrics.json", {})
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)


def _attempt(notebook: str, params: dict, out: str, timeout_s, threads: int) -> tuple[str, dict | None, bool]:
    """One ``kit run`` subprocess. Returns (status, error, retryable)."""
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kit-params-") as tmp:
        param_file = Path(tmp) / "params.yaml"
        param_file.write_text(yaml.safe_dump(params, sort_keys=False))
        cmd = [sys.executable, "-m", "kit.cli", "run", notebook, "-f", str(param_file), "--out", out, "--no-progress"]
        if shutil.which("setpriv"):
            # If the worker running us dies, the run dies with it instead of finishing unseen.
            cmd = ["setpriv", "--pdeathsig", "KILL", "--", *cmd]
        env = {**os.environ, **{v: str(threads) for v in THREAD_VARS}}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
        try:
            _stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            return "failed", {"type": "Timeout", "message": f"run exceeded timeout_s={timeout_s}"}, True
    if proc.returncode == 0:
        return "ok", None, False
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    if proc.returncode == 2:  # refused before a kernel started: bad parameters or missing input
        error = {"type": "BadInput", "message": last.removeprefix("kit: error: ")}
        _failure_folder(out_path, notebook, params, error)
        return "failed", error, False
    if proc.returncode < 0:
        return "failed", {"type": "KilledProcess", "message": f"killed by signal {-proc.returncode}"}, True
    manifest_file = out_path / runner.MANIFEST_FILE
    error = None
    if manifest_file.exists():
        error = json.loads(manifest_file.read_text()).get("error")
    error = error or {"type": "Failed", "message": last}
    return "failed", error, error.get("type") in RETRYABLE_ERRORS


def _attempt_in_process(notebook: str, params: dict, out: str, timeout_s, threads: int) -> tuple[str, dict | None, bool]:
    """One run in this (Dask worker) process: its own kernel, but no interpreter start-up or imports.

    A worker is a one-thread process, so setting the thread caps in its
    environment (inherited by the kernel it starts) cannot race another task.
    ``timeout_s`` bounds each cell here; a worker that dies is rescheduled by Dask.
    """
    out_path = Path(out)
    os.environ.update({v: str(threads) for v in THREAD_VARS})
    with tempfile.TemporaryDirectory(prefix="kit-params-") as tmp:
        param_file = _write_params(Path(tmp), "run", params)
        try:
            plan = runner.plan(notebook, (), param_file, out=out_path)
        except KitError as exc:
            error = _refusal(exc)
            _failure_folder(out_path, notebook, params, error)
            return "failed", error, False
    manifest = runner.execute(plan, progress=False, timeout_s=timeout_s)
    if manifest["status"] == "ok":
        return "ok", None, False
    error = manifest.get("error") or {"type": "Failed", "message": ""}
    return "failed", error, error.get("type") in RETRYABLE_ERRORS | {"CellTimeoutError"}


def execute_run(run_id: str, notebook: str, params: dict, out: str, timeout_s=None, threads: int = 1, retries: int = 0,
                in_process: bool = False) -> dict:
    """Run one notebook with retries for infrastructure failures; picklable for Dask.

    ``in_process`` runs ``kit run``'s logic in this process (Dask workers, which
    keep kit and papermill imported between runs) instead of a subprocess.
    """
    attempt = _attempt_in_process if in_process else _attempt
    t0 = time.perf_counter()
    for _attempt_no in range(retries + 1):
        attempts = _count_attempt(Path(out))
        status, error, retryable = attempt(notebook, params, out, timeout_s, threads)
        if status == "ok" or not retryable:
            break
    message = None if error is None else f"{error.get('type')}: {error.get('message')}"
    return asdict(RunResult(run_id, notebook, status, out, attempts, None, message, round(time.perf_counter() - t0, 2)))


def _count_attempt(out: Path) -> int:
    """Count attempts in a file beside the run, so attempts made by a worker that
    died (and that Dask rescheduled elsewhere) are counted too."""
    ledger = out.parent / ".attempts" / out.name
    ledger.parent.mkdir(parents=True, exist_ok=True)
    with open(ledger, "a") as fh:
        fh.write(f"{os.getpid()} {time.time():.0f}\n")
    return len(ledger.read_text().splitlines())


def _previous_successes(root: Path) -> dict:
    found = {}
    for manifest in sorted(root.rglob(runner.MANIFEST_FILE)):
        if any(part.startswith(".") for part in manifest.relative_to(root).parts):
            continue
        try:
            data = json.loads(manifest.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if data.get("status") == "ok" and data.get("fingerprint"):
            found.setdefault(data["fingerprint"], []).append(manifest.parent)
    return found


def _reuse(src: Path, out: Path) -> None:
    if src.resolve() == out.resolve():
        return
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    shutil.copytree(src, tmp, dirs_exist_ok=True)
    manifest = json.loads((tmp / runner.MANIFEST_FILE).read_text())
    manifest["reused_from"] = str(src)
    write_json(tmp / runner.MANIFEST_FILE, manifest)
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)


def _prepare(run: PlannedRun, exec_dir: Path, run_date, force, previous, scratch: Path):
    """Plan one run: ``(action, detail, params)`` with action reuse, run or refused."""
    params = run.render(run_date)
    out = exec_dir / run.run_id
    try:
        plan = runner.plan(run.notebook, (), _write_params(scratch, run.run_id, params), out=out)
    except KitError as exc:
        return "refused", _refusal(exc), params
    if not force:
        matches = previous.get(runner.fingerprint(plan), [])
        same = [m for m in matches if m.resolve() == out.resolve()]
        if same or matches:
            return "reuse", (same or matches)[-1], params
    return "run", None, params


def _write_params(folder: Path, run_id: str, params: dict) -> Path:
    path = folder / f"{run_id}.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def run_pipeline(pipeline: Pipeline, *, executor=None, scheduler=None, run_date=None, force=False,
                 dry_run=False, progress=True, echo=print) -> list[dict]:
    """Execute every run of ``pipeline`` into ``output/<run_date>/<run_id>/``.

    Returns
    -------
    list of dict
        One :class:`RunResult` (as a dict) per run, in spec order.
    """
    run_date = run_date or dt.date.today()
    executor = executor or pipeline.executor
    scheduler = scheduler or pipeline.scheduler
    exec_dir = pipeline.output / run_date.isoformat()
    if not dry_run:
        exec_dir.mkdir(parents=True, exist_ok=True)
    previous = {} if force or not pipeline.output.exists() else _previous_successes(pipeline.output)
    results: dict[str, dict] = {}
    todo = []
    scratch = tempfile.TemporaryDirectory(prefix="kit-pipeline-")
    for run in pipeline.runs:
        action, detail, params = _prepare(run, exec_dir, run_date, force, previous, Path(scratch.name))
        out = exec_dir / run.run_id
        if action == "refused":
            if not dry_run:
                _failure_folder(out, run.notebook, params, detail)
            results[run.run_id] = asdict(RunResult(run.run_id, run.notebook, "failed", str(out), 0, None,
                                                   f"{detail['type']}: {detail['message']}"))
        elif action == "reuse":
            if not dry_run:
                _reuse(detail, out)
            results[run.run_id] = asdict(RunResult(run.run_id, run.notebook, "ok", str(out), 0, str(detail)))
        else:
            todo.append((run, params, out))
        if dry_run:
            what = {"refused": f"refused: {detail['message'] if isinstance(detail, dict) else ''}",
                    "reuse": f"reuse {detail}", "run": "run"}[action]
            echo(f"{run.run_id:<48} {what}\n    {run.notebook} {params}")
    scratch.cleanup()
    if dry_run:
        return list(results.values())

    threads = thread_cap(pipeline.max_parallel)
    args = [(run.run_id, run.notebook, params, str(out), pipeline.timeout_s, threads, pipeline.retries) for run, params, out in todo]
    if executor == "dask":
        done = _run_dask(args, scheduler, pipeline.max_parallel, progress)
    else:
        done = _run_local(args, pipeline.max_parallel, progress)
    results.update({r["run_id"]: r for r in done})
    ordered = [results[r.run_id] for r in pipeline.runs]
    for stale in exec_dir.glob(".*.tmp-*"):  # left by a worker that died mid-run
        shutil.rmtree(stale, ignore_errors=True)
    shutil.rmtree(exec_dir / ".attempts", ignore_errors=True)
    write_json(exec_dir / "pipeline.json", {
        "pipeline": pipeline.name, "spec": str(pipeline.source), "run_date": run_date.isoformat(),
        "executor": executor, "scheduler": scheduler, "results": ordered,
    })
    with i18n.using(pipeline.lang):
        write_index(exec_dir, title=f"{pipeline.name} — {i18n.format_date(run_date)}")
        every = _("all executions")
        write_index(pipeline.output, title=f"{pipeline.name} — {every}")
    return ordered


def _progress(total, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="runs", unit="run", disable=not enabled or total == 0)


def _run_local(args, max_parallel, progress) -> list[dict]:
    from concurrent.futures import ThreadPoolExecutor, as_completed

    out = []
    with ThreadPoolExecutor(max_workers=max_parallel) as pool, _progress(len(args), progress) as bar:
        futures = [pool.submit(execute_run, *a) for a in args]
        for fut in as_completed(futures):
            out.append(fut.result())
            bar.update()
    return out


def _run_dask(args, scheduler, max_parallel, progress) -> list[dict]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        # Processes with one thread each: papermill's event loop and its
        # working-directory changes are not thread-safe.
        cluster = LocalCluster(n_workers=max_parallel, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    out = []
    try:
        futures = {
            client.submit(execute_run, *a, in_process=True, pure=False, key=f"run-{a[0]}-{time.time_ns()}"): a for a in args
        }
        with _progress(len(args), progress) as bar:
            for fut in as_completed(futures):
                a = futures[fut]
                try:
                    out.append(fut.result())
                except Exception as exc:  # KilledWorker after repeated worker deaths, lost scheduler
                    out.append(asdict(RunResult(a[0], a[1], "failed", a[3], 0, None, f"{type(exc).__name__}: {exc}")))
                bar.update()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return out
