"""The PP-OCRv4 networks that ship inside ``rapidocr-onnxruntime``, run through ONNX Runtime directly.

The wheel carries the text detector (``ch_PP-OCRv4_det_infer.onnx``, a DB
network: a per-pixel text probability map) and the recogniser
(``ch_PP-OCRv4_rec_infer.onnx``, a CTC network over the 6623 characters
stored in its metadata); nothing is downloaded. The package is located, not
imported: its import pulls in OpenCV, which this module does not need.

Shared by radiology (burned-in text, :mod:`kit.medical.burned_in`) and
logistics vision (container codes, :mod:`kit.vision.ppocr`).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from kit.errors import InputDataError

__all__ = ["MODEL_FILES", "characters", "model_path", "session", "text_regions"]

#: The ONNX files of each network inside the package's ``models`` folder.
MODEL_FILES = {"det": "ch_PP-OCRv4_det_infer.onnx", "rec": "ch_PP-OCRv4_rec_infer.onnx"}


def model_path(name: str) -> Path:
    """Path of the packaged ``det`` or ``rec`` ONNX file; a one-line error when the package is missing."""
    import importlib.util

    if name not in MODEL_FILES:
        raise InputDataError(f"PP-OCRv4 network {name!r} unknown; use one of {sorted(MODEL_FILES)}")
    spec = importlib.util.find_spec("rapidocr_onnxruntime")  # located, not imported (its import pulls cv2)
    if spec is None or not spec.submodule_search_locations:
        raise InputDataError("PP-OCRv4 text models need rapidocr-onnxruntime; pip install --no-deps rapidocr-onnxruntime (its OpenCV: opencv-python-headless)")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / MODEL_FILES[name]
    if not path.is_file():
        raise InputDataError(f"{path} is missing from rapidocr-onnxruntime; reinstall it (pip install --force-reinstall "
                             "--no-deps rapidocr-onnxruntime)")
    return path


@lru_cache(maxsize=4)
def session(name: str, threads: int = 1):
    """A cached one-thread (by default) ONNX Runtime session of the ``det`` or ``rec`` network, on the CPU."""
    from kit.onnx import ort_session

    return ort_session(model_path(name), threads=threads)


@lru_cache(maxsize=1)
def characters() -> tuple[str, ...]:
    """The recogniser's output classes in column order: CTC blank (``''``), its dictionary, then a space."""
    meta = session("rec").get_modelmeta().custom_metadata_map
    if "character" not in meta:
        raise InputDataError(f"{model_path('rec')} has no 'character' list in its metadata; reinstall rapidocr-onnxruntime")
    return ("",) + tuple(meta["character"].splitlines()) + (" ",)


def text_regions(prob, prob_threshold: float = 0.3, box_threshold: float = 0.5, min_box_px: int = 3,
                 unclip_ratio: float = 1.6) -> list[tuple[float, float, float, float, float]]:
    """Axis-aligned text boxes from the detector's probability map, on the map's grid.

    Connected regions of ``prob > prob_threshold`` whose mean probability
    reaches ``box_threshold`` are kept; DB predicts a shrunk text kernel, so
    each is grown by area × ``unclip_ratio`` / perimeter, as RapidOCR does.

    Parameters
    ----------
    prob : array (rows, cols), 0–1
        The detector's output map.
    prob_threshold, box_threshold : float
        RapidOCR's ``thresh`` and ``box_thresh``.
    min_box_px : int, map pixels
        Regions narrower than this are noise.
    unclip_ratio : float

    Returns
    -------
    list of (row0, col0, row1, col1, score)
        Grown boxes (not clipped to the map), end-exclusive, with their mean probability.
    """
    from scipy import ndimage

    prob = np.asarray(prob, dtype=np.float32)
    labels, _ = ndimage.label(prob > prob_threshold)
    boxes = []
    for index, where in enumerate(ndimage.find_objects(labels), start=1):
        region = labels[where] == index
        score = float(prob[where][region].mean())
        if min(region.shape) < min_box_px or score < box_threshold:
            continue
        grow = float(region.sum()) * unclip_ratio / (2.0 * sum(region.shape))
        boxes.append((where[0].start - grow, where[1].start - grow, where[0].stop + grow, where[1].stop + grow, score))
    return boxes
