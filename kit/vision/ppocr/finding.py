"""Container codes in full door and gate images: PP-OCRv4 text boxes, grouped by layout, read under ISO 6346.

The detector finds text boxes; they are grouped into candidate code
layouts, each made into one text line for the recogniser:

- *one line*: boxes side by side on one row (``MSKU``, ``123456`` and the
  boxed check digit are often three boxes), joined;
- *two lines*: one row over the next, of about the same height and
  overlapping columns (``MSKU`` over ``123456 [7]``), put side by side;
- *stacked*: narrow boxes one above the other (a vertical code, one
  character a line; the detector finds single glyphs or runs of them),
  cut into 11 slots on the grid of gaps fitted to the column's ink (the
  painted pitch, :func:`_pitch`) and put side by side in reading order;
  equal cuts of the box are read only when no grid cut gives a code;
- *rotated*: a line turned by 90° either way (running down or up a door
  post, the glyphs turned with it): tried only when no upright candidate
  gives a code, by turning the image and its text boxes by +90° and -90°
  and reading the rows and pairs of rows found there (:func:`_rotated`;
  a two-line code turned reports layout ``rotated_two_line``).

Every candidate is read (:func:`kit.vision.ppocr.read_lines`); the one
whose best valid code gives up least of the recogniser's probability to be
a code (:attr:`kit.vision.recognizer.Reading.path_cost_nats`) wins, so text
that is no code (the line's name, the weight plate) or a code read with the
line below it loses to the code alone. The size-type code
is the 4-character line nearest below the code (or below the stack).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from kit.errors import InputDataError
from kit.i18n import _
from kit.vision.turning import turned_box

__all__ = ["FoundCode", "MIN_CONFIDENCE", "find_codes", "text_boxes"]

#: Codes read with a lower confidence (geometric mean of the characters' probabilities) are not reported:
#: on 60 door images (benchmarks/vision_code_reader.py, seed 0) codes read right had 0.52-1.0, the five
#: wrong ones 0.44-0.68, so 0.5 drops two wrong codes and no right one.
MIN_CONFIDENCE = 0.5
DET_MULTIPLE_PX = 32
DET_MAX_SIDE_PX = 960  # RapidOCR's det runs at up to 736 on the short side; a gate image needs no more
_SIZE_TYPE = re.compile(r"^[0-9A-Z]{2}[A-Z][0-9A-Z]$")
_MEAN = np.float32(0.5)


@dataclass
class FoundCode:
    """A code read in a full image.

    Attributes
    ----------
    code : str
        11-character code, valid under ISO 6346 ('' when none was read).
    confidence : float, 0–1
    raw : str
        Greedy reading of the winning candidate.
    layout : {"one_line", "two_line", "stacked", "rotated", "rotated_two_line", ""}
        ``rotated``: a one-line code turned by ±90°, ``rotated_two_line`` a two-line one.
    box : (x0, y0, x1, y1), px
        Round the code's text boxes.
    size_type : str
        The 4-character size-type code below it, '' when none was read.
    """

    code: str
    confidence: float
    raw: str
    layout: str
    box: tuple
    size_type: str


def text_boxes(image, max_side_px: int = DET_MAX_SIDE_PX) -> list[tuple[int, int, int, int]]:
    """Text boxes in an RGB image, from the PP-OCRv4 detector.

    Parameters
    ----------
    image : uint8 array (rows, cols, 3) or PIL image
    max_side_px : int, px
        The long side the detector sees at most (smaller images are seen at their size, rounded to 32).

    Returns
    -------
    list of (x0, y0, x1, y1), px, end-exclusive, in the image's grid
    """
    from PIL import Image

    from kit.ml import ppocr

    img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, dtype=np.uint8))
    img = img.convert("RGB")
    W, H = img.size
    scale = min(1.0, max_side_px / max(W, H))
    w, h = (max(DET_MULTIPLE_PX, int(round(n * scale / DET_MULTIPLE_PX)) * DET_MULTIPLE_PX) for n in (W, H))
    a = np.asarray(img.resize((w, h), Image.Resampling.BILINEAR), np.float32)[..., ::-1] / 255.0  # BGR, as trained
    x = ((a - _MEAN) / _MEAN).transpose(2, 0, 1)[None].astype(np.float32)
    sess = ppocr.session("det")
    prob = sess.run(None, {sess.get_inputs()[0].name: x})[0][0, 0]
    sy, sx = H / h, W / w
    return [(int(max(0, np.floor(c0 * sx))), int(max(0, np.floor(r0 * sy))), int(min(W, np.ceil(c1 * sx))),
             int(min(H, np.ceil(r1 * sy)))) for r0, c0, r1, c1, _ in ppocr.text_regions(prob)]


def _rows(boxes):
    """Boxes side by side on one row joined: list of (x0, y0, x1, y1) unions, top to bottom."""
    rows = []
    for b in sorted(boxes, key=lambda b: b[0]):
        h = b[3] - b[1]
        for r in rows:
            rh = r[3] - r[1]
            overlap = min(r[3], b[3]) - max(r[1], b[1])
            if overlap > 0.5 * min(h, rh) and b[0] - r[2] < 1.5 * max(h, rh) and 0.5 < h / rh < 2:
                r[:] = [min(r[0], b[0]), min(r[1], b[1]), max(r[2], b[2]), max(r[3], b[3])]
                break
        else:
            rows.append(list(b))
    return sorted((tuple(r) for r in rows), key=lambda r: (r[1], r[0]))


def _columns(boxes):
    """Narrow boxes (single glyphs, or tall boxes of several) one above the other: (x0, y0, x1, y1) per column."""
    narrow = sorted((b for b in boxes if (b[2] - b[0]) < 1.8 * (b[3] - b[1])), key=lambda b: b[1])
    columns = []
    for b in narrow:
        cx = (b[0] + b[2]) / 2
        for col in columns:
            w = col[2] - col[0]
            if abs((col[0] + col[2]) / 2 - cx) < 0.6 * max(w, b[2] - b[0]) and b[1] - col[3] < 8 * max(w, b[2] - b[0]):
                col[:] = [min(col[0], b[0]), col[1], max(col[2], b[2]), max(col[3], b[3])]
                break
        else:
            columns.append(list(b))
    return [tuple(c) for c in columns if c[3] - c[1] > 3 * (c[2] - c[0])]


def _pitch(grey_column) -> tuple[float, float]:
    """(pitch, phase), px: the regular grid of glyph gaps that best fits a stacked column's ink profile.

    The profile is the mean departure from the column's median grey per row;
    the grid puts gaps (rows between glyphs) on its troughs and glyph
    centres on its crests. A fitted grid follows the painted pitch even when
    the detector's box is a glyph short or long at one end, where equal cuts
    of the box drift by a glyph over the stack.
    """
    g = np.asarray(grey_column, np.float64)
    profile = np.convolve(np.abs(g - np.median(g)).mean(axis=1), np.ones(3) / 3, mode="same")
    rows = np.arange(len(profile), dtype=np.float64)
    best = (-np.inf, len(profile) / 11, 0.0)
    for pitch in np.arange(len(profile) / 13.5, len(profile) / 8.5, 0.1):
        for phase in np.arange(0.0, pitch, 0.5):
            gaps = np.arange(phase, len(profile), pitch)
            centres = gaps + pitch / 2
            centres = centres[centres < len(profile)]
            contrast = np.interp(centres, rows, profile).mean() - np.interp(gaps, rows, profile).mean()
            if contrast > best[0]:
                best = (contrast, pitch, phase)
    return best[1], best[2]


def _glyph_slots(column, grey=None):
    """Ways to cut a stacked column into its 11 glyphs, as lists of 11 boxes, top to bottom.

    Stacked codes are painted at a regular pitch. With the image's grey
    levels (``grey``, 2-D array) the column is cut on the grid fitted to its
    ink (:func:`_pitch`), 11 slots at a time along it (more slots than 11: a
    glyph of the line below was boxed with the stack), or carried on above
    or below when fewer were seen. Without them (the fallback), the box is
    cut into equal slots, read as 11, or as 9, 10, 12 or 13 glyphs with the
    missing slots above or below, or the extra ones left out (the lattice's
    cost picks the cut). On 10 stacked doors of seed 0 the equal cuts alone
    read one code wrong that the grid reads right: a 10-glyph cut had the
    lower path cost, so the two are not pooled.
    """
    x0, y0, x1, y1 = column
    x0, x1 = x0 - 0.15 * (x1 - x0), x1 + 0.15 * (x1 - x0)
    cuts = []
    if grey is not None and y1 - y0 >= 18:
        pitch, phase = _pitch(grey[int(y0):int(np.ceil(y1)), max(0, int(column[0])):int(np.ceil(column[2]))])
        # The grid carried on four pitches beyond each end of the box: glyphs the detector missed lie on it.
        gaps = y0 + phase + pitch * np.arange(-5, int((y1 - y0) / pitch) + 5)
        inside = np.array([y0 - 0.3 * pitch <= a + pitch / 2 <= y1 + 0.3 * pitch for a in gaps])
        n_inside = int(inside.sum())
        for first in range(len(gaps) - 10):
            held = int(inside[first:first + 11].sum())
            # Every glyph seen (11 at most), or one fewer with one more beyond an end: the box may be a glyph off.
            if held >= min(n_inside, 11) - 1 and 11 - held <= max(0, 11 - n_inside) + 1:
                cuts.append([(x0, a, x1, a + pitch) for a in gaps[first:first + 11]])
        return cuts
    for seen in (11, 10, 12, 9, 13):
        pitch = (y1 - y0) / seen
        for first in range(min(0, seen - 11), max(0, seen - 11) + 1):
            top = y0 + first * pitch
            cuts.append([(x0, top + k * pitch, x1, top + (k + 1) * pitch) for k in range(11)])
    return cuts


def _candidates(boxes, grey=None):
    """(layout, segment boxes) to read: every row, every row over the next, every stack of glyphs."""
    rows = _rows(boxes)
    out = [("one_line", [r]) for r in rows if r[2] - r[0] > 2 * (r[3] - r[1])]
    for a in rows:
        for b in rows:
            ha, hb = a[3] - a[1], b[3] - b[1]
            below = -0.5 * ha <= b[1] - a[3] < 1.2 * ha  # detector boxes of close lines overlap by up to a third
            columns = min(a[2], b[2]) - max(a[0], b[0]) > 0.3 * min(a[2] - a[0], b[2] - b[0])
            if below and columns and 0.6 < hb / ha < 1.6:
                out.append(("two_line", [a, b]))
    for column in _columns(boxes):
        out += [("stacked", slots) for slots in _glyph_slots(column, grey)]
    return out


def _strip(img, segments):
    """The segments' crops (grown a little), scaled to one height and put side by side on their background."""
    from PIL import Image

    height = 48
    parts = []
    for x0, y0, x1, y1 in segments:
        g = 0.12 * (y1 - y0)
        crop = img.crop((max(0, x0 - g), max(0, y0 - g), min(img.size[0], x1 + g), min(img.size[1], y1 + g)))
        w = max(1, int(round(crop.size[0] * height / max(crop.size[1], 1))))
        parts.append(crop.resize((w, height), Image.Resampling.BILINEAR))
    edge = np.concatenate([np.asarray(p)[[0, -1]].reshape(-1, 3) for p in parts])
    gap = height // 3
    out = Image.new("RGB", (sum(p.size[0] for p in parts) + gap * (len(parts) - 1), height),
                    tuple(int(v) for v in np.median(edge, axis=0)))
    x = 0
    for p in parts:
        out.paste(p, (x, 0))
        x += p.size[0] + gap
    return out


