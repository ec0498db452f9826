"""The triage classifier's fixed benchmark sample, written beside its checkpoint for ``kit bench``.

The last ``n_images`` validation images (the operating point's images; int8
calibration takes the first 256, so on small validation splits the two
overlap) at the network's input size, with their labels, and the names of
the checkpoint and ONNX files the notebook writes beside them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["auroc", "pick", "rebuild_torch", "scores", "write_triage_sample"]


def pick(X_val, y_val, image_size: int, n_images: int = 128) -> dict:
    """``{"inputs": (n, 1, S, S) float32, "labels": (n,) int64}``: the last ``n_images`` validation images."""
    from kit.medical.train import to_tensor

    X, y = X_val[-n_images:], np.asarray(y_val)[-n_images:]
    return {"inputs": to_tensor(X, image_size).numpy(), "labels": y.astype(np.int64)}


def write_triage_sample(clf, checkpoint) -> Path | None:
    """Write ``bench_samples.npz``/``.json`` beside ``checkpoint`` when ``clf`` holds a sample (else None)."""
    from kit.bench_samples import write_bench_samples

    sample = getattr(clf, "bench_sample_", None)
    if sample is None:
        return None
    meta = {"task": "classification", "metric": "auroc", "model_name": "triage", "image_size": int(clf.image_size),
            "arch": clf.arch, "logit_threshold": float(clf.logit_threshold_), "class_names": ["routine", "urgent"],
            "onnx": {"fp32": "model_fp32.onnx", "int8": "model_int8.onnx"}, "output_names": ["logit"],
            "torch": {"factory": "TriageClassifier.load", "checkpoint": Path(checkpoint).name}, "multistream": False}
    return write_bench_samples(Path(checkpoint).parent, sample, meta)


def rebuild_torch(folder, meta: dict):
    """The triage network of a run folder's checkpoint, eval mode on the CPU, or None."""
    cfg = meta.get("torch") or {}
    path = Path(folder) / cfg.get("checkpoint", "model.pt")
    if not path.is_file():
        return None
    from kit.medical.train import TriageClassifier

    return TriageClassifier.load(path, backend="cpu").model_.eval()


def scores(outputs) -> np.ndarray:
    """Per image the float32 logit, from ONNX Runtime's list of arrays or the Torch model's tensor."""
    out = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
    out = out.detach().cpu().numpy() if hasattr(out, "detach") else np.asarray(out)
    return out.astype(np.float32).reshape(len(out), -1)[:, :1]


def auroc(outputs: list, arrays: dict, meta: dict) -> float:
    """AUROC of the per-image logits ``outputs`` against the sample's labels."""
    from kit.medical.evaluate import auroc as _auroc

    return float(_auroc(arrays["labels"], np.concatenate([np.asarray(o).reshape(-1) for o in outputs])))
