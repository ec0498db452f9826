import json

import numpy as np
import pytest
from matplotlib.path import Path as MplPath

from kit.errors import ParameterError
from kit.vision.operations import (IoUTracker, counts_per_zone, ground_points, parse_zones, points_in_polygon,
                                   restricted_alerts, track_sequence)

CONCAVE = [[0, 0], [100, 0], [100, 100], [50, 40], [0, 100]]  # a "V" notch from the top


def test_points_in_polygon_matches_matplotlib():
    rng = np.random.default_rng(1)
    pts = rng.uniform(-10, 110, size=(2000, 2))
    ours = points_in_polygon(pts, CONCAVE)
    ref = MplPath(np.asarray(CONCAVE, float)).contains_points(pts)
    assert ours.sum() > 500
    assert np.array_equal(ours, ref)


def test_parse_zones_forms_and_errors():
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "crane", "restricted": True},
         "geometry": {"type": "Polygon", "coordinates": [CONCAVE + [CONCAVE[0]]]}},
        {"type": "Feature", "properties": {"name": "gate"}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [5, 0], [5, 5]]]}},
    ]}
    z = parse_zones(json.loads(json.dumps(fc)))
    assert [(q.name, q.restricted, len(q.polygon)) for q in z] == [("crane", True, 5), ("gate", False, 3)]
    assert parse_zones(None) == []
    with pytest.raises(ParameterError, match="at least 3"):
        parse_zones({"a": [[0, 0], [1, 1]]})
    with pytest.raises(ParameterError, match="Polygon"):
        parse_zones([{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}])
    with pytest.raises(ParameterError, match="unique"):
        parse_zones([fc["features"][0], fc["features"][0]])


def test_counts_and_alerts_use_the_ground_point_and_threshold():
    zones = parse_zones([{"type": "Feature", "properties": {"name": "lane", "restricted": True},
                          "geometry": {"type": "Polygon", "coordinates": [[[0, 50], [100, 50], [100, 100], [0, 100]]]}}])
    # Person A stands in the lane (feet at y=60) though its box starts above it; B stands above; C is low-score.
    det = {"boxes": np.array([[10, 30, 14, 60], [30, 10, 34, 40], [50, 60, 54, 90], [0, 60, 40, 80]]),
           "scores": np.array([0.9, 0.9, 0.2, 0.8]), "labels": np.array([2, 2, 2, 1])}
    names = {1: "truck", 2: "person"}
    assert ground_points(det["boxes"][:1]).tolist() == [[12.0, 60.0]]
    t = counts_per_zone([det], [5], zones, names, threshold=0.5).set_index(["zone", "class"])["count"]
    assert t[("all", "person")] == 2 and t[("lane", "person")] == 1 and t[("lane", "truck")] == 1
    a = restricted_alerts([det], [5], zones, names, threshold={1: 0.5, 2: 0.5})
    assert a[["image_id", "zone", "class", "score"]].values.tolist() == [[5, "lane", "person", 0.9]]
    a_low = restricted_alerts([det], [5], zones, names, threshold=0.1)
    assert len(a_low) == 2


def _clip_truth(seed):
    from kit.vision.synthetic import render_sequence

    cat = {"container": 1, "truck": 2, "pallet": 3, "person": 4}
    frames = render_sequence(n_frames=30, image_size=160, seed=seed, n_trucks=3, n_people=2)
    dets, truth, per_frame = [], {}, 0
    for _, objs in frames:
        boxes = np.array([o["bbox"] for o in objs], float).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        dets.append({"boxes": boxes, "scores": np.ones(len(objs)), "labels": np.array([cat[o["category"]] for o in objs])})
        for o in objs:
            if o["category"] in ("truck", "person"):
                truth.setdefault(cat[o["category"]], set()).add(o["track_id"])
                per_frame += 1
    return dets, {k: len(v) for k, v in truth.items()}, per_frame


