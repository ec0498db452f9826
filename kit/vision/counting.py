"""Score thresholds for counting: the detection score above which objects are counted, calibrated on validation images.

mAP is read at a low score threshold; counts need one threshold, chosen where
the counts on the validation split are right (:func:`calibrate_count_threshold`).
:func:`kit.vision.train.train_detector` calibrates it after training.
"""
from __future__ import annotations

import numpy as np

__all__ = ["calibrate_count_threshold"]


def calibrate_count_threshold(detections, index, image_ids=None, grid=None) -> tuple[float, dict]:
    """Score threshold that makes counts right on validation images.

    Parameters
    ----------
    detections : list of dict
        Low-threshold detections (``predict(..., score_threshold=0.01)``).
    index : kit.vision.data.CocoIndex
        The validation split.
    image_ids : list of int, optional
    grid : array, optional
        Thresholds tried (default 0.05 to 0.95 by 0.01).

    Returns
    -------
    (threshold, per_class) : float, dict
        The threshold minimizing the mean absolute count error summed over
        classes, and ``{label: threshold}`` per class (ties go to the
        middle of the best range, which is the most robust choice).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> idx = SimpleNamespace(categories=[{"id": 1}], images=[{"id": 1}], labels=[np.array([1, 1])])
    >>> det = [{"scores": np.array([0.9, 0.8, 0.3]), "labels": np.array([1, 1, 1])}]
    >>> thr, per = calibrate_count_threshold(det, idx)
    >>> 0.3 < thr <= 0.8, 0.3 < per[1] <= 0.8
    (True, True)
    """
    from kit.vision.evaluate import count_errors

    grid = np.round(np.arange(0.05, 0.951, 0.01), 2) if grid is None else np.asarray(grid, dtype=float)
    err = count_errors(detections, index, grid, image_ids)

    def pick(e):
        best = np.flatnonzero(e <= e.min() + 1e-12)
        return float(grid[best[len(best) // 2]])

    return pick(err.sum(axis=1)), {k + 1: pick(err[:, k]) for k in range(err.shape[1])}
