"""``kit run radiology_triage -p pacs URL`` against a real Orthanc: every study gets its SR, a second run fetches nothing.

The studies are dated today, as a morning's arrivals are, so the second
run's ``since_last_run`` query matches them again and only the state file
keeps them from being fetched twice. The login comes from ``~/.netrc`` in a
temporary ``HOME`` and must appear in no file of either run folder.
"""
import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pydicom
import pytest

from kit import runner
from kit.medical import pacs
from kit.medical.notebook import cache_root
from tests.medical.orthanc_server import orthanc_server  # noqa: F401  (the fixture)
from tests.medical.test_pacs import check_report

pytestmark = pytest.mark.slow


def _sr_of(dweb, study_uid) -> list:
    out = []
    for series in dweb.search_for_series(study_uid, search_filters={"Modality": "SR"}):
        out += dweb.retrieve_series(study_uid, series["0020000E"]["Value"][0])
    return out


def _run(tmp_path, name, params) -> tuple[dict, Path]:
    plan = runner.plan("radiology_triage", list(params.items()), out=tmp_path / "reports" / name, cwd=tmp_path)
    manifest = runner.execute(plan, progress=False)
    assert manifest["status"] == "ok", manifest["error"]
    return manifest, plan.out


def _no_secret_in(folder: Path, secret: str) -> None:
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".ipynb", ".html", ".csv", ".md", ".txt"):
            assert secret not in path.read_text(errors="replace"), path


def test_kit_run_against_orthanc(orthanc_server, tmp_path, monkeypatch):  # noqa: F811
    from kit.medical.synthetic import synth_chest_xrays

    server = orthanc_server
    today = dt.date.today().strftime("%Y%m%d")
    synth_chest_xrays(tmp_path / "arrivals", n_studies=6, image_size=64, prevalence=0.5, n_sites=2, seed=8)
    images = {}
    for f in sorted((tmp_path / "arrivals").rglob("*.dcm")):
        ds = pydicom.dcmread(f)
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = today
        ds.save_as(f)
        images.setdefault(ds.StudyInstanceUID, []).append(ds)
    server.clear()
    assert server.upload(sorted((tmp_path / "arrivals").rglob("*.dcm"))) == 6

    monkeypatch.setenv("KIT_CACHE_DIR", str(cache_root()))  # keep the embedded set's cache
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    server.write_netrc(tmp_path / "home")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # where the kernel keeps the fetched files
    (tmp_path / "tmp").mkdir()
    for k in (pacs.USER_ENV, pacs.PASSWORD_ENV, pacs.TOKEN_ENV, "NETRC"):
        monkeypatch.delenv(k, raising=False)

    manifest, out = _run(tmp_path, "first", {"pacs": server.dicomweb, "scale": "0.25", "epochs": "1"})
    assert manifest["inputs"]["pacs"]["n_studies"] == 6 and manifest["inputs"]["pacs"]["n_instances"] == 6
    assert json.loads((out / "metrics.json").read_text())["n_pacs_reports_stored"] == 6
    dweb = pacs.client(server.dicomweb)
    p_sr = []
    for study, imgs in images.items():
        (report,) = _sr_of(dweb, study)
        p_sr.append(check_report(report, imgs)["p_urgent"])
    worklist = pd.read_csv(out / "worklist.csv")
    assert sorted(p_sr) == pytest.approx(sorted(worklist.p_urgent), abs=1e-4)  # the same scores, both ways
    assert not set(worklist.study_id) & set(images)  # the worklist is on de-identified ids
    assert list((tmp_path / "tmp").glob("kit-pacs-*")) == []  # the identified files are gone
    assert (tmp_path / "reports" / pacs.STATE_FILE).exists()

    manifest, second = _run(tmp_path, "second", {"pacs": server.dicomweb, "scale": "0.25",
                                                 "model": str(out / "model.pt")})
    source = manifest["inputs"]["pacs"]
    assert source["studies_matched"] == 6 and source["already_triaged"] == 6 and source["n_studies"] == 0
    assert pd.read_csv(second / "worklist.csv").empty
    assert all(len(_sr_of(dweb, study)) == 1 for study in images)  # nothing stored twice
    for folder in (out, second):
        _no_secret_in(folder, server.password)
