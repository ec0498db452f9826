"""The detector's fixed benchmark sample, written into the run folder for ``kit bench``.

A few test images as the network sees them, their ground-truth boxes in the
network's input pixels, the decoding settings that give the mAP@0.5, and
(for CenterNet, exported whole) the weights that rebuild the Torch model.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["decode_detections", "map50", "rebuild_torch", "write_detector_sample"]

TORCH_WEIGHTS = "detector_weights.pt"


def _centernet_config(model) -> dict | None:
    from kit.vision.models.anchor_free import CenterNet

    if not isinstance(model, CenterNet):
        return None
    return {"factory": "centernet", "num_classes": int(model.num_classes), "width": int(model.lat4.in_channels // 2),
            "head_channels": int(model.lat16.out_channels), "head": model.head_kind, "weights": TORCH_WEIGHTS}


def write_detector_sample(model, test, output_dir, *, image_size: int, split: bool, n_images: int = 32,
                          score_threshold: float = 0.01, top_k: int = 100) -> Path:
    """Write ``bench_samples.npz``/``.json`` (and the CenterNet weights) into ``output_dir``.

    Parameters
    ----------
    model : CenterNet or TorchvisionDetector
        On the CPU, eval mode.
    test : kit.vision.data.CocoDetection
        The test split served with ``eval_transforms(image_size)``; its first
        ``n_images`` images are the sample.
    output_dir : path
    image_size : int, px
    split : bool
        True when ``model.onnx`` holds only a torchvision backbone (its
        outputs are feature maps: the benchmark times them, no mAP).
    n_images : int
    score_threshold : float, 0–1
        The mAP threshold of :func:`kit.vision.evaluate.predict`.
    top_k : int

    Returns
    -------
    pathlib.Path
        ``bench_samples.json``.
    """
    import torch

    from kit.bench_samples import write_bench_samples

    items = [s for s in (test[i] for i in range(min(n_images, len(test)))) if s is not None]
    inputs = torch.stack([s["image"].as_subclass(torch.Tensor) for s in items]).numpy()
    boxes = [s["boxes"].as_subclass(torch.Tensor).numpy().reshape(-1, 4) for s in items]
    labels = [s["labels"].numpy().reshape(-1) for s in items]
    arrays = {"inputs": inputs, "labels": np.concatenate(labels).astype(np.int64),
              "boxes": np.concatenate(boxes).astype(np.float32),
              "box_image": np.concatenate([np.full(len(b), i, np.int64) for i, b in enumerate(boxes)])}
    torch_cfg = None if split else _centernet_config(model)
    if torch_cfg is not None:
        from kit.io import atomic_path

        with atomic_path(Path(output_dir) / TORCH_WEIGHTS) as tmp:
            torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
    meta = {"task": "detection", "metric": "map50", "model_name": "detector", "image_size": int(image_size),
            "class_names": [c["name"] for c in test.index.categories], "score_threshold": float(score_threshold),
            "top_k": int(top_k), "onnx": {"fp32": "model.onnx", "int8": "model_int8.onnx"},
            "output_names": ["heatmap", "size", "offset"], "backbone_only": bool(split), "torch": torch_cfg,
            "multistream": True}
    return write_bench_samples(output_dir, arrays, meta)


def rebuild_torch(folder, meta: dict):
    """The Torch detector a run folder describes (``meta["torch"]``), eval mode on the CPU, or None."""
    cfg = meta.get("torch")
    if not cfg or cfg.get("factory") != "centernet":
        return None
    from kit.vision.models.anchor_free import centernet

    return centernet(cfg["num_classes"], cfg["width"], cfg["head_channels"], weights=Path(folder) / cfg["weights"],
                     head=cfg["head"]).eval()


def decode_detections(outputs, meta: dict) -> list:
    """Per image a float32 ``(n, 6)`` array ``x0, y0, x1, y1, score, label`` from the network outputs.

    ``outputs`` is the list of arrays in ``meta["output_names"]`` order
    (ONNX Runtime's) or the Torch model's dict.
    """
    import torch

    from kit.vision.models import decode

    if not isinstance(outputs, dict):
        outputs = dict(zip(meta["output_names"], outputs))
    out = {k: torch.as_tensor(np.asarray(v) if not hasattr(v, "detach") else v.detach()).float() for k, v in outputs.items()}
    dets = decode(out, score_threshold=meta["score_threshold"], top_k=meta["top_k"])
    return [np.concatenate([d["boxes"].numpy(), d["scores"].numpy()[:, None], d["labels"].numpy()[:, None]], axis=1)
            .astype(np.float32) for d in dets]


def map50(detections: list, arrays: dict, meta: dict) -> float:
    """mAP@0.5 (COCO protocol, pycocotools) of ``detections`` (from :func:`decode_detections`) on the sample."""
    from kit.vision.data import CocoIndex, SkipReport
    from kit.vision.evaluate import coco_evaluate

    n, size = len(arrays["inputs"]), meta["image_size"]
    cats = [{"id": i + 1, "name": name} for i, name in enumerate(meta["class_names"])]
    per = [arrays["box_image"] == i for i in range(n)]
    index = CocoIndex(Path("."), "test", [{"id": i, "width": size, "height": size} for i in range(n)],
                      [arrays["boxes"][m] for m in per], [arrays["labels"][m] for m in per],
                      [np.flatnonzero(m) for m in per], cats, SkipReport())
    results = [{"image_id": i, "category_id": int(d[5]), "bbox": [float(d[0]), float(d[1]), float(d[2] - d[0]),
                                                                   float(d[3] - d[1])], "score": float(d[4])}
               for i, dets in enumerate(detections) for d in np.asarray(dets).reshape(-1, 6)]
    return float(coco_evaluate(results, index).map50)
