import copy

import numpy as np
import pandas as pd
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from kit.medical import Deidentifier, deidentify_folder

SECRET = "correct horse battery staple 0912"
KEEP = "basic,retain_patient_characteristics,retain_longitudinal_modified_dates"


def _phi_dataset(path, *, patient_id="9RG1", study_uid="1.2.999.1.1", sop_uid="1.2.999.1.2",
                 study_date="20040826"):
    """RG1_UNCR (real CR) with identifying data added in every group the profile covers."""
    ds = pydicom.dcmread(path)
    ds.PatientID, ds.StudyInstanceUID, ds.SOPInstanceUID = patient_id, study_uid, sop_uid
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.StudyDate = study_date
    ds.AcquisitionDateTime = study_date + "101500"
    ds.PatientAddress = "12 Rue Tarik Ibn Ziad, Fes"
    ds.PatientTelephoneNumbers = "0612345678"
    ds.PatientComments = "Allergique penicilline, voisine de Mme Tazi"
    ds.AdditionalPatientHistory = "Fumeur depuis 1980"
    ds.OtherPatientIDsSequence = Sequence([Dataset()])
    ds.OtherPatientIDsSequence[0].PatientID = "CIN-AB123456"
    ds.OperatorsName = "Bennani^Salma"
    ds.PerformingPhysicianName = "Chraibi^Omar"
    ds.InstitutionAddress = "Bd Zerktouni, Casablanca"
    ds.DetectorID = "DET-55-XYZ"
    ds.StudyComments = "Demande urgente du Dr Lahlou"
    ds.RequestAttributesSequence = Sequence([Dataset()])
    ds.RequestAttributesSequence[0].RequestedProcedureID = "RPID-778899"
    ref = Dataset()
    ref.ReferencedSOPClassUID = ds.SOPClassUID
    ref.ReferencedSOPInstanceUID = "1.2.999.7.7"
    ds.ReferencedImageSequence = Sequence([ref])
    observer = Dataset()
    observer.VerifyingObserverName = "Ouazzani^Driss"
    observer.VerifyingOrganization = "Hopital Ouazzani"
    observer.VerificationDateTime = study_date + "120000"
    ds.VerifyingObserverSequence = Sequence([observer])
    ds.EvaluatorName = "Kettani^Ghita"  # a PN not in the transcribed table: safety net
    ds.PatientBirthDateInAlternativeCalendar = "1359-07-12H"  # group 0010, not in the table: safety net
    block = ds.private_block(0x0019, "ACME PACS", create=True)
    block.add_new(0x01, "LO", "Private^Copy^Of^Name")
    block.add_new(0x02, "SH", "PRIV-ID-4242")
    ds.add_new(0x60000010, "US", 4)
    ds.add_new(0x60000011, "US", 4)
    ds.add_new(0x60003000, "OW", b"\x0f\x0f")
    ds.add_new(0x60004000, "LT", "Overlay note Sqalli")
    ds.add_new(0x50000005, "US", 2)
    ds.add_new(0x50003000, "OW", b"\x01\x02\x03\x04")
    ds.add_new(0x50002500, "LO", "Curve label Fassi")
    return ds


def _identifying_values(ds):
    """Every value in ``ds`` a reader could use to re-identify: names, IDs, dates, UIDs, free text."""
    keep = {"SOPClassUID", "ReferencedSOPClassUID", "MediaStorageSOPClassUID", "TransferSyntaxUID"}
    targeted_keywords = {
        "PatientName", "PatientID", "PatientBirthDate", "OtherPatientIDs", "InstitutionName",
        "InstitutionAddress", "InstitutionalDepartmentName", "StationName", "DeviceSerialNumber", "DetectorID",
        "AccessionNumber", "StudyID", "ReferringPhysicianName", "OperatorsName", "PerformingPhysicianName",
        "PatientAddress", "PatientTelephoneNumbers", "PatientComments", "AdditionalPatientHistory",
        "StudyComments", "ImageComments", "RequestedProcedureID", "VerifyingOrganization",
        "PatientBirthDateInAlternativeCalendar", "StudyDescription",
    }
    values = set()

    def walk(dataset):
        for elem in dataset:
            if elem.VR == "SQ":
                for item in elem.value:
                    walk(item)
                continue
            text = str(elem.value) if elem.value is not None else ""
            if elem.tag.is_private or elem.tag.group in (0x5000, 0x6000) and elem.VR in ("LO", "LT", "SH"):
                values.add(text)
            elif elem.VR in ("PN", "DA", "DT") or elem.keyword in targeted_keywords:
                values.add(text)
            elif elem.VR == "UI" and elem.keyword not in keep:
                values.add(text)

    walk(ds)
    walk(ds.file_meta)
    return {v for v in values if len(v) >= 4}


def _all_text(ds):
    out = []

    def walk(dataset):
        for elem in dataset:
            if elem.VR == "SQ":
                for item in elem.value:
                    walk(item)
            elif elem.tag != 0x7FE00010:
                out.append(str(elem.value))

    walk(ds)
    walk(ds.file_meta)
    return out


