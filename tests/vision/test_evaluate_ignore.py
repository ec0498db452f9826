"""Evaluation with ignored ground truth: occluded objects (min_visibility) and user iscrowd regions."""
import json

import numpy as np
import pytest
from PIL import Image

from kit.errors import ParameterError
from kit.vision.data import load_coco
from kit.vision.evaluate import coco_evaluate


@pytest.fixture()
def folder(tmp_path):
    # One 100x100 image: a fully visible container, a 30 %-visible container, a crowd region of pallets.
    Image.new("RGB", (100, 100), (90, 90, 90)).save(tmp_path / "a.jpg")
    coco = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100, "split": "test"}],
        "categories": [{"id": 1, "name": "container"}, {"id": 2, "name": "pallet"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 20, 20], "iscrowd": 0, "visible_fraction": 1.0},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [50, 50, 30, 20], "iscrowd": 0, "visible_fraction": 0.3},
            {"id": 3, "image_id": 1, "category_id": 2, "bbox": [0, 60, 40, 40], "iscrowd": 1},
            {"id": 4, "image_id": 1, "category_id": 2, "bbox": [60, 0, 20, 20], "iscrowd": 0},
        ],
    }
    (tmp_path / "annotations.json").write_text(json.dumps(coco))
    return tmp_path


def test_index_keeps_visibility_and_crowd_regions_apart(folder):
    idx = load_coco(folder, "test")
    assert len(idx.boxes[0]) == 3  # the crowd region is not a training box
    np.testing.assert_allclose(idx.visibility[0], [1.0, 0.3, 1.0])  # no visible_fraction -> 1
    np.testing.assert_allclose(idx.crowd[0], [[0, 60, 40, 100, 2]])
    assert idx.report.counts["crowd"] == 1


def _det(bbox, cat, score):
    return {"image_id": 1, "category_id": cat, "bbox": bbox, "score": score}


def test_occluded_objects_are_ignored_only_below_min_visibility(folder):
    idx = load_coco(folder, "test")
    # Both visible objects found; the occluded container missed.
    dets = [_det([0, 0, 20, 20], 1, 0.9), _det([60, 0, 20, 20], 2, 0.8)]
    all_obj = coco_evaluate(dets, idx)
    # COCO 101-point AP with 1 of 2 containers found and no false positive: 51/101.
    assert all_obj.ap50["container"] == pytest.approx(51 / 101)
    assert all_obj.map50_all_objects == all_obj.map50 and all_obj.n_ignored == 1  # the crowd region
    cut = coco_evaluate(dets, idx, min_visibility=0.5)
    assert cut.ap50["container"] == pytest.approx(1.0) and cut.ap50["pallet"] == pytest.approx(1.0)
    assert cut.n_ignored == 2 and cut.n_gt == 4 and cut.min_visibility == 0.5
    assert cut.map50_all_objects == pytest.approx(all_obj.map50)
    # A cut below the object's visibility changes nothing.
    assert coco_evaluate(dets, idx, min_visibility=0.25).map50 == pytest.approx(all_obj.map50)
    # Finding the ignored container is not rewarded and not punished.
    found = coco_evaluate(dets + [_det([50, 50, 30, 20], 1, 0.95)], idx, min_visibility=0.5)
    assert found.ap50["container"] == pytest.approx(1.0)
    with pytest.raises(ParameterError, match="min_visibility"):
        coco_evaluate(dets, idx, min_visibility=1.5)


def test_detections_in_crowd_regions_are_not_false_positives(folder):
    idx = load_coco(folder, "test")
    base = [_det([0, 0, 20, 20], 1, 0.9), _det([60, 0, 20, 20], 2, 0.5)]
    in_crowd = _det([5, 65, 15, 15], 2, 0.95)  # inside the pallet crowd region, ranked first
    elsewhere = _det([30, 30, 15, 15], 2, 0.95)  # on nothing
    assert coco_evaluate(base + [in_crowd], idx).ap50["pallet"] == pytest.approx(1.0)
    # The same detection off any region is a false positive ranked first: precision 1/2 at full recall.
    assert coco_evaluate(base + [elsewhere], idx).ap50["pallet"] == pytest.approx(0.5)
