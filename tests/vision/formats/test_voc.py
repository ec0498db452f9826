"""Pascal VOC folders read into the COCO contract, and their malformed cases."""
import numpy as np
import pytest

from kit.errors import InputDataError
from kit.vision.data import load_coco
from kit.vision.formats import detect
from kit.vision.formats.summary import split_summary

VOC_ORDER = {1: "container", 2: "pallet", 3: "person", 4: "truck"}  # the names the XMLs use, sorted


def test_voc_boxes_are_the_coco_boxes(scenes, export):
    folder, _ = scenes
    d = export("voc")
    assert detect(d) == ("voc", d)
    remap = {1: 1, 2: 4, 3: 2, 4: 3}  # COCO label -> VOC label (container, truck, pallet, person -> sorted)
    for split in ("train", "val", "test"):
        ref, got = load_coco(folder, split), load_coco(d, split)
        assert got.label_names == VOC_ORDER
        assert [im["file_name"] for im in got.images] == [f"JPEGImages/{im['file_name'][7:]}" for im in ref.images]
        for x, y, la, lb in zip(ref.boxes, got.boxes, ref.labels, got.labels):
            np.testing.assert_array_equal(x, y)  # 1-based inclusive indices -> [xmin - 1, ymin - 1, xmax, ymax]
            assert [remap[v] for v in la.tolist()] == lb.tolist()


def test_voc_under_vocdevkit_and_labelmap_order(export, tmp_path):
    d = export("voc", name="VOCdevkit/VOC2012")
    (d / "labelmap.txt").write_text("# label:color_rgb:parts:actions\nbackground:0,0,0::\ntruck:1,2,3::\n"
                                    "container:4,5,6::\nperson:7,8,9::\npallet:1,1,1::\n")
    assert detect(tmp_path) == ("voc", d)
    assert load_coco(tmp_path, "train").label_names == {1: "truck", 2: "container", 3: "person", 4: "pallet"}


def test_difficult_objects_are_ignored_regions(scenes, export):
    _, coco = scenes
    first = [a["id"] for a in coco["annotations"] if a["image_id"] == coco["images"][0]["id"]][:2]
    d = export("voc", difficult_ids=set(first))
    split = coco["images"][0]["split"]
    idx = load_coco(d, split)
    assert idx.report.counts["crowd"] == 2 and len(idx.crowd[0]) == 2
    table = split_summary({split: idx})
    assert table.loc[split, "ignored"] == 2 and table.loc[split, "set aside"] == 0


def test_without_imagesets_every_xml_is_read_and_splits_drawn(export):
    d = export("voc")
    for f in (d / "ImageSets/Main").iterdir():
        f.unlink()
    idx = {s: load_coco(d, s) for s in ("train", "val", "test")}
    assert sum(len(i.images) for i in idx.values()) == 12
    assert all(im["split_drawn"] for i in idx.values() for im in i.images)


def test_trainval_alone_is_split_into_train_and_val(export):
    d = export("voc")
    main = d / "ImageSets/Main"
    stems = (main / "train.txt").read_text() + (main / "val.txt").read_text()
    n_test = len((main / "test.txt").read_text().split())
    (main / "train.txt").unlink()
    (main / "val.txt").unlink()
    (main / "trainval.txt").write_text(stems)
    n = {s: len(load_coco(d, s).images) for s in ("train", "val", "test")}
    assert n["train"] + n["val"] == len(stems.split()) and n["test"] == n_test and n["val"] >= 1


def _first_xml(d):
    return sorted((d / "Annotations").iterdir())[0]


@pytest.mark.parametrize("edit,message", [
    (lambda t: t.replace("</annotation>", "</annotaton>"), r":\d+: not well-formed XML \(mismatched tag\)"),
    (lambda t: t.replace("<xmax>", "<xmax>x", 1), r":\d+: <bndbox> needs numbers xmin, ymin, xmax, ymax"),
    (lambda t: t.replace("<name>", "<nom>", 1).replace("</name>", "</nom>", 1), r":\d+: <object> without a <name>"),
])
def test_malformed_xml_names_file_and_line(export, edit, message):
    d = export("voc")
    xml = _first_xml(d)
    text = edit(xml.read_text())
    xml.write_text(text)
    with pytest.raises(InputDataError, match=rf"^Annotations/{xml.name}{message}") as err:
        load_coco(d, "train")
    assert "\n" not in str(err.value)


def test_the_line_named_is_the_element_at_fault(export):
    d = export("voc")
    xml = _first_xml(d)
    lines = xml.read_text().splitlines()
    k = max(i for i, line in enumerate(lines) if "<xmax>" in line)
    lines[k] = "\t\t\t<xmax>-3</xmax>"
    xml.write_text("\n".join(lines) + "\n")
    bnd = max(i for i, line in enumerate(lines) if "<bndbox>" in line) + 1
    with pytest.raises(InputDataError, match=rf"^Annotations/{xml.name}:{bnd}: xmax < xmin"):
        load_coco(d, "val")


def test_listed_image_without_xml_and_unknown_labelmap_class(export):
    d = export("voc")
    with open(d / "ImageSets/Main/train.txt", "a") as fh:
        fh.write("999999\n")
    with pytest.raises(InputDataError, match=r"ImageSets/Main/train.txt: lists 999999 but Annotations/999999.xml"):
        load_coco(d, "train")
    d = export("voc", name="voc2")
    (d / "labelmap.txt").write_text("truck:1,2,3::\n")
    with pytest.raises(InputDataError, match=r"\.xml:\d+: class 'container' not in labelmap.txt \(truck\)"):
        load_coco(d, "train")
