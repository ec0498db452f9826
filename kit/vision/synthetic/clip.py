"""A generated camera clip as a video file, with its truth: which trucks and people it shows, where and when."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_clip(path, seconds: float = 8.0, fps: float = 10.0, image_size: int = 256, seed: int = 0, kind: str = "yard",
               n_trucks: int = 4, n_people: int = 3) -> dict:
    """Render a fixed-camera clip (:func:`render_sequence`) and encode it (H.264 in MP4 for ``.mp4``).

    Parameters
    ----------
    path : path
        ``.mp4``, ``.mkv``, ``.mov`` or ``.avi``.
    seconds : float, s
    fps : float, frames per second
    image_size : int, px
    seed : int
    kind : {"yard", "gate"}
    n_trucks, n_people : int

    Returns
    -------
    dict
        ``path``, ``fps``, ``n_frames``, ``moving`` (``{"truck": n, "person": n}``
        distinct moving objects seen) and ``frames``: per frame ``time_s`` and
        its annotated objects (``category``, ``bbox`` [x, y, w, h] px, ``track_id``).
    """
    from kit.vision.synthetic.sequence import render_sequence
    from kit.vision.video import write_video

    n = max(2, int(round(seconds * fps)))
    seq = render_sequence(n_frames=n, image_size=image_size, seed=seed, kind=kind, n_trucks=n_trucks, n_people=n_people, fps=fps)
    write_video((np.asarray(im) for im, _ in seq), path, fps)
    frames = [{"time_s": round(i / fps, 6), "objects": objs} for i, (_, objs) in enumerate(seq)]
    moving = {c: len({o["track_id"] for f in frames for o in f["objects"] if o["category"] == c and o.get("track_id")})
              for c in ("truck", "person")}
    return {"path": Path(path), "fps": float(fps), "n_frames": n, "moving": moving, "frames": frames}


def truth_detector(frames, label_of: dict, jitter_px: float = 0.0, seed: int = 0):
    """The clip's annotations as detections (score 1), found by frame time: a stand-in detector for tests and measurements.

    Parameters
    ----------
    frames : list of dict
        ``write_clip(...)["frames"]``.
    label_of : dict
        ``{class name: label}``.
    jitter_px : float, px
        Standard deviation of noise added to box edges, as a detector's boxes wobble.

    Returns
    -------
    callable
        ``detect(images, times_s) -> list of dict`` for :func:`kit.vision.footage.analyse`
        (a time the clip does not hold gives no detection).
    """
    rng = np.random.default_rng(seed)
    by_time = {}
    for f in frames:
        objs = [o for o in f["objects"] if o["category"] in label_of]
        b = np.array([[o["bbox"][0], o["bbox"][1], o["bbox"][0] + o["bbox"][2], o["bbox"][1] + o["bbox"][3]] for o in objs],
                     dtype=float).reshape(-1, 4)
        if jitter_px:
            b = b + rng.normal(0, jitter_px, b.shape)
        by_time[round(f["time_s"], 3)] = {"boxes": b, "scores": np.ones(len(objs)),
                                          "labels": np.array([label_of[o["category"]] for o in objs], dtype=np.int64)}
    empty = {"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0, np.int64)}

    def detect(images, times_s):
        return [by_time.get(round(t, 3), empty) for t in times_s]

    return detect
