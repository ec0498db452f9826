"""The steps of reading one COCO detection file: find it, read it, check its categories, images and annotations.

:func:`kit.vision.data.load_coco` runs them in order. Each step sets bad
items aside with a reason in the :class:`kit.vision.data.SkipReport` it is
given (reasons in :data:`kit.vision.data.REASONS`) and raises
:class:`kit.errors.InputDataError` only for a problem with the whole file.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from kit.errors import InputDataError


def read_json(path: Path) -> dict:
    """The COCO dict of ``path``; one-line errors for a file that is unreadable, not JSON or not COCO."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise InputDataError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}); fix or regenerate the file") from None
    except OSError as exc:
        raise InputDataError(f"{path}: cannot be read ({exc.strerror}); check the path and permissions") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise InputDataError(f"{path}: not a COCO file (no 'images' list); expected keys images, annotations, categories")
    return data


def locate(path, split) -> tuple[Path, Path, bool]:
    """(root folder, JSON file, filter by per-image split?)."""
    path = Path(path)
    if path.is_file():
        return path.parent, path, split is not None
    if not path.is_dir():
        raise InputDataError(f"dataset {path} does not exist; give a folder with annotations.json (or train/val/test.json)")
    if split is not None and (path / f"{split}.json").is_file():
        return path, path / f"{split}.json", False
    if (path / "annotations.json").is_file():
        return path, path / "annotations.json", split is not None
    have = sorted(p.name for p in path.glob("*.json"))
    need = f"annotations.json or {split}.json" if split else "annotations.json (or pass split= for train/val/test.json)"
    raise InputDataError(f"dataset folder {path} has no {need}; found {have or 'no JSON files'}")


def _image_path(root: Path, file_name: str, split) -> Path | None:
    candidates = [root / file_name, root / "images" / file_name]
    if split:
        candidates.append(root / split / file_name)
    return next((p for p in candidates if p.is_file()), None)


def _probe(path: Path, full: bool):
    """(width, height) of an image file, or None if it cannot be read."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            size = im.size
            if full:
                im.load()
        return size
    except Exception:  # PIL raises many types (OSError, SyntaxError, ValueError, DecompressionBombError)
        return None


def categories(data: dict, json_path: Path) -> tuple[list, dict]:
    """(categories sorted by id, ``{category id: label}`` with labels from 1); none at all is an error."""
    cats = [c for c in data.get("categories") or [] if isinstance(c, dict) and isinstance(c.get("id"), int)]
    cats = sorted({c["id"]: c for c in cats}.values(), key=lambda c: c["id"])
    if not cats:
        raise InputDataError(f"{json_path}: no categories (list of {{'id', 'name'}}); add them so labels have names")
    return cats, {c["id"]: i + 1 for i, c in enumerate(cats)}


def usable_images(data: dict, root: Path, json_path: Path, split, by_field: bool, check_images: str,
                  report) -> tuple[dict, set]:
    """The split's images whose file is there and readable: ``({id: entry with path, width, height}, ids seen)``."""
    if by_field and not any(isinstance(im, dict) and "split" in im for im in data["images"]):
        raise InputDataError(
            f"{json_path}: images have no 'split' field; add \"split\": \"train\"|\"val\"|\"test\" per image "
            f"or provide {split}.json"
        )
    images, seen = {}, set()
    for entry in data["images"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), int) or not isinstance(entry.get("file_name"), str):
            report.add("bad_image_entry", str(entry)[:60])
            continue
        if by_field and entry.get("split") != split:
            continue
        if entry["id"] in seen:
            report.add("duplicate_image_id", f"id {entry['id']}")
            continue
        seen.add(entry["id"])
        image = _checked_image(entry, root, split, check_images, report)
        if image is not None:
            images[entry["id"]] = image
    return images, seen


def _checked_image(entry: dict, root: Path, split, check_images: str, report) -> dict | None:
    """One image entry with its file's path and size, or None when the file is missing or unreadable."""
    p = _image_path(root, entry["file_name"], split)
    if p is None:
        report.add("missing_image", entry["file_name"])
        return None
    size = None
    if check_images != "none" or not (isinstance(entry.get("width"), int) and isinstance(entry.get("height"), int)):
        size = _probe(p, full=check_images == "full")
        if size is None:
            report.add("unreadable_image", entry["file_name"])
            return None
        if (entry.get("width"), entry.get("height")) != size:
            report.add("image_size_mismatch", f"{entry['file_name']}: JSON {entry.get('width')}x{entry.get('height')}, file {size[0]}x{size[1]}")
    w, h = size or (entry["width"], entry["height"])
    return {**entry, "path": p, "width": w, "height": h}


