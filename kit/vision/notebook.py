"""Glue for the logistics vision notebook: parameters, data preparation, plots.

The logic lives in the other ``kit.vision`` modules; this holds what only the
notebook needs (its parameter spec, the default zones, figures and tables).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from kit.i18n import N_, _, ngettext
from kit.params import LANG, Param, Spec
from kit.vision.wording import class_label, number, preview_speed, zone_label

#: Zones of the default clip (256-px yard camera): the truck road (both lanes; people must not walk there) and the stacks.
DEFAULT_ZONES = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"name": "truck lane", "restricted": True},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 140], [256, 140], [256, 256], [0, 256], [0, 140]]]}},
        {"type": "Feature", "properties": {"name": "stacks", "restricted": False},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 40], [256, 40], [256, 140], [0, 140], [0, 40]]]}},
    ],
}

#: Counting line of the default clip: across the truck road at mid-picture (drawn top to bottom, so left to right is "in").
DEFAULT_LINES = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"name": "road"},
         "geometry": {"type": "LineString", "coordinates": [[128, 140], [128, 256]]}},
    ],
}

def _check_open_weights(values) -> None:
    """epochs=0 needs a detector's weights; weights_backbone a torchvision detector (checked before any work)."""
    from kit.errors import ParameterError

    if values["epochs"] == 0 and (values["weights"] is None or values["model"] == "centernet"):
        raise ParameterError(_("epochs=0 detects without training, which needs a torchvision model (ssdlite, fcos, "
                               "faster_rcnn) and its COCO checkpoint as weights; give both, or epochs >= 1"))
    if values["weights_backbone"] is not None and values["model"] == "centernet":
        raise ParameterError(_("weights_backbone applies to ssdlite, fcos and faster_rcnn; choose one of them, or drop it"))


def _check_teacher(values) -> None:
    """teacher is none, centernet_wide or a checkpoint file, and teaches the centernet detector (checked before any work)."""
    from kit.errors import ParameterError
    from kit.vision.teachers import TEACHERS

    teacher = values["teacher"]
    if teacher not in TEACHERS and not Path(teacher).is_file():
        raise ParameterError(_("parameter 'teacher' must be none, centernet_wide or an existing checkpoint file, got {value!r}").format(value=teacher))
    if teacher != "none" and values["model"] != "centernet":
        raise ParameterError(_("teacher distils into model=centernet; choose it, or teacher=none"))


