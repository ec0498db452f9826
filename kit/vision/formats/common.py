"""What the YOLO, Pascal VOC and CVAT readers share: problems by file and line, splits, the COCO dict they return.

A reader walks its export and fills :class:`Parsed` with one
:class:`ImageRecord` per image (pixel XYXY boxes, the class name) and the
problems it met; :func:`to_coco` turns that into the COCO dict
:func:`kit.vision.data.load_coco` checks and serves, so the checks (missing
or unreadable images, boxes outside the image, too small) stay those of COCO.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from kit.errors import InputDataError
from kit.i18n import ngettext

IMAGE_SUFFIXES = (".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")

#: Share of images drawn into each split when the export names none, and of train drawn into a missing val or test.
DRAWN_FRACTIONS = {"train": 0.70, "val": 0.15, "test": 0.15}

#: Export subset names as CVAT, Roboflow and VOC write them -> the kit's split.
SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
               "test": "test", "testing": "test", "trainval": "trainval"}


@dataclass
class ImageRecord:
    """One image of an export: its file (relative to the data set root), size in px, split, objects.

    ``objects`` holds ``(class name, x0, y0, x1, y1, extra)`` with pixel
    coordinates (0 at the image's left/top edge) and ``extra`` a dict of
    annotation fields (``iscrowd``, ``occluded``, ...). ``split`` is
    ``"train"``, ``"val"``, ``"test"``, ``"trainval"`` (train or val, to be
    drawn) or None (to be drawn); ``split_drawn`` says it was drawn.
    """

    file_name: str
    width: int | None
    height: int | None
    split: str | None
    objects: list = field(default_factory=list)
    split_drawn: bool = False


@dataclass
class Parsed:
    """What a reader made of an export: images, class names in label order, problems, shapes set aside."""

    root: Path
    source: Path
    images: list = field(default_factory=list)
    names: list = field(default_factory=list)
    problems: "Problems" = None
    set_aside: list = field(default_factory=list)  # (reason, example, ImageRecord) for kit.vision.data.SkipReport

    def __post_init__(self):
        if self.problems is None:
            self.problems = Problems(self.root)


class Problems:
    """Problems of an export by file and line; :meth:`raise_first` stops with the first in one line.

    Examples
    --------
    >>> from pathlib import Path
    >>> p = Problems(Path("/data"))
    >>> p.add(Path("/data/labels/train/x.txt"), 3, "class id 7 not in data.yaml names (0..4)")
    >>> p.messages[0]
    'labels/train/x.txt:3: class id 7 not in data.yaml names (0..4)'
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.messages: list[str] = []
        self.files: set[str] = set()

    def where(self, path: Path) -> str:
        try:
            return str(Path(path).relative_to(self.root))
        except ValueError:
            return str(path)

    def add(self, path: Path, line: int | None, message: str) -> None:
        where = self.where(path)
        self.files.add(where)
        self.messages.append(f"{where}:{line}: {message}" if line else f"{where}: {message}")

    def raise_first(self, fix: str) -> None:
        """Raise :class:`InputDataError` naming the first problem, how many others, and ``fix``."""
        if not self.messages:
            return
        more = len(self.messages) - 1
        n = len(self.files)
        others = ngettext(" (and {more} more in {n} file)", " (and {more} more in {n} files)", n).format(
            more=more, n=n) if more else ""
        raise InputDataError(f"{self.messages[0]}{others}; {fix}")


def split_of(name) -> str | None:
    """The kit's split for an export's subset name (``Train``, ``valid``, ``Validation``), or None."""
    return SPLIT_NAMES.get(str(name).strip().lower()) if name is not None else None


def draw(name: str) -> float:
    """A number in [0, 1) fixed by the image's file name: splits drawn from it stay put when images are added."""
    return int(hashlib.sha1(name.encode("utf-8")).hexdigest()[:8], 16) / 2**32


def fill_splits(images: list) -> dict:
    """Give every image a split; returns ``{split: how it was made}`` for the summary.

    Images without one are drawn 70/15/15 into train/val/test from a hash of
    their file name, ``trainval`` images into train/val in the same
    proportion; if val or test is still empty, 15 % of train is drawn into it
    (the notebook needs all three; a test split never trains).
    """
    how = {s: "export" for s in ("train", "val", "test") if any(im.split == s for im in images)}
    f_tr, f_val = DRAWN_FRACTIONS["train"], DRAWN_FRACTIONS["val"]
    for im in images:
        if im.split is None:
            u = draw(im.file_name)
            im.split, im.split_drawn = "train" if u < f_tr else "val" if u < f_tr + f_val else "test", True
        elif im.split == "trainval":
            im.split, im.split_drawn = "train" if draw(im.file_name) < f_tr / (f_tr + f_val) else "val", True
    for s in ("train", "val", "test"):
        if s not in how and any(im.split == s for im in images):
            how[s] = "drawn from images without a split"
    for s in ("val", "test"):
        if not any(im.split == s for im in images):
            # Salted by the split's name, so the images drawn do not depend on the order above.
            moved = [im for im in images if im.split == "train" and draw(f"{s}:{im.file_name}") < DRAWN_FRACTIONS[s]]
            for im in moved:
                im.split, im.split_drawn = s, True
            if moved:
                how[s] = f"{len(moved)} images drawn from train (the export has no {s} split)"
    return how


def probe_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of an image file from its header, or None when it cannot be opened."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size
    except Exception:  # PIL raises many types; the COCO checks count the file as unreadable
        return None


def to_coco(parsed: Parsed, fmt: str, splits_made: dict) -> dict:
    """The COCO dict of a parsed export: images with ``split``, annotations (XYWH px), categories from 1."""
    cat_of = {n: i + 1 for i, n in enumerate(parsed.names)}
    images, annotations = [], []
    for i, im in enumerate(parsed.images, start=1):
        entry = {"id": i, "file_name": im.file_name, "split": im.split, "split_drawn": im.split_drawn}
        if im.width and im.height:
            entry.update(width=int(im.width), height=int(im.height))
        images.append(entry)
        for name, x0, y0, x1, y1, extra in im.objects:
            w, h = x1 - x0, y1 - y0
            annotations.append({"id": len(annotations) + 1, "image_id": i, "category_id": cat_of[name],
                                "bbox": [x0, y0, w, h], "area": w * h, "iscrowd": 0, **extra})
    info = {"format": fmt, "source": str(parsed.source), "splits": splits_made}
    return {"info": info, "images": images, "annotations": annotations,
            "categories": [{"id": k, "name": n} for n, k in cat_of.items()]}
