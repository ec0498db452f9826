"""Detection data set formats, recognised from the folder: COCO, YOLO, Pascal VOC, CVAT for images 1.1.

:func:`detect` says which format a folder (or file) holds; :func:`read`
reads a YOLO, VOC or CVAT export into the COCO dict that
:func:`kit.vision.data.load_coco` checks and serves, so every format goes
through the same checks and the same :class:`kit.vision.data.CocoDetection`.
Class names are the data set's own (the detector is trained on them, one
label per class, in the order the export gives); splits are the export's,
or drawn from a hash of the file name where it has none
(:func:`kit.vision.formats.common.fill_splits`). :func:`split_summary`
is the table of what was read per split.

One module per format: ``yolo``, ``voc``, ``cvat``; ``common`` holds what
they share, ``xmltree`` the line-numbered XML the error messages need.
"""
from __future__ import annotations

from pathlib import Path

from kit.errors import InputDataError
from kit.i18n import _
from kit.vision.formats import common, cvat, voc, yolo
from kit.vision.formats.summary import split_summary

__all__ = ["FORMATS", "detect", "read", "split_summary"]

FORMATS = ("coco", "yolo", "voc", "cvat")


def detect(path) -> tuple[str, Path]:
    """``(format, the file or folder its reader takes)`` for a data set folder or its main file.

    A folder is COCO with ``annotations.json`` or ``train.json``; YOLO with
    ``data.yaml`` (or one YAML listing ``names``); CVAT with
    ``annotations.xml``; VOC with ``Annotations/`` (also under
    ``VOCdevkit/VOC*``). A file is taken by its suffix (``.json``,
    ``.yaml``, CVAT ``.xml``).

    Raises
    ------
    InputDataError
        Nothing recognisable; the message lists what was looked for.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "data.yaml").write_text("names: [truck]\\ntrain: images/train\\n")
    >>> detect(d)[0]
    'yolo'
    """
    path = Path(path)
    if path.is_file():
        return _detect_file(path)
    if not path.is_dir():
        raise InputDataError(_("dataset {path} does not exist; give a COCO, YOLO, Pascal VOC or CVAT folder").format(path=path))
    if (path / "annotations.json").is_file() or (path / "train.json").is_file():
        return "coco", path
    found = yolo.find_yaml(path)
    if found is not None:
        return "yolo", found
    if (path / "annotations.xml").is_file() and cvat.is_cvat(path / "annotations.xml"):
        return "cvat", path / "annotations.xml"
    root = voc.find_root(path)
    if root is not None:
        return "voc", root
    have = sorted(p.name + "/" * p.is_dir() for p in path.iterdir())[:12]
    raise InputDataError(
        f"dataset folder {path} is no known format (found {have or 'nothing'}); expected COCO annotations.json "
        "or train/val/test.json, YOLO data.yaml, CVAT annotations.xml or VOC Annotations/ (see datasets/logistics/README.md)")


def _detect_file(path: Path) -> tuple[str, Path]:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "coco", path
    if suffix in (".yaml", ".yml"):
        return "yolo", path
    if suffix == ".xml" and cvat.is_cvat(path):
        return "cvat", path
    raise InputDataError(_("dataset file {path} is not COCO .json, YOLO .yaml or CVAT .xml; "
                           "for Pascal VOC give the folder holding Annotations/").format(path=path))


def read(fmt: str, path) -> tuple[Path, Path, dict, list]:
    """Read a YOLO, VOC or CVAT export (as found by :func:`detect`).

    Returns
    -------
    (root, source, coco, set_aside)
        The folder image file names are relative to, the file or folder read
        (for messages), the COCO dict (every image with its ``split``), and
        ``(reason, example, split)`` of shapes that are not boxes.

    Raises
    ------
    InputDataError
        ``file:line: problem`` for the first malformed label, box or class
        (and how many more there are).
    """
    readers = {"yolo": yolo.read, "voc": voc.read, "cvat": cvat.read}
    if fmt not in readers:
        raise ValueError(f"no reader for format {fmt!r}; one of {sorted(readers)}")
    parsed = readers[fmt](Path(path))
    if not parsed.images:
        raise InputDataError(_("{source}: no images listed; check the export's image folders and split lists").format(
            source=parsed.source))
    if not parsed.names:
        raise InputDataError(_("{source}: no classes (no object in any image); annotate objects first").format(
            source=parsed.source))
    made = common.fill_splits(parsed.images)
    set_aside = [(reason, example, record.split) for reason, example, record in parsed.set_aside]
    return parsed.root, parsed.source, common.to_coco(parsed, fmt, made), set_aside
