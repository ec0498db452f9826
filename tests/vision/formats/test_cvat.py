"""CVAT for images 1.1 exports read into the COCO contract, and their malformed cases."""
import numpy as np
import pytest

from kit.errors import InputDataError
from kit.vision.data import load_coco
from kit.vision.formats import detect


def test_project_export_with_subsets_gives_the_coco_boxes(scenes, export):
    folder, _ = scenes
    d = export("cvat")
    assert detect(d) == ("cvat", d / "annotations.xml")
    for split in ("train", "val", "test"):
        ref, got = load_coco(folder, split), load_coco(d, split)
        assert got.label_names == ref.label_names
        assert all(im["file_name"].startswith("images/") for im in got.images)
        for x, y, la, lb in zip(ref.boxes, got.boxes, ref.labels, got.labels):
            np.testing.assert_allclose(x, y, atol=0.005)  # two decimals
            assert la.tolist() == lb.tolist()


def test_task_export_without_subsets_draws_splits_from_names(export):
    d = export("cvat", subsets=False)
    first = {s: [im["file_name"] for im in load_coco(d, s).images] for s in ("train", "val", "test")}
    assert sum(map(len, first.values())) == 12 and all(first.values())
    again = {s: [im["file_name"] for im in load_coco(d / "annotations.xml", s).images] for s in first}
    assert again == first


SHAPES = ('    <polygon label="person" source="manual" occluded="1" points="10.00,20.00;30.00,5.00;20.00,40.00" z_order="0">\n'
          '    </polygon>\n'
          '    <box label="truck" occluded="0" xtl="20.00" ytl="30.00" xbr="40.00" ybr="34.00" rotation="90.00" z_order="0"/>\n'
          '    <polyline label="truck" occluded="0" points="1.00,1.00;5.00,5.00" z_order="0"/>\n'
          '    <points label="person" occluded="0" points="3.00,3.00" z_order="0"/>\n'
          '    <tag label="truck" source="manual"/>\n')


def test_polygons_and_rotated_boxes_are_boxes_other_shapes_set_aside(export):
    d = export("cvat", extra_shapes=SHAPES)
    idx = load_coco(d, "train")  # the first image is a training image (the scenes' first split is train)
    b, lab = idx.boxes[0][-2:], idx.labels[0][-2:]
    np.testing.assert_allclose(b, [[10, 5, 30, 40], [28, 22, 32, 42]], atol=1e-4)  # 20x4 box turned 90°
    assert lab.tolist() == [4, 2]
    assert idx.report.counts["not_a_box"] == 3
    assert idx.images[0]["file_name"].startswith("images/Train/")  # a project export's folder per subset


def _replace_in_first_box(d, old, new):
    xml = d / "annotations.xml"
    lines = xml.read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if "<box " in line)
    lines[k] = lines[k].replace(old, new, 1)
    xml.write_text("\n".join(lines) + "\n")
    return k + 1


@pytest.mark.parametrize("old,new,message", [
    ('label="', 'label="crane', "label 'crane"),
    ('xtl="', 'xtl="x', "<box> with missing or non-numeric coordinates"),
    ('xbr="', 'xbr="-', "<box> with xbr < xtl or ybr < ytl"),
])
def test_bad_shape_names_file_and_line(export, old, new, message):
    d = export("cvat")
    line = _replace_in_first_box(d, old, new)
    with pytest.raises(InputDataError) as err:
        load_coco(d, "val")
    assert str(err.value).startswith(f"annotations.xml:{line}: {message}") and "\n" not in str(err.value)


def test_not_well_formed_and_video_exports(export):
    d = export("cvat")
    xml = d / "annotations.xml"
    xml.write_text(xml.read_text().replace("</image>", "</img>", 1))
    with pytest.raises(InputDataError, match=r"^annotations.xml:\d+: not well-formed XML"):
        load_coco(d, "train")
    xml.write_text('<?xml version="1.0"?>\n<annotations>\n<version>1.1</version>\n<meta><task><labels><label><name>truck'
                   '</name></label></labels></task></meta>\n<track id="0" label="truck">\n</track>\n</annotations>\n')
    with pytest.raises(InputDataError, match=r"annotations.xml:5: 'CVAT for video' export"):
        load_coco(d, "train")
    xml.write_text('<?xml version="1.0"?>\n<annotations>\n<image id="0" name="a.jpg" width="4" height="4"/>\n</annotations>\n')
    with pytest.raises(InputDataError, match=r"no <meta> labels"):
        load_coco(d, "train")


def test_problems_read_in_french(export):
    from kit import i18n

    d = export("cvat")
    line = _replace_in_first_box(d, 'xbr="', 'xbr="-')
    with i18n.using("fr"), pytest.raises(InputDataError) as err:
        load_coco(d, "val")
    assert str(err.value).startswith(f"annotations.xml:{line}: <box> avec xbr < xtl ou ybr < ytl")
    assert "exportez la tâche à nouveau" in str(err.value)