PARAMETERS = Spec(
    (
        Param("dataset", "path", None, N_("detection data set folder, recognised from its files: COCO (annotations.json with per-image split, or train/val/test.json), YOLO (data.yaml with images/ and labels/), Pascal VOC (Annotations/, JPEGImages/, ImageSets/Main) or CVAT for images 1.1 (annotations.xml, images/); its own classes are trained; None generates synthetic yard and gate scenes"), optional=True),
        Param("model", "str", "centernet", N_("detector: centernet (small anchor-free, trained from scratch on CPU, exported to ONNX and int8); ssdlite, fcos or faster_rcnn (torchvision, for a GPU or a bigger budget; backbone in ONNX and int8, heads and NMS in Torch)"), choices=("centernet", "ssdlite", "fcos", "faster_rcnn")),
        Param("weights", "path", None, N_("local weight file to start the detector from: a checkpoint of an earlier run, or for ssdlite, fcos and faster_rcnn torchvision's published COCO file (e.g. ssdlite320_mobilenet_v3_large_coco-a79551df.pth; class head rebuilt, truck and person kept); None trains from scratch (nothing is downloaded)"), optional=True),
        Param("weights_backbone", "path", None, N_("torchvision's published ImageNet backbone file for ssdlite, fcos or faster_rcnn (mobilenet_v3_large-8738ca79.pth, resnet50-0676ba61.pth); None: none"), optional=True),
        Param("image_size", "int", 256, N_("square input size of the detector, px (multiple of 16)"), min=64, max=1024),
        Param("epochs", "int", 26, N_("detector training epochs (upper bound; early stopping on validation mAP@0.5); 0 with COCO weights: no training, COCO's truck and person detected as they are, the other classes unavailable"), min=0, max=500),
        Param("teacher", "str", "none", N_("distillation into the centernet detector: none; centernet_wide (a CenterNet with 4x its parameters trained first on the same images, then teaching it on them and, for synthetic data, on as many unlabelled scenes: about 5x the detector's training CPU time in all); or a checkpoint file (best.pt) of an earlier run: a centernet, or ssdlite, fcos or faster_rcnn fine-tuned on the same classes")),
        Param("video", "source", None, N_("camera footage to analyse: a file (MP4, MKV, AVI, MOV) or an rtsp:// or http(s):// stream URL; None uses the embedded clip"), optional=True),
        Param("process_fps", "float", 5.0, N_("frames analysed per second of video (taken by the container's timestamps)"), min=0.1, max=60),
        Param("start_s", "float", 0.0, N_("start of the video window analysed, s"), min=0),
        Param("duration_s", "float", None, N_("length of the window, s; None: to the end (a stream: until it stops)"), optional=True, min=0.1),
        Param("zones", "dict", DEFAULT_ZONES, N_("GeoJSON-like FeatureCollection of Polygon zones in video pixels; properties: name, restricted (people alert), gate (trucks alert after max_dwell_s)")),
        Param("lines", "dict", DEFAULT_LINES, N_("GeoJSON-like FeatureCollection of LineString counting lines (two points, video pixels); in: from the left side to the right side, looking from the first point to the second")),
        Param("max_dwell_s", "float", 120.0, N_("a truck staying longer than this in a zone marked gate raises an alert, s"), min=0.1),
        Param("blur", "list", ["person"], N_("classes blurred in preview.mp4 and saved frames: person (head and shoulders), truck (plate region); [] for none")),
        Param("code_reader", "str", "small", N_("container-code reader: small (a CTC reader trained on the code crops, about 50 CPU-s) or ppocr (PP-OCRv4 from rapidocr-onnxruntime, pretrained, nothing downloaded; also finds codes in whole door images); both decode under the ISO 6346 check digit"), choices=("small", "ppocr")),
        Param("device", "device", "auto", N_("auto, cpu or cuda (env KIT_DEVICE overrides)"), choices=("auto", "cpu", "cuda")),
        Param("output_dir", "output_dir", "outputs/logistics_vision", N_("folder for detections.json, tracks.csv, crossings.csv, dwell.csv, counts.csv, alerts.csv, preview.mp4, codes.csv, benchmark.csv, model.onnx, code_reader.onnx (code_reader small), model_card.md, metrics.json")),
        Param("scale", "float", 1.0, N_("size of the synthetic data and of training: 1 gives 600 scenes and 1500 code crops (about 4.5 min on 2 CPU cores, 3.3 of them training the detector); 0.25 for a smoke test, 3 for more"), min=0.05, max=20),
        Param("seed", "int", 0, N_("random seed of the synthetic data, the splits and training"), min=0),
        LANG,
    ),
    rules=(_check_open_weights, _check_teacher),
    purpose="Detect and count containers, trucks, pallets and people in camera footage per zone and counting line, time their stays, alert on people in machine zones and trucks held at gates, read container codes, and measure inference on this machine.",
)


def prepare_dataset(dataset, output_dir, scale: float, seed: int, image_size: int) -> Path:
    """The dataset folder to use: the user's (checked to be a known format) or a synthetic one written under ``output_dir``.

    The user's folder (or file) may hold COCO, YOLO, Pascal VOC or CVAT
    annotations (:func:`kit.vision.formats.detect`); it is returned as it
    is and :class:`kit.vision.data.CocoDetection` reads it.
    """
    if dataset is not None:
        from kit.vision.formats import detect

        detect(dataset)  # raises a one-line InputDataError naming what was expected
        return Path(dataset)
    from kit.vision.synthetic import DATA_VERSION, generate

    folder = Path(output_dir) / "synthetic"
    marker = folder / "annotations.json"
    n = max(20, int(round(600 * scale)))
    if marker.is_file():
        import json

        coco = json.loads(marker.read_text())
        info = coco.get("info", {})
        # Same parameters, same files: reuse them (the generator is deterministic).
        if (info.get("seed") == seed and len(coco.get("images", [])) == n and info.get("image_size") == image_size
                and info.get("version") == DATA_VERSION):
            return folder
    return generate(folder, n_images=n, image_size=image_size, seed=seed, n_code_crops=max(50, int(round(1500 * scale))),
                    sequence_frames=40)


