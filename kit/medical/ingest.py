"""Ingest a DICOM folder tree: good images in a table, bad files in a quarantine list.

Every file under the folder is tried; one that cannot be used is set aside
with a one-line reason and the batch goes on. Good files give one row of key
tags each and, when ``image_size`` is given, a float32 display image in
[0, 1] (white = dense) ready for a classifier.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kit.errors import InputDataError, ParameterError
from kit.i18n import _
from kit.io import atomic_path
from kit.medical.pixels import display_image
from kit.medical.reader import DEFAULT_MAX_DECODED_BYTES, QuarantineError, read_image_file

TABLE_COLUMNS = [
    "file",
    "study_uid",
    "series_uid",
    "sop_instance_uid",
    "sop_class",
    "patient_id",
    "modality",
    "site",
    "scanner",
    "sex",
    "age_years",
    "view_position",
    "photometric",
    "bits_stored",
    "rows",
    "columns",
    "n_frames",
    "transfer_syntax",
    "voi",
    "burned_in_annotation",
]
QUARANTINE_COLUMNS = ["file", "reason"]
CHEST_MODALITIES = ("CR", "DX", "DR")  # DR is no DICOM defined term, but some vendors write it for DX
CHEST_BODY_PARTS = ("CHEST", "THORAX")  # CHEST is the defined term; THORAX is common in European exports
# Rows / columns of a chest film: 14 x 17 in portrait or landscape is 0.82-1.21; wider margins for crops.
CHEST_ASPECT_RANGE = (0.6, 1.67)


@dataclass
class IngestResult:
    """What :func:`ingest_folder` found.

    Attributes
    ----------
    table : DataFrame
        One row per good image, columns :data:`TABLE_COLUMNS`; ``file`` is
        relative to the ingested folder.
    quarantine : DataFrame
        ``file, reason`` for every file set aside.
    images : ndarray or None
        ``(n, image_size, image_size)`` float32 in [0, 1], row-aligned with
        ``table``, when ``image_size`` was given.
    root : Path
    """

    table: pd.DataFrame
    quarantine: pd.DataFrame
    images: np.ndarray | None = None
    root: Path = field(default_factory=Path)

    def write_quarantine(self, path) -> Path:
        """Write ``quarantine.csv`` (``file, reason``) atomically."""
        return write_quarantine_csv(self.quarantine, path)


def write_quarantine_csv(quarantine: pd.DataFrame, path) -> Path:
    """Write a ``file, reason`` table atomically and return its path."""
    with atomic_path(path) as tmp:
        quarantine.reindex(columns=QUARANTINE_COLUMNS).to_csv(tmp, index=False)
    return Path(path)


def _age_years(value) -> float:
    # Patient's Age is "nnnD/W/M/Y" (PS3.5 AS).
    text = str(value or "").strip().upper()
    if len(text) != 4 or not text[:3].isdigit():
        return float("nan")
    per_year = {"D": 365.25, "W": 52.18, "M": 12.0, "Y": 1.0}.get(text[3])
    return float(int(text[:3]) / per_year) if per_year else float("nan")


def header_row(ds, rel: str, n_frames: int = 1, voi: str = "") -> dict:
    """The key tags of one data set as a table row (missing tags are empty strings)."""

    def text(keyword):
        value = ds.get(keyword, "")
        return "" if value is None else str(value).strip()

    manufacturer, model = text("Manufacturer"), text("ManufacturerModelName")
    ts = ds.file_meta.get("TransferSyntaxUID", "") if hasattr(ds, "file_meta") else ""
    sop = ds.get("SOPClassUID", "")
    return {
        "file": rel,
        "study_uid": text("StudyInstanceUID"),
        "series_uid": text("SeriesInstanceUID"),
        "sop_instance_uid": text("SOPInstanceUID"),
        "sop_class": getattr(sop, "name", str(sop)),
        "patient_id": text("PatientID"),
        "modality": text("Modality"),
        "site": text("InstitutionName"),
        "scanner": " ".join(p for p in (manufacturer, model) if p),
        "sex": text("PatientSex"),
        "age_years": _age_years(ds.get("PatientAge")),
        "view_position": text("ViewPosition"),
        "photometric": text("PhotometricInterpretation"),
        "bits_stored": int(ds.get("BitsStored", 0) or 0),
        "rows": int(ds.get("Rows", 0) or 0),
        "columns": int(ds.get("Columns", 0) or 0),
        "n_frames": n_frames,
        "transfer_syntax": getattr(ts, "name", str(ts)),
        "voi": voi,
        "burned_in_annotation": text("BurnedInAnnotation").upper(),
    }


def not_chest_radiograph(ds, pixels: np.ndarray) -> str:
    """Why an image is not a chest radiograph for triage (``""`` when it may be one).

    Modality other than CR or DX, Body Part Examined present and not CHEST, a
    colour image, or an aspect ratio far from a chest film's. A missing tag
    counts as no evidence either way.
    """
    modality = str(ds.get("Modality", "") or "").strip().upper()
    if modality and modality not in CHEST_MODALITIES:
        return f"not_chest_radiograph: Modality {modality}, not a radiograph (CR or DX)"
    body_part = str(ds.get("BodyPartExamined", "") or "").strip().upper()
    if body_part and body_part not in CHEST_BODY_PARTS:
        return f"not_chest_radiograph: BodyPartExamined {body_part}, not CHEST"
    if pixels.ndim == 3 and pixels.shape[-1] == 3:
        return "not_chest_radiograph: a colour image (radiographs are grayscale)"
    rows, cols = pixels.shape[:2]
    lo, hi = CHEST_ASPECT_RANGE
    if not lo <= rows / max(cols, 1) <= hi:
        return f"not_chest_radiograph: {rows} x {cols} pixels, an aspect ratio no chest film has"
    return ""


def iter_files(root) -> list[Path]:
    """Every regular file under ``root`` in a stable (sorted) order, hidden files included."""
    root = Path(root)
    if not root.exists():
        raise InputDataError(f"DICOM folder {root} does not exist; give the folder exported from the PACS")
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file())


def ingest_folder(
    root,
    image_size: int | None = 128,
    *,
    keep_aspect: bool = True,
    max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES,
    skip=("labels.csv", "broken_files.csv", "quarantine.csv", "deid_audit.csv"),
    progress: bool = False,
    chest_only: bool = True,
) -> IngestResult:
    """Validate, decode and tabulate every DICOM image under ``root``.

    Parameters
    ----------
    root : str or Path
        Folder tree (or a single file) as exported from a PACS.
    image_size : int or None, pixels
        Side of the square display images returned in ``images``; ``None``
        skips image conversion (header table and quarantine only).
    keep_aspect : bool
        Pad to a square before resizing instead of stretching.
    max_decoded_bytes : int, bytes
        Headers claiming more decoded pixels than this are refused before
        any allocation.
    skip : tuple of str
        File names ignored (kit's own CSVs, when a folder is re-ingested).
    progress : bool
        Show a tqdm bar.
    chest_only : bool
        Set aside images that are not chest radiographs (:func:`not_chest_radiograph`),
        reason ``not_chest_radiograph: ...``.

    Returns
    -------
    IngestResult

    Examples
    --------
    >>> import tempfile
    >>> from kit.medical.synthetic import synth_chest_xrays
    >>> folder = tempfile.mkdtemp()
    >>> _ = synth_chest_xrays(folder, n_studies=4, image_size=64, n_broken=2, seed=1)
    >>> result = ingest_folder(folder, image_size=32)
    >>> len(result.table), len(result.quarantine), result.images.shape
    (4, 2, (4, 32, 32))
    """
    if image_size is not None and (not isinstance(image_size, int) or image_size < 8):
        raise ParameterError(f"image_size must be an int >= 8 pixels or None, got {image_size!r}")
    root = Path(root)
    files = [p for p in iter_files(root) if p.name not in skip]
    base = root if root.is_dir() else root.parent
    rows, bad, images = [], [], []
    iterator = files
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(files, desc=_("ingest"), unit="file")
    for path in iterator:
        rel = path.relative_to(base).as_posix()
        try:
            item = read_image_file(path, max_decoded_bytes=max_decoded_bytes)
            excluded = not_chest_radiograph(item.dataset, item.pixels) if chest_only else ""
            if excluded:
                raise QuarantineError(excluded)
            image, how = display_image(item.dataset, item.pixels, image_size, keep_aspect=keep_aspect)
            if not np.isfinite(image).all():
                raise QuarantineError("undecodable: display image has NaN or infinite values")
        except QuarantineError as exc:
            bad.append({"file": rel, "reason": str(exc)})
            continue
        except Exception as exc:  # a batch never stops on one file; the reason says what broke
            bad.append({"file": rel, "reason": f"unexpected {type(exc).__name__}: {exc}"[:200]})
            continue
        rows.append(header_row(item.dataset, rel, item.n_frames, how))
        if image_size is not None:
            images.append(image)
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    quarantine = pd.DataFrame(bad, columns=QUARANTINE_COLUMNS)
    stack = None
    if image_size is not None:
        stack = np.stack(images) if images else np.zeros((0, image_size, image_size), np.float32)
    return IngestResult(table=table, quarantine=quarantine, images=stack, root=base)


def load_image(path, image_size: int | None = None, keep_aspect: bool = True) -> np.ndarray:
    """Read one DICOM file and return its [0, 1] float32 display image.

    Raises
    ------
    InputDataError
        The file is not a usable image; the message is the quarantine reason.
    """
    try:
        item = read_image_file(path)
    except QuarantineError as exc:
        raise InputDataError(f"{path}: {exc}; remove the file or export it again from the PACS") from None
    return display_image(item.dataset, item.pixels, image_size, keep_aspect=keep_aspect)[0]
