"""PACS in and out: the query, the state file, the SR, and a real Orthanc over DICOMweb with authentication on."""
import json
import shutil
import subprocess
from types import SimpleNamespace

import pydicom
import pytest

from kit.errors import InputDataError, ParameterError
from kit.medical import pacs, pacs_triage, sr
from kit.params import Param
from tests.medical.orthanc_server import orthanc_server  # noqa: F401  (the fixture)


def test_query_defaults_ranges_and_refusals():
    q = pacs.parse_query(None)
    assert q.since_last_run and q.date_range is None and q.modalities == ("CR", "DX") and q.body_parts == ("CHEST",)
    assert pacs.parse_query({"date": "2026-12-01"}).date_range == "20261201"
    assert pacs.parse_query({"date": "2026-11-30/"}).date_range == "20261130-"
    assert pacs.parse_query({"date": "/2026-11-30", "body_part": ""}).body_parts == ()
    assert pacs.parse_query("all").date_range is None and not pacs.parse_query("all").since_last_run
    for bad in ({"date": "yesterday"}, {"date": "2026-02-30"}, {"modality": " , "}, {"bodypart": "CHEST"}):
        with pytest.raises(ParameterError, match="pacs_query"):
            pacs.parse_query(bad)


def test_pacs_url_with_a_password_is_refused_before_a_kernel_starts():
    param = Param("pacs", "source", None, "DICOMweb root")
    with pytest.raises(ParameterError) as err:
        param.check("https://triage:s3cret-pw@pacs.example/dicom-web")
    assert "s3cret-pw" not in str(err.value) and "~/.netrc" in str(err.value)
    with pytest.raises(ParameterError, match="DICOMweb root URL"):
        pacs.check_url("ftp://pacs.example/dicom-web")
    assert pacs.check_url("https://pacs.example/dicom-web/") == "https://pacs.example/dicom-web"


def test_session_takes_the_login_from_the_environment_and_verifies_tls(monkeypatch):
    for k in (pacs.USER_ENV, pacs.PASSWORD_ENV, pacs.TOKEN_ENV):
        monkeypatch.delenv(k, raising=False)
    s = pacs.session()
    assert s.verify is True and s.auth is None and s.trust_env  # trust_env: requests reads ~/.netrc
    monkeypatch.setenv(pacs.USER_ENV, "reader")
    monkeypatch.setenv(pacs.PASSWORD_ENV, "pw")
    assert pacs.session().auth == ("reader", "pw")
    monkeypatch.setenv(pacs.TOKEN_ENV, "tok")
    assert pacs.session().headers["Authorization"] == "Bearer tok"


def test_state_keeps_digests_per_pacs(tmp_path):
    path = pacs.state_path(tmp_path / "runs" / "radiology_triage")
    assert path == tmp_path / "runs" / pacs.STATE_FILE
    assert pacs.state_path(tmp_path / "pipeline" / "2026-12-02" / "triage") == tmp_path / "pipeline" / pacs.STATE_FILE
    assert pacs.load_state(path, "http://a/dicom-web") == {"last_run_date": None, "triaged": set()}
    path.parent.mkdir()
    pacs.save_state(path, "http://a/dicom-web", "2026-12-01", ["1.2.3", "1.2.4"])
    pacs.save_state(path, "http://a/dicom-web", "2026-12-02", ["1.2.5"])
    pacs.save_state(path, "http://b/dicom-web", "2026-11-01", ["1.2.3"])
    a = pacs.load_state(path, "http://a/dicom-web")
    assert a["last_run_date"] == "2026-12-02" and len(a["triaged"]) == 3
    assert "1.2.3" not in path.read_text()  # study UIDs are identifiers: only digests are kept
    assert pacs.load_state(path, "http://b/dicom-web")["last_run_date"] == "2026-11-01"


def _dciodvfy_errors(path) -> list:
    done = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("Error")]


