"""Tracking objects across the frames of a clip, so each truck or person is counted once.

A greedy tracker links detections frame to frame (IoU, then containment,
then centre distance for fast objects, with a constant-velocity guess);
:func:`track_sequence` runs it over a clip's detections.
"""
from __future__ import annotations

import numpy as np

from kit.errors import ParameterError
from kit.i18n import _
from kit.vision.operations.detections import above_threshold, detection_arrays


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
            raise ParameterError(_("IoUTracker: need 0 <= min_iou <= 1, 0 < min_containment <= 1, max_age >= 0 and min_hits >= 1"))
        if frame_size is not None and (len(frame_size) != 2 or min(frame_size) <= 0):
            raise ParameterError(_("IoUTracker: frame_size must be (width, height) in px, got {frame_size!r}").format(
                frame_size=frame_size))
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

    def confirmed(self) -> dict:
        """``{track id: label}`` of the tracks that count (see the class notes), ended or live."""
        done = dict(self._done)
        done.update({t: tr["label"] for t, tr in self.tracks.items() if self._confirmed(tr)})
        return done

    def counts(self) -> dict:
        """``{label: distinct objects}`` confirmed (see the class notes), ended or live."""
        out = {}
        for lab in self.confirmed().values():
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
        boxes, scores, labels = detection_arrays(det)
        keep = above_threshold(scores, labels, threshold)
        low = ~keep & (scores >= low_threshold) if low_threshold is not None else np.zeros_like(keep)
        out.append(tracker.update(boxes[keep], labels[keep], boxes[low], labels[low]))
    return out, tracker.counts()