def clip_frames(video, folder, test, process_fps: float, start_s: float = 0.0, duration_s=None):
    """The frames to analyse: the video's (a :class:`~kit.vision.video.VideoReader`) or the embedded clip's.

    The embedded clip (``folder/sequence``, 5 frames per second) is read in
    frame order; a COCO folder without one gives its test images as frames.

    Returns
    -------
    (frames, reader) : iterable of Frame, VideoReader or None
    """
    from kit.vision.video import VideoReader, sample_frames

    if video is not None:
        reader = VideoReader(video, process_fps=process_fps, start_s=start_s, duration_s=duration_s)
        return reader, reader
    seq = Path(folder) / "sequence" / "annotations.json"
    if seq.is_file():
        import json

        images = sorted(json.loads(seq.read_text())["images"], key=lambda im: im.get("frame_index", im["id"]))
        paths = [seq.parent / im["file_name"] for im in images]
    else:
        paths = [Path(im["path"]) for im in test.index.images]

    def raw():
        from PIL import Image

        for i, path in enumerate(paths):
            with Image.open(path) as im:
                yield i / 5.0, np.asarray(im.convert("RGB"))

    end = None if duration_s is None else start_s + duration_s
    return sample_frames(raw(), process_fps, start_s, end), None


def clip_truth(video, folder) -> dict | None:
    """Distinct moving trucks and people in the embedded clip, from its annotations; None for a video."""
    seq = Path(folder) / "sequence" / "annotations.json"
    if video is not None or not seq.is_file():
        return None
    import json

    coco = json.loads(seq.read_text())
    return {c["name"]: len({a.get("track_id") for a in coco["annotations"] if a["category_id"] == c["id"]})
            for c in coco["categories"] if c["name"] in ("truck", "person")}


def record_footage(clip, crossed: dict, label_names: dict, unavailable=()):
    """Metrics of the footage analysis into metrics.json: tracks per class (``"unavailable"`` for a class the detector cannot detect), crossings, alerts, speed."""
    from kit import report

    for k, name in label_names.items():
        report.record(f"tracks_{name}", "unavailable" if name in unavailable else int(clip.distinct.get(k, 0)))
    report.record("trucks_counted", int(clip.distinct.get(next((k for k, n in label_names.items() if n == "truck"), -1), 0)))
    report.record("people_counted", int(clip.distinct.get(next((k for k, n in label_names.items() if n == "person"), -1), 0)))
    report.record("crossings", crossed)
    restricted = clip.alerts[clip.alerts["alert"] == "person in restricted zone"]
    report.record("alert_frames", int(restricted["frame"].nunique()))
    report.record("dwell_alerts", int((clip.alerts["alert"] != "person in restricted zone").sum()))
    for key in ("frames_processed", "video_s", "processed_fps", "real_time_factor"):
        report.record(key, clip.metrics[key])


def plot_footage(counts, alerts, crossings, lines):
    """Occupancy per zone and class over time (red bands: alerts), and crossings per line over time."""
    import matplotlib.pyplot as plt

    zones = list(counts["zone"].unique())
    fig, axes = plt.subplots(1, len(zones) + 1, figsize=(4.0 * (len(zones) + 1), 3.6), squeeze=False)
    step = float(np.median(np.diff(np.unique(counts["time_s"])))) if counts["time_s"].nunique() > 1 else 0.2
    for ax, z in zip(axes[0], zones):
        sub = counts[counts["zone"] == z].pivot_table(index="time_s", columns="class", values="count", aggfunc="sum")
        for c in sub.columns:
            ax.plot(sub.index, sub[c], label=class_label(c), drawstyle="steps-mid")
        for t in sorted(set(alerts.loc[alerts["zone"] == z, "time_s"])):
            ax.axvspan(t - step / 2, t + step / 2, color="#D55E00", alpha=0.15, lw=0)
        ax.set_title(_("zone: {zone}").format(zone=zone_label(z)))
        ax.set_xlabel(_("time, s"))
    axes[0][0].set_ylabel(_("objects"))
    axes[0][0].legend(frameon=False, fontsize=8)
    ax = axes[0][-1]
    t_end = float(counts["time_s"].max()) if len(counts) else 1.0
    for ln in lines:
        for direction, ls in (("in", "-"), ("out", "--")):
            t = np.sort(crossings.loc[(crossings["line"] == ln.name) & (crossings["direction"] == direction), "time_s"].to_numpy())
            ax.step(np.r_[0.0, t, t_end], np.r_[0, np.arange(1, len(t) + 1), len(t)], where="post", ls=ls,
                    label=(_("{line} in") if direction == "in" else _("{line} out")).format(line=zone_label(ln.name)))
    ax.set_title(_("crossings so far"))
    ax.set_xlabel(_("time, s"))
    ax.legend(frameon=False, fontsize=8)
    fig.suptitle(_("Occupancy and crossings over time (red bands: alerts)"))
    fig.tight_layout()
    return fig


