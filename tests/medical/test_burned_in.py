"""Burned-in text found in the pixels, and images that are not chest radiographs set aside."""
import numpy as np
import pydicom
import pytest
from PIL import Image, ImageDraw

from kit.medical import ingest_folder
from kit.medical.burned_in import find_burned_in_text, mask_boxes, screen_dataset, text_boxes_flagged
from kit.medical.deid import Deidentifier
from kit.medical.pixels import display_image
from kit.medical.synthetic import synth_chest_xrays

pytest.importorskip("rapidocr_onnxruntime")


@pytest.fixture(scope="module")
def clean_films(tmp_path_factory):
    """Display images of 40 clean synthetic radiographs over 5 scanners, 128 and 256 px."""
    films = []
    for size, n, seed in ((128, 30, 21), (256, 10, 22)):
        folder = tmp_path_factory.mktemp(f"clean{size}")
        labels = synth_chest_xrays(folder, n_studies=n, image_size=size, n_sites=5, seed=seed)
        for rel in labels.file:
            ds = pydicom.dcmread(folder / rel)
            films.append(display_image(ds, ds.pixel_array)[0])
    return films


def _draw(unit, texts):
    """PIL text at (row, col) positions, white as an overlay would be, on a copy of ``unit``."""
    img = Image.fromarray((np.clip(unit, 0, 1) * 255).astype(np.uint8), mode="L")
    draw = ImageDraw.Draw(img)
    for (row, col), text in texts:
        draw.text((col, row), text, fill=255)
    return np.asarray(img, np.float32) / 255.0


IDENTIFYING = [
    [((3, 3), "DUPONT JEAN")],
    [((3, 3), "EL AMRANI FATIMA 1961-03-12")],
    [((110, 40), "15/03/2024 14:22")],
    [((3, 60), "ID 004512"), ((115, 3), "BENNANI K")],
    [((60, 30), "12.03.1961")],
]


def test_no_text_found_on_clean_radiographs(clean_films):
    flagged = [i for i, unit in enumerate(clean_films) if text_boxes_flagged(find_burned_in_text(unit), unit.shape)]
    assert flagged == [], f"false positives on {len(flagged)} of {len(clean_films)} clean films"


@pytest.mark.parametrize("texts", IDENTIFYING, ids=lambda t: t[0][1])
def test_burned_in_names_and_dates_are_found(clean_films, texts):
    for unit in clean_films[:6]:
        if unit.shape != (128, 128):
            continue
        burned = _draw(unit, texts)
        boxes = find_burned_in_text(burned)
        assert text_boxes_flagged(boxes, burned.shape), f"{texts} not found: boxes {boxes}"
        # each string lies inside some box
        for (row, col), _ in texts:
            assert any(r0 <= row + 4 <= r1 and c0 <= col + 4 <= c1 for r0, c0, r1, c1 in boxes)


def test_a_laterality_marker_alone_is_not_flagged(clean_films):
    unit = clean_films[0]
    for corner in ((4, 4), (4, 118), (112, 118)):
        marked = _draw(unit, [(corner, "L")])
        assert not text_boxes_flagged(find_burned_in_text(marked), marked.shape)
    # the rule itself: one small glyph-shaped box passes; a word-shaped box, or two boxes, do not
    assert not text_boxes_flagged([(2, 2, 12, 10)], (128, 128))
    assert not text_boxes_flagged([(100, 84, 110, 92)], (128, 128))
    assert text_boxes_flagged([(2, 2, 12, 40)], (128, 128))
    assert text_boxes_flagged([(2, 2, 12, 10), (2, 110, 12, 118)], (128, 128))


def test_real_radiographs_marker_passes_and_lung_is_no_text(dicom_file):
    # RG3_UNCR: a real leg CR with a lead 'R' marker; RG1_UNCR: a real chest CR with no text at all.
    for name, n_boxes in (("RG3_UNCR.dcm", 1), ("RG1_UNCR.dcm", 0)):
        ds = pydicom.dcmread(dicom_file(name))
        unit = display_image(ds, ds.pixel_array)[0]
        boxes = find_burned_in_text(unit)
        assert len(boxes) == n_boxes and not text_boxes_flagged(boxes, unit.shape), (name, boxes)


