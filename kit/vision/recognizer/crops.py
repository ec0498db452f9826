"""Code crops: the labelled crops of a data set read from ``code_crops.json``, and crops as network input.

A crop is a uint8 ``(32, 160, 3)`` image of one painted code
(:data:`kit.vision.recognizer.model.CROP_SIZE`), with its 11-character text.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from kit.errors import InputDataError
from kit.vision.iso6346 import normalize
from kit.vision.recognizer.model import CROP_SIZE

__all__ = ["load_code_crops"]


def load_code_crops(path, split: str | None = None, report=None) -> list:
    """Code crops of a split, decoded, with their text.

    Parameters
    ----------
    path : path
        Folder with ``code_crops.json`` (``{"crops": [{"file_name", "text", "split", ...}]}``)
        or the JSON file itself.
    split : {"train", "val", "test"} or None
    report : kit.vision.data.SkipReport, optional
        Crops set aside are counted there (missing or unreadable image,
        text that is not a code).

    Returns
    -------
    list of dict
        ``{"id", "image": uint8 array (32, 160, 3), "text": 11-character code or "" if unknown, "file_name"}``.
    """
    from PIL import Image

    from kit.vision.data import SkipReport

    report = SkipReport() if report is None else report
    p = Path(path)
    jf = p / "code_crops.json" if p.is_dir() else p
    if not jf.is_file():
        raise InputDataError(f"{jf} not found; give a folder with code_crops.json (written by kit.vision.synthetic.generate)")
    try:
        data = json.loads(jf.read_text())
        crops = data["crops"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise InputDataError(f"{jf}: not a code-crops file; expected {{\"crops\": [{{\"file_name\", \"text\", \"split\"}}]}}") from None
    out = []
    for c in crops:
        if not isinstance(c, dict) or not isinstance(c.get("file_name"), str):
            report.add("bad_image_entry", str(c)[:60])
            continue
        if split is not None and c.get("split") != split:
            continue
        text = normalize(c["text"]) if isinstance(c.get("text"), str) else ""
        if text and len(text) != 11:
            report.add("bad_annotation", f"crop {c.get('id')}: text {c.get('text')!r}")
            continue
        f = jf.parent / c["file_name"]
        if not f.is_file():
            report.add("missing_image", c["file_name"])
            continue
        try:
            with Image.open(f) as im:
                arr = np.asarray(im.convert("RGB").resize(CROP_SIZE[::-1], Image.BILINEAR))
        except Exception:
            report.add("unreadable_image", c["file_name"])
            continue
        out.append({"id": c.get("id"), "image": arr, "text": text, "file_name": c["file_name"]})
    return out


def _to_batch(images):
    """uint8 crops ``(n, 32, 160, 3)`` as a float batch ``(n, 3, 32, 160)`` in [0, 1]."""
    x = np.stack([np.asarray(i, dtype=np.uint8) for i in images])
    return torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255