def preview_html(path, metrics: dict):
    """The preview as an HTML5 video embedded in the report, with the processing speed under it."""
    import base64

    from IPython.display import HTML

    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    speed = preview_speed(metrics)
    return HTML(f'<video controls loop muted playsinline style="max-width:100%"><source type="video/mp4" '
                f'src="data:video/mp4;base64,{data}"></video><p>preview.mp4. {speed}</p>')


def plot_training(history):
    """Training loss and validation mAP@0.5 per epoch."""
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(ep, [h["train_loss"] for h in history], marker="o", label=_("training loss"))
    ax.set_xlabel(_("epoch"))
    ax.set_ylabel(_("loss"))
    ax2 = ax.twinx()
    ax2.plot(ep, [h["val_map50"] for h in history], marker="s", color="#D55E00", label=_("validation mAP@0.5"))
    ax2.set_ylabel(_("mAP@0.5"))
    ax2.set_ylim(0, 1)
    ax2.grid(False)
    fig.legend(loc="upper center", ncol=2, frameon=False)
    ax.set_title(_("Detector training"))
    fig.tight_layout()
    return fig


def plot_pr_curves(scores, title=N_("Precision–recall at IoU 0.5 (test split)")):
    """One PR curve per class, AP@0.5 in the legend."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, prec in scores.precision.items():
        ax.plot(scores.recall, prec, label=_("{name} (AP {ap})").format(name=class_label(name), ap=number(scores.ap50[name], 2)))
    ax.set_xlabel(_("recall"))
    ax.set_ylabel(_("precision"))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(_(title))
    ax.legend(frameon=False, loc="lower left")
    fig.tight_layout()
    return fig


def plot_detections(dataset, ids, detections, label_names, threshold, n: int = 4, zones=()):
    """A few test images with their detections above the counting threshold (dashed: ground truth)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon, Rectangle

    from kit.plotting import OKABE_ITO

    pos = {int(im["id"]): i for i, im in enumerate(dataset.index.images)}
    n = min(n, len(ids))
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.8), squeeze=False)
    from PIL import Image

    for ax, iid, det in zip(axes[0], ids[:n], detections[:n]):
        i = pos[int(iid)]
        with Image.open(dataset.index.images[i]["path"]) as im:
            ax.imshow(np.asarray(im.convert("RGB")))
        for b in dataset.index.boxes[i]:
            ax.add_patch(Rectangle((b[0], b[1]), b[2] - b[0], b[3] - b[1], fill=False, ls="--", lw=0.6, ec="white"))
        keep = det["scores"].numpy() >= threshold
        for b, lab in zip(det["boxes"].numpy()[keep], det["labels"].numpy()[keep]):
            ax.add_patch(Rectangle((b[0], b[1]), b[2] - b[0], b[3] - b[1], fill=False, lw=1.2, ec=OKABE_ITO[int(lab) - 1]))
        for z in zones:
            ax.add_patch(Polygon(z.polygon, closed=True, fill=False, ec="#D55E00" if z.restricted else "#56B4E9", lw=1, ls=":"))
        ax.set_axis_off()
        n_shown = int(keep.sum())
        ax.set_title(ngettext("image {id}: {n} objects", "image {id}: {n} objects", n_shown).format(id=iid, n=n_shown), fontsize=9)
    handles = [Rectangle((0, 0), 1, 1, fill=False, ec=OKABE_ITO[k - 1], label=class_label(name)) for k, name in label_names.items()]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
    fig.suptitle(_("Sample detections (solid) and ground truth (dashed)"))
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    return fig


def plot_latency(bench):
    """Benchmark table as a figure: SingleStream p50/p90/p99 and Offline throughput per engine."""
    import matplotlib.pyplot as plt

    ss = bench[bench["scenario"] == "SingleStream"]
    off = bench[bench["scenario"] == "Offline"]
    names = [f"{b} {p}" for b, p in zip(ss["backend"], ss["precision"])]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.8))
    x = np.arange(len(ss))
    for k, q in enumerate((50, 90, 99)):
        a1.bar(x + (k - 1) * 0.25, ss[f"latency_p{q}_ms"], width=0.25, label=f"p{q}")
    a1.set_xticks(x, names)
    a1.set_ylabel(_("latency per image, ms"))
    a1.set_title(_("SingleStream (batch 1)"))
    a1.legend(frameon=False)
    a2.bar(x, off["images_per_s"], color="#009E73")
    a2.set_xticks(x, [f"{b} {p}" for b, p in zip(off["backend"], off["precision"])])
    a2.set_ylabel(_("images per second"))
    a2.set_title(_("Offline (batch {n})").format(n=int(off['batch'].iloc[0])))
    cpu = bench.attrs.get("cpu_model", "")
    fig.suptitle(_("Detector inference, {threads} thread(s), {cpu}").format(threads=int(ss['threads'].iloc[0]), cpu=cpu))
    fig.tight_layout()
    return fig


