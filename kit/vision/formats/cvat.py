"""CVAT for images 1.1: one ``annotations.xml``, images under ``images/``.

Layout of CVAT's export (task or job; a project export puts each subset's
images under ``images/<subset>/`` and gives each ``<image>`` a ``subset``)::

    annotations.xml
    images/frame_000000.jpg            or  images/Train/frame_000000.jpg

``annotations.xml``::

    <annotations><version>1.1</version>
      <meta><task> ... <labels><label><name>truck</name>...</label></labels></task></meta>
      <image id="0" name="frame_000000.jpg" [subset="Train" task_id="3"] width="640" height="480">
        <box label="truck" source="manual" occluded="0" xtl="10.00" ytl="20.00" xbr="110.00" ybr="70.00" [rotation="15"] z_order="0"/>
        <polygon label="person" occluded="1" points="1.0,2.0;3.0,4.0;..." z_order="0"/>
      </image>
    </annotations>

Coordinates are pixels from the image's top-left corner. Boxes (a rotated
one as the upright box around it), polygons, ellipses and masks are
objects (their bounding box); polylines, points, cuboids, skeletons and
tags are not boxes and are set aside, counted. Class names are the
labels of ``<meta>`` (task, job or project), in that order; a shape with
another label stops the reading with ``annotations.xml:line``. Subsets
named train / validation / test (any case) are the splits; ``default``
or no subset means the split is drawn
(:func:`kit.vision.formats.common.fill_splits`). ``occluded`` is kept on
the annotation. The interpolation ("CVAT for video") layout, with
``<track>`` elements, is not read.
"""
from __future__ import annotations

import math
from pathlib import Path

from kit.errors import InputDataError
from kit.i18n import _
from kit.vision.formats import xmltree
from kit.vision.formats.common import ImageRecord, Parsed, split_of

OBJECT_SHAPES = ("box", "polygon", "ellipse", "mask")
OTHER_SHAPES = ("polyline", "points", "cuboid", "skeleton", "tag")


def is_cvat(path: Path) -> bool:
    """Whether an XML file starts like CVAT's (root ``<annotations>``), judged from its first 2 kB."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(2048).decode("utf-8", errors="replace")
    except OSError:
        return False
    return "<annotations" in head


def read(xml_path: Path) -> Parsed:
    """Read a CVAT for images 1.1 file into :class:`~kit.vision.formats.common.Parsed` (boxes in pixels)."""
    xml_path = Path(xml_path)
    root = xml_path.parent.resolve()
    parsed = Parsed(root, xml_path)
    doc = xmltree.parse(xml_path, xml_path.name)
    if doc.tag != "annotations":
        raise InputDataError(_("{file}:{line}: root element <{tag}>, expected <annotations> (CVAT for images 1.1)").format(
            file=xml_path.name, line=doc.line, tag=doc.tag))
    if doc.find("track") is not None and doc.find("image") is None:
        raise InputDataError(_("{file}:{line}: 'CVAT for video' export (tracks); export the task as 'CVAT for images "
                               "1.1'").format(file=xml_path.name, line=doc.find("track").line))
    parsed.names = _labels(doc, xml_path)
    for image in doc.findall("image"):
        parsed.images.append(_record(image, xml_path, parsed))
    parsed.problems.raise_first(_("use the labels listed in <meta> and numeric coordinates, or export the task again"))
    return parsed


def _labels(doc, xml_path: Path) -> list:
    """Label names of ``<meta>`` (``task``, ``job`` or ``project``), in order, each once."""
    meta = doc.find("meta")
    names = []
    for labels in (meta.iter("labels") if meta is not None else ()):
        for label in labels.findall("label"):
            name = label.findtext("name")
            if name and name not in names and label.findtext("type") != "skeleton-element":
                names.append(name)
    if not names:
        raise InputDataError(_("{file}: no <meta> labels; export 'CVAT for images 1.1' from CVAT, which lists the "
                               "task's labels").format(file=xml_path.name))
    return names


def _image_file(root: Path, name: str, subset: str | None) -> str:
    """The image's path relative to ``root``: ``images/<subset>/<name>``, ``images/<name>`` or ``<name>``."""
    candidates = ([f"images/{subset}/{name}"] if subset else []) + [f"images/{name}", name]
    return next((c for c in candidates if (root / c).is_file()), candidates[0])


def _record(image, xml_path: Path, parsed: Parsed) -> ImageRecord:
    a = image.attrib
    name, subset = a.get("name", ""), a.get("subset")
    if not name:
        parsed.problems.add(xml_path, image.line, _("<image> without a name"))
    w, h = (_num(a.get("width")), _num(a.get("height")))
    record = ImageRecord(_image_file(parsed.root, name, subset), int(w) if w else None, int(h) if h else None,
                         split_of(subset))
    for shape in image.children:
        if shape.tag in OTHER_SHAPES:
            parsed.set_aside.append(("not_a_box", f"{shape.tag} in {name}", record))
        elif shape.tag in OBJECT_SHAPES:
            obj = _shape(shape, xml_path, parsed)
            if obj is not None:
                record.objects.append(obj)
    return record


def _shape(shape, xml_path: Path, parsed: Parsed):
    """One shape as ``(label, x0, y0, x1, y1, extra)`` in pixels, or None after noting the problem."""
    a = shape.attrib
    label = a.get("label")
    if label not in parsed.names:
        parsed.problems.add(xml_path, shape.line, _("label {label!r} not in <meta> labels ({names})").format(
            label=label, names=", ".join(parsed.names)))
        return None
    try:
        box = _bounds(shape.tag, a)
    except (KeyError, ValueError):
        parsed.problems.add(xml_path, shape.line, _("<{tag}> with missing or non-numeric coordinates").format(tag=shape.tag))
        return None
    if not all(math.isfinite(v) for v in box) or box[2] < box[0] or box[3] < box[1]:
        parsed.problems.add(xml_path, shape.line, _("<{tag}> with xbr < xtl or ybr < ytl").format(tag=shape.tag))
        return None
    return (label, *box, {"occluded": int(a.get("occluded", "0") == "1")})


def _bounds(tag: str, a: dict) -> tuple[float, float, float, float]:
    """The upright bounding box of a box (rotated about its centre, degrees clockwise), polygon, ellipse or mask."""
    if tag == "box":
        x0, y0, x1, y1 = (float(a[k]) for k in ("xtl", "ytl", "xbr", "ybr"))
        t = math.radians(float(a.get("rotation", 0)))
        if t:
            cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
            ex, ey = abs(hw * math.cos(t)) + abs(hh * math.sin(t)), abs(hw * math.sin(t)) + abs(hh * math.cos(t))
            return cx - ex, cy - ey, cx + ex, cy + ey
        return x0, y0, x1, y1
    if tag == "ellipse":
        cx, cy, rx, ry = (float(a[k]) for k in ("cx", "cy", "rx", "ry"))
        t = math.radians(float(a.get("rotation", 0)))
        ex, ey = math.hypot(rx * math.cos(t), ry * math.sin(t)), math.hypot(rx * math.sin(t), ry * math.cos(t))
        return cx - ex, cy - ey, cx + ex, cy + ey
    if tag == "mask":
        left, top, w, h = (float(a[k]) for k in ("left", "top", "width", "height"))
        return left, top, left + w, top + h
    pts = [tuple(float(v) for v in p.split(",")) for p in a["points"].split(";") if p.strip()]
    if not pts or any(len(p) != 2 for p in pts):
        raise ValueError("points")
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def _num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None
