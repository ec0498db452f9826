import json

from kit.cli import main
from kit.index import collect_runs, write_index


def fake_run(root, name, status, metrics, start="2026-01-01T00:00:00+00:00"):
    d = root / name
    d.mkdir(parents=True)
    manifest = {
        "notebook": name, "status": status, "parameters": {"site": "agadir", "output_dir": str(d)},
        "overrides": ["site"], "duration_s": 12.5, "start": start,
        "error": None if status == "ok" else {"type": "ValueError", "message": "bad <row>"},
    }
    (d / "manifest.json").write_text(json.dumps(manifest))
    (d / "metrics.json").write_text(json.dumps(metrics))
    (d / "report.html").write_text("<html></html>")
    return d


def test_index_lists_failed_first_with_links_and_metrics(tmp_path):
    fake_run(tmp_path, "alpha", "ok", {"water_saved_m3": 1234.5678})
    fake_run(tmp_path, "beta", "failed", {})
    (tmp_path / ".gamma.tmp-x").mkdir()
    (tmp_path / ".gamma.tmp-x" / "manifest.json").write_text("{}")  # a run in progress is not listed
    runs = collect_runs(tmp_path)
    assert [r["notebook"] for r in runs] == ["beta", "alpha"]
    page = write_index(tmp_path).read_text()
    assert page.index("beta") < page.index("alpha")
    assert 'href="alpha/report.html"' in page
    assert "water_saved_m3 = 1235" in page
    assert "bad &lt;row&gt;" in page  # escaped
    assert "2 runs, 1 failed" in page
    assert "1 run, all ok" in write_index(tmp_path / "alpha").read_text()
    assert "http" not in page


def test_cli_index(tmp_path, capsys):
    fake_run(tmp_path / "nested", "alpha", "ok", {"m": 1})
    assert main(["report", "index", str(tmp_path)]) == 0
    assert 'href="nested/alpha/report.html"' in (tmp_path / "index.html").read_text()


def test_cli_index_missing_folder(tmp_path, capsys):
    assert main(["report", "index", str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err
