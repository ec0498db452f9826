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


def test_index_in_french_writes_values_the_french_way(tmp_path):
    from kit.i18n import NNBSP, using

    fake_run(tmp_path, "alpha", "ok", {"water_saved_m3": 1234.5678, "relative_yield": 0.91234, "n_fields": 12000,
                                       "converged": True}, start="2026-03-01T05:30:00+00:00")
    fake_run(tmp_path, "beta", "failed", {})
    with using("fr"):
        page = write_index(tmp_path).read_text()
    assert f"water_saved_m3 = 1{NNBSP}235" in page and "relative_yield = 0,9123" in page
    assert f"n_fields = 12{NNBSP}000" in page and "converged = oui" in page
    assert f"12,5{NNBSP}s" in page and "1 mars 2026 05:30:00" in page
    assert "réussie" in page and "échouée" in page and "2 exécutions, 1 en échec" in page
    assert "<th>statut</th>" in page and ">ok<" not in page and ">failed<" not in page
    assert "relative_yield = 0.9123" in write_index(tmp_path).read_text()  # English as before
    manifest = json.loads((tmp_path / "alpha" / "manifest.json").read_text())
    assert manifest["status"] == "ok"  # what other programs read stays as it is
