"""How well the IoU tracker counts on generated clips: distinct trucks and people, and line crossings, against the truth.

Usage: python benchmarks/vision_tracking.py [n_seeds] [jitter_px] [miss_rate]

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


def run(n_seeds: int = 6, jitter_px: float = 1.5, miss_rate: float = 0.1):
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
            tracker, lines = IoUTracker(frame_size=(256, 256)), LineCounter([line], band_px=3.84)
            for f, (_, objs) in enumerate(seq):
                objs = [o for o in objs if o["category"] in label_of and rng.random() >= miss_rate]
                b = np.array([[o["bbox"][0], o["bbox"][1], o["bbox"][0] + o["bbox"][2], o["bbox"][1] + o["bbox"][3]]
                              for o in objs], dtype=float).reshape(-1, 4) + rng.normal(0, jitter_px, (len(objs), 4))
                labels = np.array([label_of[o["category"]] for o in objs], dtype=np.int64)
                ids = tracker.update(b, labels)
                on = (ids > 0) & (labels == 2)
                lines.update(f / 5, f, ids[on], labels[on], ground_points(b[on]))
            counted = tracker.counts()
            keep = set(tracker.confirmed())
            got = {d: sum(r["direction"] == d and r["track_id"] in keep for r in lines.crossings) for d in ("in", "out")}
            rows.append({"seed": seed, "kind": kind, "trucks": truth["truck"], "trucks_counted": counted.get(2, 0),
                         "people": truth["person"], "people_counted": counted.get(4, 0),
                         "crossings": crossed["in"] + crossed["out"], "crossings_counted": got["in"] + got["out"],
                         "crossing_direction_errors": abs(crossed["in"] - got["in"]) + abs(crossed["out"] - got["out"])})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:]]
    table = run(int(args[0]) if args else 6, *(args[1:3]))
    print(table.to_string(index=False))
    err = lambda a, b: int((table[a] - table[b]).abs().sum())  # noqa: E731
    print(f"\nabsolute count errors over {len(table)} clips: trucks {err('trucks', 'trucks_counted')} of {table['trucks'].sum()}, "
          f"people {err('people', 'people_counted')} of {table['people'].sum()}, crossings "
          f"{int(table['crossing_direction_errors'].sum())} of {table['crossings'].sum()} (per direction)")
