"""The triage classifier's fixed benchmark sample, written beside its checkpoint for ``kit bench``.

The last ``n_images`` validation images (the operating point's images; int8
calibration takes the first 256, so on small validation splits the two
overlap) at the network's input size, with their labels, and the names of
the checkpoint and ONNX files the notebook writes beside them. Reading them
back (the Torch model, the logits, AUROC) is ``kit.bench.models``'s job.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["pick", "write_triage_sample"]


def pick(X_val, y_val, to_input, n_images: int = 128) -> dict:
    """``{"inputs": (n, 1, S, S) float32, "labels": (n,) int64}``: the last ``n_images`` validation images.

    ``to_input`` turns display images into the network's input (``kit.medical.train.to_tensor`` at the model's size).
    """
    X, y = X_val[-n_images:], np.asarray(y_val)[-n_images:]
    return {"inputs": np.asarray(to_input(X), dtype=np.float32), "labels": y.astype(np.int64)}


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
