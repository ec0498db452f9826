"""Detections handed in as COCO results (a JSON list, or a CSV of boxes), and the boxes they are scored against.

A COCO results file is a JSON list of ``{image_id, category_id, bbox: [x, y,
w, h], score}`` (what :func:`kit.vision.evaluate.to_coco_results` writes);
the CSV form has columns :data:`DETECTION_CSV_COLUMNS`, the category by name
or id. :func:`read_coco_results` checks every entry against the ground
truth's images and categories; :func:`ground_truth_index` turns the ground
truth into the :class:`kit.vision.data.CocoIndex` that
:func:`kit.vision.evaluate.coco_evaluate` takes, without image files.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kit.errors import InputDataError
from kit.submissions import first_line, read_csv_submission, require_columns
from kit.vision.data import CocoIndex, SkipReport

#: Columns of the CSV form of COCO results (box in pixels: top-left corner, width, height).
DETECTION_CSV_COLUMNS = ("image_id", "category", "x", "y", "w", "h", "score")

__all__ = ["DETECTION_CSV_COLUMNS", "ground_truth_index", "read_coco_results"]


def ground_truth_index(coco: dict, root, split: str = "test") -> CocoIndex:
    """The boxes of a COCO annotations dict as a :class:`kit.vision.data.CocoIndex` (no image files needed)."""
    cats = sorted(coco["categories"], key=lambda c: c["id"])
    label_of = {c["id"]: i + 1 for i, c in enumerate(cats)}
    per = {im["id"]: ([], []) for im in coco["images"]}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        per[a["image_id"]][0].append((x, y, x + w, y + h))
        per[a["image_id"]][1].append(label_of[a["category_id"]])
    images = [dict(im, path=None) for im in coco["images"]]
    boxes = [np.asarray(per[im["id"]][0], dtype=np.float32).reshape(-1, 4) for im in images]
    labels = [np.asarray(per[im["id"]][1], dtype=np.int64) for im in images]
    return CocoIndex(root, split, images, boxes, labels, [np.zeros(len(b), np.int64) for b in boxes], cats,
                     SkipReport())


def _entries(path: Path, by_name: dict) -> tuple[list, list]:
    """``(entries, where)``: the raw detections of a JSON or CSV file and how to name each in a message."""
    name = path.name
    if path.suffix.lower() == ".json":
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputDataError(f"{name}: file not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputDataError(f"{name}: not valid JSON ({first_line(exc)})") from None
        if not isinstance(raw, list):
            raise InputDataError(f"{name}: a COCO results file is a JSON list of "
                                 "{image_id, category_id, bbox, score}; got a JSON " + type(raw).__name__)
        return raw, [f"entry {k}" for k in range(len(raw))]
    sub = read_csv_submission(path)
    require_columns(sub, name, DETECTION_CSV_COLUMNS)
    entries = []
    for r in sub.itertuples(index=False):
        cat = r.category
        cat = by_name.get(str(cat).strip(), cat)
        entries.append({"image_id": r.image_id, "category_id": cat, "bbox": [r.x, r.y, r.w, r.h], "score": r.score})
    return entries, [f"row {k + 2}" for k in range(len(sub))]


def _checked(e, loc: str, name: str, image_ids, cat_ids, by_name) -> dict:
    """One detection with an integer image and category, 4 finite box numbers and a finite score."""
    if not isinstance(e, dict) or not {"image_id", "category_id", "bbox", "score"} <= set(e):
        raise InputDataError(f"{name}: {loc}: needs image_id, category_id, bbox [x, y, w, h] and score")
    try:
        iid = int(e["image_id"])
        if iid != float(e["image_id"]):
            raise ValueError
    except (TypeError, ValueError):
        raise InputDataError(f"{name}: {loc}: image_id {e['image_id']!r} is not an integer") from None
    if iid not in image_ids:
        raise InputDataError(f"{name}: {loc}: image_id {iid} is not a test image (see test/images.json)")
    cat = e["category_id"]
    try:
        cat = int(cat)
    except (TypeError, ValueError):
        raise InputDataError(f"{name}: {loc}: category {cat!r} is not one of "
                             f"{', '.join(by_name)} (or their ids)") from None
    if cat not in cat_ids:
        raise InputDataError(f"{name}: {loc}: category id {cat} is not one of {sorted(cat_ids)}")
    box = e["bbox"]
    try:
        box = [float(v) for v in box]
        score = float(e["score"])
    except (TypeError, ValueError):
        raise InputDataError(f"{name}: {loc}: bbox and score must be numbers") from None
    if len(box) != 4 or not all(np.isfinite(box)) or not np.isfinite(score):
        raise InputDataError(f"{name}: {loc}: bbox must be 4 finite numbers [x, y, w, h] and score finite")
    if box[2] <= 0 or box[3] <= 0:
        raise InputDataError(f"{name}: {loc}: bbox width and height must be > 0 (COCO boxes are x, y, w, h)")
    return {"image_id": iid, "category_id": cat, "bbox": box, "score": score}


def read_coco_results(path, coco: dict) -> list:
    """COCO results from a JSON list or a CSV, every entry checked against the ground truth ``coco``.

    Parameters
    ----------
    path : str or Path
        ``.json`` (COCO results) or a CSV with :data:`DETECTION_CSV_COLUMNS`.
    coco : dict
        The ground truth's COCO annotations (its ``images`` and ``categories`` are used).

    Returns
    -------
    list of dict
        ``image_id`` and ``category_id`` (int), ``bbox`` (4 floats), ``score`` (float).

    Raises
    ------
    kit.errors.InputDataError
        The first problem, naming the JSON entry or CSV row.
    """
    path = Path(path)
    image_ids = {im["id"] for im in coco["images"]}
    cat_ids = {c["id"] for c in coco["categories"]}
    by_name = {c["name"]: c["id"] for c in coco["categories"]}
    entries, where = _entries(path, by_name)
    return [_checked(e, loc, path.name, image_ids, cat_ids, by_name) for loc, e in zip(where, entries)]
