"""Reading one line of code text with the PP-OCRv4 recogniser, decoded under ISO 6346.

The recogniser's raw CTC output (a softmax per frame over its 6625 classes)
is folded onto the code alphabet: each of ``0-9A-Z`` takes its own column
plus its lower-case, full-width and circled forms (Unicode NFKC: ``④`` is
``4``, as a boxed check digit is sometimes read); everything else
(punctuation, the box drawn round a check digit, CJK characters, the
space) counts as blank, since it is layout. The frames then go to the lattice search of
:func:`kit.vision.recognizer.decode_frames`, which keeps the most probable
path that spells a well-formed code *with the right check digit*: the check
digit chooses among the recogniser's alternatives instead of being
recomputed over a misread digit.

Each line is read as grey (the livery colours carry no information; on
120 crops of :func:`kit.vision.synthetic.render_code_crop`, 0.94 of codes
read in colour, 0.96 in grey) at vertical shifts of 0 and ±2 px of the
48-px input, whose frame log-probabilities are averaged (0.967 there): a
small test-time ensemble, as the small reader does. The crop is also read cut to its ink rows and
padded left and right (:data:`VIEWS`), and the views' valid codes are chosen by CTC likelihood summed over both. On the 219 rendered
test crops of the notebook's data set (scale 1, seed 0) it is 0.941 (greedy 0.51;
0.927 and 0.46 with the padded view the tight one replaced; the small reader trained
on the set's crops 0.941 too, at 46 times the speed: benchmarks/vision_code_reader.py
--doors 0 --seeds 0). Most misses are now codes read wrong that still pass the check digit (0.050;
0.009 left unread): glyphs under rust or a strap, where the wrong code is the likelier one under the
recogniser too. A boxed check digit the recogniser does not see is left unread ('') rather than
computed from the others.

A dark crop (grey spread under :data:`DARK_CONTRAST`, where sensor noise is as strong as the ink) is read
in a further view, its colours projected on their main axis, stretched and denoised
(:data:`DARK_VIEWS`), whose frames join the rescoring. On 6 x 200 rendered crops (seeds 0-5,
benchmarks/vision_ppocr_misreads.py) as_is + tight read 0.970/0.975/0.970/0.975/0.930/0.945, with the
dark view 0.975/0.980/0.980/0.975/0.940/0.955, for 6-10 % more CPU time; the notebook set's 219 crops
0.950 (was 0.941; greedy 0.516; the small reader 0.941; 187 ms CPU a crop: benchmarks/vision_code_reader.py
--doors 0 --seeds 0). Seeds 4 and 5 stay under 0.97:
what is left there is glyphs painted over by rust or a strap (the recogniser reads the stain as a
confident wrong glyph, and the check digit is then spent elsewhere) and a boxed check digit set apart
that the recogniser drops, together with one letter misread (C for O, P for R), two errors that no
valid code along the frames puts right.
"""
from __future__ import annotations

import math
import unicodedata
from functools import lru_cache

import numpy as np

from kit.errors import InputDataError
from kit.i18n import _
from kit.vision.iso6346 import ALPHABET

__all__ = ["DARK_CONTRAST", "DARK_VIEWS", "INPUT_HEIGHT_PX", "ROW_SHIFTS_PX", "VIEWS", "code_frames", "crop_contrast",
           "line_text", "read_lines", "view"]

