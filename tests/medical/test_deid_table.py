"""Every row of Table E.1-1, for the Basic Profile and for each option, on a data set holding every attribute."""
import datetime as dt

import pydicom
import pytest
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from kit.errors import ParameterError
from kit.medical import deidentify_folder
from kit.medical._annex_e import BASIC_PROFILE, EDITION, OPTIONS, PRIVATE, REPEATING, ROWS
from kit.medical.deid import Deidentifier
from kit.medical.deid_profile import OPTION_CODES, SUPPORTED_OPTIONS, parse_deid_profile

SECRET = "table walk secret, 32 bytes long!"
PATIENT_ID, PATIENT_NAME = 0x00100020, 0x00100010
DATE, DATETIME, TIME = "20240315", "20240315101500", "101500"
BODY = [t for t in BASIC_PROFILE if t >> 16 != 0x0002]


def _value(vr: str, tag: int):
    """A made-up identifying value of the VR, unique to the tag where the VR allows."""
    text = f"ID{tag:08X}"
    return {
        "DA": DATE, "DT": DATETIME, "TM": TIME, "PN": f"Doe^{text}", "UI": f"1.2.999.{tag}", "AS": "064Y",
        "DS": "12.5", "IS": "42", "CS": text, "AE": text[:16], "UR": f"http://{text}.example",
        "US": 7, "SS": 7, "UL": 7, "SL": 7, "FL": 1.5, "FD": 1.5, "OB": b"\x01\x02", "OW": b"\x01\x02",
        "UN": b"\x01\x02",
    }.get(vr, text)


def _full_dataset():
    from pydicom.dataset import FileMetaDataset

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.999.3"
    for tag in BASIC_PROFILE:
        if tag >> 16 == 0x0002:
            continue  # file meta, checked there
        vr = dictionary_VR(tag).split(" or ")[0]
        if vr == "SQ":
            item = Dataset()
            item.CodeMeaning = "unlisted text in an item"
            ds.add_new(tag, "SQ", Sequence([item]))
        else:
            ds.add_new(tag, vr, _value(vr, tag))
    ds.add_new(0x50000005, "US", 2)  # curve, 50XX,XXXX
    ds.add_new(0x60003000, "OW", b"\x0f\x0f")  # overlay data, 60XX,3000
    ds.add_new(0x60004000, "LT", "Overlay comment")  # 60XX,4000
    ds.private_block(0x0019, "ACME PACS", create=True).add_new(0x01, "LO", "Private^Name")
    return ds


def _outcome(out, tag, original):
    """What happened to ``tag``: removed, empty, kept, or changed."""
    if tag not in out:
        return "removed"
    elem, before = out[tag], original[tag]
    if elem.VR == "SQ":
        return "empty" if len(elem.value) == 0 else "kept"
    if elem.value in (None, "", b"") or elem.value == []:
        return "empty"
    return "kept" if elem.value == before.value else "changed"


def _expected(tag, vr, options):
    """The outcome Table E.1-1's row says for these options (the row is data here, read as the standard reads)."""
    name, basic, columns = ROWS[f"{tag:08X}"]
    applied = [columns[o] for o in options if o in columns]
    if "K" in applied:
        return "kept"
    if "C" in applied and "retain_longitudinal_modified_dates" in options and columns.get(
            "retain_longitudinal_modified_dates") == "C" and vr in ("DA", "DT", "TM"):
        return "kept" if vr == "TM" else "changed"  # dates shifted by whole days; a time of day stays
    if vr == "SQ" and any(columns.get(o) == "C" for o in ("clean_structured_content", "clean_graphics")
                          if o in options):
        return "kept"  # the tree is kept and its items cleaned (tests/medical/test_deid_options.py)
    if tag in (PATIENT_ID, PATIENT_NAME):
        return "changed"  # the pseudonym
    if "U" in basic:
        return {"UI": "changed", "SQ": "kept"}.get(vr, "removed")
    if "X" in basic:
        return "removed"
    if "Z" in basic:
        return "empty"
    if basic == "D":
        return "kept" if vr == "SQ" else "changed"
    return "kept"


@pytest.mark.parametrize("options", [(), *((o,) for o in SUPPORTED_OPTIONS)],
                         ids=lambda o: "basic" if not o else o[0])