@pytest.fixture()
def phi_folder(tmp_path, dicom_file):
    src = tmp_path / "src"
    src.mkdir()
    path = dicom_file("RG1_UNCR.dcm")
    a = _phi_dataset(path)
    a.save_as(src / "a.dcm", enforce_file_format=True)
    # Same patient, a later study that references image a.
    b = _phi_dataset(path, study_uid="1.2.999.2.1", sop_uid="1.2.999.2.2", study_date="20041015")
    b.ReferencedImageSequence[0].ReferencedSOPInstanceUID = "1.2.999.1.2"
    b.save_as(src / "b.dcm", enforce_file_format=True)
    # Another patient.
    c = _phi_dataset(path, patient_id="OTHER77", study_uid="1.2.999.3.1", sop_uid="1.2.999.3.2")
    c.PatientName = "Ziani^Hamza"
    c.save_as(src / "c.dcm", enforce_file_format=True)
    return src, {"a": a, "b": b, "c": c}


def test_no_identifying_value_survives_anywhere(phi_folder, tmp_path):
    src, inputs = phi_folder
    out_dir = tmp_path / "deid"
    result = deidentify_folder(src, out_dir, secret=SECRET, audit_csv=tmp_path / "deid_audit.csv")
    assert len(result.table) == 3 and result.quarantine.empty
    identifying = set().union(*(_identifying_values(ds) for ds in inputs.values()))
    assert {"CompressedSamples^RG1", "9RG1", "Private^Copy^Of^Name", "92.00.003", "1.2.999.7.7"} <= identifying
    for rel in result.table.deid_file:
        path = out_dir / rel
        ds = pydicom.dcmread(path)
        text = _all_text(ds)
        leaks = [v for v in identifying if any(v in t for t in text)]
        assert not leaks, leaks
        raw = path.read_bytes()
        raw_leaks = [v for v in identifying if v.encode() in raw]
        assert not raw_leaks, raw_leaks
        assert SECRET.encode() not in raw


def test_valid_image_kept_and_profile_attributes_set(phi_folder, tmp_path):
    src, inputs = phi_folder
    result = deidentify_folder(src, tmp_path / "deid", secret=SECRET, profile=KEEP)
    row = result.table.set_index("file").loc["a.dcm"]
    ds = pydicom.dcmread(tmp_path / "deid" / row.deid_file)
    original = inputs["a"]
    assert ds.SOPClassUID == original.SOPClassUID == ds.file_meta.MediaStorageSOPClassUID
    assert ds.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID != original.SOPInstanceUID
    np.testing.assert_array_equal(ds.pixel_array, original.pixel_array)
    assert ds.PatientIdentityRemoved == "YES" and ds.DeidentificationMethod
    codes = {item.CodeValue for item in ds.DeidentificationMethodCodeSequence}
    assert "113100" in codes and {"113107", "113108"} <= codes
    assert not any(elem.tag.is_private for elem in ds)
    assert not any(0x5000 <= elem.tag.group <= 0x60FF and elem.tag.group % 2 == 0 and elem.tag.group & 0xFF00 in
                   (0x5000, 0x6000) for elem in ds)
    # Names and IDs: pseudonym; device serial, institution, comments: removed; birth date: emptied.
    assert str(ds.PatientName).startswith("ANON") and ds.PatientID == str(ds.PatientName)
    for keyword in ("DeviceSerialNumber", "InstitutionName", "InstitutionAddress", "StationName", "OperatorsName",
                    "ImageComments", "PatientComments", "StudyComments", "OtherPatientIDsSequence",
                    "RequestAttributesSequence", "DetectorID", "EvaluatorName",
                    "PatientBirthDateInAlternativeCalendar", "PatientAddress"):
        assert keyword not in ds, keyword
    assert ds.PatientBirthDate in ("", None)
    assert ds.VerifyingObserverSequence[0].VerifyingObserverName == "ANONYMOUS"  # D inside a D sequence
    assert ds.PatientSex == "F"  # Retain Patient Characteristics Option


