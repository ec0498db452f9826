"""The clean options of PS3.15 Annex E: Clean Descriptors (every row of its column) and Clean Pixel Data."""
import re

import pytest
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from kit.errors import ParameterError
from kit.medical._annex_e import ROWS
from kit.medical.deid import Deidentifier, Withheld
from kit.medical.deid_clean import descriptor_verdict, header_identifiers
from kit.medical.deid_profile import parse_deid_profile

SECRET = "clean options secret, 32 bytes!!"
DESCRIPTOR_ROWS = sorted(int(t, 16) for t, r in ROWS.items()
                         if r[2].get("clean_descriptors") == "C" and "X" not in t)
CLEAN = "CHEST PA 2 VIEWS"  # 16 characters: fits SH and CS
# What real descriptors carry besides the exam: the patient's name, a date, the patient ID, the institution.
PHI = ["CHEST PA HAND", "CHEST 15/03/2024", "CHEST PA P12345", "CHEST ST MARYS", "CXR JOHN"]


def _header():
    ds = Dataset()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "Hand^John", "P12345", "19610312"
    ds.StudyDate, ds.InstitutionName, ds.AccessionNumber = "20240315", "St Marys", "A998877"
    ds.StudyInstanceUID, ds.SOPInstanceUID = "1.2.999.1", "1.2.999.2"
    return ds


def _with_descriptors(text):
    ds = _header()
    for tag in DESCRIPTOR_ROWS:
        vr = dictionary_VR(tag).split(" or ")[0]
        if vr == "SQ":
            item = Dataset()
            item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "T-D3000", "SRT", text
            ds.add_new(tag, vr, Sequence([item]))
        else:
            value = re.sub(r"[^A-Z0-9 _]", " ", text.upper()) if vr == "CS" else text  # CS has no '/' or '-'
            ds.add_new(tag, vr, value.encode() if vr == "OB" else value)
    return ds


def _state(out, tag):
    if tag not in out:
        return "removed"
    elem = out[tag]
    if elem.VR == "SQ":
        return f"{len(elem.value)} items" + (f" {elem.value[0].CodeMeaning}" if len(elem.value) else "")
    return "empty" if elem.value in (None, "", b"") else str(elem.value)


def test_every_row_of_the_clean_descriptors_column():
    assert len(DESCRIPTOR_ROWS) > 120
    clean = Deidentifier(secret=SECRET, profile="basic,clean_descriptors", check_pixels=False)
    basic = Deidentifier(secret=SECRET, check_pixels=False)
    out, audit = clean.deidentify(_with_descriptors(CLEAN))
    wrong = []
    for tag in DESCRIPTOR_ROWS:
        vr = dictionary_VR(tag).split(" or ")[0]
        want = "1 items " + CLEAN if vr == "SQ" else CLEAN
        if vr == "OB":  # Maker Note and the like: bytes are not a descriptor that can be read, Basic Profile
            want = _state(basic.deidentify(_with_descriptors(CLEAN))[0], tag)
        if _state(out, tag) != want:
            wrong.append(f"{tag:08X} {ROWS[f'{tag:08X}'][0]} {vr}: {_state(out, tag)}, want {want}")
    assert not wrong, "\n".join(wrong[:20])
    kept = [r for r in audit if r["action"] == "K" and "clean_descriptors C" in r["rule"]]
    assert len(kept) == len(DESCRIPTOR_ROWS) - 2  # all but the two OB rows
    assert [i.CodeValue for i in out.DeidentificationMethodCodeSequence] == ["113100", "113105"]
    assert "Clean Descriptors" in list(out.DeidentificationMethod)


@pytest.mark.parametrize("text", PHI)
def test_descriptors_with_identifiers_get_the_basic_profile_action(text):
    clean = Deidentifier(secret=SECRET, profile="basic,clean_descriptors", check_pixels=False)
    basic = Deidentifier(secret=SECRET, check_pixels=False)
    out, audit = clean.deidentify(_with_descriptors(text))
    ref, _ = basic.deidentify(_with_descriptors(text))
    wrong = [f"{tag:08X}: {_state(out, tag)} vs {_state(ref, tag)}" for tag in DESCRIPTOR_ROWS
             if _state(out, tag) != _state(ref, tag)]
    assert not wrong, "\n".join(wrong[:10])
    for elem in out.iterall():
        assert "HAND" not in str(elem.value).upper() and "15/03" not in str(elem.value)
    assert any("Basic Profile action" in r["rule"] and "clean_descriptors" in r["rule"] for r in audit)