def _size_type(img, code_box, rows) -> str:
    """The size-type code: the nearest 4-character row below the code that reads as one."""
    from kit.vision.iso6346 import normalize
    from kit.vision.ppocr.reading import line_text

    x0, y0, x1, y1 = code_box
    below = sorted((r for r in rows if r[1] >= y1 - 0.5 * (r[3] - r[1]) and r[1] - y1 < 3 * (r[3] - r[1])
                    and min(r[2], x1) - max(r[0], x0) > -0.5 * (r[3] - r[1])), key=lambda r: r[1])
    for r in below[:2]:
        text = normalize(line_text(_strip(img, [r]))[0])
        if _SIZE_TYPE.match(text):
            return text
    return ""


def _greedy_length(frames) -> int:
    """Characters of the greedy CTC reading of folded frames (T, 37)."""
    best = frames.argmax(axis=1)
    return int(np.sum((best != 0) & np.r_[True, best[1:] != best[:-1]]))


def find_codes(image, min_confidence: float = MIN_CONFIDENCE) -> FoundCode:
    """The container code in a full door or gate image.

    Parameters
    ----------
    image : uint8 array (rows, cols, 3) or PIL image
    min_confidence : float
        Below it, no code is reported (``code`` '').

    Returns
    -------
    FoundCode
    """
    from PIL import Image

    img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, dtype=np.uint8))
    if img.size[0] < 16 or img.size[1] < 16:
        raise InputDataError(_("image of {width}x{height} px is too small to find a code in").format(
            width=img.size[0], height=img.size[1]))
    img = img.convert("RGB")
    found = _find(img, min_confidence)
    if not found.code:  # faint paint (light on light, dusk): once more with the histogram equalized
        from PIL import ImageOps

        found = _find(ImageOps.equalize(img), min_confidence)
    return found