def test_uids_and_dates_are_consistent_within_a_run(phi_folder, tmp_path):
    src, inputs = phi_folder
    result = deidentify_folder(src, tmp_path / "deid", secret=SECRET, profile=KEEP)
    out = {r.file[0]: pydicom.dcmread(tmp_path / "deid" / r.deid_file) for r in result.table.itertuples()}
    # b references a's image: the reference follows a's new SOP Instance UID.
    assert out["b"].ReferencedImageSequence[0].ReferencedSOPInstanceUID == out["a"].SOPInstanceUID
    assert all(ds.StudyInstanceUID.startswith("2.25.") for ds in out.values())
    assert len({ds.StudyInstanceUID for ds in out.values()}) == 3
    # Same patient: same pseudonym and the same shift, so the 50-day interval survives.
    assert out["a"].PatientID == out["b"].PatientID != out["c"].PatientID
    day = lambda s: pd.Timestamp(s)  # noqa: E731
    assert (day(out["b"].StudyDate) - day(out["a"].StudyDate)).days == 50
    shift_a = (day(out["a"].StudyDate) - day(inputs["a"].StudyDate)).days
    assert -1095 <= shift_a <= -30
    assert out["a"].AcquisitionDateTime == (day(inputs["a"].StudyDate) + pd.Timedelta(days=shift_a)).strftime(
        "%Y%m%d") + "101500"
    # A second run with the same secret gives the same UIDs; another secret does not.
    again = deidentify_folder(src, tmp_path / "deid2", secret=SECRET, profile=KEEP)
    assert list(again.table.deid_study_uid) == list(result.table.deid_study_uid)
    other = deidentify_folder(src, tmp_path / "deid3", secret="another secret", profile=KEEP)
    assert set(other.table.deid_study_uid).isdisjoint(result.table.deid_study_uid)


def test_audit_lists_every_action_and_no_values(phi_folder, tmp_path):
    src, inputs = phi_folder
    result = deidentify_folder(src, tmp_path / "deid", secret=SECRET, audit_csv=tmp_path / "deid_audit.csv",
                               profile=KEEP)
    audit = pd.read_csv(tmp_path / "deid_audit.csv", dtype=str)
    assert list(audit.columns) == ["file", "tag", "keyword", "path", "action", "rule"]
    one = audit[audit.file == result.table.deid_file.iloc[0]]
    by_tag = one.set_index("tag")
    assert by_tag.loc["(0010,0010)", "action"] == "Z"
    assert by_tag.loc["(0018,1000)", "action"] == "X"
    assert by_tag.loc["(0020,000D)", "action"] == "U"
    assert by_tag.loc["(0008,0020)", "action"] == "shift"
    assert by_tag.loc["(0010,0040)", "action"] == "K"
    assert set(one[one.rule == "private attribute"].tag) == {"(0019,0010)", "(0019,1001)", "(0019,1002)"}
    assert {"(6000,3000)", "(6000,4000)", "(5000,3000)", "(5000,2500)"} <= set(one.tag)
    assert "RequestAttributesSequence" in set(one.keyword)
    assert any(p.startswith("VerifyingObserverSequence[0].") for p in one.path)
    # Every element the output lacks relative to the input is accounted for in the audit.
    original = inputs["a"] if result.table.file.iloc[0] == "a.dcm" else None
    if original is not None:
        out = pydicom.dcmread(tmp_path / "deid" / result.table.deid_file.iloc[0])
        removed = {f"({e.tag.group:04X},{e.tag.element:04X})" for e in original if e.tag not in out}
        assert removed <= set(one.tag)
    text = (tmp_path / "deid_audit.csv").read_text()
    for value in ("CompressedSamples", "9RG1", "Bennani", "92.00.003", "1.2.999.1.1", SECRET):
        assert value not in text


def test_burned_in_annotation_withheld_and_quarantined(synth_dir, tmp_path):
    folder, labels = synth_dir
    result = deidentify_folder(folder, tmp_path / "deid", secret=SECRET)
    burned = labels[labels.burned_in]
    assert len(burned) >= 1
    withheld = result.quarantine[result.quarantine.reason.str.contains("BurnedInAnnotation=YES")]
    assert set(withheld.file) == set(burned.file)
    assert set(result.table.file) == set(labels.file[~labels.burned_in])
    assert len(list((tmp_path / "deid").rglob("*.dcm"))) == len(labels) - len(burned)
    # The synthetic patients' names and IDs appear in no de-identified file.
    names = {str(pydicom.dcmread(folder / f, stop_before_pixels=True).PatientName) for f in labels.file}
    for path in (tmp_path / "deid").rglob("*.dcm"):
        raw = path.read_bytes()
        assert not [n for n in names if n.encode() in raw]
        assert pydicom.dcmread(path).pixel_array.shape == (64, 64)


def test_basic_profile_without_options_removes_patient_characteristics(dicom_file):
    ds = _phi_dataset(dicom_file("RG1_UNCR.dcm"))
    ds.PatientAge = "064Y"
    out, audit = Deidentifier(secret=SECRET, profile="basic").deidentify(copy.deepcopy(ds))
    assert out.PatientSex in ("", None) and "PatientAge" not in out
    assert {item.CodeValue for item in out.DeidentificationMethodCodeSequence} == {"113100"}
    # Basic Profile alone: study date emptied, acquisition date-time removed, nothing shifted.
    assert out.StudyDate in ("", None) and "AcquisitionDateTime" not in out
    assert out.LongitudinalTemporalInformationModified == "REMOVED"


def test_secret_is_not_exposed():
    d = Deidentifier(secret=SECRET)
    assert SECRET not in repr(d) and SECRET not in str(vars(d))
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(d)
