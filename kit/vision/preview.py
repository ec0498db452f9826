"""The annotated preview: boxes, track ids, zones, lines and running counts drawn on frames, with privacy blur.

At a port gate the footage shows drivers' faces and number plates. Every
frame this module draws is blurred first where they are likely to be: the
upper half of a person's box (head and shoulders) and the lower third of a
truck's box (bumper and plate). It is a blur of box regions, not a face or
plate detector: a person the detector missed is not blurred, which is why
the preview is a short excerpt and the raw footage stays where it was.
"""
from __future__ import annotations

import numpy as np

from kit.errors import ParameterError
from kit.i18n import _

#: Part of each class's box that is blurred: (top, bottom) as shares of the box height.
BLUR_REGIONS = {"person": (0.0, 0.5), "truck": (0.67, 1.0)}
_COLOURS = [(230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178), (213, 94, 0), (204, 121, 167)]


def check_blur(blur, label_names: dict) -> list:
    """The classes to blur, checked against the detector's classes.

    Examples
    --------
    >>> check_blur(["person"], {1: "truck", 2: "person"})
    ['person']
    """
    blur = [] if blur is None else list(blur)
    known = set(label_names.values())
    bad = [c for c in blur if c not in known]
    if bad:
        raise ParameterError(_("blur: unknown class {name!r}; give some of {known} (or [] for none)").format(name=bad[0], known=sorted(known)))
    return blur


def blur_boxes(image, boxes, names, blur, radius_px: float | None = None):
    """A copy of ``image`` with the privacy region of each box of a class in ``blur`` blurred.

    Parameters
    ----------
    image : numpy.ndarray, (H, W, 3) uint8
    boxes : array (n, 4), px
        XYXY in the image's pixels.
    names : list of str
        Class of each box.
    blur : list of str
        Classes to blur (their region is :data:`BLUR_REGIONS`, the whole box for another class).
    radius_px : float, px, optional
        Gaussian radius; default a quarter of the region's width, at least 2 px.

    Returns
    -------
    numpy.ndarray
    """
    from PIL import Image, ImageFilter

    out = Image.fromarray(np.asarray(image, dtype=np.uint8))
    h, w = out.height, out.width
    for b, name in zip(np.asarray(boxes, dtype=float).reshape(-1, 4), names):
        if name not in blur:
            continue
        top, bottom = BLUR_REGIONS.get(name, (0.0, 1.0))
        x0, x1 = int(max(0, np.floor(b[0]))), int(min(w, np.ceil(b[2])))
        y0 = int(max(0, np.floor(b[1] + top * (b[3] - b[1]))))
        y1 = int(min(h, np.ceil(b[1] + bottom * (b[3] - b[1]))))
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        r = radius_px if radius_px is not None else max(2.0, (x1 - x0) / 4)
        # Blur a padded crop so the region's edge is blurred with its real surroundings, not a hard border.
        pad = int(np.ceil(2 * r))
        crop_box = (max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad))
        soft = out.crop(crop_box).filter(ImageFilter.GaussianBlur(r))
        region = soft.crop((x0 - crop_box[0], y0 - crop_box[1], x1 - crop_box[0], y1 - crop_box[1]))
        out.paste(region, (x0, y0))
    return np.asarray(out)


def annotate(image, boxes, names, track_ids, *, zones=(), lines=(), lines_text=(), blur=("person",), max_width: int = 640):
    """One preview frame: blurred, scaled to at most ``max_width`` px, with zones, lines, boxes, ids and counts.

    Parameters
    ----------
    image : numpy.ndarray, (H, W, 3) uint8
        The video frame, its own pixels.
    boxes : array (n, 4), px
        Tracked objects' XYXY boxes in video pixels.
    names : list of str
        Class of each box.
    track_ids : list of int
    zones : list of Zone
    lines : list of Line
    lines_text : list of str
        Running counts, one line of text each, drawn top left.
    blur : list of str
        Classes blurred before drawing (:func:`blur_boxes`).
    max_width : int, px

    Returns
    -------
    numpy.ndarray, (h, w, 3) uint8
    """
    from PIL import Image, ImageDraw

    img = Image.fromarray(blur_boxes(image, boxes, names, list(blur)))
    s = min(1.0, max_width / img.width)
    if s < 1:
        img = img.resize((round(img.width * s), round(img.height * s)), Image.BILINEAR)
    d = ImageDraw.Draw(img)
    lw = max(1, round(img.width / 320))
    for z in zones:
        pts = [tuple(p) for p in (np.asarray(z.polygon) * s).tolist()]
        d.line(pts + [pts[0]], fill=(213, 94, 0) if z.restricted else (86, 180, 233), width=lw)
    for ln in lines:
        (x0, y0), (x1, y1) = (np.asarray(ln.points) * s).tolist()
        d.line([(x0, y0), (x1, y1)], fill=(255, 255, 255), width=lw + 1)
        d.text((x1 + 2, y1 - 10), ln.name, fill=(255, 255, 255))
    classes = sorted(set(names))
    for b, name, tid in zip(np.asarray(boxes, dtype=float).reshape(-1, 4) * s, names, track_ids):
        c = _COLOURS[classes.index(name) % len(_COLOURS)]
        d.rectangle([b[0], b[1], b[2], b[3]], outline=c, width=lw)
        d.text((b[0] + 1, max(0, b[1] - 10)), f"{name[:1]}{tid}", fill=c)
    for k, text in enumerate(lines_text):
        d.text((3, 2 + 10 * k), text, fill=(255, 255, 255), stroke_width=1, stroke_fill=(0, 0, 0))
    return np.asarray(img)


def frame_strip(frames, times_s, n: int = 4, blur=("person",)):
    """A figure of ``n`` preview frames spread over the excerpt, each titled with its time."""
    import matplotlib.pyplot as plt

    from kit.vision.wording import class_label, quantity

    if not frames:
        raise ParameterError(_("frame_strip: no preview frames"))
    pick = np.unique(np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int))
    fig, axes = plt.subplots(1, len(pick), figsize=(3.6 * len(pick), 3.6 * frames[0].shape[0] / frames[0].shape[1] + 0.5),
                             squeeze=False)
    for ax, i in zip(axes[0], pick):
        ax.imshow(frames[i])
        ax.set_axis_off()
        ax.set_title(f"t = {quantity(times_s[i], 's', 1)}", fontsize=9)
    fig.suptitle(_("preview.mp4: tracks, zones, lines and running counts ({classes} blurred)").format(
        classes=", ".join(map(class_label, blur))) if blur else _("preview.mp4: tracks, zones, lines and running counts (nothing blurred)"))
    fig.tight_layout()
    return fig