def check_report(ds, images=None) -> dict:
    """A stored triage SR: parses as TID 1500, right SOP class, passes dciodvfy when installed; its result."""
    assert ds.SOPClassUID == pydicom.uid.Comprehensive3DSRStorage and ds.Modality == "SR"
    assert ds.CompletionFlag == "COMPLETE" and ds.VerificationFlag == "UNVERIFIED"
    result = sr.read_result(ds)
    assert 0.0 <= result["p_urgent"] <= 1.0
    if images is not None:
        assert result["referenced"] == sorted(i.SOPInstanceUID for i in images)
        assert ds.StudyInstanceUID == images[0].StudyInstanceUID and ds.PatientID == images[0].PatientID
        evidence = [i.ReferencedSOPInstanceUID for s in ds.CurrentRequestedProcedureEvidenceSequence
                    for r in s.ReferencedSeriesSequence for i in r.ReferencedSOPSequence]
        assert sorted(evidence) == result["referenced"]
    return result


def test_report_is_a_valid_sr_referencing_the_images(tmp_path):
    from kit.medical.synthetic import synth_chest_xrays

    synth_chest_xrays(tmp_path / "study", n_studies=1, image_size=64, seed=2)
    study = [pydicom.dcmread(f, stop_before_pixels=True) for f in (tmp_path / "study").rglob("*.dcm")]
    model = sr.TriageModel("sector-kit radiology_triage small_cnn", "test", 0.62, "model_card.md sha256 0", "1.2.3.4")
    report = sr.triage_report(study, 0.8123456, True, model)
    report.save_as(tmp_path / "sr.dcm", enforce_file_format=True)
    back = pydicom.dcmread(tmp_path / "sr.dcm")
    result = check_report(back, study)
    assert result["p_urgent"] == 0.8123 and result["urgent"]
    assert not sr.read_result(sr.triage_report(study, 0.1, False, model))["urgent"]
    if shutil.which("dciodvfy"):
        assert _dciodvfy_errors(tmp_path / "sr.dcm") == []


# -- a real Orthanc --------------------------------------------------------------------------------
@pytest.fixture
def loaded_pacs(orthanc_server, tmp_path_factory):  # noqa: F811
    """Orthanc holding 6 chest studies and one hand radiograph (left out by the body-part filter)."""
    from kit.medical.synthetic import synth_chest_xrays

    folder = tmp_path_factory.mktemp("pacs_upload")
    labels = synth_chest_xrays(folder, n_studies=7, image_size=64, prevalence=0.5, n_sites=2, seed=3)
    files = sorted(folder.rglob("*.dcm"))
    hand = pydicom.dcmread(files[0])
    hand.BodyPartExamined = "HAND"
    hand.save_as(files[0])
    orthanc_server.clear()
    assert orthanc_server.upload(files) == 7
    yield orthanc_server, labels, hand.StudyInstanceUID
    orthanc_server.clear()


def test_fetch_filters_remembers_and_needs_the_login(loaded_pacs, tmp_path, monkeypatch):
    server, labels, hand_study = loaded_pacs
    state = tmp_path / pacs.STATE_FILE
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc yet
    for k in (pacs.USER_ENV, pacs.PASSWORD_ENV, pacs.TOKEN_ENV, "NETRC"):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(InputDataError, match="login refused") as err:
        pacs.fetch(server.dicomweb, None, state)
    assert server.password not in str(err.value)
    server.write_netrc(tmp_path)
    got = pacs.fetch(server.dicomweb, None, state)
    try:
        fetched = {pydicom.dcmread(f).StudyInstanceUID for f in got.root.rglob("*.dcm")}
        assert fetched == set(got.study_uids) == set(labels.StudyInstanceUID) - {hand_study}
        assert got.n_instances == 6 and got.counts["series_other_body_part"] == 1
        assert all(f.relative_to(got.root).as_posix().replace("/", "").replace(".dcm", "").isdigit()
                   for f in got.root.rglob("*.dcm"))  # no identifier in the file names
        description = json.dumps(got.describe(pacs.parse_query(None)))
        assert server.password not in description and server.user not in description
    finally:
        got.cleanup()
    assert not got.root.exists()
    pacs.save_state(state, server.dicomweb, got.run_date, got.study_uids[:4])
    since = pacs.fetch(server.dicomweb, None, state)  # since_last_run: the studies are dated before today
    since.cleanup()
    assert since.counts["studies_matched"] == 0 and since.study_uids == []
    again = pacs.fetch(server.dicomweb, {"date": "all"}, state)
    again.cleanup()
    assert again.counts["already_triaged"] == 4 and len(again.study_uids) == 2
    outside = pacs.fetch(server.dicomweb, {"date": "1999-01-01/1999-12-31"}, tmp_path / "other.json")
    outside.cleanup()
    assert outside.counts["studies_matched"] == 0