def test_descriptor_verdicts():
    ids = header_identifiers(_header())
    assert {"HAND", "JOHN", "P12345", "20240315", "MARYS", "A998877"} <= ids
    assert descriptor_verdict("Chest PA/Lat, 120kV 5mm", ids) is None
    assert descriptor_verdict("XR CHEST 1 VIEW", ids) is None
    assert descriptor_verdict("HAND PA", ids).startswith("matches an identifier")  # a safe word, but his name
    assert descriptor_verdict("HAND PA") is None  # the same text in another patient's header
    assert descriptor_verdict("CHEST 2024") .startswith("words outside")  # a year
    assert descriptor_verdict("Chest 2024-03-15") == "looks like a date"
    assert descriptor_verdict(["CHEST", "PA DUPONT"]).startswith("words outside")


def test_clean_pixel_data_is_mask_burned_in():
    assert parse_deid_profile("basic,clean_pixel_data,retain_uids") == ("clean_pixel_data", "retain_uids")
    one = Deidentifier(secret=SECRET, mask_burned_in=True)
    two = Deidentifier(secret=SECRET, profile="basic,clean_pixel_data")
    assert one.profile == two.profile == "basic,clean_pixel_data" and one.mask_burned_in and two.mask_burned_in
    assert not Deidentifier(secret=SECRET).mask_burned_in
    with pytest.raises(ParameterError, match="needs check_pixels"):
        Deidentifier(secret=SECRET, profile="basic,clean_pixel_data", check_pixels=False)


def test_header_burned_in_yes_without_text_found_stays_withheld():
    import numpy as np

    ds = _header()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
    ds.BurnedInAnnotation = "YES"
    ds.set_pixel_data(np.full((64, 64), 100, np.uint16), "MONOCHROME2", 12)
    with pytest.raises(Withheld, match="found no text to mask"):
        Deidentifier(secret=SECRET, profile="basic,clean_pixel_data").deidentify(ds)
    with pytest.raises(Withheld, match="add clean_pixel_data"):
        Deidentifier(secret=SECRET).deidentify(ds)


def _code(value, meaning, scheme="DCM"):
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return Sequence([item])


def _content_item(value_type, concept, meaning, relationship="CONTAINS", **values):
    """One SR content item as PS3.3 C.17.3 lays it out: relationship, value type, concept name, value."""
    item = Dataset()
    item.RelationshipType, item.ValueType = relationship, value_type
    item.ConceptNameCodeSequence = _code(concept, meaning)
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def _content():
    """A Basic Text SR tree: observer context (PNAME, UIDREF, DATETIME), findings as TEXT, a nested container."""
    nested = _content_item("CONTAINER", "111028", "Image Library", ContinuityOfContent="SEPARATE")
    nested.ContentSequence = Sequence([_content_item("TEXT", "121071", "Finding", TextValue="seen by Dr Hand")])
    return [
        _content_item("PNAME", "121008", "Person Observer Name", "HAS OBS CONTEXT", PersonName="Martin^Paul"),
        _content_item("UIDREF", "121012", "Device Observer UID", "HAS OBS CONTEXT", UID="1.2.999.77"),
        _content_item("DATETIME", "111526", "DateTime Started", DateTime="20240315101500"),
        _content_item("DATE", "111060", "Study Date", Date="20240315"),
        _content_item("TEXT", "121071", "Finding", TextValue="Hand John, 15/03/2024: no change"),
        _content_item("TEXT", "121073", "Impression", TextValue="CHEST PA"),
        _content_item("CODE", "121071", "Finding", ConceptCodeSequence=_code("233604007", "Pneumonia", "SCT")),
        nested,
    ]


