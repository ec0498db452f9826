"""Counting over generated footage: line crossings by direction, jitter on the line, dwell times, outputs, blur.

Clips are the kit's scene generator (one truck, low resolution) encoded with
PyAV here and decoded by :class:`kit.vision.video.VideoReader`; the detector
is stood in for by the clip's own boxes, found by frame time (a trained
network is the notebook's business), so what is tested is the video path,
the tracker, the lines and the dwell times.
"""
import numpy as np
import pandas as pd
import pytest

from kit.errors import ParameterError
from kit.vision import footage
from kit.vision.operations import LineCounter, parse_lines, parse_zones
from kit.vision.preview import blur_boxes, check_blur
from kit.vision.synthetic import render_sequence, truth_detector
from kit.vision.video import VideoReader, write_video

pytest.importorskip("av")

NAMES = {1: "container", 2: "truck", 3: "pallet", 4: "person"}
LABEL_OF = {v: k for k, v in NAMES.items()}
SIZE, FPS = 128, 10


def _truck_clip(seed=4):
    """A 4-s clip at 10 frames/s, 128 px, with one truck driving through: (images, per-frame objects), left to right."""
    seq = render_sequence(n_frames=40, image_size=SIZE, seed=seed, n_trucks=1, n_people=0, fps=FPS)
    images, objs = [np.asarray(im) for im, _ in seq], [o for _, o in seq]
    xs = [o["bbox"][0] for f in objs for o in f if o["category"] == "truck"]
    if xs[-1] < xs[0]:  # make it drive left to right
        images = [im[:, ::-1].copy() for im in images]
        objs = [[dict(o, bbox=[SIZE - o["bbox"][0] - o["bbox"][2], *o["bbox"][1:]]) for o in f] for f in objs]
    return images, objs


@pytest.fixture(scope="module")
def truck_clip():
    return _truck_clip()


def _encode(images, objs, path):
    write_video(images, path, FPS)
    return [{"time_s": round(i / FPS, 6), "objects": o} for i, o in enumerate(objs)]


def _truck_x(objs):
    """Ground-point x of the truck in each frame (None when it is not in view)."""
    out = []
    for f in objs:
        t = [o for o in f if o["category"] == "truck"]
        out.append(t[0]["bbox"][0] + t[0]["bbox"][2] / 2 if t else None)
    return out


def _run(path, truth, lines, zones=None, **kw):
    detect = truth_detector(truth, LABEL_OF, jitter_px=kw.pop("jitter_px", 0.0))
    return footage.analyse(VideoReader(path, process_fps=kw.pop("process_fps", 5)), detect, parse_zones(zones), parse_lines(lines),
                           NAMES, **kw)


def test_truck_crossing_left_to_right_is_one_in_and_back_one_out(truck_clip, tmp_path):
    images, objs = truck_clip
    line = {"gate": [[64, 0], [64, SIZE]]}  # drawn top to bottom: left to right is "in"
    res = _run(tmp_path / "ltr.mp4", _encode(images, objs, tmp_path / "ltr.mp4"), line)
    trucks = res.crossings[res.crossings["category"] == "truck"]
    assert trucks[["line", "direction"]].values.tolist() == [["gate", "in"]]
    back_images = [im[:, ::-1].copy() for im in images]
    back_objs = [[dict(o, bbox=[SIZE - o["bbox"][0] - o["bbox"][2], *o["bbox"][1:]]) for o in f] for f in objs]
    res = _run(tmp_path / "rtl.mp4", _encode(back_images, back_objs, tmp_path / "rtl.mp4"), line)
    trucks = res.crossings[res.crossings["category"] == "truck"]
    assert trucks[["line", "direction"]].values.tolist() == [["gate", "out"]]
    assert res.distinct.get(2) == 1


def test_a_truck_jittering_on_the_line_counts_once(truck_clip, tmp_path):
    images, objs = truck_clip
    xs = _truck_x(objs)
    k = next(i for i, x in enumerate(xs) if x is not None and x > SIZE / 2)  # the truck stops on the line here ...
    order = list(range(k)) + [k] * 20 + list(range(k + 1, len(images)))  # ... for 2 s, its boxes wobbling
    line_x = xs[k]
    truth = _encode([images[i] for i in order], [objs[i] for i in order], tmp_path / "stop.mp4")
    res = _run(tmp_path / "stop.mp4", truth, {"gate": [[line_x, 0], [line_x, SIZE]]}, jitter_px=1.0, band_px=3.0)
    trucks = res.crossings[res.crossings["category"] == "truck"]
    assert trucks["direction"].tolist() == ["in"]
    # The test can fail: the ground point's side of the line flips many times while the truck stands.
    gx = res.tracks.loc[res.tracks["category"] == "truck", "x"] + res.tracks.loc[res.tracks["category"] == "truck", "w"] / 2
    assert (np.diff(np.sign(gx.to_numpy() - line_x)) != 0).sum() >= 3


