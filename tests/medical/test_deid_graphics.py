"""Clean Graphics Option (PS3.15 E.3.3): overlays and graphic annotations, every row of its column."""
import numpy as np
import pydicom
import pytest
from PIL import Image, ImageDraw
from pydicom.dataset import Dataset
from pydicom.pixels import pack_bits
from pydicom.sequence import Sequence

from kit.medical._annex_e import ROWS
from kit.medical.deid import Deidentifier

pytest.importorskip("rapidocr_onnxruntime")
SECRET = "clean graphics secret, 32 bytes!"
GRAPHICS_ROWS = sorted(t for t, r in ROWS.items() if r[2].get("clean_graphics") == "C")
SIDE = 128


def _bitmap(text=None):
    img = Image.new("L", (SIDE, SIDE), 0)
    draw = ImageDraw.Draw(img)
    draw.ellipse((70, 70, 110, 110), outline=255)  # an ROI outline: graphics, not text
    if text:
        draw.text((4, 4), text, fill=255)
    return (np.asarray(img) > 127).astype(np.uint8)


def _add_overlay(ds, group, bits, *, label="CHEST PA", comments="CHEST PA", rows=True):
    """An overlay group as PS3.3 C.9.2 lays it out: geometry, 1-bit layout, packed data, text."""
    base = group << 16
    if rows:
        ds.add_new(base | 0x0010, "US", bits.shape[0])
        ds.add_new(base | 0x0011, "US", bits.shape[1])
    ds.add_new(base | 0x0040, "CS", "G")
    ds.add_new(base | 0x0050, "SS", [1, 1])
    ds.add_new(base | 0x0100, "US", 1)
    ds.add_new(base | 0x0102, "US", 0)
    ds.add_new(base | 0x0022, "LO", label)
    ds.add_new(base | 0x4000, "LT", comments)
    ds.add_new(base | 0x3000, "OW", pack_bits(bits.ravel(), pad=True))


def _image():
    ds = Dataset()
    ds.PatientName, ds.PatientID, ds.StudyDate = "Dupont^Jean", "P777", "20240315"
    ds.SOPClassUID, ds.SOPInstanceUID, ds.StudyInstanceUID = "1.2.840.10008.5.1.4.1.1.1.1", "1.2.9.1", "1.2.9.2"
    ds.Modality = "DX"
    ds.set_pixel_data(np.full((SIDE, SIDE), 200, np.uint16), "MONOCHROME2", 12)
    _add_overlay(ds, 0x6000, _bitmap())
    _add_overlay(ds, 0x6002, _bitmap("DUPONT JEAN"), comments="drawn by Dr Martin")
    _add_overlay(ds, 0x6004, _bitmap(), rows=False)
    ds.add_new(0x50000005, "US", 2)  # Curve Dimensions of a retired curve group
    ds.add_new(0x50003000, "OW", b"\x00\x01\x00\x02")
    return ds


def _presentation_state():
    """A Grayscale Softcopy Presentation State's Graphic Annotation Sequence, one text and one graphic object."""
    ds = Dataset()
    ds.PatientName, ds.PatientID = "Dupont^Jean", "P777"
    ds.SOPClassUID, ds.SOPInstanceUID, ds.StudyInstanceUID = "1.2.840.10008.5.1.4.1.1.11.1", "1.2.9.3", "1.2.9.2"
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = "1.2.840.10008.5.1.4.1.1.1.1", "1.2.9.1"
    text = Dataset()
    text.BoundingBoxAnnotationUnits, text.UnformattedTextValue = "PIXEL", "Dupont Jean 12/03/1961"
    text.BoundingBoxTopLeftHandCorner, text.BoundingBoxBottomRightHandCorner = [10.0, 10.0], [100.0, 30.0]
    text.BoundingBoxTextHorizontalJustification = "LEFT"
    graphic = Dataset()
    graphic.GraphicAnnotationUnits, graphic.GraphicDimensions, graphic.NumberOfGraphicPoints = "PIXEL", 2, 2
    graphic.GraphicData, graphic.GraphicType, graphic.GraphicFilled = [10.0, 10.0, 50.0, 50.0], "POLYLINE", "N"
    item = Dataset()
    item.GraphicLayer = "ANNOTATION"
    item.ReferencedImageSequence = Sequence([ref])
    item.TextObjectSequence = Sequence([text])
    item.GraphicObjectSequence = Sequence([graphic])
    ds.GraphicAnnotationSequence = Sequence([item])
    return ds


def test_every_row_of_the_clean_graphics_column():
    assert GRAPHICS_ROWS == ["00700001", "50XXXXXX", "60XX3000", "60XX4000"]
    d = Deidentifier(secret=SECRET, profile="basic,clean_graphics", check_pixels=False)
    img, audit = d.deidentify(_image())
    # 60XX3000 Overlay Data: an overlay without text kept bit for bit, the text cleared, an unreadable one removed.
    assert np.array_equal(img.overlay_array(0x6000), _bitmap())
    cleaned = img.overlay_array(0x6002)
    assert cleaned[:20, :80].sum() == 0 and np.array_equal(cleaned[60:, 60:], _bitmap()[60:, 60:])
    assert not [e for e in img if e.tag.group == 0x6004]
    # 60XX4000 Overlay Comments (and Description): safe words kept, anything else removed.
    assert img[0x60004000].value == "CHEST PA" and 0x60024000 not in img and img[0x60020022].value == "CHEST PA"
    # 50XXXXXX Curve Data: retired, no detector for it, removed.
    assert not [e for e in img if e.tag.group == 0x5000]
    # 00700001 Graphic Annotation Sequence: text objects removed, graphic objects kept.
    gsps, _ = d.deidentify(_presentation_state())
    item = gsps.GraphicAnnotationSequence[0]
    assert "TextObjectSequence" not in item and item.GraphicObjectSequence[0].GraphicData == [10.0, 10.0, 50.0, 50.0]
    assert item.ReferencedImageSequence[0].ReferencedSOPInstanceUID.startswith("2.25.")
    assert [i.CodeValue for i in gsps.DeidentificationMethodCodeSequence] == ["113100", "113103"]
    masks = [r for r in audit if r["action"] == "mask"]
    assert [r["keyword"] for r in masks] == ["OverlayData"]
    # Saved and read back, the overlay is still a valid one.
    from io import BytesIO

    buf = BytesIO()
    img.save_as(buf, enforce_file_format=True)
    again = pydicom.dcmread(BytesIO(buf.getvalue()))
    assert np.array_equal(again.overlay_array(0x6002), cleaned)


def test_without_the_option_overlays_and_curves_are_removed():
    d = Deidentifier(secret=SECRET, check_pixels=False)
    img, _ = d.deidentify(_image())
    assert not [e for e in img if e.tag.group in (0x5000, 0x6000, 0x6002, 0x6004)]
