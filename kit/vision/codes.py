"""The notebook's container-code step: the test crops read by the chosen reader, and codes found in whole door images.

``code_reader``:

- ``small``: the small CTC reader (:mod:`kit.vision.recognizer`), trained
  on the data set's crops; it reads crops only.
- ``ppocr``: PP-OCRv4 from ``rapidocr-onnxruntime`` (:mod:`kit.vision.ppocr`),
  pretrained, nothing trained or downloaded; it reads crops and also finds
  codes in whole door and gate images.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from kit.errors import ParameterError
from kit.i18n import _

__all__ = ["CODE_READERS", "door_codes", "read_test_codes"]

CODE_READERS = ("small", "ppocr")
COLUMNS = ["file_name", "code", "valid", "confidence", "raw", "raw_valid", "true_code"]


def read_test_codes(code_reader: str, crops: dict, *, backend=None, seed: int = 0, epochs: int = 10, output_dir=None):
    """Read the test crops with ``code_reader`` (training the small reader first on the train and val crops).

    Parameters
    ----------
    code_reader : {"small", "ppocr"}
    crops : dict
        ``{"train", "val", "test"}`` lists from :func:`kit.vision.recognizer.load_code_crops`.
    backend : kit.backend.Backend, optional
    seed : int
    epochs : int
        Training epochs of the small reader.
    output_dir : path, optional
        Where the trained small reader is deployed for ``kit bench``
        (:func:`kit.vision.recognizer.deploy.deploy_reader`: ``code_reader.onnx``,
        ``code_reader_int8.onnx``, its weights and benchmark sample); None: not deployed.

    Returns
    -------
    (codes, history) : pandas.DataFrame, list
        One row per test crop (``file_name, code, valid, confidence, raw,
        raw_valid, true_code``, ``attrs["read_s"]`` the seconds spent reading,
        training excluded, and when deployed ``attrs["onnx_max_abs_diff"]``, Torch
        against ONNX Runtime); the small reader's training history (``[]`` for ppocr).
    """
    if code_reader not in CODE_READERS:
        raise ParameterError(_("code_reader {code_reader!r} unknown; use one of {choices}").format(
            code_reader=code_reader, choices=CODE_READERS))
    images = [c["image"] for c in crops["test"]]
    history, deployed = [], {}
    if code_reader == "small":
        from kit.vision import recognizer

        reader = recognizer.code_reader(backend=backend)
        reader, history = recognizer.train_reader(reader, crops["train"], crops["val"], epochs=epochs, backend=backend,
                                                  seed=seed)
        t0 = time.perf_counter()
        readings = recognizer.read_codes(reader, images, backend=backend)
        read_s = time.perf_counter() - t0
        if output_dir is not None:
            from kit.vision.recognizer.deploy import deploy_reader

            deployed = deploy_reader(reader, crops["train"], crops["test"], output_dir)
    else:
        from kit.vision.ppocr import read_lines

        t0 = time.perf_counter()
        readings = read_lines(images)
        read_s = time.perf_counter() - t0
    codes = pd.DataFrame({"file_name": [c["file_name"] for c in crops["test"]], "code": [r.code for r in readings],
                          "valid": [r.valid for r in readings], "confidence": [round(r.confidence, 3) for r in readings],
                          "raw": [r.raw for r in readings], "raw_valid": [r.raw_valid for r in readings],
                          "true_code": [c["text"] for c in crops["test"]]}, columns=COLUMNS)
    codes.attrs["read_s"] = read_s
    if deployed:
        codes.attrs["onnx_max_abs_diff"] = deployed["onnx_max_abs_diff"]
    return codes, history


def door_images(n: int, seed: int, layouts=None):
    """``n`` synthetic door images, ``layouts`` in turn: list of (PIL image, truth dict).

    ``layouts`` None: the three upright ones (:data:`kit.vision.synthetic.doors.DOOR_LAYOUTS`),
    drawn from ``default_rng([seed, 6346])``; any other tuple draws from ``[seed, 6346, 1]``,
    so asking for rotated doors leaves the default images as they were.
    """
    from kit.vision.synthetic import random_code
    from kit.vision.synthetic.doors import DOOR_LAYOUTS, render_door

    rng = np.random.default_rng([seed, 6346] if layouts is None else [seed, 6346, 1])
    layouts = DOOR_LAYOUTS if layouts is None else tuple(layouts)
    return [render_door(random_code(rng), rng, layouts[i % len(layouts)]) for i in range(n)]


def door_codes(doors) -> pd.DataFrame:
    """Codes found by PP-OCRv4 in whole door images (no crops), against their truth.

    Parameters
    ----------
    doors : list of (image, truth)
        From :func:`door_images` (truth: ``code``, ``size_type``, ``layout``).

    Returns
    -------
    pandas.DataFrame
        ``layout, code, confidence, size_type, true_code, true_size_type, read_layout``.
    """
    from kit.vision.ppocr import find_codes

    rows = []
    for image, truth in doors:
        found = find_codes(image)
        rows.append({"layout": truth["layout"], "code": found.code, "confidence": round(found.confidence, 3),
                     "size_type": found.size_type, "true_code": truth["code"], "true_size_type": truth["size_type"],
                     "read_layout": found.layout})
    return pd.DataFrame(rows, columns=["layout", "code", "confidence", "size_type", "true_code", "true_size_type",
                                       "read_layout"])
