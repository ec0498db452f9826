"""`kit demo`: every notebook into one folder, then a summary line per notebook, the total and the index."""
import json

import nbformat
import pytest

from kit import demo
from kit.cli import main

pytestmark = pytest.mark.timeout(300)


def _notebook(folder, name, body):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("output_dir = 'out'  # folder", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(f"import kit\nkit.report.bind(output_dir)\n{body}"),
    ]
    nbformat.write(nb, folder / f"{name}.ipynb")


def test_demo_summarizes_each_notebook_and_fails_when_one_fails(tmp_path, monkeypatch, capfd):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder, "10_good", "kit.report.record('answer', 42)")
    _notebook(folder, "11_bad", "raise RuntimeError('broken on purpose')")
    monkeypatch.setenv("KIT_NOTEBOOK_DIR", str(folder))
    monkeypatch.chdir(tmp_path)

    assert main(["demo", "--out", "reports", "--no-progress"]) == 1
    printed = capfd.readouterr()
    lines = printed.out.splitlines()
    summary = lines[lines.index("demo summary") + 1:]
    assert summary[0].split()[:2] == ["ok", "good"]
    assert summary[0].endswith(str(tmp_path / "reports/good/report.html"))
    assert summary[1].split()[:2] == ["failed", "bad"]
    assert "RuntimeError: broken on purpose" in summary[2]
    assert summary[3].startswith("2 notebooks, 1 ok, 1 failed in ")
    assert summary[4] == f"index: {tmp_path / 'reports/index.html'}"
    assert json.loads((tmp_path / "reports/good/metrics.json").read_text()) == {"answer": 42}
    assert "2 runs, 1 failed" in (tmp_path / "reports/index.html").read_text()
    assert "without encryption" not in printed.err  # kernels talk over IPC sockets


def test_format_duration():
    assert demo.format_duration(437.2) == "7 min 17 s"
    assert demo.format_duration(59.94) == "59.9 s"
