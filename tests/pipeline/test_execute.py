"""Pipelines end to end: real `kit run` subprocesses, locally and on a Dask LocalCluster."""
import datetime as dt
import html
import json
import os
from pathlib import Path

import nbformat
import pytest
import yaml

from kit.cli import main
from kit.backend import cuda_status
from kit.pipeline import load_pipeline
from kit.pipeline.spec import SpecError
from kit.pipeline.execute import run_pipeline, thread_cap

pytestmark = pytest.mark.timeout(600)
DATE = dt.date(2026, 1, 5)

BODY = """
import os, time, pathlib
time.sleep(sleep_s)
if fail:
    raise RuntimeError(f"run {x} failed on purpose")
if kill_worker and not pathlib.Path(marker).exists():
    pathlib.Path(marker).write_text("killed once")
    import psutil
    # Kill the Dask worker process under the running notebook: the nearest
    # ancestor started by multiprocessing's spawn (never the test process itself).
    worker = next(p for p in psutil.Process().parents() if "spawn_main" in " ".join(p.cmdline()))
    worker.kill()
    time.sleep(30)
kit.report.record("x_cubed", x ** 3)
kit.report.record("threads", int(os.environ.get("OMP_NUM_THREADS", "0")))
"""


@pytest.fixture
def notebook_dir(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(
            "x = 1  # a number\nfail = False  # raise\nsleep_s = 0.0  # seconds\n"
            "kill_worker = False  # kill the worker once\nmarker = ''  # marker file\noutput_dir = 'out'  # folder",
            metadata={"tags": ["parameters"]},
        ),
        nbformat.v4.new_code_cell("import kit\nkit.report.bind(output_dir)"),
        nbformat.v4.new_code_cell(BODY),
    ]
    nbformat.write(nb, folder / "10_toy.ipynb")
    monkeypatch.setenv("KIT_NOTEBOOK_DIR", str(folder))
    # the toy notebook's spec module lives in tests/; `kit run` subprocesses must import it
    repo = Path(__file__).resolve().parents[2]
    monkeypatch.syspath_prepend(str(repo))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")])))
    monkeypatch.chdir(tmp_path)
    return folder


def spec_file(tmp_path, **overrides):
    spec = {
        "name": "toy", "output": "reports/toy", "max_parallel": 2, "retries": 1,
        "runs": [{"notebook": "toy", "matrix": {"x": [1, 2, 3, 4, 5, 6, 7, 8]}}],
        **overrides,
    }
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def manifests(folder):
    return {m.parent.name: json.loads(m.read_text()) for m in folder.glob("*/manifest.json")}


def test_one_failure_seven_successes_then_only_the_failure_reruns(tmp_path, notebook_dir):
    path = spec_file(tmp_path, runs=[
        {"notebook": "toy", "matrix": {"x": [1, 2, 3, 4, 5, 6, 7]}},
        {"notebook": "toy", "id": "broken", "parameters": {"x": 8, "fail": True}},
    ])
    assert main(["pipeline", "run", str(path), "--date", DATE.isoformat(), "--no-progress"]) == 1
    day = tmp_path / "reports/toy" / DATE.isoformat()
    first = manifests(day)
    assert sum(m["status"] == "ok" for m in first.values()) == 7
    assert first["broken"]["status"] == "failed" and first["broken"]["error"]["type"] == "RuntimeError"
    metrics = json.loads((day / "toy-x=3" / "metrics.json").read_text())
    assert metrics == {"x_cubed": 27, "threads": thread_cap(2)}
    index = (day / "index.html").read_text()
    assert "8 runs, 1 failed" in index and index.index("broken") < index.index("toy-x=1")
    assert (tmp_path / "reports/toy/index.html").exists()
    record = json.loads((day / "pipeline.json").read_text())
    assert [r["status"] for r in record["results"]].count("failed") == 1

    # Again: the seven successes are reused as they are, only the failure runs (and fails) again.
    results = run_pipeline(load_pipeline(path), run_date=DATE, progress=False)
    again = manifests(day)
    for name, m in first.items():
        if name != "broken":
            assert again[name]["start"] == m["start"], f"{name} was re-executed"
    assert again["broken"]["start"] >= first["broken"]["start"]
    assert [r["reused_from"] is not None for r in results] == [True] * 7 + [False]
    assert results[-1]["attempts"] == 1  # a notebook's own error is not retried


