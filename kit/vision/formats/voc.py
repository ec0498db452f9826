"""Pascal VOC detection folders: one XML per image in ``Annotations/``, images in ``JPEGImages/``, splits in ``ImageSets/Main``.

Layout (VOC2007/2012, CVAT's "PASCAL VOC 1.1" export, LabelImg)::

    VOC2012/                     (or a folder holding VOCdevkit/VOC2012/)
        Annotations/2008_000008.xml
        JPEGImages/2008_000008.jpg
        ImageSets/Main/train.txt  val.txt  [trainval.txt  test.txt]   one image id a line
        labelmap.txt             (CVAT: "name:r,g,b::" a line; optional, fixes the class order)

An XML holds ``<annotation><filename>``, ``<size><width><height>`` and per
object ``<name>``, ``<difficult>``, ``<truncated>`` and ``<bndbox>`` with
``xmin ymin xmax ymax``: 1-based pixel indices, both ends inside the box,
so the box is ``[xmin - 1, ymin - 1, xmax, ymax]`` in the kit's pixel
coordinates (as Detectron2 reads them). ``difficult`` objects are not
trained on and are ignored in evaluation (VOC's own protocol), as COCO's
``iscrowd`` regions are.

With split files, only the images they list are read (VOC2012's
``Annotations/`` also holds images of other tasks); ``trainval.txt`` alone
is split into train and val; without ``ImageSets/Main`` every XML is read
and the splits are drawn (:func:`kit.vision.formats.common.fill_splits`).
Class names are those of ``labelmap.txt``, else every name the XMLs use,
sorted (VOC's 20 classes are alphabetical).
"""
from __future__ import annotations

from pathlib import Path

from kit.i18n import _
from kit.vision.formats import xmltree
from kit.vision.formats.common import IMAGE_SUFFIXES, ImageRecord, Parsed

SPLIT_FILES = ("train", "val", "test", "trainval")


def find_root(folder: Path) -> Path | None:
    """The VOC folder (the one holding ``Annotations/``): ``folder`` itself, or one ``VOCdevkit/VOC*`` or child under it."""
    if (folder / "Annotations").is_dir():
        return folder
    found = sorted({p.parent for p in [*folder.glob("VOCdevkit/*/Annotations"), *folder.glob("*/Annotations")] if p.is_dir()})
    return found[0] if len(found) == 1 else None


def read(root: Path) -> Parsed:
    """Read a Pascal VOC folder into :class:`~kit.vision.formats.common.Parsed` (all splits, boxes in pixels)."""
    root = Path(root).resolve()
    parsed = Parsed(root, root / "Annotations")
    labelmap = _labelmap(root / "labelmap.txt")
    for stem, split in _listed(root, parsed):
        xml = root / "Annotations" / f"{stem}.xml"
        if not xml.is_file():
            parsed.problems.add(root / "ImageSets" / "Main" / f"{split}.txt", None,
                                _("lists {stem} but Annotations/{stem}.xml does not exist").format(stem=stem))
            continue
        parsed.images.append(_record(xml, split, parsed, labelmap))
    parsed.problems.raise_first(_("fix the XML (VOC: <object><name>, <bndbox> xmin ymin xmax ymax in pixels) or the split "
                                  "lists"))
    used = {o[0] for im in parsed.images for o in im.objects}
    parsed.names = labelmap if labelmap else sorted(used)
    return parsed


def _labelmap(path: Path) -> list:
    """Class names of CVAT's ``labelmap.txt`` in file order, without ``background``; [] when there is none."""
    if not path.is_file():
        return []
    names = [line.split(":", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    return [n for n in names if n and n != "background"]


def _listed(root: Path, parsed: Parsed) -> list[tuple[str, str | None]]:
    """``(image id, split)`` pairs from ``ImageSets/Main``, or every XML with split None when there are no split files."""
    main = root / "ImageSets" / "Main"
    lists = {s: _ids(main / f"{s}.txt") for s in SPLIT_FILES if (main / f"{s}.txt").is_file()}
    if not lists:
        return [(p.stem, None) for p in sorted((root / "Annotations").glob("*.xml"))]
    if "train" in lists or "val" in lists:
        lists.pop("trainval", None)  # the union of train and val
    return [(stem, s) for s, stems in lists.items() for stem in stems]


def _ids(path: Path) -> list[str]:
    # Class files (aeroplane_train.txt) hold "id  1|-1"; the split files hold the id alone.
    return [line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _image_file(root: Path, xml: Path, filename: str | None) -> str:
    """The image's path relative to ``root``: ``JPEGImages/<filename>``, else the XML's stem with an image suffix."""
    folder = root / "JPEGImages"
    if filename and (folder / filename).is_file():
        return f"JPEGImages/{filename}"
    for suffix in IMAGE_SUFFIXES:
        if (folder / f"{xml.stem}{suffix}").is_file():
            return f"JPEGImages/{xml.stem}{suffix}"
    return f"JPEGImages/{filename or xml.stem + '.jpg'}"  # missing: the COCO checks count it


def _record(xml: Path, split, parsed: Parsed, labelmap: list) -> ImageRecord:
    ann = xmltree.parse(xml, parsed.problems.where(xml))
    if ann.tag != "annotation":
        parsed.problems.add(xml, ann.line, _("root element <{tag}>, expected <annotation>").format(tag=ann.tag))
        return ImageRecord(_image_file(parsed.root, xml, None), None, None, split)
    size = ann.find("size")
    w, h = (_int(size.findtext("width")), _int(size.findtext("height"))) if size is not None else (None, None)
    record = ImageRecord(_image_file(parsed.root, xml, ann.findtext("filename")), w or None, h or None, split)
    for obj in ann.findall("object"):
        box = _object(obj, xml, parsed, labelmap)
        if box is not None:
            record.objects.append(box)
    return record


def _object(obj, xml: Path, parsed: Parsed, labelmap: list):
    """One ``<object>`` as ``(name, x0, y0, x1, y1, extra)`` in pixels, or None after noting the problem."""
    name = obj.findtext("name")
    if not name:
        parsed.problems.add(xml, obj.line, _("<object> without a <name>"))
        return None
    if labelmap and name not in labelmap:
        parsed.problems.add(xml, obj.find("name").line, _("class {name!r} not in labelmap.txt ({names})").format(
            name=name, names=", ".join(labelmap)))
        return None
    bnd = obj.find("bndbox")
    coords = [_float(bnd.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")] if bnd is not None else [None]
    if None in coords:
        parsed.problems.add(xml, (bnd or obj).line, _("<bndbox> needs numbers xmin, ymin, xmax, ymax"))
        return None
    xmin, ymin, xmax, ymax = coords
    if xmax < xmin or ymax < ymin:
        parsed.problems.add(xml, bnd.line, _("xmax < xmin or ymax < ymin ({xmin:g}, {ymin:g}, {xmax:g}, {ymax:g})").format(
            xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax))
        return None
    extra = {"iscrowd": int(_int(obj.findtext("difficult")) == 1), "truncated": _int(obj.findtext("truncated")) or 0}
    return name, xmin - 1.0, ymin - 1.0, xmax, ymax, extra


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _int(text):
    v = _float(text)
    return int(v) if v is not None else None
