import json

import numpy as np
import pytest
from PIL import Image

from kit.errors import ParameterError
from kit.vision import synthetic
from kit.vision.iso6346 import is_valid

PLAIN = {"brightness": 1.0, "tint": (1.0, 1.0, 1.0), "contrast": 1.0, "shadow": False, "glare": False,
         "blur": 0.0, "motion_blur": False, "noise": 0.0, "seed": 0}


def _scene(objects, size=128):
    bg = {"sky": (120, 170, 225), "ground": (100, 100, 100), "cranes": 0, "lane_marks": False, "wall": False, "seed": 0}
    return synthetic.Scene("yard", size, -10.0, (0.0, 0.0), bg, PLAIN, objects)


def _container(x, y, ppm, length="20", level=0, code="CSQU3054383"):
    attrs = {"length": length, "height": "standard", "colour": (165, 40, 35), "code": code, "door_end": False,
             "boxed_check": True, "two_line": False, "level": level}
    return synthetic.SceneObject("container", x, y, ppm, attrs)


def test_visible_box_matches_geometry_of_a_lone_container():
    ppm = 8.0
    img, objs = synthetic.render(_scene([_container(20.0, 100.0, ppm)]))
    assert len(objs) == 1 and objs[0]["category"] == "container"
    x, y, w, h = objs[0]["bbox"]
    # ISO 668 20-ft container: 6.058 m long, 2.591 m high; one pixel of rasterization slack.
    assert abs(x - 20) <= 1 and abs(y - (100 - 2.591 * ppm)) <= 1
    assert abs(w - 6.058 * ppm) <= 2 and abs(h - 2.591 * ppm) <= 2
    assert objs[0]["visible_fraction"] == pytest.approx(1.0, abs=0.02)
    # The box holds the red livery, the pixels outside it the grey ground.
    a = np.asarray(img).astype(int)
    inside = a[y + 3 : y + h - 3, x + 3 : x + w - 3]
    assert inside[..., 0].mean() > inside[..., 2].mean() + 60
    assert (a[5:15, 5:15] == 100).all()


def test_occlusion_trims_the_visible_box_and_fraction():
    far = _container(20.0, 90.0, 8.0, length="40")
    near = _container(10.0, 100.0, 8.0, length="20")  # nearer, drawn later: hides the lower left of `far`
    _, objs = synthetic.render(_scene([far, near]))
    by_y = sorted(objs, key=lambda o: o["bbox"][1] + o["bbox"][3])
    far_o, near_o = by_y
    assert near_o["visible_fraction"] == pytest.approx(1.0, abs=0.02)
    # Overlap: x 20-58 of the far side (x 20-117), y 79-90 of its y 69-90, about 20 % of it.
    full_area = 12.192 * 8 * 2.591 * 8
    overlap = (58.4 - 20) * (90 - (100 - 2.591 * 8))
    assert far_o["visible_fraction"] == pytest.approx(1 - overlap / full_area, abs=0.03)
    # Its top rows are still visible, so the visible box keeps the full extent.
    assert far_o["bbox"][0] == pytest.approx(20, abs=1) and far_o["bbox"][2] == pytest.approx(12.192 * 8, abs=2)


def test_hidden_and_out_of_frame_objects_are_not_annotated():
    far = _container(20.0, 95.0, 8.0, length="20")
    near = _container(15.0, 100.0, 9.0, length="40")  # covers the far one entirely
    outside = _container(200.0, 100.0, 8.0)  # right of a 128-px frame
    _, objs = synthetic.render(_scene([far, near, outside]))
    assert len(objs) == 1


def test_painted_code_box_and_truck_with_load():
    truck = synthetic.SceneObject("truck", 5.0, 120.0, 7.0, {"cab_colour": (200, 30, 30), "facing": "right", "trailer_m": 13.6,
                                                          "load": _container(0, 0, 0, length="40", code="TCNU7200794").attrs,
                                                          "box_body": False})
    img, objs = synthetic.render(_scene([truck]))
    cats = sorted(o["category"] for o in objs)
    assert cats == ["container", "truck"]
    box = next(o for o in objs if o["category"] == "container")
    assert box["code"] == "TCNU7200794"
    assert "code_box" in box
    cx, cy, cw, ch = box["code_box"]
    bx, by, bw, bh = box["bbox"]
    assert bx <= cx and cx + cw <= bx + bw and by <= cy and cy + ch <= by + bh
    # Painted letters are light on the dark red livery: the code box is brighter than the rest of the side.
    a = np.asarray(img.convert("L"), dtype=float)
    side = np.asarray(Image.new("RGB", (1, 1), (165, 40, 35)).convert("L"), dtype=float)[0, 0]
    assert a[cy : cy + ch, cx : cx + cw].max() > side + 50


