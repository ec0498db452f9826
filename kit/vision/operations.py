"""Yard operations from detections: counts per zone, occupancy, alerts, tracking.

Zones are polygons in image pixels, given GeoJSON-like (a FeatureCollection
of Polygon features with ``properties.name`` and ``properties.restricted``,
a list of such features, or ``{name: [[x, y], ...]}``). An object is in a
zone when its ground point, the bottom centre of its box, is inside: for a
camera looking down at a yard that is where the object stands, whatever its
height in the picture.

A tracker links detections across frames (IoU, with a centre-distance
fallback for fast objects), so a truck that crosses the picture in twenty
frames is counted once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kit.errors import ParameterError

__all__ = [
    "IoUTracker",
    "Zone",
    "counts_per_zone",
    "ground_points",
    "parse_zones",
    "points_in_polygon",
    "restricted_alerts",
    "track_sequence",
]


@dataclass(frozen=True)
class Zone:
    """A named polygon in image pixels.

    Attributes
    ----------
    name : str
    polygon : numpy.ndarray, (n, 2), px
        Vertices (x, y), not closed.
    restricted : bool
        People inside raise an alert (machine zones: stacking lanes, truck lanes).
    """

    name: str
    polygon: np.ndarray = field(repr=False)
    restricted: bool = False


def _ring(coords, name):
    try:
        ring = np.asarray(coords, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"zone {name!r}: coordinates are not a list of [x, y] pairs; give [[x0, y0], [x1, y1], ...] in pixels") from None
    if ring.ndim == 3 and ring.shape[0] >= 1:  # GeoJSON Polygon: list of rings, first is the outline
        ring = ring[0]
    if ring.ndim != 2 or ring.shape[1] != 2 or len(ring) < 3 or not np.all(np.isfinite(ring)):
        raise ParameterError(f"zone {name!r}: needs at least 3 finite [x, y] vertices in pixels, got shape {ring.shape}")
    if np.allclose(ring[0], ring[-1]) and len(ring) > 3:
        ring = ring[:-1]
    return ring


def parse_zones(zones) -> list:
    """Zones from a GeoJSON-like description.

    Parameters
    ----------
    zones : dict or list or None
        A FeatureCollection ``{"type": "FeatureCollection", "features": [...]}``,
        a list of Features ``{"type": "Feature", "properties": {"name", "restricted"},
        "geometry": {"type": "Polygon", "coordinates": [[[x, y], ...]]}}``, or a
        mapping ``{name: [[x, y], ...]}`` (not restricted). Coordinates in
        pixels of the original image.

    Returns
    -------
    list of Zone

    Raises
    ------
    ParameterError
        A zone without a polygon of at least 3 vertices, a geometry other
        than Polygon, or two zones with the same name.

    Examples
    --------
    >>> z = parse_zones({"type": "FeatureCollection", "features": [{"type": "Feature",
    ...     "properties": {"name": "lane", "restricted": True},
    ...     "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 0]]]}}]})
    >>> z[0].name, z[0].restricted, z[0].polygon.shape
    ('lane', True, (3, 2))
    >>> parse_zones({"dock": [[0, 0], [5, 0], [5, 5]]})[0].restricted
    False
    """
    if zones is None:
        return []
    if isinstance(zones, dict) and zones.get("type") == "FeatureCollection":
        zones = zones.get("features")
        if not isinstance(zones, list):
            raise ParameterError("zones: a FeatureCollection needs a 'features' list")
    if isinstance(zones, dict) and zones.get("type") == "Feature":
        zones = [zones]
    out = []
    if isinstance(zones, dict):
        out = [Zone(str(name), _ring(coords, name)) for name, coords in zones.items()]
    elif isinstance(zones, (list, tuple)):
        for i, f in enumerate(zones):
            if not isinstance(f, dict):
                raise ParameterError(f"zones[{i}] is a {type(f).__name__}; give GeoJSON Features with a Polygon geometry")
            props = f.get("properties") or {}
            name = str(props.get("name", f"zone {i + 1}"))
            geom = f.get("geometry") or {}
            if geom.get("type") != "Polygon":
                raise ParameterError(f"zone {name!r}: geometry type {geom.get('type')!r}; only 'Polygon' (pixel coordinates) is supported")
            out.append(Zone(name, _ring(geom.get("coordinates"), name), bool(props.get("restricted", False))))
    else:
        raise ParameterError(f"zones must be a GeoJSON FeatureCollection, a list of Features or {{name: polygon}}, got {type(zones).__name__}")
    names = [z.name for z in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ParameterError(f"zone names must be unique; {sorted(dup)[0]!r} appears twice")
    return out


def points_in_polygon(points, polygon) -> np.ndarray:
    """Whether each point is inside a polygon (even–odd rule, ray casting).

    Parameters
    ----------
    points : array (n, 2), px
    polygon : array (m, 2), px

    Returns
    -------
    numpy.ndarray of bool, (n,)

    Examples
    --------
    >>> square = [[0, 0], [10, 0], [10, 10], [0, 10]]
    >>> points_in_polygon([[5, 5], [15, 5], [-1, 3]], square).tolist()
    [True, False, False]
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    v = np.asarray(polygon, dtype=np.float64)
    x, y = p[:, 0:1], p[:, 1:2]
    x0, y0 = v[:, 0], v[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return (np.sum(crosses & (x < xi), axis=1) % 2) == 1


def ground_points(boxes) -> np.ndarray:
    """Bottom centre of XYXY boxes: where the object stands on the ground, px."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.stack([(b[:, 0] + b[:, 2]) / 2, b[:, 3]], axis=1)


def _numpy_det(det):
    from kit.backend import to_numpy

    return (np.asarray(to_numpy(det["boxes"]), dtype=np.float64).reshape(-1, 4), np.asarray(to_numpy(det["scores"]), dtype=np.float64),
            np.asarray(to_numpy(det["labels"]), dtype=np.int64))


def _keep(scores, labels, threshold):
    if isinstance(threshold, dict):
        thr = np.array([threshold.get(int(lab), 0.5) for lab in labels])
    else:
        thr = float(threshold)
    return scores >= thr


def counts_per_zone(detections, image_ids, zones, label_names: dict, threshold=0.5):
    """Objects per image, class and zone (plus the whole image as zone ``"all"``).

    Parameters
    ----------
    detections : list of dict
        Per image ``boxes`` XYXY px, ``scores``, ``labels`` 1..K.
    image_ids : list
        Image id or frame index of each entry.
    zones : list of Zone
    label_names : dict
        ``{label: class name}``.
    threshold : float or dict
        Score threshold for counting (``TrainResult.score_threshold``), or ``{label: threshold}``.

    Returns
    -------
    pandas.DataFrame
        Long table: ``image_id, zone, class, count`` with a row for every
        image, zone and class (zeros included, so occupancy plots have no gaps).

    Examples
    --------
    >>> import numpy as np
    >>> det = {"boxes": np.array([[0, 0, 4, 8], [20, 0, 30, 9]]), "scores": np.array([0.9, 0.8]), "labels": np.array([1, 1])}
    >>> t = counts_per_zone([det], [7], parse_zones({"left": [[0, 0], [10, 0], [10, 10], [0, 10]]}), {1: "container"})
    >>> t[["zone", "count"]].values.tolist()
    [['all', 2], ['left', 1]]
    """
    import pandas as pd

    rows = []
    names = sorted(label_names)
    for det, iid in zip(detections, image_ids):
        boxes, scores, labels = _numpy_det(det)
        keep = _keep(scores, labels, threshold)
        boxes, labels = boxes[keep], labels[keep]
        pts = ground_points(boxes)
        masks = [("all", np.ones(len(boxes), bool))] + [(z.name, points_in_polygon(pts, z.polygon)) for z in zones]
        for zname, inside in masks:
            for lab in names:
                rows.append({"image_id": iid, "zone": zname, "class": label_names[lab], "count": int(np.sum(inside & (labels == lab)))})
    return pd.DataFrame(rows, columns=["image_id", "zone", "class", "count"])


def restricted_alerts(detections, image_ids, zones, label_names: dict, threshold=0.5, classes=("person",), track_ids=None):
    """People (or other classes) inside restricted zones, one row per object and frame.

    Parameters
    ----------
    detections, image_ids, zones, label_names, threshold
        As for :func:`counts_per_zone`.
    classes : tuple of str
        Classes that raise an alert.
    track_ids : list of arrays, optional
        Track id of each kept detection (from :func:`track_sequence`), written in the table.

    Returns
    -------
    pandas.DataFrame
        ``image_id, zone, class, track_id, score, x0, y0, x1, y1`` (px); empty with these columns if nothing.

    Examples
    --------
    >>> import numpy as np
    >>> z = parse_zones([{"type": "Feature", "properties": {"name": "crane lane", "restricted": True},
    ...                   "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [50, 0], [50, 50], [0, 50]]]}}])
    >>> det = {"boxes": np.array([[10, 10, 14, 30], [60, 10, 64, 30]]), "scores": np.array([0.9, 0.9]),
    ...        "labels": np.array([4, 4])}
    >>> restricted_alerts([det], [3], z, {4: "person"})[["image_id", "zone", "class"]].values.tolist()
    [[3, 'crane lane', 'person']]
    """
    import pandas as pd

    cols = ["image_id", "zone", "class", "track_id", "score", "x0", "y0", "x1", "y1"]
    watched = {lab for lab, n in label_names.items() if n in classes}
    rows = []
    for i, (det, iid) in enumerate(zip(detections, image_ids)):
        boxes, scores, labels = _numpy_det(det)
        keep = _keep(scores, labels, threshold)
        tids = np.asarray(track_ids[i]) if track_ids is not None else np.full(int(keep.sum()), -1)
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        pts = ground_points(boxes)
        for z in zones:
            if not z.restricted:
                continue
            inside = points_in_polygon(pts, z.polygon) & np.isin(labels, list(watched))
            for j in np.flatnonzero(inside):
                x0, y0, x1, y1 = (round(float(v), 1) for v in boxes[j])
                rows.append({"image_id": iid, "zone": z.name, "class": label_names[int(labels[j])], "track_id": int(tids[j]),
                             "score": round(float(scores[j]), 3), "x0": x0, "y0": y0, "x1": x1, "y1": y1})
    return pd.DataFrame(rows, columns=cols)


def _overlap(a, b, over):
    """Pairwise intersection area of boxes ``a`` (n, 4) and ``b`` (m, 4), divided by ``over(area_a, area_b)``."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = ((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))[:, None]
    area_b = ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))[None, :]
    return inter / np.maximum(over(area_a, area_b, inter), 1e-9)


def _iou(a, b):
    return _overlap(a, b, lambda sa, sb, inter: sa + sb - inter)


def _io_min(a, b):
    """Intersection over the smaller box: 1 when one box lies inside the other (a partly hidden object)."""
    return _overlap(a, b, lambda sa, sb, inter: np.minimum(sa, sb))


def _io_first(a, b):
    """Intersection over the area of the box from ``a``: 1 when it lies inside the one from ``b``."""
    return _overlap(a, b, lambda sa, sb, inter: sa)


class IoUTracker:
    """Greedy tracker: IoU, then containment, then centre distance, with a constant-velocity guess.

    Each frame, live tracks are moved by their velocity and matched to
    detections of the same class, best pair first, in three tiers: IoU ≥
    ``min_iou``; else one box mostly inside the other (intersection over the
    smaller box ≥ ``min_containment``: the same object partly hidden behind
    a stack or entering the frame, whose *visible* box shrinks or grows
    suddenly); else centres closer than ``max_center_shift`` times the
    largest diagonal the track has had (fast trucks). The velocity follows
    the box edge that moved consistently with the previous velocity (when
    an occluder cuts one end of a truck, the other end still moves right),
    smoothed over frames. Unmatched detections start tracks; a confirmed
    track unseen for more than ``max_age`` frames ends (8 by default: on the
    synthetic clips a truck passing in front hides a person for up to 6
    frames), a tentative one after one missed frame. A track counts once it
    has been seen in ``min_hits`` frames, which keeps short-lived false
    positives out of the counts; tracks begun in the clip's first frame
    count at once, as in ByteTrack (those objects were there before the
    clip started). A leftover detection lying inside a matched one of the
    same class (a truck's cab found alone beside the whole truck) is a part,
    not a new object: it gets track id 0; the other way round, a leftover
    detection holding a matched one takes over its track. Given
    ``frame_size``, a track whose predicted centre has left the frame ends
    before matching (the truck drove out, and a truck entering at the same
    edge on the other lane starts its own track), and a box edge held at
    the frame border does not count as motion.

    Parameters
    ----------
    min_iou : float
    min_containment : float, 0–1
    max_center_shift : float
        In box diagonals.
    max_age : int, frames
    min_hits : int, frames
    frame_size : (width, height), px, optional
        Size of the frames; None: tracks end only by ``max_age``.

    Examples
    --------
    >>> import numpy as np
    >>> t = IoUTracker(min_hits=2)
    >>> for x in (0, 8, 16, 24):  # one truck moving right, 8 px per frame
    ...     ids = t.update(np.array([[x, 10, x + 40, 30]]), np.array([2]))
    >>> ids.tolist(), t.counts()
    ([1], {2: 1})
    """

    def __init__(self, min_iou: float = 0.3, max_center_shift: float = 1.0, max_age: int = 8, min_hits: int = 3,
                 min_containment: float = 0.6, frame_size=None):
        if not 0 <= min_iou <= 1 or not 0 < min_containment <= 1 or max_age < 0 or min_hits < 1:
            raise ParameterError("IoUTracker: need 0 <= min_iou <= 1, 0 < min_containment <= 1, max_age >= 0 and min_hits >= 1")
        if frame_size is not None and (len(frame_size) != 2 or min(frame_size) <= 0):
            raise ParameterError(f"IoUTracker: frame_size must be (width, height) in px, got {frame_size!r}")
        self.frame_size = None if frame_size is None else (float(frame_size[0]), float(frame_size[1]))
        self.min_iou, self.max_center_shift, self.max_age, self.min_hits = min_iou, max_center_shift, max_age, min_hits
        self.min_containment = min_containment
        self.tracks = {}  # id -> dict(box, velocity, label, hits, first_frame, age, diag)
        self._done = {}  # ended tracks that count: id -> label
        self._next = 1
        self._frame = 0  # frames seen

    def _pairs(self, live, pred, boxes, labels):
        """Greedy best-first (track index, detection index) pairs of the same class, in the three tiers."""
        iou = _iou(pred, boxes)
        inside = _io_min(pred, boxes)
        pc = (pred[:, :2] + pred[:, 2:]) / 2
        dc = (boxes[:, :2] + boxes[:, 2:]) / 2
        dist = np.linalg.norm(pc[:, None] - dc[None], axis=2) if len(live) and len(boxes) else np.zeros((len(live), len(boxes)))
        diag = np.array([self.tracks[t]["diag"] for t in live]).reshape(-1, 1)
        same = np.array([[self.tracks[t]["label"] == lab for lab in labels] for t in live], dtype=bool).reshape(len(live), len(boxes))
        # Tiers: IoU matches in (0, 1], containment in (-1, 0], distance fallback below -1; -inf never matches.
        score = np.where(iou >= self.min_iou, iou,
                         np.where(inside >= self.min_containment, inside - 1,
                                  np.where(dist <= self.max_center_shift * diag, -1 - dist / np.maximum(diag, 1e-9), -np.inf)))
        score[~same] = -np.inf
        pairs, used_t, used_d = [], set(), set()
        for flat in np.argsort(-score, axis=None, kind="stable"):
            ti, di = np.unravel_index(flat, score.shape)
            if score[ti, di] == -np.inf:
                break
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            pairs.append((int(ti), int(di)))
        return pairs

    def _observe(self, tid, box):
        tr = self.tracks[tid]
        steps = tr["age"] + 1  # frames since the last observation
        tr["velocity"] = 0.5 * tr["velocity"] + 0.5 * self._displacement(tr, box) / steps
        d = float(np.linalg.norm(box[2:] - box[:2]))
        tr.update(box=box, hits=tr["hits"] + 1, age=0, diag=max(d, 0.95 * tr["diag"]))

    def update(self, boxes, labels, low_boxes=None, low_labels=None) -> np.ndarray:
        """Match one frame's detections; returns a track id per detection.

        ``low_boxes`` and ``low_labels`` (optional): detections scored below
        the counting threshold. As in ByteTrack (Zhang et al., ECCV 2022)
        they may continue a confirmed track the confident detections left
        unmatched (a truck half hidden behind a stack), but never start or
        confirm one.
        """
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        ids = np.zeros(len(boxes), dtype=np.int64)
        live = list(self.tracks)
        pred = np.array([self.tracks[t]["box"] + np.tile(self.tracks[t]["velocity"] * (self.tracks[t]["age"] + 1), 2)
                         for t in live]).reshape(-1, 4)
        gone = np.array([self._left_frame(b) for b in pred], dtype=bool)
        for tid in np.asarray(live)[gone]:
            self._finished(int(tid))
        live, pred = [t for t, g in zip(live, gone) if not g], pred[~gone]
        used_t, used_d = set(), set()
        for ti, di in self._pairs(live, pred, boxes, labels):
            used_t.add(ti)
            used_d.add(di)
            self._observe(live[ti], boxes[di])
            ids[di] = live[ti]
        self._take_whole(boxes, labels, ids, used_d)
        if low_boxes is not None and len(low_boxes):
            low_boxes = np.asarray(low_boxes, dtype=np.float64).reshape(-1, 4)
            # Confirmed tracks only, as in ByteTrack: weak detections must not confirm a tentative track.
            rest = [ti for ti in range(len(live)) if ti not in used_t and self._confirmed(self.tracks[live[ti]])]
            for k, di in self._pairs([live[ti] for ti in rest], pred[rest], low_boxes,
                                     np.asarray(low_labels, dtype=np.int64).reshape(-1)):
                used_t.add(rest[k])
                self._observe(live[rest[k]], low_boxes[di])
        for ti, tid in enumerate(live):
            if ti not in used_t:
                tr = self.tracks[tid]
                tr["age"] += 1
                # A tentative track (not yet confirmed) survives one missed frame only, as in SORT:
                # a lone detection must not wait max_age frames and catch the next truck on the lane.
                if tr["age"] > (self.max_age if self._confirmed(tr) else 1):
                    self._finished(tid)
        # A leftover box lying inside a box matched this frame, same class, is a part of that object
        # (a truck's cab seen alone): it gets no track of its own (id 0).
        matched = sorted(used_d)
        part = np.zeros(len(boxes), dtype=bool)
        if matched:
            inside_own = _io_first(boxes, boxes[matched])
            part = ((inside_own >= self.min_containment) & (labels[:, None] == labels[matched][None])).any(axis=1)
        for di in range(len(boxes)):
            if di not in used_d and not part[di]:
                d = float(np.linalg.norm(boxes[di, 2:] - boxes[di, :2]))
                self.tracks[self._next] = {"box": boxes[di], "velocity": np.zeros(2), "label": int(labels[di]), "hits": 1,
                                           "first_frame": self._frame == 0,
                                           "age": 0, "diag": d}
                ids[di] = self._next
                self._next += 1
        self._frame += 1
        return ids

    def _displacement(self, tr, box):
        """Per-axis shift since the last observation: the edge whose shift agrees best with the velocity.

        An edge held at the frame border in both boxes says nothing about the motion (the box is cut
        there), so the other edge is used.
        """
        old = tr["box"]
        expect = tr["velocity"] * (tr["age"] + 1)
        out = np.zeros(2)
        for axis in (0, 1):
            lo, hi = box[axis] - old[axis], box[axis + 2] - old[axis + 2]
            lo_cut = hi_cut = False
            if self.frame_size is not None:
                tol = max(2.0, 0.01 * self.frame_size[axis])
                lo_cut = max(box[axis], old[axis]) <= tol
                hi_cut = min(box[axis + 2], old[axis + 2]) >= self.frame_size[axis] - tol
            if tr["hits"] < 2 or (lo_cut and hi_cut):  # no velocity yet, or cut at both ends: the centre's shift
                out[axis] = (lo + hi) / 2
            elif lo_cut or hi_cut:
                out[axis] = hi if lo_cut else lo
            else:
                out[axis] = lo if abs(lo - expect[axis]) <= abs(hi - expect[axis]) else hi
        return out

    def _take_whole(self, boxes, labels, ids, used_d):
        """Move a track from its matched box to a leftover box of the same class that holds it.

        The matched box was part of the object (a truck's cab found as the truck enters, then the whole
        truck beside it): the whole box continues the track and the part gets id 0.
        """
        matched = sorted(used_d)
        rest = [di for di in range(len(boxes)) if di not in used_d]
        if not matched or not rest:
            return
        held = _io_first(boxes[matched], boxes[rest]).T  # share of each matched box inside each leftover
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        for ri, di in enumerate(rest):
            for mj, dj in enumerate(matched):
                if (ids[dj] and labels[di] == labels[dj] and area[di] > area[dj]
                        and held[ri, mj] >= self.min_containment):
                    tr = self.tracks[int(ids[dj])]
                    tr.update(box=boxes[di], diag=max(float(np.linalg.norm(boxes[di, 2:] - boxes[di, :2])), tr["diag"]))
                    ids[di], ids[dj] = ids[dj], 0
                    used_d.add(di)
                    break

    def _left_frame(self, box) -> bool:
        if self.frame_size is None:
            return False
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        return not (0 <= cx <= self.frame_size[0] and 0 <= cy <= self.frame_size[1])

    def _confirmed(self, tr) -> bool:
        # As in ByteTrack, objects present when the clip starts were there before it: no waiting for hits
        # (a person walking out of view in the first frames is counted).
        return tr["hits"] >= self.min_hits or tr["first_frame"]

    def _finished(self, tid):
        tr = self.tracks.pop(tid)
        if self._confirmed(tr):
            self._done[tid] = tr["label"]

    def counts(self) -> dict:
        """``{label: distinct objects}`` confirmed (see the class notes), ended or live."""
        done = dict(self._done)
        done.update({t: tr["label"] for t, tr in self.tracks.items() if self._confirmed(tr)})
        out = {}
        for lab in done.values():
            out[lab] = out.get(lab, 0) + 1
        return dict(sorted(out.items()))


def track_sequence(detections, threshold=0.5, tracker: IoUTracker | None = None, low_threshold: float | None = None,
                   frame_size=None):
    """Run a tracker over a clip's detections (in frame order).

    Parameters
    ----------
    detections : list of dict
        Per frame ``boxes``, ``scores``, ``labels``.
    threshold : float or dict
        Counting threshold: detections at or above it are tracked and start tracks.
    tracker : IoUTracker, optional
    low_threshold : float, optional
        Detections scored from this up to ``threshold`` may continue a track
        that the confident ones left unmatched in a frame, never start one
        (ByteTrack's second association, 0.1 there); None: they are ignored.
    frame_size : (width, height), px, optional
        For the default tracker: tracks that drive out of the frame end
        there (see :class:`IoUTracker`).

    Returns
    -------
    (track_ids, counts) : list of int arrays (one per frame, for the kept detections), dict
        ``counts`` is ``{label: distinct objects}`` over the clip.
    """
    tracker = tracker or IoUTracker(frame_size=frame_size)
    out = []
    for det in detections:
        boxes, scores, labels = _numpy_det(det)
        keep = _keep(scores, labels, threshold)
        low = ~keep & (scores >= low_threshold) if low_threshold is not None else np.zeros_like(keep)
        out.append(tracker.update(boxes[keep], labels[keep], boxes[low], labels[low]))
    return out, tracker.counts()