CONTENT_ROWS = sorted(int(t, 16) for t, r in ROWS.items() if r[2].get("clean_structured_content") == "C")


@pytest.mark.parametrize("options", ["basic,clean_structured_content",
                                     "basic,clean_structured_content,retain_longitudinal_modified_dates"])
def test_every_row_of_the_clean_structured_content_column(options):
    assert [f"{t:08X}" for t in CONTENT_ROWS] == ["00400555", "00400610", "0040A730"]
    ds = _header()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"  # Basic Text SR
    for tag in CONTENT_ROWS:
        ds.add_new(tag, "SQ", Sequence(_content()))
    out, audit = Deidentifier(secret=SECRET, profile=options, check_pixels=False).deidentify(ds)
    for tag in CONTENT_ROWS:
        items = {str(i.ValueType) + ":" + i.ConceptNameCodeSequence[0].CodeMeaning: i for i in out[tag].value}
        assert set(items) == {"PNAME:Person Observer Name", "UIDREF:Device Observer UID", "DATETIME:DateTime Started",
                              "DATE:Study Date", "TEXT:Impression", "CODE:Finding", "CONTAINER:Image Library"}
        assert items["PNAME:Person Observer Name"].PersonName != "Martin^Paul"
        assert items["UIDREF:Device Observer UID"].UID.startswith("2.25.")
        date = items["DATE:Study Date"].Date
        if "modified" in options:  # shifted by the patient's days
            assert "19000101" < date < "20240315"
        else:  # Table E.1-1's D: a dummy date
            assert date == "19000101"
        assert items["DATETIME:DateTime Started"].DateTime[:8] != "20240315"
        assert items["TEXT:Impression"].TextValue == "CHEST PA"
        assert items["CODE:Finding"].ConceptCodeSequence[0].CodeMeaning == "Pneumonia"
        assert len(items["CONTAINER:Image Library"].ContentSequence) == 0  # its PHI-laden TEXT item removed
    removed = [r for r in audit if r["action"] == "X" and "TEXT item removed" in r["rule"]]
    assert len(removed) == 2 * len(CONTENT_ROWS)
    assert [i.CodeValue for i in out.DeidentificationMethodCodeSequence][-1] == "113104"


def test_without_the_option_context_sequences_follow_the_basic_profile():
    ds = _header()
    for tag in CONTENT_ROWS:
        ds.add_new(tag, "SQ", Sequence(_content()))
    out, _ = Deidentifier(secret=SECRET, check_pixels=False).deidentify(ds)
    assert 0x00400555 not in out and len(out[0x00400610].value) == 0  # X/Z removed, Z emptied
    # Content Sequence is D: its items stay, de-identified, and the free text no row covers is gone.
    items = out.ContentSequence
    assert len(items) == 8 and not any("TextValue" in i for i in items)
    assert "TextValue" not in items[-1].ContentSequence[0]
    assert items[0].PersonName != "Martin^Paul"


def test_basic_profile_drops_the_text_of_graphic_annotations():
    ds = _header()
    text = Dataset()
    text.UnformattedTextValue = "Hand John 15/03/2024"
    annotation = Dataset()
    annotation.GraphicLayer = "LAYER1"
    annotation.TextObjectSequence = Sequence([text])
    ds.GraphicAnnotationSequence = Sequence([annotation])
    out, audit = Deidentifier(secret=SECRET, check_pixels=False).deidentify(ds)
    kept = out.GraphicAnnotationSequence[0]
    assert "UnformattedTextValue" not in kept.TextObjectSequence[0]
    assert any(r["rule"] == "safety net: free text inside a dummied sequence" for r in audit)


def test_structured_content_text_is_judged_against_the_header():
    ds = _header()
    ds.ContentSequence = Sequence([_content_item("TEXT", "121073", "Impression", TextValue="HAND PA")])
    out, _ = Deidentifier(secret=SECRET, profile="basic,clean_structured_content", check_pixels=False).deidentify(ds)
    assert len(out.ContentSequence) == 0  # safe words, but 'HAND' is the patient's name in this header
