"""How well the IoU tracker counts on generated clips: distinct trucks and people, and line crossings, against the truth.

Usage: python benchmarks/vision_tracking.py [n_seeds] [jitter_px] [miss_rate]

With the ``trackers`` package importable (roboflow's clean-room ByteTrack; not a
kit dependency: ``pip install --target DIR trackers`` and put DIR on
PYTHONPATH), its ByteTrackTracker runs side by side on the same boxes, one
tracker per class, with the same line counter.

Each clip is the kit's fixed-camera generator (kit.vision.synthetic.render_sequence,
yard and gate scenes, 40 frames at 5 frames per second, 256 px): trucks on a
two-way road hidden in part by posts, stacks and each other, people walking
behind and in front of them. The detector is stood in for by the clip's own
visible boxes, moved by Gaussian noise of ``jitter_px`` on every edge and
dropped at random with probability ``miss_rate`` (a missed detection), so
what is measured is the tracker and the line counter, not a network. A
counting line crosses the road at mid-picture; the truth is the number of
annotated trucks and people (track ids) and the trucks whose ground point
passes it. Prints one row per clip and the totals.
"""
from __future__ import annotations

import sys

import numpy as np


def _clip_truth(seq, line):
    """Distinct trucks and people, and the trucks whose ground point passes the line (by direction)."""
    ids = {"truck": set(), "person": set()}
    first, last = {}, {}
    for _, objs in seq:
        for o in objs:
            if o["category"] in ids and o.get("track_id"):
                ids[o["category"]].add(o["track_id"])
                if o["category"] == "truck":
                    x = o["bbox"][0] + o["bbox"][2] / 2
                    first.setdefault(o["track_id"], x)
                    last[o["track_id"]] = x
    xl = float(line.points[0][0])
    crossed = {"in": sum(first[t] < xl < last[t] for t in first), "out": sum(first[t] > xl > last[t] for t in first)}
    return {k: len(v) for k, v in ids.items()}, crossed


class _ByteTrack:
    """roboflow ``trackers``' ByteTrack, one per class, behind the IoUTracker's update/counts/confirmed."""

    def __init__(self, fps: float = 5.0):
        from trackers import ByteTrackTracker

        # Same patience as the IoU tracker: confirmed after 3 frames, kept 8 frames unseen (buffer counted at 30 fps).
        self._new = lambda: ByteTrackTracker(frame_rate=fps, lost_track_buffer=int(8 * 30 / fps), minimum_consecutive_frames=3)
        self._by_class, self._seen = {}, {}

    def update(self, boxes, labels):
        import supervision as sv

        ids = np.zeros(len(boxes), dtype=np.int64)
        for lab in set(labels.tolist()) | set(self._by_class):
            tr = self._by_class.setdefault(lab, self._new())
            keep = np.flatnonzero(labels == lab)
            det = sv.Detections(xyxy=boxes[keep].reshape(-1, 4), confidence=np.ones(len(keep)),
                                class_id=np.full(len(keep), lab))
            out = tr.update(det)
            for b, tid in zip(out.xyxy, out.tracker_id):
                if tid is None or tid < 0:
                    continue
                j = keep[int(np.argmin(np.abs(boxes[keep] - b).sum(axis=1)))]
                ids[j] = lab * 100000 + int(tid) + 1
                self._seen[int(ids[j])] = lab
        return ids

    def confirmed(self):
        return dict(self._seen)

    def counts(self):
        out = {}
        for lab in self._seen.values():
            out[lab] = out.get(lab, 0) + 1
        return out


def run(n_seeds: int = 6, jitter_px: float = 1.5, miss_rate: float = 0.1, tracker: str = "iou"):
    import pandas as pd

    from kit.vision.operations import IoUTracker, LineCounter, ground_points, parse_lines
    from kit.vision.synthetic import render_sequence

    label_of = {"container": 1, "truck": 2, "pallet": 3, "person": 4}
    line = parse_lines({"mid": [[128, 0], [128, 256]]})[0]
    rows = []
    for seed in range(n_seeds):
        for kind in ("yard", "gate"):
            seq = render_sequence(n_frames=40, image_size=256, seed=seed, kind=kind)
            truth, crossed = _clip_truth(seq, line)
            rng = np.random.default_rng(seed)
            trk = IoUTracker(frame_size=(256, 256)) if tracker == "iou" else _ByteTrack()
            lines = LineCounter([line], band_px=3.84)
            for f, (_, objs) in enumerate(seq):
                objs = [o for o in objs if o["category"] in label_of and rng.random() >= miss_rate]
                b = np.array([[o["bbox"][0], o["bbox"][1], o["bbox"][0] + o["bbox"][2], o["bbox"][1] + o["bbox"][3]]
                              for o in objs], dtype=float).reshape(-1, 4) + rng.normal(0, jitter_px, (len(objs), 4))
                labels = np.array([label_of[o["category"]] for o in objs], dtype=np.int64)
                ids = trk.update(b, labels)
                on = (ids > 0) & (labels == 2)
                lines.update(f / 5, f, ids[on], labels[on], ground_points(b[on]))
            counted = trk.counts()
            keep = set(trk.confirmed())
            got = {d: sum(r["direction"] == d and r["track_id"] in keep for r in lines.crossings) for d in ("in", "out")}
            rows.append({"tracker": tracker, "seed": seed, "kind": kind, "trucks": truth["truck"],
                         "trucks_counted": counted.get(2, 0), "people": truth["person"], "people_counted": counted.get(4, 0),
                         "crossings": crossed["in"] + crossed["out"], "crossings_counted": got["in"] + got["out"],
                         "crossing_direction_errors": abs(crossed["in"] - got["in"]) + abs(crossed["out"] - got["out"])})
    return pd.DataFrame(rows)


def _summary(table) -> str:
    err = lambda a, b: int((table[a] - table[b]).abs().sum())  # noqa: E731
    return (f"{table['tracker'].iloc[0]}: absolute count errors over {len(table)} clips: trucks "
            f"{err('trucks', 'trucks_counted')} of {table['trucks'].sum()}, people {err('people', 'people_counted')} of "
            f"{table['people'].sum()}, crossings {int(table['crossing_direction_errors'].sum())} of {table['crossings'].sum()} "
            "(per direction)")


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:]]
    n = int(args[0]) if args else 6
    tables = [run(n, *(args[1:3]))]
    try:
        import trackers  # noqa: F401

        tables.append(run(n, *(args[1:3]), tracker="bytetrack"))
    except ImportError:
        print("(trackers not importable: ByteTrack not compared)")
    for t in tables:
        print(t.drop(columns="tracker").to_string(index=False))
    print()
    for t in tables:
        print(_summary(t))