def _well_formed(a) -> bool:
    bbox = a.get("bbox")
    return isinstance(a.get("image_id"), int) and isinstance(a.get("category_id"), int) and isinstance(bbox, (list, tuple)) \
        and len(bbox) == 4 and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in bbox) \
        and bbox[2] >= 0 and bbox[3] >= 0


def boxes_per_image(data: dict, images: dict, seen: set, label_of: dict, by_field: bool, min_box_px: float,
                    report) -> dict:
    """Per image id, ``(boxes, labels, annotation ids, visible fractions, crowd regions)`` as lists, boxes clipped."""
    per_image = {i: ([], [], [], [], []) for i in images}
    listed = {im.get("id") for im in data["images"] if isinstance(im, dict)}
    for a in data.get("annotations") or []:
        if not isinstance(a, dict):
            report.add("bad_annotation", str(a)[:60])
            continue
        if not _well_formed(a):
            report.add("bad_annotation", f"annotation {a.get('id')}")
            continue
        if a["image_id"] not in images:
            # Annotations of other splits are not an error; of unlisted or set-aside images they are.
            if a["image_id"] not in listed or not by_field or a["image_id"] in seen:
                report.add("unknown_image", f"annotation {a.get('id')} -> image {a['image_id']}")
            continue
        if a["category_id"] not in label_of:
            report.add("unknown_category", f"annotation {a.get('id')}: category {a['category_id']}")
            continue
        _add_box(a, images[a["image_id"]], label_of[a["category_id"]], per_image[a["image_id"]], min_box_px, report)
    return per_image


def _add_box(a: dict, im: dict, label: int, lists: tuple, min_box_px: float, report) -> None:
    """Clip one annotation's box to its image and append it (or its crowd region) to the image's lists."""
    x, y, bw, bh = (float(v) for v in a["bbox"])
    x0, y0, x1, y1 = max(x, 0.0), max(y, 0.0), min(x + bw, im["width"]), min(y + bh, im["height"])
    boxes, labels, ids, vis, crowd = lists
    if a.get("iscrowd", 0):
        report.add("crowd", f"annotation {a.get('id')}")
        if x1 > x0 and y1 > y0:  # kept aside as an ignore region for evaluation
            crowd.append((x0, y0, x1, y1, label))
        return
    if x1 <= x0 or y1 <= y0:
        report.add("box_outside_image", f"annotation {a.get('id')} in {im['file_name']}")
        return
    if (x0, y0, x1, y1) != (x, y, x + bw, y + bh):
        report.add("box_clipped", f"annotation {a.get('id')} in {im['file_name']}")
    if x1 - x0 < min_box_px or y1 - y0 < min_box_px:
        report.add("box_too_small", f"annotation {a.get('id')}")
        return
    boxes.append((x0, y0, x1, y1))
    labels.append(label)
    ids.append(a.get("id", -1))
    v = a.get("visible_fraction", 1.0)
    vis.append(float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else 1.0)


def as_arrays(images: dict, per_image: dict, empty_images: str, report) -> tuple[list, ...]:
    """The kept images and, per image, boxes, labels, annotation ids, visibility and crowd regions as arrays."""
    kept, out_boxes, out_labels, out_ids, out_vis, out_crowd = [], [], [], [], [], []
    for i, im in images.items():
        boxes, labels, ids, vis, crowd = per_image[i]
        if not boxes:
            report.add("image_without_boxes", im["file_name"])
            if empty_images == "skip":
                continue
        kept.append(im)
        out_boxes.append(np.asarray(boxes, dtype=np.float32).reshape(-1, 4))
        out_labels.append(np.asarray(labels, dtype=np.int64))
        out_ids.append(np.asarray(ids, dtype=np.int64))
        out_vis.append(np.asarray(vis, dtype=np.float32))
        out_crowd.append(np.asarray(crowd, dtype=np.float32).reshape(-1, 5))
    return kept, out_boxes, out_labels, out_ids, out_vis, out_crowd
