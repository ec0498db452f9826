"""Operations over camera footage: detect, track, count per zone and line, dwell, alert, preview.

:func:`analyse` takes frames (a :class:`kit.vision.video.VideoReader`, or
the embedded clip's frames) and a detector, and gives the tables the yard,
gate and warehouse teams use, all in video pixels and container seconds:
``tracks``, ``crossings``, ``dwell``, ``counts`` (occupancy per zone and
class over time) and ``alerts`` (a person in a restricted zone, a truck
staying longer than ``max_dwell_s`` in a gate zone). :func:`write_outputs`
writes them, with ``preview.mp4``, into the run folder.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit.vision.operations.counting import counts_per_zone, restricted_alerts
from kit.vision.operations.detections import above_threshold, detection_arrays
from kit.vision.operations.dwell import ZoneVisits
from kit.vision.operations.lines import LineCounter
from kit.vision.operations.tracking import IoUTracker
from kit.vision.operations.zones import ground_points

TRACK_COLUMNS = ["time_s", "frame", "track_id", "category", "x", "y", "w", "h", "score"]
ALERT_COLUMNS = ["time_s", "frame", "alert", "zone", "class", "track_id", "score", "x0", "y0", "x1", "y1", "dwell_s"]


@dataclass
class FootageResult:
    """What :func:`analyse` found. Tables hold confirmed tracks only (see :class:`IoUTracker`)."""

    tracks: object
    crossings: object
    dwell: object
    counts: object
    alerts: object
    distinct: dict  # {label: distinct tracked objects}
    metrics: dict
    preview: list = field(default_factory=list, repr=False)  # annotated frames (RGB arrays)
    preview_times_s: list = field(default_factory=list, repr=False)


def torch_detector(model, image_size: int, *, backend=None, score_threshold: float = 0.05, fill: int = 114, runner=None):
    """``detect(images) -> detections`` for :func:`analyse`: letterbox, run the network, boxes back in video pixels.

    Parameters
    ----------
    model : torch.nn.Module
        A detector :func:`kit.vision.evaluate.predict` runs.
    image_size : int, px
        The detector's square input.
    backend : kit.backend.Backend, optional
    score_threshold : float
        Low, so weak detections can continue tracks (ByteTrack's second association).
    fill : int, 0–255
        Grey of the letterbox padding.
    runner : callable, optional
        Another engine for the network (a :class:`kit.onnx.OrtRunner` on the
        exported detector); letterboxing and decoding stay the same.
    """
    from kit.vision import evaluate
    from kit.vision.video import letterbox, unletterbox

    def detect(images, times_s=None):
        import torch

        boxed = [letterbox(im, image_size, fill) for im in images]
        samples = [{"image": torch.from_numpy(sq).permute(2, 0, 1).float().div(255), "orig_size": (image_size, image_size),
                    "image_id": i} for i, (sq, _, _) in enumerate(boxed)]
        _, dets = evaluate.predict(model, samples, image_size=image_size, batch_size=len(samples), backend=backend,
                                   score_threshold=score_threshold, runner=runner, flip=False)  # per-frame cost
        out = []
        for det, im, (_, scale, pad) in zip(dets, images, boxed):
            boxes, scores, labels = detection_arrays(det)
            out.append({"boxes": unletterbox(boxes, scale, pad, (im.shape[1], im.shape[0])), "scores": scores, "labels": labels})
        return out

    return detect


class _Run:
    """The state of one analysis: tracker, line counter, visits and the rows gathered so far."""

    def __init__(self, zones, lines, label_names, threshold, low_threshold, max_dwell_s, band_px, frame_size):
        self.zones, self.lines, self.label_names = zones, lines, label_names
        self.threshold, self.low_threshold = threshold, low_threshold
        self.tracker = IoUTracker(frame_size=frame_size)
        band = band_px if band_px is not None else max(2.0, 0.015 * max(frame_size))
        self.line_counter = LineCounter(lines, band_px=band)
        trucks = {k for k, n in label_names.items() if n == "truck"}
        self.visits = ZoneVisits(zones, max_dwell_s=max_dwell_s, dwell_classes=trucks)
        self.tracks, self.counts, self.alerts = [], [], []

    def frames(self, batch, dets):
        """Track, count and alert on a batch of frames with their detections; per frame the tracked boxes."""
        kept_ids, shown = [], []
        for fr, det in zip(batch, dets):
            boxes, scores, labels = detection_arrays(det)
            keep = above_threshold(scores, labels, self.threshold)
            low = ~keep & (scores >= self.low_threshold) if self.low_threshold is not None else np.zeros_like(keep)
            ids = self.tracker.update(boxes[keep], labels[keep], boxes[low], labels[low])
            kept_ids.append(ids)
            b, s, lab = boxes[keep], scores[keep], labels[keep]
            on = ids > 0
            pts = ground_points(b[on])
            self.line_counter.update(fr.time_s, fr.index, ids[on], lab[on], pts)
            self.visits.update(fr.time_s, fr.index, ids[on], lab[on], pts)
            for box, sc, la, tid in zip(b[on], s[on], lab[on], ids[on]):
                self.tracks.append((fr.time_s, fr.index, int(tid), self.label_names.get(int(la), str(la)),
                                    *(round(float(v), 1) for v in (box[0], box[1], box[2] - box[0], box[3] - box[1])),
                                    round(float(sc), 3)))
            shown.append((b[on], [self.label_names.get(int(x), str(x)) for x in lab[on]], ids[on].tolist()))
        idx = [f.index for f in batch]
        times = {f.index: f.time_s for f in batch}
        c = counts_per_zone(dets, idx, self.zones, self.label_names, threshold=self.threshold)
        a = restricted_alerts(dets, idx, self.zones, self.label_names, threshold=self.threshold, track_ids=kept_ids)
        for t in (c, a):
            t.insert(0, "time_s", t["image_id"].map(times))
        self.counts.append(c.rename(columns={"image_id": "frame"}))
        self.alerts.append(a.rename(columns={"image_id": "frame"}))
        return shown

    def running_counts(self) -> list:
        """One text line per counting line and class crossed so far: crossings in and out."""
        out = []
        for ln in self.lines:
            rows = [r for r in self.line_counter.crossings if r["line"] == ln.name]
            for lab in sorted({r["label"] for r in rows}):
                n_in = sum(r["direction"] == "in" for r in rows if r["label"] == lab)
                n = sum(r["label"] == lab for r in rows)
                out.append(f"{ln.name} {self.label_names.get(lab, lab)}: in {n_in}, out {n - n_in}")
            if not rows:
                out.append(f"{ln.name}: in 0, out 0")
        return out


def analyse(frames, detect, zones, lines, label_names: dict, *, threshold=0.5, low_threshold: float | None = 0.1,
            max_dwell_s: float | None = None, batch_size: int = 8, band_px: float | None = None,
            preview_s: float = 10.0, blur=("person",), preview_width: int = 640) -> FootageResult:
    """Detect, track and count over frames; every table in video pixels and container seconds.

    Parameters
    ----------
    frames : iterable of kit.vision.video.Frame
    detect : callable
        ``detect(images, times_s) -> list of dict``: for a batch of (H, W, 3)
        uint8 frames and their times, ``boxes`` XYXY in those frames' pixels,
        ``scores``, ``labels`` (:func:`torch_detector`).
    zones : list of Zone
    lines : list of Line
    label_names : dict
        ``{label: class name}``.
    threshold : float or dict
        Counting threshold (per class: ``{label: threshold}``).
    low_threshold : float, optional
        Weaker detections continue tracks, never start them.
    max_dwell_s : float, s, optional
        Trucks staying longer in a zone marked ``gate`` raise an alert.
    batch_size : int
        Frames per detector call.
    band_px : float, px, optional
        Dead band of the counting lines; default 1.5 % of the frame's larger side, at least 2 px.
    preview_s : float, s
        Length of the annotated excerpt kept for ``preview.mp4`` (from the first frame).
    blur : list of str
        Classes blurred in the preview (:mod:`kit.vision.preview`).
    preview_width : int, px

    Returns
    -------
    FootageResult
    """
    from kit.vision.preview import annotate

    started, run, n, first_t, last_t = time.perf_counter(), None, 0, None, None
    detect_s = 0.0
    preview, preview_t = [], []
    batch = []
    it = iter(frames)
    while True:
        fr = next(it, None)
        if fr is not None:
            batch.append(fr)
            if len(batch) < batch_size:
                continue
        if not batch:
            break
        t0 = time.perf_counter()
        dets = detect([f.image for f in batch], [f.time_s for f in batch])
        detect_s += time.perf_counter() - t0
        if run is None:
            h, w = batch[0].image.shape[:2]
            run = _Run(zones, lines, label_names, threshold, low_threshold, max_dwell_s, band_px, (w, h))
            first_t = batch[0].time_s
        for f, (boxes, names, ids) in zip(batch, run.frames(batch, dets)):
            if f.time_s - first_t < preview_s:
                preview.append(annotate(f.image, boxes, names, ids, zones=zones, lines=lines, lines_text=run.running_counts(),
                                        blur=blur, max_width=preview_width))
                preview_t.append(f.time_s)
        n += len(batch)
        last_t = batch[-1].time_s
        batch = []
        if fr is None:
            break
    wall = time.perf_counter() - started
    return _result(run, label_names, n, first_t, last_t, wall, detect_s, preview, preview_t)


def _result(run, label_names, n, first_t, last_t, wall, detect_s, preview, preview_t) -> FootageResult:
    import pandas as pd

    if run is None:
        from kit.errors import InputDataError

        raise InputDataError("the video gave no frame in the window asked for; check start_s and duration_s against its length")
    run.visits.close()
    confirmed = run.tracker.confirmed()
    keep = set(confirmed)
    tracks = pd.DataFrame([r for r in run.tracks if r[2] in keep], columns=TRACK_COLUMNS)
    crossings = run.line_counter.table(label_names, keep)
    dwell = run.visits.table(label_names, keep)
    counts = pd.concat(run.counts, ignore_index=True)
    alerts = pd.concat(run.alerts, ignore_index=True)
    alerts.insert(2, "alert", "person in restricted zone")
    dwell_alerts = pd.DataFrame([{"time_s": a["time_s"], "frame": a["frame"], "alert": "dwell over max_dwell_s", "zone": a["zone"],
                                  "class": label_names.get(a["label"]), "track_id": a["track_id"],
                                  "dwell_s": round(a["dwell_s"], 3)} for a in run.visits.alerts if a["track_id"] in keep])
    alerts = pd.concat([alerts, dwell_alerts], ignore_index=True) if len(dwell_alerts) else alerts.assign(dwell_s=np.nan)
    alerts = alerts.reindex(columns=ALERT_COLUMNS).sort_values(["time_s", "alert"], kind="stable", ignore_index=True)
    step = (last_t - first_t) / (n - 1) if n > 1 else 0.0
    video_s = (last_t - first_t) + step
    metrics = {"frames_processed": n, "video_s": round(video_s, 3), "wall_s": round(wall, 3), "detector_s": round(detect_s, 3),
               "processed_fps": round(n / wall, 2) if wall > 0 else None,
               "real_time_factor": round(video_s / wall, 3) if wall > 0 else None}
    return FootageResult(tracks, crossings, dwell, counts, alerts, run.tracker.counts(), metrics, preview, preview_t)


def write_outputs(result: FootageResult, output_dir, fps: float) -> dict:
    """``tracks.csv``, ``crossings.csv``, ``dwell.csv``, ``counts.csv``, ``alerts.csv`` and ``preview.mp4`` (atomically).

    Returns ``{name: path}``.
    """
    from kit.io import atomic_path
    from kit.vision.video import write_video

    out = Path(output_dir)
    paths = {}
    for name in ("tracks", "crossings", "dwell", "counts", "alerts"):
        paths[name] = out / f"{name}.csv"
        with atomic_path(paths[name]) as tmp:
            getattr(result, name).to_csv(tmp, index=False)
    if result.preview:
        paths["preview"] = write_video(result.preview, out / "preview.mp4", fps)
    return paths


def crossing_summary(crossings, lines, label_names: dict) -> dict:
    """``{line: {class: {"in": n, "out": n}}}`` for every line and class (zeros included)."""
    out = {ln.name: {name: {"in": 0, "out": 0} for name in label_names.values()} for ln in lines}
    for (line, category, direction), n in crossings.groupby(["line", "category", "direction"]).size().items():
        out[line][category][direction] = int(n)
    return out