def test_render_is_deterministic_and_scenes_vary():
    a1, o1 = synthetic.render(synthetic.layout_scene("yard", 128, seed=3))
    a2, o2 = synthetic.render(synthetic.layout_scene("yard", 128, seed=3))
    b, _ = synthetic.render(synthetic.layout_scene("gate", 128, seed=4))
    assert o1 == o2 and np.array_equal(np.asarray(a1), np.asarray(a2))
    assert not np.array_equal(np.asarray(a1), np.asarray(b))
    with pytest.raises(ParameterError):
        synthetic.layout_scene("dock")


def test_generate_writes_coco_folder(tmp_path):
    out = synthetic.generate(tmp_path / "ds", n_images=12, image_size=128, seed=1, n_code_crops=6, sequence_frames=6)
    coco = json.loads((out / "annotations.json").read_text())
    assert [c["name"] for c in coco["categories"]] == ["container", "truck", "pallet", "person"]
    assert len(coco["images"]) == 12 and coco["annotations"]
    ids = {im["id"] for im in coco["images"]}
    for im in coco["images"]:
        assert im["split"] in ("train", "val", "test")
        with Image.open(out / im["file_name"]) as f:
            assert f.size == (im["width"], im["height"]) == (128, 128)
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        assert a["image_id"] in ids and a["category_id"] in (1, 2, 3, 4)
        assert 0 <= x and 0 <= y and x + w <= 128 and y + h <= 128 and w >= 3 and h >= 3
        if a["category_id"] == 1:
            assert is_valid(a["code"])
    crops = json.loads((out / "code_crops.json").read_text())["crops"]
    assert len(crops) >= 6
    for c in crops:
        assert is_valid(c["text"])
        with Image.open(out / c["file_name"]) as f:
            assert f.size == (160, 32)
    seq = json.loads((out / "sequence" / "annotations.json").read_text())
    assert [im["frame_index"] for im in seq["images"]] == list(range(6))
    # Same seed, same annotations.
    again = synthetic.generate(tmp_path / "again", n_images=12, image_size=128, seed=1, n_code_crops=6, sequence_frames=0)
    assert json.loads((again / "annotations.json").read_text())["annotations"] == coco["annotations"]


def test_sequence_trucks_move_and_keep_their_identity():
    frames = synthetic.render_sequence(n_frames=30, image_size=128, seed=5, n_trucks=3, n_people=2)
    assert len(frames) == 30
    tracks = {}
    for f, (_, objs) in enumerate(frames):
        for o in objs:
            if o["category"] == "truck":
                tracks.setdefault(o["track_id"], []).append((f, o["bbox"][0] + o["bbox"][2] / 2))
    assert tracks and set(tracks) <= {1, 2, 3}
    for points in tracks.values():
        xs = [x for _, x in points]
        if len(xs) >= 3:  # a truck drives one way: its centre moves monotonically (box clipping aside)
            steps = np.sign(np.diff(xs))
            assert (steps >= 0).all() or (steps <= 0).all()


def test_code_crops_are_deterministic_and_sized():
    rng1, rng2 = np.random.default_rng(7), np.random.default_rng(7)
    a = synthetic.render_code_crop("CSQU3054383", rng1, 32, 128)
    b = synthetic.render_code_crop("CSQU3054383", rng2, 32, 128)
    assert a.size == (128, 32) and np.array_equal(np.asarray(a), np.asarray(b))


def test_generate_refuses_bad_parameters(tmp_path):
    with pytest.raises(ParameterError):
        synthetic.generate(tmp_path, n_images=2, image_size=16)
    with pytest.raises(ParameterError):
        synthetic.generate(tmp_path, n_images=2, split_fractions=(1, 0))


def test_iter_sequence_is_lazy_and_gives_render_sequence_frames():
    import types

    it = synthetic.iter_sequence(n_frames=3, image_size=96, seed=2)
    assert isinstance(it, types.GeneratorType)
    frames = synthetic.render_sequence(n_frames=3, image_size=96, seed=2)
    for (im_a, objs_a), (im_b, objs_b) in zip(it, frames):
        assert objs_a == objs_b
        np.testing.assert_array_equal(np.asarray(im_a), np.asarray(im_b))
