"""COCO detection folders as Torch datasets, with box-aware transforms.

A data set is a folder holding either ``annotations.json`` whose images
carry ``"split": "train" | "val" | "test"``, or one file per split
(``train.json``, ``val.json``, ``test.json``), and the images they name
(``file_name`` relative to the folder, or under ``images/`` or ``<split>/``).

Bad items never stop a batch: a missing or unreadable image, an annotation
with an unknown category or image, a malformed box, a box outside the image
are set aside (or clipped) and counted by reason in :class:`SkipReport`.
Only a problem with the whole file (missing, not JSON, no usable image)
raises :class:`kit.errors.InputDataError`.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit.errors import InputDataError, ParameterError

__all__ = [
    "REASONS",
    "CocoDetection",
    "CocoIndex",
    "SkipReport",
    "collate_detection",
    "eval_transforms",
    "load_coco",
    "train_transforms",
]

#: Why an item was set aside or changed; ``dropped`` says whether it was removed.
REASONS = {
    "bad_image_entry": ("image entry without an integer id or a file_name", True),
    "duplicate_image_id": ("a second image entry with an id already seen", True),
    "missing_image": ("image file not found", True),
    "unreadable_image": ("image file cannot be opened or decoded", True),
    "image_size_mismatch": ("width/height in the JSON differ from the file; the file's size is used", False),
    "bad_annotation": ("annotation without image_id, category_id or a bbox of 4 finite numbers, w and h >= 0", True),
    "unknown_image": ("annotation for an image id that is not listed (or was set aside)", True),
    "unknown_category": ("annotation with a category_id not in categories", True),
    "crowd": ("iscrowd=1 region, not a single object: not trained on, an 'ignore' region in evaluation", True),
    "box_outside_image": ("box with no area inside the image", True),
    "box_clipped": ("box partly outside the image, clipped to it", False),
    "box_too_small": ("box narrower or lower than min_box_px after clipping", True),
    "image_without_boxes": ("image with no usable box (kept as a negative unless empty_images='skip')", False),
}


@dataclass
class SkipReport:
    """Counts of items set aside or changed, by reason, with a few examples.

    Attributes
    ----------
    counts : collections.Counter
        ``reason -> number of items``; reasons are the keys of :data:`REASONS`.
    examples : dict
        ``reason -> up to 5 short descriptions`` (file, image id, annotation id).

    Examples
    --------
    >>> r = SkipReport()
    >>> r.add("missing_image", "images/7.jpg")
    >>> r.counts["missing_image"], r.dropped
    (1, 1)
    >>> print(r)
    missing_image: 1 (image file not found), e.g. images/7.jpg
    """

    counts: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)

    def add(self, reason: str, example: str = "", n: int = 1) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown skip reason {reason!r}")
        self.counts[reason] += n
        ex = self.examples.setdefault(reason, [])
        if example and len(ex) < 5:
            ex.append(example)

    @property
    def dropped(self) -> int:
        """Items removed (images and annotations together)."""
        return sum(n for r, n in self.counts.items() if REASONS[r][1])

    def to_dict(self) -> dict:
        return {r: {"count": n, "dropped": REASONS[r][1], "examples": self.examples.get(r, [])} for r, n in self.counts.items()}

    def __str__(self) -> str:
        if not self.counts:
            return "nothing set aside"
        lines = []
        for r, n in sorted(self.counts.items()):
            ex = self.examples.get(r)
            lines.append(f"{r}: {n} ({REASONS[r][0]})" + (f", e.g. {', '.join(ex[:2])}" if ex else ""))
        return "\n".join(lines)


@dataclass
class CocoIndex:
    """A checked COCO split: what :class:`CocoDetection` serves.

    Attributes
    ----------
    root : pathlib.Path
    split : str or None
    images : list of dict
        ``id``, ``path``, ``width``, ``height``, ``file_name``, plus the entry's other fields.
    boxes : list of numpy.ndarray
        Per image, ``(n, 4)`` float32 XYXY boxes in pixels, clipped to the image.
    labels : list of numpy.ndarray
        Per image, ``(n,)`` int64 labels 1..K (0 is kept for background).
    annotation_ids : list of numpy.ndarray
    categories : list of dict
        COCO categories sorted by id; label ``i + 1`` is ``categories[i]``.
    report : SkipReport
    visibility : list of numpy.ndarray
        Per image, ``(n,)`` float32 visible fraction of each box (the
        annotation's ``visible_fraction``; 1 where the file has none).
    crowd : list of numpy.ndarray
        Per image, ``(m, 5)`` float32 ``x0, y0, x1, y1, label`` of the
        ``iscrowd: 1`` regions, clipped to the image: not served for
        training, evaluated as "ignore" (see :func:`kit.vision.evaluate.coco_evaluate`).
    """

    root: Path
    split: str | None
    images: list
    boxes: list
    labels: list
    annotation_ids: list
    categories: list
    report: SkipReport
    visibility: list = field(default_factory=list)
    crowd: list = field(default_factory=list)

    @property
    def label_names(self) -> dict:
        """``{label: category name}``, labels from 1."""
        return {i + 1: c["name"] for i, c in enumerate(self.categories)}

    @property
    def category_ids(self) -> dict:
        """``{label: COCO category id}``, to write results in the COCO format."""
        return {i + 1: c["id"] for i, c in enumerate(self.categories)}


def _read_json(path: Path) -> dict:
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


def _locate(path, split) -> tuple[Path, Path, bool]:
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


def load_coco(path, split: str | None = None, *, check_images: str = "full", empty_images: str = "keep",
              min_box_px: float = 1.0) -> CocoIndex:
    """Read and check one split of a COCO detection data set.

    Parameters
    ----------
    path : path
        A folder (with ``annotations.json`` or ``<split>.json``) or a COCO JSON file.
    split : {"train", "val", "test"} or None
        None takes every image of ``annotations.json``.
    check_images : {"full", "header", "none"}
        ``full`` decodes every image once (catches truncated files; about a
        millisecond per 256-px JPEG), ``header`` only opens it, ``none``
        trusts the JSON. Images that fail later are still set aside when served.
    empty_images : {"keep", "skip"}
        Images without any usable box: kept as negatives, or dropped.
    min_box_px : float, px
        Boxes narrower or lower than this after clipping are dropped.

    Returns
    -------
    CocoIndex

    Raises
    ------
    InputDataError
        The folder or file is missing or not COCO JSON, or no image of the
        split is usable (the message gives the counts by reason).

    Examples
    --------
    >>> import tempfile
    >>> from kit.vision.synth import generate
    >>> folder = generate(tempfile.mkdtemp(), n_images=6, image_size=64, n_code_crops=0, sequence_frames=0)
    >>> index = load_coco(folder)
    >>> len(index.images), index.label_names[1]
    (6, 'container')
    """
    if split not in (None, "train", "val", "test"):
        raise ParameterError(f"split must be 'train', 'val', 'test' or None, got {split!r}")
    if check_images not in ("full", "header", "none"):
        raise ParameterError(f"check_images must be 'full', 'header' or 'none', got {check_images!r}")
    if empty_images not in ("keep", "skip"):
        raise ParameterError(f"empty_images must be 'keep' or 'skip', got {empty_images!r}")
    root, json_path, by_field = _locate(path, split)
    data = _read_json(json_path)
    report = SkipReport()

    cats = [c for c in data.get("categories") or [] if isinstance(c, dict) and isinstance(c.get("id"), int)]
    cats = sorted({c["id"]: c for c in cats}.values(), key=lambda c: c["id"])
    if not cats:
        raise InputDataError(f"{json_path}: no categories (list of {{'id', 'name'}}); add them so labels have names")
    label_of = {c["id"]: i + 1 for i, c in enumerate(cats)}

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
        p = _image_path(root, entry["file_name"], split)
        if p is None:
            report.add("missing_image", entry["file_name"])
            continue
        size = None
        if check_images != "none" or not (isinstance(entry.get("width"), int) and isinstance(entry.get("height"), int)):
            size = _probe(p, full=check_images == "full")
            if size is None:
                report.add("unreadable_image", entry["file_name"])
                continue
            if (entry.get("width"), entry.get("height")) != size:
                report.add("image_size_mismatch", f"{entry['file_name']}: JSON {entry.get('width')}x{entry.get('height')}, file {size[0]}x{size[1]}")
        w, h = size or (entry["width"], entry["height"])
        images[entry["id"]] = {**entry, "path": p, "width": w, "height": h}

    per_image = {i: ([], [], [], [], []) for i in images}
    listed = {im.get("id") for im in data["images"] if isinstance(im, dict)}
    for a in data.get("annotations") or []:
        if not isinstance(a, dict):
            report.add("bad_annotation", str(a)[:60])
            continue
        bbox = a.get("bbox")
        ok = isinstance(a.get("image_id"), int) and isinstance(a.get("category_id"), int) and isinstance(bbox, (list, tuple)) \
            and len(bbox) == 4 and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in bbox) \
            and bbox[2] >= 0 and bbox[3] >= 0
        if not ok:
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
        im = images[a["image_id"]]
        x, y, bw, bh = (float(v) for v in bbox)
        x0, y0, x1, y1 = max(x, 0.0), max(y, 0.0), min(x + bw, im["width"]), min(y + bh, im["height"])
        if a.get("iscrowd", 0):
            report.add("crowd", f"annotation {a.get('id')}")
            if x1 > x0 and y1 > y0:  # kept aside as an ignore region for evaluation
                per_image[a["image_id"]][4].append((x0, y0, x1, y1, label_of[a["category_id"]]))
            continue
        if x1 <= x0 or y1 <= y0:
            report.add("box_outside_image", f"annotation {a.get('id')} in {im['file_name']}")
            continue
        if (x0, y0, x1, y1) != (x, y, x + bw, y + bh):
            report.add("box_clipped", f"annotation {a.get('id')} in {im['file_name']}")
        if x1 - x0 < min_box_px or y1 - y0 < min_box_px:
            report.add("box_too_small", f"annotation {a.get('id')}")
            continue
        boxes, labels, ids, vis, _ = per_image[a["image_id"]]
        boxes.append((x0, y0, x1, y1))
        labels.append(label_of[a["category_id"]])
        ids.append(a.get("id", -1))
        v = a.get("visible_fraction", 1.0)
        vis.append(float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else 1.0)

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
    if not kept:
        which = f"split {split!r} of " if split else ""
        counts = "; ".join(f"{r} {n}" for r, n in report.counts.items()) or "no images listed"
        raise InputDataError(f"no usable image in {which}{json_path} ({counts}); check the file names, splits and categories")
    return CocoIndex(root, split, kept, out_boxes, out_labels, out_ids, cats, report, out_vis, out_crowd)


class CocoDetection:
    """A Torch map-style dataset over one split of a COCO folder.

    Each item is a dict::

        {"image": tv_tensors.Image float32 C×H×W in [0, 1],
         "boxes": tv_tensors.BoundingBoxes XYXY (pixels of the returned image),
         "labels": int64 tensor (1..K),
         "image_id": int, "orig_size": (height, width), "file_name": str}

    or ``None`` when the image cannot be read at that moment (it is counted
    in ``report`` under ``unreadable_image``; :func:`collate_detection`
    drops it). With ``num_workers > 0`` such late failures are counted in the
    worker processes, not in this object's report.

    Parameters
    ----------
    path : path
        COCO folder or JSON file, see :func:`load_coco`.
    split : {"train", "val", "test"} or None
    transforms : callable, optional
        Applied to the whole dict, e.g. :func:`train_transforms`; boxes follow the image.
    **load_kw
        ``check_images``, ``empty_images``, ``min_box_px`` for :func:`load_coco`.

    Examples
    --------
    >>> import tempfile
    >>> from kit.vision.synth import generate
    >>> folder = generate(tempfile.mkdtemp(), n_images=8, image_size=64, n_code_crops=0, sequence_frames=0)
    >>> ds = CocoDetection(folder, split=None, transforms=eval_transforms(32))
    >>> s = ds[0]
    >>> tuple(s["image"].shape), s["image"].dtype, s["boxes"].format.name
    ((3, 32, 32), torch.float32, 'XYXY')
    """

    def __init__(self, path, split: str | None = None, transforms=None, **load_kw):
        self.index = load_coco(path, split, **load_kw)
        self.transforms = transforms

    @property
    def report(self) -> SkipReport:
        return self.index.report

    @property
    def label_names(self) -> dict:
        return self.index.label_names

    @property
    def categories(self) -> list:
        return self.index.categories

    def __len__(self) -> int:
        return len(self.index.images)

    def __getitem__(self, i: int):
        import torch
        from PIL import Image
        from torchvision import tv_tensors
        from torchvision.transforms.v2 import functional as F

        im = self.index.images[i]
        try:
            with Image.open(im["path"]) as f:
                pil = f.convert("RGB")
        except Exception:
            self.report.add("unreadable_image", im["file_name"])
            return None
        h, w = pil.height, pil.width
        sample = {
            "image": tv_tensors.Image(F.pil_to_tensor(pil)),
            "boxes": tv_tensors.BoundingBoxes(torch.as_tensor(self.index.boxes[i]).clamp(min=0), format="XYXY", canvas_size=(h, w)),
            "labels": torch.as_tensor(self.index.labels[i]),
            "image_id": int(im["id"]),
            "orig_size": (h, w),
            "file_name": im["file_name"],
        }
        if self.transforms is not None:
            sample = self.transforms(sample)
        if not sample["image"].is_floating_point():
            sample["image"] = F.to_dtype(sample["image"], torch.float32, scale=True)
        return sample


def collate_detection(batch) -> list:
    """Collate for a DataLoader: the list of samples, with unreadable ones (``None``) dropped.

    Detection targets differ in length per image, so they are not stacked;
    ``torch.stack([s["image"] for s in batch])`` works once images share a size.
    """
    return [s for s in batch if s is not None]


def train_transforms(image_size: int = 256, hflip: float = 0.5, jitter: float = 0.3, scale_jitter: float = 0.2,
                     min_box_px: float = 2.0, crop_size: int | None = None):
    """Augmentations for detector training, applied to image and boxes together.

    Random horizontal flip, colour jitter (brightness, contrast, saturation;
    hue ±0.02), a random zoom and shift, resize to a square, conversion to
    float in [0, 1], and removal of boxes that became smaller than
    ``min_box_px`` or left the image.

    Parameters
    ----------
    image_size : int, px
        Output side; images are resized to a square (aspect not kept, which
        suits square camera crops and the synthetic scenes).
    hflip : float, 0–1
        Flip probability. Flipping mirrors painted text: fine for detection,
        not for training a code reader.
    jitter : float
        Colour-jitter strength.
    scale_jitter : float
        Zoom range ±, and shift up to a quarter of it; 0 turns it off.
    min_box_px : float, px
    crop_size : int, px, optional
        After resizing, cut a random ``crop_size`` square out of the
        ``image_size`` one: objects keep the size they have at test time
        while each step costs ``(crop_size / image_size)²`` of a full image
        (a fully convolutional detector is then run on whole images).

    Returns
    -------
    torchvision.transforms.v2.Compose
    """
    import torch
    from torchvision.transforms import v2

    steps = [v2.RandomHorizontalFlip(hflip)]
    if jitter:
        steps.append(v2.ColorJitter(brightness=jitter, contrast=jitter, saturation=jitter, hue=0.02))
    if scale_jitter:
        steps.append(v2.RandomAffine(degrees=0, translate=(scale_jitter / 4, scale_jitter / 4),
                                     scale=(1 - scale_jitter, 1 + scale_jitter)))
    steps.append(v2.Resize((image_size, image_size), antialias=True))
    if crop_size is not None and crop_size < image_size:
        steps.append(v2.RandomCrop(crop_size))
    steps += [
        v2.ToDtype(torch.float32, scale=True),
        v2.ClampBoundingBoxes(),
        v2.SanitizeBoundingBoxes(min_size=min_box_px),
    ]
    return v2.Compose(steps)


def eval_transforms(image_size: int = 256):
    """Resize to a square and convert to float in [0, 1]; boxes follow.

    Map detections back to the original image with the sample's
    ``orig_size``: ``x * width / image_size``, ``y * height / image_size``.
    """
    import torch
    from torchvision.transforms import v2

    return v2.Compose([v2.Resize((image_size, image_size), antialias=True), v2.ToDtype(torch.float32, scale=True)])