INPUT_HEIGHT_PX = 48  # the recogniser's input height (rapidocr's rec_img_shape)
ROW_SHIFTS_PX = (0, -2, 2)
#: Views of a crop each read in full, their candidates chosen by CTC likelihood summed over the views
#: (:func:`kit.vision.recognizer.rescoring.best_candidate`). The recogniser was trained on lines whose text
#: fills the height; a crop holds margins above and below (0.15-0.45 of a glyph each), so the ``tight`` view
#: cuts the rows to the ink band first (:func:`_ink_rows`). On 6 x 200 crops of ``render_code_crop`` (seeds
#: [s, 21], s = 0-5, December 2026) the greedy reading of one view goes from 0.55-0.65 (as is) to 0.67-0.71
#: (tight); as_is + tight give 0.970/0.975/0.970/0.975/0.930/0.945 (benchmarks/vision_ppocr_misreads.py)
#: against as_is + padded (the views before) 0.965/0.975/0.965/0.960/0.930/0.940; all three, offline,
#: 0.970/0.970/0.965/0.975/0.935/0.945 for a third more time. Tried before and not kept: padding above and below too (glyphs smaller: 0.89); a grey
#: percentile stretch, CLAHE or the padded view 1.3x wider as a third view (no lift); more candidates for the
#: rescoring (every single-character change of the proposed codes, check digit recomputed: not one crop
#: changed, the misses are codes more likely under the frames than the truth, glyphs under rust or a strap).
VIEWS = ("as_is", "tight")
#: Views read further for a dark crop only (:func:`crop_contrast` under :data:`DARK_CONTRAST`), their frames
#: added to the rescoring. ``denoised``: the colours projected on their main axis and stretched
#: (:func:`_main_axis_grey`: ink that differs from the paint in hue more than in lightness keeps its contrast),
#: then non-local means (:data:`DENOISE_STRENGTH`), then the tight cut. Of the misses of as_is + tight on
#: 6 x 200 crops (seeds [s, 21], s = 0-5, December 2026; benchmarks/vision_ppocr_misreads.py) about a third were
#: crops so dark that sensor noise is as strong as the ink (contrast 13-30 grey levels, noise sd about 11); on
#: the 108 crops of seeds 1, 2, 4, 5 under 35 levels as_is + tight read 0.880, with this view 0.944 (the
#: projection alone 0.926, a Gaussian blur of 1 px 0.926, 1.5 px 0.898, non-local means at strength 10 or 25
#: 0.926). Read for every crop it also outvotes right readings of bright crops (seed 5: 0.945 -> 0.935),
#: hence the gate. On seeds 6 and 7, not looked at while choosing the gate and the strength: 0.955 -> 0.965
#: and 0.965 -> 0.980 (from frames computed offline).
DARK_VIEWS = ("denoised",)
#: Crops whose grey spread (:func:`crop_contrast`) is under this many levels (of 255) are read in :data:`DARK_VIEWS`
#: too: 11-15 % of the rendered crops.
DARK_CONTRAST = 35.0
#: Filter strength ``h`` of OpenCV's non-local means on the stretched grey (0-255): 20 removes the sensor noise
#: of a dark crop without merging the glyphs' strokes.
DENOISE_STRENGTH = 20
#: Rows kept round the ink band of the tight view, in band heights (a stroke's antialiased edge).
TIGHT_MARGIN = 0.12
#: Background added left and right of the padded view, in crop heights: the boxed check digit touches the edge.
PAD_HEIGHTS = 0.25


@lru_cache(maxsize=1)
def _columns():
    """Recogniser columns of each code character (upper, lower) and of the characters outside the code alphabet."""
    from kit.ml.ppocr import characters

    chars = characters()
    index = {c: j for j, c in enumerate(chars) if c}
    upper = np.array([index[c] for c in ALPHABET])
    lower = np.array([index.get(c.lower(), index[c]) for c in ALPHABET])
    # Other forms of a code character: full-width (Ｋ, ７) and circled digits (④: a boxed check digit is often read so).
    forms = np.full(len(chars), -1)
    for j, c in enumerate(chars):
        folded = unicodedata.normalize("NFKC", c).upper() if c else ""
        if len(folded) == 1 and folded in ALPHABET and j not in (upper[ALPHABET.index(folded)], lower[ALPHABET.index(folded)]):
            forms[j] = ALPHABET.index(folded)
    return upper, lower, forms, chars


def rec_input(image, height: int = INPUT_HEIGHT_PX) -> np.ndarray:
    """One text line as the recogniser's input: grey, ``height`` px high, width by aspect, scaled to [-1, 1].

    Parameters
    ----------
    image : uint8 array (rows, cols[, 3]) or PIL image
        A line of text, roughly cropped to it.

    Returns
    -------
    float32 array (3, height, width)
        Width ``ceil(height × cols / rows)``; RapidOCR's normalisation ((x / 255 − 0.5) / 0.5).
    """
    from PIL import Image

    img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, dtype=np.uint8))
    if min(img.size) < 2:
        raise InputDataError(_("text line of {width}x{height} px is too small to read; crop a larger box").format(
            width=img.size[0], height=img.size[1]))
    width = max(height // 4, int(math.ceil(height * img.size[0] / img.size[1])))
    grey = np.asarray(img.convert("L").resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)
    x = (grey / 255.0 - 0.5) / 0.5
    return np.repeat(x[None], 3, axis=0)


def _ink_rows(grey) -> tuple[int, int]:
    """(first, end) rows of a line's ink band, end-exclusive: where the row's departure from the median grey is high.

    The profile (mean absolute departure per row, smoothed over 3 rows) is
    thresholded at 35 % of its range; rows of a stain above or below the
    text are kept too (the band runs from the first to the last row above
    it), so a glyph is never cut. The whole height when the band is under a
    third of it (no clear text: nothing to cut).
    """
    g = np.asarray(grey, np.float64)
    profile = np.convolve(np.abs(g - np.median(g)).mean(axis=1), np.ones(3) / 3, mode="same")
    rows = np.flatnonzero(profile > profile.min() + 0.35 * (profile.max() - profile.min()))
    if len(rows) == 0 or rows[-1] + 1 - rows[0] < len(g) / 3:
        return 0, len(g)
    return int(rows[0]), int(rows[-1]) + 1


def crop_contrast(image) -> float:
    """Grey spread of a text line, levels of 255: the 95th minus the 5th percentile after a 1.5-px Gaussian blur.

    The blur takes out pixel noise, so a dark, noisy crop scores low even
    though single pixels span the range; ink on paint of any colour pair
    with a clear lightness difference scores 40-120.
    """
    from PIL import Image, ImageFilter

    img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, dtype=np.uint8))
    smooth = np.asarray(img.convert("L").filter(ImageFilter.GaussianBlur(1.5)), np.float64)
    low, high = np.percentile(smooth, [5, 95])
    return float(high - low)