def _find(img, min_confidence: float) -> FoundCode:
    """One pass of :func:`find_codes` over an RGB PIL image."""
    boxes = text_boxes(img)
    found = _best(img, boxes, _candidates(boxes, np.asarray(img.convert("L"))), min_confidence)
    if not found.code:  # a stack whose ink fits no grid (faint, or broken by a bar): its equal cuts
        stacks = [("stacked", slots) for column in _columns(boxes) for slots in _glyph_slots(column)]
        found = _best(img, boxes, stacks, min_confidence) if stacks else found
    if not found.code:  # no upright code: a line running up or down the door
        found = _rotated(img, min_confidence) or found
    return found


def _rotated(img, min_confidence: float):
    """The code read on a line turned by ±90°, as a :class:`FoundCode` (layout ``rotated``, or
    ``rotated_two_line`` when two rows read as the code), or None.

    The image is turned both ways and the detector run again on each: it finds
    upright text better (on 8 dark doors of ``render_door(..., "rotated")``
    the boxes of the upright image, turned, held 5 codes, a second detection
    on the turned image 7). The rows and two-row pairs found there are read,
    and the code read with the higher confidence wins (text turned the wrong
    way reads as no code). The size-type line is looked for beside the code,
    below it in the turned image.
    """
    best = None
    for rotation_deg in (90, -90):
        turned = img.rotate(rotation_deg, expand=True)
        turned_boxes = text_boxes(turned)
        lines = [c for c in _candidates(turned_boxes) if c[0] != "stacked"]
        found = _best(turned, turned_boxes, lines, min_confidence)
        if found.code and (best is None or found.confidence > best.confidence):
            box = tuple(int(round(v)) for v in turned_box(found.box, turned.size, -rotation_deg))
            layout = "rotated" if found.layout == "one_line" else f"rotated_{found.layout}"
            best = FoundCode(found.code, found.confidence, found.raw, layout, box, found.size_type)
    return best