def test_every_row_of_table_e1_1(options):
    original = _full_dataset()
    d = Deidentifier(secret=SECRET, profile=",".join(("basic", *options)))
    out, audit = d.deidentify(original)
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert (out.SOPInstanceUID == original.SOPInstanceUID) == ("retain_uids" in options)
    wrong = []
    for tag in BODY:
        vr = original[tag].VR
        got, want = _outcome(out, tag, original), _expected(tag, vr, options)
        if got != want:
            wrong.append(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {ROWS[f'{tag:08X}'][0]} {vr}: {got}, table says {want}")
    assert not wrong, f"{len(wrong)} rows off:\n" + "\n".join(wrong[:30])
    # Repeating groups (curves, overlays) and private attributes: removed whatever the options.
    assert set(REPEATING.values()) == {"X"} and PRIVATE[1] == "X"
    assert not [e for e in out if e.tag.group in (0x5000, 0x6000) or e.tag.is_private]
    # Dummy values keep the VR: a D on a date is still a date.
    for tag, action in BASIC_PROFILE.items():
        if tag in out and original[tag].VR in ("DA", "DT") and out[tag].value:
            dt.datetime.strptime(str(out[tag].value)[:8], "%Y%m%d")
    # Every row the walk touched is in the audit, and every option used is declared.
    touched = {row["tag"] for row in audit}
    for tag in BODY:
        if _outcome(out, tag, original) != "kept":
            assert f"({tag >> 16:04X},{tag & 0xFFFF:04X})" in touched
    codes = [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
    assert codes == ["113100"] + [OPTION_CODES[o][0] for o in options]
    assert out.PatientIdentityRemoved == "YES"


def test_current_edition_lists_instance_creation_date_and_time():
    assert EDITION >= "2024"
    assert ROWS["00080012"][:2] == ("Instance Creation Date", "X/D")
    assert ROWS["00080013"][:2] == ("Instance Creation Time", "X/Z/D")
    assert ROWS["00080013"][2] == {"retain_longitudinal_full_dates": "K", "retain_longitudinal_modified_dates": "C"}
    assert len(ROWS) > 600 and set(OPTIONS) == set(OPTION_CODES) - {"basic", "clean_pixel_data"}
    ds = Dataset()
    ds.PatientID, ds.InstanceCreationDate, ds.InstanceCreationTime = "P1", DATE, TIME
    out, _ = Deidentifier(secret=SECRET).deidentify(ds)
    assert "InstanceCreationDate" not in out and "InstanceCreationTime" not in out


def test_profile_names_a_bad_option():
    assert parse_deid_profile(" basic ") == ()
    with pytest.raises(ParameterError, match="'retain_patient_charactersitics' is unknown"):
        parse_deid_profile("basic,retain_patient_charactersitics")
    with pytest.raises(ParameterError, match="exclude each other"):
        parse_deid_profile("retain_longitudinal_full_dates,retain_longitudinal_modified_dates")
    with pytest.raises(ParameterError, match="empty"):
        Deidentifier(secret=SECRET, profile=" , ")


def _removed_or_emptied(ds, where, leaks):
    """Attributes of ``ds`` that the Basic Profile removes (X...) or empties (Z...) but are still there."""
    for elem in ds:
        tag = int(elem.tag)
        action = BASIC_PROFILE.get(tag, "")
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                _removed_or_emptied(item, f"{where}{elem.keyword}[{i}].", leaks)
        if tag in (PATIENT_ID, PATIENT_NAME) or "U" in action:
            continue
        if action.startswith("X") or action == "C":
            leaks.append(f"{where}{elem.keyword} survives ({action})")
        elif action.startswith("Z") and elem.value not in (None, "", b"", []):
            leaks.append(f"{where}{elem.keyword} not emptied ({action})")
        if elem.tag.is_private or elem.tag.group in (0x5000, 0x6000):
            leaks.append(f"{where}{elem.keyword or elem.tag} survives (private, curve or overlay)")


def test_phi_corpus_basic_leaves_nothing_the_table_removes(synth_dir, tmp_path):
    folder, labels = synth_dir
    result = deidentify_folder(folder, tmp_path / "deid", secret=SECRET, profile="basic")
    assert len(result.table) == (~labels.burned_in).sum()
    originals = [pydicom.dcmread(folder / f, stop_before_pixels=True) for f in labels.file[~labels.burned_in]]
    # The corpus does carry what the table removes, Instance Creation Date and Time included.
    assert all("InstanceCreationDate" in ds and "InstanceCreationTime" in ds and "InstitutionName" in ds
               for ds in originals)
    identifying = {str(ds.get(k)) for ds in originals for k in
                   ("PatientName", "PatientID", "OtherPatientIDs", "PatientAddress", "PatientTelephoneNumbers",
                    "AccessionNumber", "OperatorsName", "InstitutionName", "StationName", "DeviceSerialNumber")}
    identifying |= {str(ds.StudyDate) for ds in originals}
    for path in (tmp_path / "deid").rglob("*.dcm"):
        ds = pydicom.dcmread(path)
        leaks = []
        _removed_or_emptied(ds, "", leaks)
        assert not leaks, (path.name, leaks)
        assert ds.PatientSex in ("", None) and "PatientAge" not in ds  # Basic Profile: no characteristics
        raw = path.read_bytes()
        assert not [v for v in identifying if len(v) >= 4 and v.encode() in raw]