def test_masking_removes_the_text(clean_films):
    burned = _draw(clean_films[1], IDENTIFYING[1])
    boxes = find_burned_in_text(burned)
    masked = mask_boxes(burned, boxes)
    assert masked[boxes[0][0]:boxes[0][2], boxes[0][1]:boxes[0][3]].max() == burned.min()
    assert not text_boxes_flagged(find_burned_in_text(masked), masked.shape)


@pytest.fixture()
def lying_header(tmp_path):
    """Synthetic films with a burned-in name whose header says BurnedInAnnotation NO."""
    src = tmp_path / "src"
    labels = synth_chest_xrays(src, n_studies=3, image_size=128, burned_in_fraction=1.0, seed=5)
    for rel in labels.file:
        ds = pydicom.dcmread(src / rel)
        ds.BurnedInAnnotation = "NO"
        ds.save_as(src / rel)
    return src, labels


def test_deid_withholds_text_found_in_the_pixels(lying_header, tmp_path):
    src, labels = lying_header
    result = Deidentifier(secret="s3cret-for-tests").run([src / f for f in labels.file], tmp_path / "out", root=src)
    assert len(result.table) == 0 and len(result.quarantine) == len(labels)
    assert result.quarantine.reason.str.startswith("burned_in_text_pixels:").all()


@pytest.mark.parametrize("header, how", [("NO", {"mask_burned_in": True}),
                                          ("YES", {"profile": "basic,clean_pixel_data"})])
def test_deid_masks_text_with_clean_pixel_data(lying_header, tmp_path, header, how):
    """mask_burned_in and clean_pixel_data are one switch; a true header YES is masked too, then says NO."""
    src, labels = lying_header
    for rel in labels.file:
        ds = pydicom.dcmread(src / rel)
        ds.BurnedInAnnotation = header
        ds.save_as(src / rel)
    result = Deidentifier(secret="s3cret-for-tests", **how).run([src / f for f in labels.file], tmp_path / "out",
                                                                root=src)
    assert len(result.table) == len(labels) and len(result.quarantine) == 0
    masks = result.audit[result.audit.action == "mask"]
    assert len(masks) == len(labels) and (masks.keyword == "PixelData").all()
    for rel in result.table.deid_file:
        out = pydicom.dcmread(tmp_path / "out" / rel)
        assert screen_dataset(out) == []
        assert out.pixel_array.shape == (128, 128)
        assert out.BurnedInAnnotation == "NO"
        assert [i.CodeValue for i in out.DeidentificationMethodCodeSequence] == ["113100", "113101"]


def test_images_that_are_not_chest_radiographs_are_set_aside(dicom_file, tmp_path):
    labels = synth_chest_xrays(tmp_path, n_studies=4, image_size=64, seed=9)
    files = [tmp_path / f for f in labels.file]
    hand = pydicom.dcmread(files[0])
    hand.BodyPartExamined = "HAND"
    hand.save_as(files[0])
    wide = pydicom.dcmread(files[1])
    wide.set_pixel_data(np.zeros((64, 160), np.uint16), str(wide.PhotometricInterpretation), int(wide.BitsStored))
    wide.save_as(files[1])
    ct = pydicom.dcmread(dicom_file("CT_small.dcm"))
    ct.save_as(tmp_path / "ct.dcm")
    result = ingest_folder(tmp_path, image_size=32)
    reasons = result.quarantine.set_index("file").reason
    assert reasons["ct.dcm"] == "not_chest_radiograph: Modality CT, not a radiograph (CR or DX)"
    assert reasons[labels.file[0]] == "not_chest_radiograph: BodyPartExamined HAND, not CHEST"
    assert reasons[labels.file[1]].startswith("not_chest_radiograph: 64 x 160 pixels")
    assert sorted(result.table.file) == sorted(labels.file[2:])
    kept = ingest_folder(tmp_path, image_size=32, chest_only=False)
    assert len(kept.table) == 5 and len(kept.quarantine) == 0