def test_dwell_times_within_one_processed_frame(truck_clip, tmp_path):
    images, objs = truck_clip
    xs = _truck_x(objs)
    k = next(i for i, x in enumerate(xs) if x is not None and x > SIZE / 2)
    order = list(range(k)) + [k] * 25 + list(range(k + 1, len(images)))  # held 2.5 s at the gate
    frames = [objs[i] for i in order]
    truth = _encode([images[i] for i in order], frames, tmp_path / "gate.mp4")
    gate = [[SIZE * 0.3, 0], [SIZE * 0.7, 0], [SIZE * 0.7, SIZE], [SIZE * 0.3, SIZE]]
    zones = [{"type": "Feature", "properties": {"name": "gate", "gate": True}, "geometry": {"type": "Polygon", "coordinates": [gate]}}]
    res = _run(tmp_path / "gate.mp4", truth, None, zones, max_dwell_s=2.0)
    # The truth at the full 10 frames/s: the truck's ground point from its first to its last frame inside.
    inside = [i / FPS for i, f in enumerate(frames) for o in f if o["category"] == "truck"
              and SIZE * 0.3 < o["bbox"][0] + o["bbox"][2] / 2 < SIZE * 0.7]
    true_enter, true_exit = inside[0], inside[-1] + 1 / FPS
    d = res.dwell[res.dwell["category"] == "truck"]
    assert len(d) == 1
    step = 1 / 5  # one processed frame
    assert abs(d["enter_s"].iloc[0] - true_enter) <= step and abs(d["exit_s"].iloc[0] - true_exit) <= step
    assert abs(d["dwell_s"].iloc[0] - (true_exit - true_enter)) <= step
    dwell_alerts = res.alerts[res.alerts["alert"] != "person in restricted zone"]
    assert len(dwell_alerts) == 1 and dwell_alerts["dwell_s"].iloc[0] > 2.0


def test_outputs_and_their_columns(truck_clip, tmp_path):
    images, objs = truck_clip
    truth = _encode(images, objs, tmp_path / "c.mp4")
    res = _run(tmp_path / "c.mp4", truth, {"gate": [[64, 0], [64, SIZE]]},
               {"dock": [[0, 0], [SIZE, 0], [SIZE, SIZE], [0, SIZE]]}, preview_s=2.0)
    paths = footage.write_outputs(res, tmp_path / "out", fps=5)
    cols = {"tracks": "time_s,frame,track_id,category,x,y,w,h,score", "crossings": "time_s,line,track_id,category,direction",
            "dwell": "track_id,category,zone,enter_s,exit_s,dwell_s", "counts": "time_s,frame,zone,class,count",
            "alerts": "time_s,frame,alert,zone,class,track_id,score,x0,y0,x1,y1,dwell_s"}
    for name, header in cols.items():
        assert paths[name].read_text().splitlines()[0] == header
    tracks = pd.read_csv(paths["tracks"])
    assert tracks["time_s"].max() == pytest.approx(3.8) and set(tracks["category"]) >= {"truck"}
    got = list(VideoReader(paths["preview"], process_fps=100))
    assert len(got) == 10 and got[0].image.shape[:2] == (SIZE, SIZE)  # 2 s at 5 frames/s
    assert res.metrics["frames_processed"] == 20 and res.metrics["video_s"] == pytest.approx(4.0)
    assert res.metrics["real_time_factor"] > 0
    summary = footage.crossing_summary(res.crossings, parse_lines({"gate": [[64, 0], [64, SIZE]]}), NAMES)
    assert summary["gate"]["truck"] == {"in": 1, "out": 0} and summary["gate"]["person"] == {"in": 0, "out": 0}


def test_line_and_blur_parameters():
    with pytest.raises(ParameterError, match="two distinct"):
        parse_lines({"gate": [[0, 0], [0, 0]]})
    with pytest.raises(ParameterError, match="LineString"):
        parse_lines([{"type": "Feature", "properties": {"name": "g"}, "geometry": {"type": "Polygon", "coordinates": []}}])
    with pytest.raises(ParameterError, match="unknown class 'face'"):
        check_blur(["face"], NAMES)
    # A track first seen beyond the line has crossed nothing; a crossing beyond the segment's end is not one.
    c = LineCounter(parse_lines({"g": [[50, 0], [50, 100]]}), band_px=2)
    for t, (x, y) in enumerate([(60, 50), (70, 50), (40, 150), (60, 150)]):
        c.update(t, t, [1], [2], [[x, y]])
    assert c.crossings == []


def test_blur_hides_the_upper_half_of_a_person_only():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (60, 60, 3), dtype=np.uint8)
    out = blur_boxes(img, [[10, 10, 30, 50]], ["person"], ["person"])
    head, legs = (slice(10, 30), slice(10, 30)), (slice(31, 50), slice(10, 30))
    assert np.abs(out[head].astype(int) - img[head]).mean() > 30  # noise smoothed away
    assert np.array_equal(out[legs], img[legs]) and np.array_equal(out[:, 35:], img[:, 35:])
    assert np.array_equal(blur_boxes(img, [[10, 10, 30, 50]], ["person"], []), img)


def test_torch_detector_with_an_onnx_runner_gives_the_torch_boxes(tmp_path):
    import torch

    from kit.vision import onnx as vonnx
    from kit.vision.models import centernet

    torch.manual_seed(0)
    model = centernet(4).eval()
    path = vonnx.export_onnx(model, tmp_path / "m.onnx", torch.rand(1, 3, 64, 64))
    frames = [np.asarray(im) for im, _ in render_sequence(n_frames=2, image_size=96, seed=3)]
    frames = [f[16:80] for f in frames]  # 96x64: letterboxed with padding
    ref = footage.torch_detector(model, 64, score_threshold=0.05)(frames)
    ort = footage.torch_detector(model, 64, score_threshold=0.05, runner=vonnx.OrtRunner(vonnx.ort_session(path)))(frames)
    assert len(ref[0]["scores"]) > 0
    for a, b in zip(ref, ort):
        np.testing.assert_allclose(a["scores"], b["scores"], atol=1e-4)
        np.testing.assert_allclose(a["boxes"], b["boxes"], atol=1e-2)
        assert (a["boxes"][:, [1, 3]] <= 64).all()  # back in the frame's own pixels