def test_store_puts_a_valid_sr_into_the_study(loaded_pacs, tmp_path, monkeypatch):
    server, labels, _ = loaded_pacs
    monkeypatch.setenv("HOME", str(tmp_path))
    server.write_netrc(tmp_path)
    got = pacs.fetch(server.dicomweb, {"date": "all"}, tmp_path / "state.json")
    try:
        image = pydicom.dcmread(next(got.root.rglob("*.dcm")), stop_before_pixels=True)
    finally:
        got.cleanup()
    model = sr.TriageModel("sector-kit radiology_triage small_cnn", "test", 0.5, "model_card.md sha256 0", "1.2.3.4")
    report = sr.triage_report([image], 0.25, False, model)
    # push_results off: nothing stored, the studies still remembered, the fetched files deleted
    run = SimpleNamespace(push_results=False, output_dir=str(tmp_path / "runs" / "off"))
    again = pacs.fetch(server.dicomweb, {"date": "all"}, pacs.state_path(run.output_dir))
    assert pacs_triage.finish(run, again, [report]) == 0 and not again.root.exists()
    assert len(pacs.load_state(pacs.state_path(run.output_dir), server.dicomweb)["triaged"]) == 6
    dweb = pacs.client(server.dicomweb)
    assert dweb.search_for_series(image.StudyInstanceUID, search_filters={"Modality": "SR"}) == []
    assert pacs.store(server.dicomweb, [report]) == 1
    (series,) = dweb.search_for_series(image.StudyInstanceUID, search_filters={"Modality": "SR"})
    (stored,) = dweb.retrieve_series(image.StudyInstanceUID, series["0020000E"]["Value"][0])
    assert check_report(stored, [image])["p_urgent"] == 0.25


def test_dimse_finds_fetches_and_stores_like_dicomweb(loaded_pacs, tmp_path, monkeypatch):
    """A site without DICOMweb: C-FIND, C-GET and C-STORE give the same studies and the same stored SR."""
    server, labels, hand_study = loaded_pacs
    monkeypatch.setenv("HOME", str(tmp_path))
    server.write_netrc(tmp_path)  # the DICOMweb side of the check only
    monkeypatch.setenv("KIT_PACS_CALLING_AET", "NOT_REGISTERED")
    with pytest.raises(InputDataError, match="NOT_REGISTERED"):
        pacs.fetch(server.dimse, {"date": "all"}, tmp_path / "refused.json")
    monkeypatch.delenv("KIT_PACS_CALLING_AET")
    got = pacs.fetch(server.dimse, {"date": "all"}, tmp_path / "state.json")
    try:
        assert set(got.study_uids) == set(labels.StudyInstanceUID) - {hand_study} and got.n_instances == 6
        assert got.counts["series_other_body_part"] == 1 and got.describe(pacs.parse_query(None))["kind"] == "DIMSE"
        image = pydicom.dcmread(next(got.root.rglob("*.dcm")))
        assert image.pixel_array.shape == (64, 64)
    finally:
        got.cleanup()
    model = sr.TriageModel("sector-kit radiology_triage small_cnn", "test", 0.5, "model_card.md sha256 0", "1.2.3.4")
    assert pacs.store(server.dimse, [sr.triage_report([image], 0.75, True, model)]) == 1
    dweb = pacs.client(server.dicomweb)
    (series,) = dweb.search_for_series(image.StudyInstanceUID, search_filters={"Modality": "SR"})
    (stored,) = dweb.retrieve_series(image.StudyInstanceUID, series["0020000E"]["Value"][0])
    assert check_report(stored, [image])["urgent"]
    with pytest.raises(ParameterError, match="dimse://AET@host:port"):
        pacs.check_url("dimse://127.0.0.1:4242")
