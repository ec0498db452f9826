"""Burned-in text found in the pixels, not only when the header admits it.

The header's Burned In Annotation (0028,0301) is often absent or wrong. The
PP-OCRv4 text detector that ships inside ``rapidocr-onnxruntime`` (a DB
network: a per-pixel text probability map) is run through onnxruntime on the
display image; connected regions of the thresholded map are text boxes. One
small, glyph-shaped box is a laterality marker ('L', 'R') and is allowed;
anything else flags the image, which is withheld from de-identification or,
with ``mask``, has its boxes filled with the image minimum.
"""
from __future__ import annotations

import numpy as np

from kit.errors import InputDataError

__all__ = ["DET_SIDE_PX", "find_burned_in_text", "is_laterality_marker", "mask_boxes", "mask_dataset", "screen_dataset",
           "text_boxes_flagged"]

# Long side the detector sees: small films are upscaled to 256 (8 px glyphs of a 128 px film become 16 px),
# large ones shrunk to 736 (RapidOCR's limit_side_len), between them the native size.
DET_SIDE_PX = (256, 736)
PROB_THRESHOLD = 0.3  # RapidOCR's det_thresh
# Mean probability inside a region. RapidOCR uses 0.5; text scores 0.96-0.99 here, while lung texture of a
# real chest CR (pydicom's RG1_UNCR at 736 px) reached 0.7, so the bar is raised.
BOX_THRESHOLD = 0.8
MIN_BOX_PX = 3  # regions narrower than this, on the detector's grid, are noise
# DB predicts a shrunk text kernel; RapidOCR grows it by area * 1.6 / perimeter (its unclip ratio).
UNCLIP_RATIO = 1.6
# A laterality marker: a single box no larger than this fraction of the film's side, about as wide as high
# ('L', 'R', 'LT'). Not only in corners: real markers sit where the radiographer put the lead letter (the
# 'R' of pydicom's RG3_UNCR is at 80 % of the height, 67 % of the width).
MARKER_MAX_FRACTION = 0.12
MARKER_MAX_ASPECT = 2.5
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)


def _detector_input(unit: np.ndarray, side_px: int):
    from PIL import Image

    rows, cols = unit.shape
    scale = side_px / max(rows, cols)
    h, w = (max(32, int(round(n * scale / 32)) * 32) for n in (rows, cols))
    img = Image.fromarray(np.clip(unit, 0, 1).astype(np.float32), mode="F").resize((w, h), Image.Resampling.BILINEAR)
    gray = np.asarray(img, np.float32)
    rgb = (gray[..., None] - _MEAN) / _STD
    return rgb.transpose(2, 0, 1)[None].astype(np.float32), (rows / h, cols / w)


def find_burned_in_text(unit: np.ndarray, side_px: int | None = None) -> list[tuple[int, int, int, int]]:
    """Text boxes in a display image.

    Parameters
    ----------
    unit : ndarray, (rows, columns), float in [0, 1]
        The display image (:func:`kit.medical.pixels.display_image`), white = dense.
    side_px : int, optional, pixels
        Long side the image is resized to for the detector (rounded to a
        multiple of 32); ``None``: the native size clipped to :data:`DET_SIDE_PX`.

    Returns
    -------
    list of (row0, col0, row1, col1)
        Boxes in the input's pixel grid, end-exclusive, largest first.
    """
    from kit.ml import ppocr

    unit = np.asarray(unit, dtype=np.float32)
    if unit.ndim != 2:
        raise InputDataError(f"find_burned_in_text needs one 2-D frame, got shape {unit.shape}")
    if side_px is None:
        side_px = int(np.clip(max(unit.shape), *DET_SIDE_PX))
    tensor, (sy, sx) = _detector_input(unit, side_px)
    session = ppocr.session("det")
    prob = session.run(None, {session.get_inputs()[0].name: tensor})[0][0, 0]
    boxes = []
    for r0, c0, r1, c1, _ in ppocr.text_regions(prob, PROB_THRESHOLD, BOX_THRESHOLD, MIN_BOX_PX, UNCLIP_RATIO):
        boxes.append((int(max(0, np.floor(r0 * sy))), int(max(0, np.floor(c0 * sx))),
                      int(min(unit.shape[0], np.ceil(r1 * sy))), int(min(unit.shape[1], np.ceil(c1 * sx)))))
    return sorted(boxes, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))


def is_laterality_marker(box, shape) -> bool:
    """Whether one box is small and glyph-shaped on a ``shape`` film (an 'L', 'R' or 'LT', not a word)."""
    rows, cols = shape
    r0, c0, r1, c1 = box
    height, width = r1 - r0, c1 - c0
    small = height <= MARKER_MAX_FRACTION * rows and width <= MARKER_MAX_FRACTION * cols
    return small and width <= MARKER_MAX_ASPECT * max(height, 1)


def text_boxes_flagged(boxes, shape) -> bool:
    """The rule: any text except one laterality marker flags the image."""
    if not boxes:
        return False
    return not (len(boxes) == 1 and is_laterality_marker(boxes[0], shape))


def mask_boxes(pixels: np.ndarray, boxes) -> np.ndarray:
    """A copy of ``pixels`` (stored values, rows × columns[× samples]) with each box filled with the minimum."""
    out = np.array(pixels, copy=True)
    fill = out.min()
    for r0, c0, r1, c1 in boxes:
        out[r0:r1, c0:c1] = fill
    return out


def _frames(ds) -> np.ndarray:
    pixels = ds.pixel_array
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    return pixels if frames > 1 else pixels[None]


def screen_dataset(ds, side_px: int | None = None) -> list[list[tuple[int, int, int, int]]]:
    """Text boxes of each frame of a pydicom data set, or ``[]`` when no frame is flagged by the rule."""
    from kit.medical.pixels import display_image

    if "PixelData" not in ds:
        return []
    found = []
    for frame in _frames(ds):
        unit, _ = display_image(ds, frame)
        found.append(find_burned_in_text(unit, side_px))
    shape = (int(ds.Rows), int(ds.Columns))
    return found if any(text_boxes_flagged(boxes, shape) for boxes in found) else []


def mask_dataset(ds, boxes_per_frame) -> int:
    """Fill the boxes in ``ds``'s stored pixels (in place, written uncompressed); returns the boxes masked."""
    frames = _frames(ds)
    masked = np.stack([mask_boxes(frame, boxes) for frame, boxes in zip(frames, boxes_per_frame)])
    arr = masked if int(ds.get("NumberOfFrames", 1) or 1) > 1 else masked[0]
    ds.set_pixel_data(arr, str(ds.PhotometricInterpretation), int(ds.BitsStored))
    return sum(len(boxes) for boxes in boxes_per_frame)