def _best(img, boxes, candidates, min_confidence: float) -> FoundCode:
    """The candidate read as the most probable code, as a :class:`FoundCode`."""
    from kit.vision.ppocr.reading import code_frames, read_lines

    none = FoundCode("", 0.0, "", "", (), "")
    if not candidates:
        return none
    strips = [_strip(img, seg) for _, seg in candidates]
    # One quick pass first: only strips of about a code's length are read in full (three shifts, the lattice).
    keep = [i for i, f in enumerate(code_frames(strips, (0,))) if 8 <= _greedy_length(f) <= 13]
    if not keep:
        return none
    candidates = [candidates[i] for i in keep]
    readings = read_lines([strips[i] for i in keep], views=("as_is",))  # one view: strips have a margin (_strip), and a second would double the time
    # Least probability given up to make a code: a code read with the line below it pays for every glyph it drops.
    best = min(range(len(candidates)), key=lambda i: (not readings[i].code, readings[i].path_cost_nats, -readings[i].confidence))
    r = readings[best]
    if not r.code or r.confidence < min_confidence:
        return FoundCode("", float(r.confidence), r.raw, "", (), "")
    layout, seg = candidates[best]
    box = (min(s[0] for s in seg), min(s[1] for s in seg), max(s[2] for s in seg), max(s[3] for s in seg))
    return FoundCode(r.code, float(r.confidence), r.raw, layout, box, _size_type(img, box, _rows(boxes)))
