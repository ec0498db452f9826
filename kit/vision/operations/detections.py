"""Detections as the operations read them: NumPy arrays, and which of them pass a score threshold."""
from __future__ import annotations

import numpy as np


def detection_arrays(det):
    """``(boxes (n, 4) XYXY px float64, scores (n,) float64, labels (n,) int64)`` of one image's detections.

    ``det`` holds ``boxes``, ``scores`` and ``labels`` as NumPy arrays or
    tensors on any device.
    """
    from kit.backend import to_numpy

    return (np.asarray(to_numpy(det["boxes"]), dtype=np.float64).reshape(-1, 4), np.asarray(to_numpy(det["scores"]), dtype=np.float64),
            np.asarray(to_numpy(det["labels"]), dtype=np.int64))


def above_threshold(scores, labels, threshold):
    """Mask of the detections scored at or above ``threshold`` (a float, or ``{label: threshold}``, 0.5 for others)."""
    if isinstance(threshold, dict):
        thr = np.array([threshold.get(int(lab), 0.5) for lab in labels])
    else:
        thr = float(threshold)
    return scores >= thr
