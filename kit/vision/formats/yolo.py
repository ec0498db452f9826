"""YOLO detection exports (Ultralytics, Roboflow): ``data.yaml``, images and one label file per image.

Layouts, as the tools write them::

    Ultralytics                       Roboflow "YOLOv5/v8/v11 PyTorch"
    data.yaml                         data.yaml        (train: ../train/images, val: ../valid/images, ...)
    images/train/a.jpg                train/images/a.jpg
    labels/train/a.txt                train/labels/a.txt
    images/val/...  labels/val/...    valid/...  test/...

``data.yaml`` holds ``names`` (a list, or a dict ``{id: name}``), optionally
``nc`` and ``path`` (the root the splits are relative to; default: the
file's folder), and ``train``, ``val``, ``test``: a folder of images, a
``.txt`` list of image files, or a list of either. As Ultralytics does, a
split path starting with ``../`` that does not exist is tried without it
(Roboflow's exports), and an image's label file is its path with the last
``/images/`` replaced by ``/labels/`` and the suffix by ``.txt``.

A label line is ``class cx cy w h``, normalized by the image's width and
height (0–1), or a segment ``class x1 y1 x2 y2 ...`` (segmentation or
oriented-box exports), taken as the box around its points. An image
without a label file, or with an empty one, is an image without objects.
Any other line stops the reading with ``file:line: what is wrong``.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

from kit.errors import InputDataError
from kit.i18n import _
from kit.vision.formats.common import IMAGE_SUFFIXES, ImageRecord, Parsed, probe_size

YAML_NAMES = ("data.yaml", "data.yml", "dataset.yaml", "dataset.yml")
#: Normalized coordinates may exceed 0–1 by this much (float rounding in exporters), then are clipped.
TOLERANCE = 1e-6


def find_yaml(folder: Path) -> Path | None:
    """The data set's YAML in ``folder``: ``data.yaml`` (or .yml, dataset.yaml), else the only YAML with ``names``."""
    for name in YAML_NAMES:
        if (folder / name).is_file():
            return folder / name
    with_names = [p for p in sorted(folder.glob("*.y*ml")) if _mentions_names(p)]
    return with_names[0] if len(with_names) == 1 else None


def _mentions_names(path: Path) -> bool:
    try:
        return any(line.startswith("names:") for line in path.read_text(encoding="utf-8", errors="replace").splitlines())
    except OSError:
        return False


def read(yaml_path: Path) -> Parsed:
    """Read a YOLO export into :class:`~kit.vision.formats.common.Parsed` (all splits, boxes in pixels)."""
    yaml_path = Path(yaml_path)
    cfg = _load_yaml(yaml_path)
    root = _root(yaml_path, cfg)
    ids, names = _names(yaml_path, cfg)
    parsed = Parsed(root, yaml_path, names=names)
    if not cfg.get("train"):
        raise InputDataError(_("{path}: no 'train' entry; add train: images/train (a folder, a .txt list, or a list)").format(
            path=yaml_path))
    for split in ("train", "val", "test"):
        for image in _split_images(yaml_path, root, split, cfg.get(split)):
            parsed.images.append(_record(image, split, ids, parsed))
    parsed.problems.raise_first(_("labels are 'class cx cy w h' normalized to 0–1, class ids as in {file} names").format(
        file=yaml_path.name))
    return parsed


def _load_yaml(yaml_path: Path) -> dict:
    import yaml

    try:
        cfg = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{yaml_path}:{mark.line + 1}" if mark is not None else str(yaml_path)
        raise InputDataError(_("{path}: not valid YAML ({error}); fix the file").format(
            path=where, error=getattr(exc, 'problem', exc))) from None
    if not isinstance(cfg, dict) or "names" not in cfg:
        raise InputDataError(_("{path}: no 'names'; a YOLO data.yaml lists the classes, e.g. names: [truck, person]").format(
            path=yaml_path))
    return cfg


def _root(yaml_path: Path, cfg: dict) -> Path:
    """The folder the splits are relative to: ``path`` if it exists (relative to the YAML's folder), else the YAML's folder."""
    given = cfg.get("path")
    if given:
        p = Path(given) if Path(given).is_absolute() else yaml_path.parent / given
        if p.is_dir():
            return p.resolve()
    return yaml_path.parent.resolve()


