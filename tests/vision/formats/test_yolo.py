"""YOLO exports (Ultralytics and Roboflow layouts) read into the COCO contract, and their malformed cases."""
import numpy as np
import pytest

from kit.errors import InputDataError
from kit.vision.data import load_coco
from kit.vision.formats import detect, split_summary


def _same_boxes(a, b, atol):
    assert [im["file_name"].rsplit("/", 1)[-1] for im in a.images] == [im["file_name"].rsplit("/", 1)[-1] for im in b.images]
    for x, y, la, lb in zip(a.boxes, b.boxes, a.labels, b.labels):
        np.testing.assert_allclose(x, y, atol=atol)
        assert la.tolist() == lb.tolist()


@pytest.mark.parametrize("layout,names_as", [("ultralytics", "list"), ("roboflow", "dict")])
def test_both_layouts_give_the_coco_boxes(scenes, export, layout, names_as):
    folder, _ = scenes
    d = export("yolo", layout=layout, names_as=names_as)
    assert detect(d) == ("yolo", d / "data.yaml")
    for split in ("train", "val", "test"):
        ref, got = load_coco(folder, split), load_coco(d, split)
        assert got.label_names == ref.label_names == {1: "container", 2: "truck", 3: "pallet", 4: "person"}
        _same_boxes(ref, got, atol=64 * 5e-7 + 1e-4)  # six decimals of a 64-px image
        assert not any(im["split_drawn"] for im in got.images)


def test_the_yaml_file_itself_and_a_txt_list_of_images(export):
    d = export("yolo")
    (d / "train.txt").write_text("".join(f"./images/train/{p.name}\n" for p in sorted((d / "images/train").iterdir())[:2]))
    text = (d / "data.yaml").read_text().replace("train: images/train", "train: train.txt")
    (d / "data.yaml").write_text(text)
    assert len(load_coco(d / "data.yaml", "train").images) == 2


def test_image_without_label_file_is_an_image_without_objects(export):
    d = export("yolo")
    labels = sorted((d / "labels/train").iterdir())
    labels[0].unlink()
    labels[1].write_text("")  # an empty file: the same
    idx = load_coco(d, "train")
    assert len(idx.images) == 6 and sum(len(b) == 0 for b in idx.boxes) == 2
    assert idx.report.counts["image_without_boxes"] == 2 and idx.report.dropped == 0
    row = split_summary({"train": idx}).loc["train"]
    assert (row["images"], row["without objects"], row["set aside"]) == (6, 2, 0)
    assert row["objects"] == sum(row[n] for n in ("container", "truck", "pallet", "person")) == sum(map(len, idx.boxes))


def test_segment_lines_become_the_box_around_their_points(export):
    d = export("yolo")
    label = sorted((d / "labels/train").iterdir())[0]
    label.write_text("3 0.25 0.5 0.5 0.25 0.75 0.5 0.5 0.75\n1 0.5 0.5 0.25 0.125\n")
    idx = load_coco(d, "train")
    i = next(k for k, im in enumerate(idx.images) if im["file_name"].endswith(label.stem + ".jpg"))
    np.testing.assert_allclose(idx.boxes[i], [[16, 16, 48, 48], [24, 28, 40, 36]])  # 64-px image
    assert idx.labels[i].tolist() == [4, 2]


def test_missing_val_and_test_are_drawn_from_train(export):
    d = export("yolo")
    (d / "data.yaml").write_text("train: images/train\nnames: [container, truck, pallet, person]\n")
    sizes = {s: len(load_coco(d, s).images) for s in ("train", "val", "test")}
    assert sum(sizes.values()) == 6 and min(sizes.values()) >= 1  # an empty split would raise
    assert all(im["split_drawn"] for s in ("val", "test") for im in load_coco(d, s).images)
    again = {s: [im["file_name"] for im in load_coco(d, s).images] for s in ("train", "val", "test")}
    assert {s: len(v) for s, v in again.items()} == sizes  # deterministic
    assert not set(again["train"]) & (set(again["val"]) | set(again["test"]))


@pytest.mark.parametrize("line,message", [
    ("7 0.5 0.5 0.1 0.1", "class id 7 not in data.yaml names (0..3)"),
    ("1 0.5 1.5 0.1 0.1", "coordinate 1.5 outside 0–1"),
    ("1 12 30 40 20", "coordinate 12 outside 0–1"),  # pixels written where YOLO wants fractions
    ("1 0.5 0.5 0.1", "4 values; expected 5 (class cx cy w h)"),
    ("1 0.5 x 0.1 0.1", "not a number"),
    ("1.5 0.5 0.5 0.1 0.1", "class id 1.5 not in data.yaml names"),
])
def test_malformed_line_names_file_and_line(export, line, message):
    d = export("yolo")
    label = sorted((d / "labels/val").iterdir())[0]
    label.write_text("0 0.5 0.5 0.2 0.2\n\n" + line + "\n")
    with pytest.raises(InputDataError) as err:
        load_coco(d, "train")  # the whole export is read: a bad val label stops the train split too
    text = str(err.value)
    assert text.startswith(f"labels/val/{label.name}:3: {message}") and "\n" not in text


def test_problems_are_counted_beyond_the_first(export):
    d = export("yolo")
    for label in sorted((d / "labels/train").iterdir())[:3]:
        label.write_text("9 0.5 0.5 0.1 0.1\n9 0.5 0.5 0.1 0.1\n")
    with pytest.raises(InputDataError, match=r":1: class id 9 .* \(and 5 more in 3 files\)"):
        load_coco(d, "train")


@pytest.mark.parametrize("yaml_text,message", [
    ("train: images/train\n", "no 'names'"),
    ("names: [a, b]\nnc: 3\ntrain: images/train\n", "nc is 3 but names has 2"),
    ("names: [a, a]\ntrain: images/train\n", "class names repeated"),
    ("names: [a]\nval: images/val\n", "no 'train' entry"),
    ("names: [a]\ntrain: images/nowhere\n", "train: images/nowhere not found"),
    ("names: [a\ntrain: x\n", "data.yaml:2: not valid YAML"),
])
def test_bad_data_yaml(export, yaml_text, message):
    d = export("yolo")
    (d / "data.yaml").write_text(yaml_text)
    with pytest.raises(InputDataError, match=message):
        load_coco(d, "train")


def test_bad_data_yaml_in_french(export):
    from kit.i18n import using

    d = export("yolo")
    (d / "data.yaml").write_text("names: [a, b]\nnc: 3\ntrain: images/train\n")
    with using("fr"), pytest.raises(InputDataError, match=r"data\.yaml\u00a0: nc vaut 3 mais names a 2 entrées\u202f; "
                                                           r"mettez-les d’accord$"):
        load_coco(d, "train")