def _main_axis_grey(img):
    """The line's colours projected on their first principal axis, stretched to 0-255 between the 1st and 99th
    percentiles, signed so that it grows with lightness: RGB PIL image with three equal channels."""
    from PIL import Image

    a = np.asarray(img.convert("RGB"), np.float64)
    flat = a.reshape(-1, 3) - a.reshape(-1, 3).mean(axis=0)
    _values, vectors = np.linalg.eigh(np.cov(flat.T) + 1e-9 * np.eye(3))
    grey = flat @ vectors[:, -1]
    if grey @ (flat @ np.array([0.299, 0.587, 0.114])) < 0:  # light ink stays light, dark ink dark
        grey = -grey
    low, high = np.percentile(grey, [1, 99])
    grey = np.clip((grey - low) / max(high - low, 1e-6), 0.0, 1.0) * 255.0
    out = grey.reshape(a.shape[:2]).astype(np.uint8)
    return Image.fromarray(np.repeat(out[..., None], 3, axis=2))


def _denoised(img):
    """:func:`_main_axis_grey`, then OpenCV's non-local means (:data:`DENOISE_STRENGTH`; 7-px patches, 21-px search)."""
    import cv2
    from PIL import Image

    grey = np.asarray(_main_axis_grey(img))[..., 0]
    clean = cv2.fastNlMeansDenoising(np.ascontiguousarray(grey), None, DENOISE_STRENGTH, 7, 21)
    return Image.fromarray(np.repeat(clean[..., None], 3, axis=2))


def view(image, name: str):
    """One view of a text line: ``"as_is"``, ``"padded"`` left and right with its median edge colour, ``"tight"``
    or ``"denoised"``.

    Parameters
    ----------
    image : uint8 array (rows, cols, 3) or PIL image
    name : {"as_is", "padded", "tight", "denoised"}
        ``tight``: the rows of the ink band (:func:`_ink_rows`) with :data:`TIGHT_MARGIN` above and below, padded.
        ``denoised``: :func:`_denoised`, then ``tight``.

    Returns
    -------
    PIL.Image.Image, RGB
        ``padded`` is ``2 × round(PAD_HEIGHTS × rows)`` px wider; ``tight`` as many rows as the band and its margins.
    """
    from PIL import Image

    img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, dtype=np.uint8))
    img = img.convert("RGB")
    if name == "as_is":
        return img
    if name == "denoised":
        return view(_denoised(img), "tight")
    if name == "tight":
        first, end = _ink_rows(np.asarray(img.convert("L")))
        margin = max(2, int(round(TIGHT_MARGIN * (end - first))))
        return view(img.crop((0, max(0, first - margin), img.size[0], min(img.size[1], end + margin))), "padded")
    if name != "padded":
        raise InputDataError(_("view {name!r} unknown; use 'as_is', 'padded', 'tight' or 'denoised'").format(name=name))
    a = np.asarray(img)
    edge = np.concatenate([a[[0, -1]].reshape(-1, 3), a[:, [0, -1]].reshape(-1, 3)])
    pad = int(round(PAD_HEIGHTS * img.size[1]))
    out = Image.new("RGB", (img.size[0] + 2 * pad, img.size[1]), tuple(int(v) for v in np.median(edge, axis=0)))
    out.paste(img, (pad, 0))
    return out


def _logits(batch: np.ndarray) -> np.ndarray:
    from kit.ml.ppocr import session

    sess = session("rec")
    return sess.run(None, {sess.get_inputs()[0].name: batch})[0]


