"""COCO detection folders as Torch datasets, with box-aware transforms.

A data set is a folder holding either ``annotations.json`` whose images
carry ``"split": "train" | "val" | "test"``, or one file per split
(``train.json``, ``val.json``, ``test.json``), and the images they name
(``file_name`` relative to the folder, or under ``images/`` or ``<split>/``).
YOLO, Pascal VOC and CVAT for images exports are recognised from the folder
and read into the same COCO dict (:mod:`kit.vision.formats`).

Bad items never stop a batch: a missing or unreadable image, an annotation
with an unknown category or image, a malformed box, a box outside the image
are set aside (or clipped) and counted by reason in :class:`SkipReport`.
Only a problem with the whole file (missing, not JSON, no usable image)
raises :class:`kit.errors.InputDataError`. The checks, one step each, are
in :mod:`kit.vision.coco_checks`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from kit.errors import InputDataError, ParameterError
from kit.vision import coco_checks, formats

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
    "crowd": ("iscrowd=1 region (or VOC 'difficult' object): not trained on, an 'ignore' region in evaluation", True),
    "not_a_box": ("CVAT polyline, points, cuboid, skeleton or tag: not an object box", True),
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


def load_coco(path, split: str | None = None, *, check_images: str = "full", empty_images: str = "keep",
              min_box_px: float = 1.0) -> CocoIndex:
    """Read and check one split of a detection data set (COCO, or YOLO, Pascal VOC, CVAT read as COCO).

    Parameters
    ----------
    path : path
        A folder (with ``annotations.json`` or ``<split>.json``) or a COCO JSON file;
        or a YOLO, Pascal VOC or CVAT for images export, recognised by
        :func:`kit.vision.formats.detect` and read by :func:`kit.vision.formats.read`.
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
    >>> from kit.vision.synthetic import generate
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
    report = SkipReport()
    fmt, found = formats.detect(path) if Path(path).exists() else ("coco", path)
    if fmt == "coco":
        root, json_path, by_field = coco_checks.locate(found, split)
        data = coco_checks.read_json(json_path)
    else:  # YOLO, VOC, CVAT: read into the same COCO dict, every image with its split, then the same checks
        root, json_path, data, set_aside = formats.read(fmt, found)
        by_field = split is not None
        for reason, example, image_split in set_aside:
            if split in (None, image_split):
                report.add(reason, example)
    cats, label_of = coco_checks.categories(data, json_path)
    images, seen = coco_checks.usable_images(data, root, json_path, split, by_field, check_images, report)
    per_image = coco_checks.boxes_per_image(data, images, seen, label_of, by_field, min_box_px, report)
    kept, boxes, labels, ids, visibility, crowd = coco_checks.as_arrays(images, per_image, empty_images, report)
    if not kept:
        which = f"split {split!r} of " if split else ""
        counts = "; ".join(f"{r} {n}" for r, n in report.counts.items()) or "no images listed"
        raise InputDataError(f"no usable image in {which}{json_path} ({counts}); check the file names, splits and categories")
    return CocoIndex(root, split, kept, boxes, labels, ids, cats, report, visibility, crowd)


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
    >>> from kit.vision.synthetic import generate
    >>> folder = generate(tempfile.mkdtemp(), n_images=8, image_size=64, n_code_crops=0, sequence_frames=0)
    >>> ds = CocoDetection(folder, split=None, transforms=eval_transforms(32))
    >>> s = ds[0]
    >>> tuple(s["image"].shape), s["image"].dtype, s["boxes"].format.name
    ((3, 32, 32), torch.float32, 'XYXY')
    """

    def __init__(self, path, split: str | None = None, transforms=None, **load_kw):
        self.index = load_coco(path, split, **load_kw)
        self.transforms = transforms

    @classmethod
    def from_index(cls, index: CocoIndex, transforms=None) -> "CocoDetection":
        """Serve an already checked split (e.g. ``other.index``) with other transforms, without reading the JSON again.

        Examples
        --------
        >>> import tempfile
        >>> from kit.vision.synthetic import generate
        >>> folder = generate(tempfile.mkdtemp(), n_images=4, image_size=64, n_code_crops=0, sequence_frames=0)
        >>> ds = CocoDetection(folder)
        >>> resized = CocoDetection.from_index(ds.index, eval_transforms(32))
        >>> resized.index is ds.index, tuple(resized[0]["image"].shape)
        (True, (3, 32, 32))
        """
        self = cls.__new__(cls)
        self.index, self.transforms = index, transforms
        return self

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
