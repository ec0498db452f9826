"""`kit run` end to end: real kernels, real files."""
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from kit import notebooks, runner
from kit.cli import main

pytestmark = pytest.mark.timeout(300)


def kit(*args, cwd=None):
    """Run the CLI in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "kit.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=280
    )


def make_notebook(path: Path, body: str, params: str = "x = 1  # a number\noutput_dir = 'out'  # folder"):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A test notebook"),
        nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import kit\nkit.report.bind(output_dir)\nkit.report.record('x_squared', x * x)"),
        nbformat.v4.new_code_cell(body),
        nbformat.v4.new_code_cell("print('after')"),
    ]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "qs"
    result = kit("run", "quickstart", "-p", "size", "48", "-p", "seed", "2", "--out", str(out), "--no-progress")
    return result, out


def test_quickstart_run_writes_a_complete_folder(quickstart_run):
    result, out = quickstart_run
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "fields.csv", "manifest.json", "metrics.json", "ndvi.tif", "notebook.ipynb", "report.html"
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["error"] is None
    assert manifest["parameters"] == {"seed": 2, "size": 48, "device": "auto", "output_dir": str(out), "lang": "en"}
    assert manifest["overrides"] == ["seed", "size"]
    assert manifest["device"]["resolved"] in ("cpu", "cuda")
    assert manifest["packages"]["numpy"] and manifest["duration_s"] > 0
    assert set(manifest["git"]) == {"commit", "dirty"}
    assert len(manifest["notebook_sha256"]) == 64
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"device", "mean_ndvi", "vegetated_fraction", "n_fields"}
    assert -1 <= metrics["mean_ndvi"] <= 1
    # no leftovers of the temporary folder
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_report_is_offline_and_hides_code(quickstart_run):
    _, out = quickstart_run
    html = (out / "report.html").read_text()
    assert not re.search(r'<script[^>]*src="https?:', html)
    assert not re.search(r'<link[^>]*href="https?:', html)
    assert "data:image/png;base64" in html  # the figure is embedded
    assert "kit.params.validate" not in html  # code hidden by default
    assert "mean NDVI" in html


def test_geotiff_keeps_crs(quickstart_run):
    import rasterio

    _, out = quickstart_run
    with rasterio.open(out / "ndvi.tif") as src:
        assert src.crs.to_epsg() == 32629 and src.width == 48
        assert src.descriptions == ("ndvi",)


def test_unknown_parameter_exits_2_and_lists_valid(tmp_path):
    r = kit("run", "00_quickstart", "-p", "no_such_param", "1", "--out", str(tmp_path / "r"))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "unknown parameter 'no_such_param'; valid parameters: seed, size, device, output_dir" in r.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["nosuch"], "unknown notebook 'nosuch'; available: quickstart"),
        (["quickstart", "-p", "size", "big"], "parameter 'size' expects int, got str 'big'"),
        (["quickstart", "-f", "missing.yaml"], "parameter file missing.yaml not found"),
        (["quickstart", "--out", "/proc/forbidden"], "--out: cannot write to /proc"),
    ],
)
def test_bad_input_is_one_line_exit_2_no_folder(tmp_path, args, message):
    r = kit("run", *args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and r.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(
    any(ok for ok, _ in __import__("kit.backend").backend.cuda_status().values()), reason="a GPU is present"
)
def test_cuda_without_gpu_exits_with_reason(tmp_path):
    r = kit("run", "quickstart", "-p", "device", "cuda", cwd=tmp_path)
    assert r.returncode == 2
    assert "device 'cuda' is not usable here" in r.stderr and "Torch" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_unreadable_parameter_file(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("size: [1\n")
    r = kit("run", "quickstart", "-f", str(bad), cwd=tmp_path)
    assert r.returncode == 2 and "cannot read parameter file" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml"]


def test_parameter_file_and_cli_override(tmp_path):
    from kit import runner

    (tmp_path / "p.yaml").write_text("size: 32\nseed: 5\n")
    plan = runner.plan("quickstart", [("seed", "6")], tmp_path / "p.yaml", out=tmp_path / "o", cwd=tmp_path)
    assert plan.parameters == {"size": 32, "seed": 6}


def test_failing_notebook_is_marked_failed_and_keeps_cells(tmp_path):
    nb = make_notebook(tmp_path / "boom.ipynb", "raise ValueError('bad rows in weather.csv')")
    out = tmp_path / "run"
    r = kit("run", str(nb), "-p", "x", "3", "--out", str(out), "--no-progress")
    assert r.returncode == 1
    assert "ValueError: bad rows in weather.csv" in r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["error"]["type"] == "ValueError" and "bad rows" in manifest["error"]["message"]
    executed = nbformat.read(out / "notebook.ipynb", as_version=4)
    codes = [c for c in executed.cells if c.cell_type == "code"]
    assert any(o.get("output_type") == "error" for c in codes for o in c.outputs)
    assert codes[-1].get("execution_count") is None  # the cell after the failure did not run
    assert json.loads((out / "metrics.json").read_text()) == {"x_squared": 9}  # recorded before the failure
    assert (out / "report.html").exists()


def test_rerun_replaces_folder_atomically(tmp_path):
    nb = make_notebook(tmp_path / "ok.ipynb", "open(f'{output_dir}/result.txt', 'w').write(str(x))")
    out = tmp_path / "run"
    assert main(["run", str(nb), "-p", "x", "2", "--out", str(out), "--no-progress"]) == 0
    assert (out / "result.txt").read_text() == "2"
    (out / "stale.txt").write_text("from the previous run")
    assert main(["run", str(nb), "-p", "x", "4", "--out", str(out), "--no-progress"]) == 0
    assert (out / "result.txt").read_text() == "4"
    assert not (out / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.ipynb", "run"]


def test_relative_paths_are_the_callers(tmp_path):
    from kit import runner

    (tmp_path / "nb").mkdir()
    nb = make_notebook(tmp_path / "nb" / "p.ipynb", "pass")
    plan = runner.plan(str(nb), [("output_dir", "outs")], out=tmp_path / "r", cwd=tmp_path)
    # the kernel runs in nb/, so a relative output_dir is made absolute from where kit was called
    assert plan.parameters["output_dir"] == str(tmp_path / "outs")


def test_executed_notebook_names_the_final_folder(quickstart_run):
    _, out = quickstart_run
    text = (out / "notebook.ipynb").read_text()
    assert ".tmp-" not in text and str(out) in text


def test_a_run_reading_a_url_is_never_reused(tmp_path):
    """A PACS or a historian changes between runs: the same parameters do not make the same run."""
    nb = notebooks.find_notebook("radiology_triage")
    plans = [runner.plan(str(nb), [("pacs", "http://127.0.0.1:8042/dicom-web")], out=tmp_path / "r", cwd=tmp_path)
             for _ in range(2)]
    assert runner.fingerprint(plans[0]) != runner.fingerprint(plans[1])
    same = [runner.plan(str(nb), [("seed", "1")], out=tmp_path / "r", cwd=tmp_path) for _ in range(2)]
    assert runner.fingerprint(same[0]) == runner.fingerprint(same[1])