def _names(yaml_path: Path, cfg: dict) -> tuple[dict, list]:
    """(``{class id: name}``, names in id order); checks ``nc`` and that names are distinct."""
    raw = cfg["names"]
    if isinstance(raw, dict):
        try:
            ids = {int(k): str(v) for k, v in raw.items()}
        except (TypeError, ValueError):
            raise InputDataError(_("{path}: names keys must be class ids 0, 1, ...; got {keys}").format(
                path=yaml_path, keys=list(raw)[:5])) from None
    elif isinstance(raw, list):
        ids = {i: str(v) for i, v in enumerate(raw)}
    else:
        raise InputDataError(_("{path}: names must be a list or a dict {{id: name}}, got {type}").format(
            path=yaml_path, type=type(raw).__name__))
    if not ids:
        raise InputDataError(_("{path}: names is empty; list the classes").format(path=yaml_path))
    nc = cfg.get("nc")
    if nc is not None and int(nc) != len(ids):
        raise InputDataError(_("{path}: nc is {nc} but names has {n} entries; make them agree").format(
            path=yaml_path, nc=nc, n=len(ids)))
    names = [ids[k] for k in sorted(ids)]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputDataError(_("{path}: class names repeated ({names}); give each id its own name").format(
            path=yaml_path, names=", ".join(dup)))
    return ids, names


def _split_images(yaml_path: Path, root: Path, split: str, value) -> list[Path]:
    """Image files of one split, from folders (recursive) or ``.txt`` lists, as Ultralytics finds them."""
    if not value:
        return []
    out = []
    for entry in value if isinstance(value, list) else [value]:
        p = root / str(entry)
        if not p.exists() and str(entry).startswith("../"):
            p = root / str(entry)[3:]
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
        elif p.is_file():
            out += _listed_images(p)
        else:
            raise InputDataError(_("{path}: {split}: {entry} not found under {root}; fix the path in {name}").format(
                path=yaml_path, split=split, entry=entry, root=root, name=yaml_path.name))
    return out


def _listed_images(txt: Path) -> list[Path]:
    """Images named in a ``.txt`` list, one a line (``./images/train/a.jpg``), relative to the list's folder."""
    out = []
    for line in txt.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            out.append(Path(line) if Path(line).is_absolute() else txt.parent / line)
    return out


def label_path(image: Path) -> Path:
    """The label file of an image: the last ``/images/`` of its path replaced by ``/labels/``, suffix ``.txt``."""
    s, sa, sb = str(image), f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return Path(sb.join(s.rsplit(sa, 1))).with_suffix(".txt")


def _record(image: Path, split: str, ids: dict, parsed: Parsed) -> ImageRecord:
    try:
        name = str(image.resolve().relative_to(parsed.root))
    except ValueError:
        name = str(image.resolve())
    size = probe_size(image)
    record = ImageRecord(name, *(size or (None, None)), split)
    label = label_path(image)
    if size is None or not label.is_file():  # no label file: an image without objects
        return record
    for n, line in enumerate(label.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if line.strip():
            obj = _parse_line(line, ids, size)
            if isinstance(obj, str):
                parsed.problems.add(label, n, obj)
            else:
                record.objects.append(obj)
    return record


def _parse_line(line: str, ids: dict, size: tuple[int, int]):
    """One label line as ``(name, x0, y0, x1, y1, {})`` in pixels, or the problem as a string."""
    parts = line.split()
    try:
        values = [float(v) for v in parts]
    except ValueError:
        return f"not a number in {line.strip()!r}; a line is 'class cx cy w h' (or 'class x1 y1 x2 y2 ...')"
    if not all(math.isfinite(v) for v in values):
        return f"non-finite value in {line.strip()!r}"
    if len(values) != 5 and (len(values) < 7 or len(values) % 2 == 0):
        return f"{len(values)} values; expected 5 (class cx cy w h) or a polygon (class x1 y1 x2 y2 x3 y3 ...)"
    cls, coords = values[0], values[1:]
    lo, hi = min(ids), max(ids)
    if cls != int(cls) or int(cls) not in ids:
        return f"class id {parts[0]} not in data.yaml names ({lo}..{hi})"
    bad = [v for v in coords if not -TOLERANCE <= v <= 1 + TOLERANCE]
    if bad:
        return f"coordinate {bad[0]:g} outside 0–1 (YOLO labels are normalized by the image's width and height)"
    coords = [min(max(v, 0.0), 1.0) for v in coords]
    w, h = size
    if len(coords) == 4:
        cx, cy, bw, bh = coords
        x0, y0, x1, y1 = cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2
    else:
        xs, ys = coords[0::2], coords[1::2]
        x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
    return ids[int(cls)], x0 * w, y0 * h, x1 * w, y1 * h, {}
