import json

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import tv_tensors

from kit.errors import InputDataError, ParameterError
from kit.vision.data import (
    CocoDetection,
    SkipReport,
    collate_detection,
    eval_transforms,
    load_coco,
    train_transforms,
)

CATS = [{"id": 1, "name": "container"}, {"id": 2, "name": "truck"}, {"id": 7, "name": "person"}]


def _image(path, w=80, h=60, colour=(10, 20, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), colour).save(path)


def _folder(tmp_path, images, annotations, name="annotations.json", categories=CATS):
    (tmp_path / name).write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return tmp_path


def _img(i, split="train", w=80, h=60):
    return {"id": i, "file_name": f"images/{i}.png", "width": w, "height": h, "split": split}


def _ann(i, image_id, cat=1, bbox=(10, 10, 20, 15), **kw):
    return {"id": i, "image_id": image_id, "category_id": cat, "bbox": list(bbox), "area": 1, "iscrowd": 0, **kw}


@pytest.fixture
def clean(tmp_path):
    for i in (1, 2, 3):
        _image(tmp_path / f"images/{i}.png")
    images = [_img(1), _img(2), _img(3, "val")]
    anns = [_ann(1, 1), _ann(2, 1, cat=7, bbox=(0, 0, 5, 6)), _ann(3, 2, cat=2), _ann(4, 3)]
    return _folder(tmp_path, images, anns)


def test_clean_split_boxes_labels_and_sample(clean):
    idx = load_coco(clean, "train")
    assert [im["id"] for im in idx.images] == [1, 2]
    np.testing.assert_array_equal(idx.boxes[0], [[10, 10, 30, 25], [0, 0, 5, 6]])  # XYWH -> XYXY
    # Labels are contiguous from 1 in category-id order; 7 -> 3.
    assert idx.labels[0].tolist() == [1, 3] and idx.labels[1].tolist() == [2]
    assert idx.label_names == {1: "container", 2: "truck", 3: "person"}
    assert idx.category_ids == {1: 1, 2: 2, 3: 7}
    assert not idx.report.counts
    s = CocoDetection(clean, "train")[0]
    assert isinstance(s["image"], tv_tensors.Image) and s["image"].dtype == torch.float32
    assert tuple(s["image"].shape) == (3, 60, 80)
    assert float(s["image"][2].max()) == pytest.approx(30 / 255)
    assert isinstance(s["boxes"], tv_tensors.BoundingBoxes) and s["boxes"].format.name == "XYXY"
    assert s["labels"].dtype == torch.int64 and s["image_id"] == 1 and s["orig_size"] == (60, 80)
    assert len(load_coco(clean, "val").images) == 1 and len(load_coco(clean).images) == 3


def test_split_files_layout(tmp_path):
    _image(tmp_path / "train/a.png")
    _image(tmp_path / "val/b.png")
    _folder(tmp_path, [{"id": 1, "file_name": "a.png", "width": 80, "height": 60}], [_ann(1, 1)], name="train.json")
    _folder(tmp_path, [{"id": 1, "file_name": "b.png", "width": 80, "height": 60}], [_ann(1, 1, cat=2)], name="val.json")
    assert load_coco(tmp_path, "train").labels[0].tolist() == [1]
    assert load_coco(tmp_path, "val").labels[0].tolist() == [2]
    with pytest.raises(InputDataError, match="test.json"):
        load_coco(tmp_path, "test")