def _as_a_detector_sees_it(dets, rng, miss=0.2, jitter_px=1.5, fragment=0.1, false_positive=0.05):
    """Ground truth made noisy: missed detections, jittered boxes, a truck's cab alone, short-lived false trucks."""
    out = []
    for d in dets:
        keep = rng.random(len(d["boxes"])) >= miss
        boxes = d["boxes"][keep] + rng.normal(0, jitter_px, (int(keep.sum()), 4))
        labels = d["labels"][keep]
        extra = [[b[0], b[1], b[0] + 0.4 * (b[2] - b[0]), b[3]] for b, lab in zip(boxes, labels)
                 if lab == 2 and rng.random() < fragment]
        if rng.random() < false_positive:
            x, y = rng.uniform(0, 120, 2)
            extra.append([x, y, x + 30, y + 10])
        boxes = np.vstack([boxes, np.asarray(extra, float).reshape(-1, 4)])
        labels = np.concatenate([labels, np.full(len(extra), 2)])
        out.append({"boxes": boxes, "scores": np.ones(len(boxes)), "labels": labels})
    return out


def test_tracker_counts_moving_trucks_and_people_about_once():
    # Ground-truth boxes of synthetic clips (the generator's identities are the truth): trucks cross the
    # frame in 10-25 frames and pass behind stacks and posts, so their visible boxes shrink and jump;
    # a truck on the near lane hides a person walking behind it for up to 6 frames.
    total_err = n_true = naive = 0
    for seed in range(6):
        dets, truth, per_frame = _clip_truth(seed)
        _, counts = track_sequence(dets, threshold=0.5, frame_size=(160, 160))
        err = sum(abs(counts.get(k, 0) - v) for k, v in truth.items())
        assert err <= 1, (seed, truth, counts)
        total_err += err
        n_true += sum(truth.values())
        naive += per_frame - sum(truth.values())
    assert n_true >= 20
    assert total_err <= 1  # out of n_true distinct objects
    assert naive > 50 * max(total_err, 1)  # counting per frame would be off by hundreds


def test_tracker_counts_right_through_misses_fragments_and_false_positives():
    # One detection in five missed, 1.5 px jitter, a truck's cab detected alone 10 % of the time and a
    # false truck in 5 % of frames: confirmation after 3 hits and containment matching absorb them.
    total_err = n_true = 0
    for seed in range(6):
        dets, truth, _ = _clip_truth(seed)
        noisy = _as_a_detector_sees_it(dets, np.random.default_rng(seed))
        _, counts = track_sequence(noisy, threshold=0.5, frame_size=(160, 160))
        total_err += sum(abs(counts.get(k, 0) - v) for k, v in truth.items())
        n_true += sum(truth.values())
        # A tracker that confirms on the first hit counts every flicker.
        _, eager = track_sequence(noisy, threshold=0.5,
                                  tracker=IoUTracker(min_hits=1, min_containment=1.0, frame_size=(160, 160)))
        assert sum(eager.get(k, 0) for k in truth) >= sum(counts.get(k, 0) for k in truth)
    assert total_err <= 2, (total_err, n_true)


def test_tracker_ignores_one_frame_flicker_and_keeps_classes_apart():
    t = IoUTracker(min_hits=2)
    t.update(np.zeros((0, 4)), np.zeros(0))  # objects in the first frame would count at once
    t.update(np.array([[0, 0, 10, 10]]), np.array([1]))
    t.update(np.array([[0, 0, 10, 10], [50, 50, 60, 60]]), np.array([2, 1]))  # same place, other class: new track
    t.update(np.array([[0, 0, 10, 10]]), np.array([2]))
    for _ in range(5):
        t.update(np.zeros((0, 4)), np.zeros(0))
    assert t.counts() == {2: 1}  # class 1 seen once in each place: flicker, not counted