def test_missing_input_is_set_aside_with_reason(tmp_path, notebook_dir):
    nb = nbformat.read(notebook_dir / "10_toy.ipynb", as_version=4)
    nb.cells[0].source += "\ndata = None  # an input file"
    nb.cells[2].source = "if data: open(data).read()\n" + nb.cells[2].source
    nb.metadata["kit"] = {"spec": "tests.pipeline.toy_spec:PARAMETERS"}
    nbformat.write(nb, notebook_dir / "10_toy.ipynb")
    path = spec_file(tmp_path, runs=[
        {"notebook": "toy", "matrix": {"x": [1, 2]}},
        {"notebook": "toy", "id": "no-data", "parameters": {"x": 3, "data": "inputs/{run_date:%Y%m%d}.csv"}},
    ])
    results = run_pipeline(load_pipeline(path), run_date=DATE, progress=False)
    status = {r["run_id"]: r for r in results}
    assert status["toy-x=1"]["status"] == "ok" and status["toy-x=2"]["status"] == "ok"
    assert status["no-data"]["status"] == "failed"
    assert "inputs/20260105.csv does not exist" in status["no-data"]["error"]
    m = json.loads((tmp_path / "reports/toy" / DATE.isoformat() / "no-data" / "manifest.json").read_text())
    assert m["status"] == "failed" and m["error"]["type"] == "InputMissing"


@pytest.mark.skipif(any(ok for ok, _ in cuda_status().values()), reason="a GPU is present: device cuda would run")
def test_cuda_run_on_a_machine_without_gpu_is_set_aside_the_others_run(tmp_path, notebook_dir, capsys, monkeypatch):
    monkeypatch.delenv("KIT_DEVICE", raising=False)
    nb = nbformat.read(notebook_dir / "10_toy.ipynb", as_version=4)
    nb.cells[0].source += "\ndata = None  # an input file\ndevice = 'auto'  # device"
    nb.metadata["kit"] = {"spec": "tests.pipeline.toy_spec:WITH_DEVICE"}
    nbformat.write(nb, notebook_dir / "10_toy.ipynb")
    path = spec_file(tmp_path, runs=[
        {"notebook": "toy", "matrix": {"x": [1, 2]}},
        {"notebook": "toy", "id": "on-gpu", "parameters": {"x": 3, "device": "cuda"}},
    ])
    assert main(["pipeline", "run", str(path), "--date", DATE.isoformat(), "--no-progress"]) == 1
    day = tmp_path / "reports/toy" / DATE.isoformat()
    found = manifests(day)
    assert found["toy-x=1"]["status"] == "ok" and found["toy-x=2"]["status"] == "ok"
    assert found["on-gpu"]["status"] == "failed"
    assert found["on-gpu"]["error"]["type"] == "DeviceUnavailable"
    assert "device 'cuda' is not usable here" in found["on-gpu"]["error"]["message"]
    assert html.escape("device 'cuda' is not usable here") in (day / "index.html").read_text()
    printed = capsys.readouterr().out
    assert "failed on-gpu" in " ".join(printed.split()) and "2 ok, 1 failed" in printed


def test_spec_errors_still_refuse_the_whole_spec(tmp_path, notebook_dir):
    nb = nbformat.read(notebook_dir / "10_toy.ipynb", as_version=4)
    nb.cells[0].source += "\ndata = None  # an input file\ndevice = 'auto'  # device"
    nb.metadata["kit"] = {"spec": "tests.pipeline.toy_spec:WITH_DEVICE"}
    nbformat.write(nb, notebook_dir / "10_toy.ipynb")
    for run, message in [
        ({"notebook": "toy", "parameters": {"device": "tpu"}}, "must be one of 'auto', 'cpu', 'cuda'"),
        ({"notebook": "toy", "parameters": {"x": "three"}}, "expects int"),
        ({"notebook": "toy", "parameters": {"y": 1}}, "unknown parameter 'y'"),
        ({"notebook": "nope"}, "nope"),
    ]:
        path = spec_file(tmp_path, runs=[{"notebook": "toy", "parameters": {"x": 1}}, run])
        with pytest.raises(SpecError, match=message):
            load_pipeline(path)
    assert not (tmp_path / "reports").exists()


def test_dask_worker_killed_mid_run_is_retried_never_falsely_ok(tmp_path, notebook_dir):
    marker = tmp_path / "killed.marker"
    path = spec_file(tmp_path, executor="dask", runs=[
        {"notebook": "toy", "matrix": {"x": [1, 2, 3]}, "parameters": {"sleep_s": 1.0}},
        {"notebook": "toy", "id": "victim", "parameters": {"x": 9, "kill_worker": True, "marker": str(marker)}},
    ])
    results = {r["run_id"]: r for r in run_pipeline(load_pipeline(path), run_date=DATE, progress=False)}
    assert marker.exists(), "the worker was killed once"
    for x in (1, 2, 3):
        assert results[f"toy-x={x}"]["status"] == "ok"
    victim = results["victim"]
    day = tmp_path / "reports/toy" / DATE.isoformat()
    if victim["status"] == "ok":
        # rescheduled by Dask on a live worker, and completed there in full
        assert victim["attempts"] >= 2
        assert json.loads((day / "victim" / "metrics.json").read_text())["x_cubed"] == 729
    else:
        assert victim["status"] == "failed"
    assert not list(day.glob(".*"))  # no temporary folders left