def test_missing_and_unreadable_images_are_counted(tmp_path):
    _image(tmp_path / "images/1.png")
    (tmp_path / "images/2.png").write_bytes(b"not a png at all")
    good = tmp_path / "images/4.jpg"
    noise = np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    Image.fromarray(noise).save(good, quality=95)  # noisy, so the scan data is far longer than the header
    data = good.read_bytes()
    (tmp_path / "images/5.jpg").write_bytes(data[: len(data) * 2 // 3])  # truncated JPEG, header intact
    images = [_img(1), _img(2), _img(3), {**_img(4), "file_name": "images/4.jpg"}, {**_img(5), "file_name": "images/5.jpg"}]
    _folder(tmp_path, images, [_ann(1, 1), _ann(2, 2), _ann(3, 3), _ann(4, 4), _ann(5, 5)])
    idx = load_coco(tmp_path, "train")
    assert [im["id"] for im in idx.images] == [1, 4]
    assert idx.report.counts["missing_image"] == 1
    assert idx.report.counts["unreadable_image"] == 2  # garbage and truncated (full decode)
    assert idx.report.counts["unknown_image"] == 3  # annotations of the images set aside
    # Header-only checking lets the truncated file through; serving it then yields None, counted.
    ds = CocoDetection(tmp_path, "train", check_images="header")
    assert len(ds) == 3
    batch = collate_detection([ds[i] for i in range(len(ds))])
    assert len(batch) == 2 and ds.report.counts["unreadable_image"] == 2


def test_boxes_outside_image_are_clipped_or_dropped(tmp_path):
    _image(tmp_path / "images/1.png", 80, 60)
    anns = [
        _ann(1, 1, bbox=(70, 50, 30, 30)),  # partly outside: clipped to (70, 50, 80, 60)
        _ann(2, 1, bbox=(100, 10, 10, 10)),  # wholly outside
        _ann(3, 1, bbox=(-5, -5, 10, 10)),  # negative origin: clipped to (0, 0, 5, 5)
        _ann(4, 1, bbox=(79.5, 10, 10, 10)),  # 0.5 px inside: too small after clipping
    ]
    idx = load_coco(_folder(tmp_path, [_img(1)], anns), "train")
    np.testing.assert_array_equal(idx.boxes[0], [[70, 50, 80, 60], [0, 0, 5, 5]])
    c = idx.report.counts
    assert c["box_clipped"] == 3 and c["box_outside_image"] == 1 and c["box_too_small"] == 1
    assert idx.report.dropped == 2


def test_unknown_category_bad_and_crowd_annotations(tmp_path):
    _image(tmp_path / "images/1.png")
    anns = [
        _ann(1, 1, cat=99),
        _ann(2, 1, bbox=(1, 2, 3)),
        _ann(3, 1, bbox=(1, 2, -3, 4)),
        _ann(4, 1, bbox=(1, 2, float("nan"), 4)),
        {},
        "junk",
        _ann(5, 1, iscrowd=1),
        _ann(6, 42),
        _ann(7, 1),
    ]
    idx = load_coco(_folder(tmp_path, [_img(1)], anns), "train")
    c = idx.report.counts
    assert c["unknown_category"] == 1 and c["bad_annotation"] == 5 and c["crowd"] == 1 and c["unknown_image"] == 1
    assert idx.labels[0].tolist() == [1]
    assert "category 99" in str(idx.report)


def test_empty_annotations_keep_or_skip(tmp_path):
    _image(tmp_path / "images/1.png")
    _image(tmp_path / "images/2.png")
    folder = _folder(tmp_path, [_img(1), _img(2)], [_ann(1, 1)])
    idx = load_coco(folder, "train")
    assert len(idx.images) == 2 and idx.boxes[1].shape == (0, 4)
    assert idx.report.counts["image_without_boxes"] == 1
    s = CocoDetection(folder, "train", transforms=train_transforms(32))[1]
    assert s["boxes"].shape == (0, 4) and s["labels"].shape == (0,)
    assert len(load_coco(folder, "train", empty_images="skip").images) == 1
    # A file without images is an error of the whole file ...
    (tmp_path / "none").mkdir()
    folder2 = _folder(tmp_path / "none", [], [])
    with pytest.raises(InputDataError, match="no usable image"):
        load_coco(folder2)
    # ... and so is a split left empty by skipping images without boxes.
    with pytest.raises(InputDataError, match="image_without_boxes 2"):
        load_coco(_folder(tmp_path, [_img(1), _img(2)], []), "train", empty_images="skip")


def test_whole_file_problems_raise_one_line(tmp_path):
    with pytest.raises(InputDataError, match="does not exist"):
        load_coco(tmp_path / "nowhere")
    (tmp_path / "annotations.json").write_text("{not json")
    with pytest.raises(InputDataError, match="not valid JSON"):
        load_coco(tmp_path)
    _folder(tmp_path, [{"id": 1, "file_name": "a.png"}], [])
    with pytest.raises(InputDataError, match="no 'split' field"):
        load_coco(tmp_path, "train")
    with pytest.raises(ParameterError):
        load_coco(tmp_path, "training")
    _folder(tmp_path, [_img(1)], [], categories=[])
    with pytest.raises(InputDataError, match="no categories"):
        load_coco(tmp_path)
    try:
        load_coco(tmp_path / "nowhere")
    except InputDataError as exc:
        assert "\n" not in str(exc)


def test_duplicate_ids_size_mismatch_and_bad_entries(tmp_path):
    _image(tmp_path / "images/1.png", 100, 50)
    images = [_img(1), _img(1), {"file_name": "x.png"}, {"id": "2", "file_name": "images/1.png"}]
    idx = load_coco(_folder(tmp_path, images, [_ann(1, 1, bbox=(90, 0, 20, 10))]), "train")
    c = idx.report.counts
    assert c["duplicate_image_id"] == 1 and c["bad_image_entry"] == 2 and c["image_size_mismatch"] == 1
    # The file's size (100 x 50) is used for clipping, not the JSON's (80 x 60).
    np.testing.assert_array_equal(idx.boxes[0], [[90, 0, 100, 10]])


def test_transforms_carry_boxes(clean):
    flip = train_transforms(40, hflip=1.0, jitter=0.0, scale_jitter=0.0)
    s = CocoDetection(clean, "train", transforms=flip)[0]
    # Flip then resize 80x60 -> 40x40: box (10, 10, 30, 25) -> x (80-30, 80-10) / 2, y * 40/60.
    np.testing.assert_allclose(s["boxes"].numpy(), [[25, 10 * 40 / 60, 35, 25 * 40 / 60], [37.5, 0, 40, 4]], atol=1e-4)
    assert s["boxes"].canvas_size == (40, 40) and tuple(s["image"].shape) == (3, 40, 40)
    e = CocoDetection(clean, "train", transforms=eval_transforms(40))[0]
    np.testing.assert_allclose(e["boxes"].numpy()[0], [5, 10 * 40 / 60, 15, 25 * 40 / 60], atol=1e-4)
    # Random zoom/shift keeps boxes consistent with the image and drops the ones pushed out.
    torch.manual_seed(0)
    jit = train_transforms(40, scale_jitter=0.5)
    for _ in range(20):
        t = CocoDetection(clean, "train", transforms=jit)[0]
        b = t["boxes"]
        assert len(b) == len(t["labels"])
        assert (b[:, 0] >= 0).all() and (b[:, 2] <= 40).all() and (b[:, 2] - b[:, 0] >= 2).all()


def test_dataloader_batches_with_a_bad_item(tmp_path):
    from torch.utils.data import DataLoader

    for i in (1, 2, 3):
        _image(tmp_path / f"images/{i}.png")
    folder = _folder(tmp_path, [_img(1), _img(2), _img(3)], [_ann(1, 1), _ann(2, 2), _ann(3, 3)])
    ds = CocoDetection(folder, "train", transforms=eval_transforms(32))
    (tmp_path / "images/2.png").write_bytes(b"corrupted after indexing")
    batches = list(DataLoader(ds, batch_size=3, collate_fn=collate_detection))
    assert len(batches) == 1 and [s["image_id"] for s in batches[0]] == [1, 3]
    assert ds.report.counts["unreadable_image"] == 1


def test_report_object():
    r = SkipReport()
    r.add("box_clipped", "a")
    r.add("unknown_category", "b", n=3)
    assert r.dropped == 3 and r.to_dict()["unknown_category"] == {"count": 3, "dropped": True, "examples": ["b"]}
    with pytest.raises(ValueError):
        r.add("no_such_reason")


def test_loads_the_synthetic_generator_output(tmp_path):
    from kit.vision.synthetic import generate

    folder = generate(tmp_path, n_images=10, image_size=96, seed=4, n_code_crops=0, sequence_frames=0)
    sizes = [len(load_coco(folder, s, empty_images="keep").images) for s in ("train", "val", "test")]
    assert sum(sizes) == 10
    idx = load_coco(folder)
    coco = json.loads((folder / "annotations.json").read_text())
    assert sum(len(b) for b in idx.boxes) == len(coco["annotations"])  # the generator writes nothing to set aside
    assert idx.report.dropped == 0