def test_low_scored_detections_continue_tracks_but_never_start_them():
    def frame(x, score):  # one truck moving right, 8 px per frame, plus a faint box elsewhere
        return {"boxes": np.array([[x, 10, x + 40, 30], [200, 200, 220, 220]], dtype=float),
                "scores": np.array([score, 0.15]), "labels": np.array([2, 2])}

    # Confident for 3 frames, half hidden for 10 (scores 0.15-0.2, longer than max_age), confident again.
    scores = [0.6] * 3 + [0.2, 0.15] * 5 + [0.6] * 3
    clip = [frame(8 * f, s) for f, s in enumerate(scores)]
    _, plain = track_sequence(clip, threshold=0.5)
    ids, byte = track_sequence(clip, threshold=0.5, low_threshold=0.1)
    assert plain == {2: 2} and byte == {2: 1}  # one truck, and the faint box never became an object
    assert {int(i) for f in ids for i in f} == {1}
    # Weak detections do not confirm a track seen confidently once (ByteTrack keeps them for confirmed tracks).
    empty = {"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0, int)}
    _, once = track_sequence([empty, frame(0, 0.6)] + [frame(8 * f, 0.2) for f in range(1, 6)], threshold=0.5,
                             low_threshold=0.1)
    assert once == {}


def test_a_truck_that_drove_out_does_not_take_the_next_one_entering():
    # Far lane: a truck leaves at the right edge moving right; near lane: another enters there moving left.
    t = IoUTracker(frame_size=(256, 256))
    lab = np.array([2])
    for f in range(5):  # its box is cut at the border as it leaves: the right edge stays at 256
        x0 = 150 + 20 * f
        t.update(np.array([[x0, 100, min(x0 + 90, 256), 120]]), lab)
    assert 18 <= t.tracks[1]["velocity"][0] <= 22  # the free (left) edge gives the speed
    t.update(np.array([[250, 100, 256, 120]]), lab)
    for f in range(4):
        t.update(np.array([[226 - 20 * f, 140, 256, 170]]), lab)
    assert t.counts() == {2: 2}
    blind = IoUTracker()  # without the frame size the old track, 1 diagonal away, takes the newcomer
    for f in range(6):
        x0 = 150 + 20 * f
        blind.update(np.array([[x0, 100, min(x0 + 90, 256), 120]]), lab)
    for f in range(4):
        blind.update(np.array([[226 - 20 * f, 140, 256, 170]]), lab)
    assert blind.counts() == {2: 1}


def test_the_whole_truck_takes_over_the_track_of_its_cab():
    # Entering from the left, only the cab is found for two frames, then the cab and the whole truck.
    t = IoUTracker()
    lab = np.array([2])
    t.update(np.array([[0, 100, 12, 120]]), lab)
    t.update(np.array([[0, 100, 22, 120]]), lab)
    ids = t.update(np.array([[10, 100, 30, 120], [0, 100, 60, 120]]), np.array([2, 2]))
    assert ids.tolist() == [0, 1]  # the cab is a part; track 1 now follows the whole truck
    for x in (20, 40, 60):
        t.update(np.array([[x, 100, x + 60, 120]]), lab)
    assert t.counts() == {2: 1} and t.tracks[1]["box"][0] == 60


def test_frame_size_is_checked():
    with pytest.raises(ParameterError, match="frame_size must be"):
        IoUTracker(frame_size=(256, 0))


def test_objects_present_when_the_clip_starts_count_at_once():
    # A person walking out of view in the first two frames is counted; the same flicker later is not.
    person = {"boxes": np.array([[2, 50, 8, 70]], float), "scores": np.array([0.9]), "labels": np.array([4])}
    empty = {"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0, int)}
    _, at_start = track_sequence([person, person] + [empty] * 5, threshold=0.5)
    _, later = track_sequence([empty] * 3 + [person, person] + [empty] * 5, threshold=0.5)
    assert at_start == {4: 1} and later == {}


def test_zone_error_in_french():
    from kit.i18n import using

    square = [[0, 0], [10, 0], [10, 10], [0, 10]]
    with using("fr"), pytest.raises(ParameterError, match=r"^les noms de zone doivent être uniques\u202f; 'quai' apparaît deux fois$"):
        parse_zones({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": "quai"}, "geometry": {"type": "Polygon", "coordinates": [square]}}] * 2})