def code_frames(images, row_shifts_px=ROW_SHIFTS_PX) -> list[np.ndarray]:
    """The recogniser's frames of each line, folded onto the code alphabet and averaged over the shifts.

    Parameters
    ----------
    images : list of uint8 arrays or PIL images
        Text lines.
    row_shifts_px : tuple of int
        Vertical shifts of the 48-px input (rolled round) whose log-probabilities are averaged.

    Returns
    -------
    list of float64 arrays (T, 37)
        Per line, probabilities per frame: column 0 the blank (with every
        character outside ``0-9A-Z``), then :data:`kit.vision.iso6346.ALPHABET`.
    """
    if not row_shifts_px:
        raise InputDataError(_("row_shifts_px must hold at least one shift, e.g. (0,)"))
    upper, lower, forms, _chars = _columns()
    other = np.flatnonzero(forms >= 0)
    fold = np.zeros((len(other), len(ALPHABET)))
    fold[np.arange(len(other)), forms[other]] = 1.0
    out = []
    for image in images:  # one line a run: batching lines of one width was slower on one thread
        x = rec_input(image)[None]
        logp = 0.0
        for dy in row_shifts_px:
            p = _logits(np.roll(x, int(dy), axis=2) if dy else x)[0].astype(np.float64)
            code = p[:, upper] + np.where(lower == upper, 0.0, p[:, lower]) + p[:, other] @ fold
            blank = np.clip(1.0 - code.sum(-1, keepdims=True), 1e-9, 1.0)
            logp = logp + np.log(np.clip(np.concatenate([blank, code], -1), 1e-12, None))
        probs = np.exp(logp / len(row_shifts_px))
        out.append(probs / probs.sum(-1, keepdims=True))
    return out


def read_lines(images, row_shifts_px=ROW_SHIFTS_PX, views=VIEWS, dark_views=DARK_VIEWS,
               dark_contrast=DARK_CONTRAST) -> list:
    """Read code text lines (a crop holding one whole code) as ISO 6346 codes.

    Each view (:func:`view`) is decoded by the lattice search; when there are
    several, the valid codes they propose are scored by CTC likelihood summed
    over all views and the most likely wins, so a view's misread digit is
    outvoted rather than recomputed. A dark line (:func:`crop_contrast` under
    ``dark_contrast``) is read in ``dark_views`` too, which propose and score
    with the others.

    Parameters
    ----------
    images : list of uint8 arrays or PIL images
    row_shifts_px : tuple of int
    views : tuple of {"as_is", "padded", "tight", "denoised"}
    dark_views : tuple of {"as_is", "padded", "tight", "denoised"}
        ``()``: every line in ``views`` only.
    dark_contrast : float, grey levels of 255

    Returns
    -------
    list of kit.vision.recognizer.Reading
        ``code`` is the most probable valid code along the frames ('' when
        none fits or one of its characters was not seen), ``raw`` the greedy
        reading of the first view, ``confidence`` the geometric mean of the
        code's character probabilities (in the first view proposing it).
    """
    from kit.vision.recognizer import decode_frames
    from kit.vision.recognizer.rescoring import best_candidate

    if not views:
        raise InputDataError(_("views must hold at least one view, e.g. ('as_is',)"))
    frames = [code_frames([view(im, v) for im in images], row_shifts_px) for v in views]
    dark = [i for i, im in enumerate(images) if dark_views and crop_contrast(im) < dark_contrast]
    further = {v: dict(zip(dark, code_frames([view(images[i], v) for i in dark], row_shifts_px))) for v in dark_views}
    out = []
    for i in range(len(images)):  # one at a time: lines differ in width
        line_frames = [f[i] for f in frames] + [further[v][i] for v in dark_views if i in further[v]]
        readings = [decode_frames(f[None], ALPHABET)[0] for f in line_frames]
        if len(line_frames) > 1:
            code, _confidence = best_candidate(line_frames, [r.code for r in readings], ALPHABET)
            readings = [r for r in readings if r.code == code] if code else readings
        out.append(readings[0])
    return out


def line_text(image) -> tuple[str, float]:
    """Free text of one line (greedy CTC over the whole dictionary) and its mean character probability."""
    *_, chars = _columns()
    p = _logits(rec_input(image)[None])[0]
    best = p.argmax(-1)
    text, probs = [], []
    for t, k in enumerate(best):
        if k and (t == 0 or best[t - 1] != k):
            text.append(chars[k])
            probs.append(float(p[t, k]))
    return "".join(text), float(np.mean(probs)) if probs else 0.0