def onnx_deployment(model, sample, test, calibration_set, *, image_size: int, output_dir, threads: int,
                    n_calibration: int = 64):
    """Export the detector to ONNX, check it against Torch, quantize it to int8 and score the int8 model.

    CenterNet is exported whole (its decoding runs after the network). A
    torchvision detector is split (:mod:`kit.vision.tv_onnx`): its backbone
    goes to ONNX Runtime, while resize, heads, anchors and NMS stay in Torch,
    because the tracing exporter bakes NMS for the example image.

    Parameters
    ----------
    model : CenterNet or TorchvisionDetector
        On the CPU, in eval mode.
    sample : tensor (B, 3, image_size, image_size)
        Test images on which ONNX Runtime is compared with Torch.
    test, calibration_set : CocoDetection
        Served with ``eval_transforms(image_size)``: the test split (the
        comparison and the int8 score) and the images that calibrate int8
        (validation, never test).
    image_size : int, px
    output_dir : path
        ``model.onnx``, ``model_int8.onnx`` and the benchmark sample
        (:func:`kit.vision.bench_sample.write_detector_sample`) are written there (for a
        torchvision detector they hold its backbone).
    threads : int
        ONNX Runtime intra-op threads.

    Returns
    -------
    dict
        ``onnx_max_abs_diff`` (network outputs, or backbone feature maps for
        a torchvision detector, on ``sample``), ``int8_scores``
        (:class:`kit.vision.evaluate.DetectionScores` on ``test``), ``engines``
        ``{("onnxruntime", "fp32" | "int8"): fn(float32 NumPy batch)}`` for
        :func:`kit.vision.bench.benchmark`, and ``split`` (True when only the
        backbone runs in ONNX Runtime).
    """
    import torch

    from kit.vision import evaluate, finetune
    from kit.vision import onnx as vonnx
    from kit.vision.bench import torch_engine

    out = Path(output_dir)
    n = min(n_calibration, len(calibration_set))
    calibration = torch.stack([calibration_set[i]["image"].as_subclass(torch.Tensor) for i in range(n)])
    split = bool(getattr(model, "outputs_detections", False))
    if split:
        from kit.vision import tv_onnx

        onnx_path, names = tv_onnx.export_backbone(model, out / "model.onnx", sample[:1])
        fp32 = tv_onnx.with_ort_backbone(model, vonnx.ort_session(onnx_path, threads=threads), names)
        x = tv_onnx.backbone_inputs(model, sample)
        diff = vonnx.max_abs_diff(dict(tv_onnx.backbone_outputs(model, x)), dict(fp32.net.backbone(x)))
        int8_path = vonnx.quantize_int8(onnx_path, out / "model_int8.onnx",
                                        tv_onnx.backbone_inputs(model, calibration).numpy())
        int8 = tv_onnx.with_ort_backbone(model, vonnx.ort_session(int8_path, threads=threads), names)
        q_ids, q_dets = evaluate.predict(int8, test, image_size=image_size)
        engines = {("onnxruntime", "fp32"): torch_engine(fp32), ("onnxruntime", "int8"): torch_engine(int8)}
    else:
        onnx_path = vonnx.export_onnx(model, out / "model.onnx", torch.rand(1, 3, image_size, image_size))
        fp32 = vonnx.OrtRunner(vonnx.ort_session(onnx_path, threads=threads))
        with torch.no_grad():
            diff = vonnx.max_abs_diff(model(sample), fp32(sample))
        int8 = vonnx.OrtRunner(vonnx.ort_session(vonnx.quantize_int8(onnx_path, out / "model_int8.onnx", calibration.numpy()),
                                                 threads=threads))
        q_ids, q_dets = evaluate.predict(None, test, image_size=image_size, runner=int8)
        engines = {("onnxruntime", "fp32"): fp32.numpy, ("onnxruntime", "int8"): int8.numpy}
    int8_scores = evaluate.coco_evaluate(evaluate.to_coco_results(q_dets, q_ids, test.index.category_ids), test.index)
    int8_scores = int8_scores.without(finetune.unavailable_classes(model, test.label_names))
    from kit.vision.bench_sample import write_detector_sample  # the fixed sample kit bench measures

    write_detector_sample(model, test, out, image_size=image_size, split=split)
    return {"engines": engines, "onnx_max_abs_diff": diff, "int8_scores": int8_scores, "split": split}
