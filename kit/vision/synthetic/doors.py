"""Container doors as a gate camera sees them: the whole image, with the code painted where ISO 6346 puts it.

The code is painted in the door's upper right with its check digit boxed,
the size-type code (ISO 6346, e.g. ``22G1``) on its own line below, in one
of three layouts: one line (``MSKU 123456 [7]``), two lines (``MSKU`` over
``123456 [7]``) or stacked (one character per line, on the door's right
edge). Two more, ``rotated`` and ``rotated_two_line`` (:data:`ROTATED_LAYOUTS`,
asked for by name only, so the default doors are unchanged), paint the
one-line or the two-line code and its size-type line turned by 90° either
way, running down or up the door's right edge, as on door posts. Around it: the corrugation, four locking bars with handles, the
line's name and the weight plate (``MAX GROSS``, ``TARE``: text that is no
code). The door is seen in perspective, then lit like a yard scene.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from kit.vision.synthetic.lighting import apply_light, random_light
from kit.vision.synthetic.painting import code_font, shade
from kit.vision.synthetic.scene import pick_livery
from kit.vision.turning import turned_box

__all__ = ["DOOR_LAYOUTS", "ROTATED_LAYOUTS", "SIZE_TYPES", "render_door"]

DOOR_LAYOUTS = ("one_line", "two_line", "stacked")
#: Layouts drawn only when asked for: the one-line or two-line code turned by +90° or -90° (drawn at random).
ROTATED_LAYOUTS = ("rotated", "rotated_two_line")
#: Common size-type codes: 20 ft and 40 ft general purpose, high cube, reefers, open top, tank.
SIZE_TYPES = ("22G1", "42G1", "45G1", "22R1", "45R1", "22U1", "42U1", "22T6", "L5G1")
_WORDS = ("OCEANLINE", "NORDCARGO", "TRANSMAR", "PACIFICA", "SEALOGIX", "EUROBOX")


def _coefficients(src, dst):
    """PIL's PERSPECTIVE coefficients mapping output points ``dst`` back to input points ``src``."""
    a, b = [], []
    for (x, y), (u, v) in zip(dst, src):
        a += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        b += [u, v]
    return np.linalg.solve(np.asarray(a, float), np.asarray(b, float))


def _project(coeffs, dst_to_src_pts):
    """Output positions of input points under the inverse of ``coeffs`` (solved numerically per point)."""
    a, b, c, d, e, f, g, h = coeffs
    out = []
    for u, v in dst_to_src_pts:
        m = np.array([[a - g * u, b - h * u], [d - g * v, e - h * v]])
        out.append(tuple(np.linalg.solve(m, np.array([u - c, v - f]))))
    return out


def _paint_door(d, W, H, colour, rng):
    """Corrugation, the two leaves and four locking bars with handles."""
    step = W * rng.uniform(0.035, 0.05)
    for x in np.arange(rng.uniform(0, step), W, step):
        d.line((x, 0, x, H), fill=shade(colour, 0.8), width=max(1, int(W / 160)))
    d.line((W / 2, 0, W / 2, H), fill=shade(colour, 0.45), width=max(2, int(W / 120)))
    for fx in (0.12, 0.38, 0.62, 0.88):
        x = fx * W
        d.rectangle((x - W * 0.006, 0, x + W * 0.006, H), fill=(150, 150, 150))
        y = H * rng.uniform(0.55, 0.7)
        d.rectangle((x - W * 0.01, y, x + W * 0.05, y + H * 0.025), fill=(120, 120, 120))


def _paint_code(d, code, size_type, layout, x1, y0, font, ink):
    """The code and its size-type line, right-aligned at ``x1`` from ``y0``; returns the code's box."""
    px = font.size
    top = font.getbbox("M")[1]
    cap = font.getbbox("0")[3] - top
    if layout == "stacked":
        lines = list(code[:10]) + [code[10]]
        x = x1 - px
        y = y0
        for i, ch in enumerate(lines):
            w = font.getlength(ch)
            d.text((x + (px - w) / 2, y - top), ch, font=font, fill=ink)
            if i == 10:
                d.rectangle((x + (px - w) / 2 - 3, y - 3, x + (px + w) / 2 + 3, y + cap + 3), outline=ink, width=max(2, px // 14))
            y += cap * 1.45
        box = (x - 3, y0 - 3, x + px + 3, y - cap * 0.45 + 3)
        d.text((x1 - font.getlength(size_type), y + cap * 0.6 - top), size_type, font=font, fill=ink)
        return box
    rows = [f"{code[:4]} {code[4:10]} "] if layout == "one_line" else [code[:4], f"{code[4:10]} "]
    widths = [font.getlength(r) for r in rows[:-1]] + [font.getlength(rows[-1] + code[10])]
    left = x1 - max(widths)
    y = y0
    for r in rows[:-1]:
        d.text((left, y - top), r, font=font, fill=ink)
        y += cap * 1.5
    d.text((left, y - top), rows[-1], font=font, fill=ink)
    cx = left + font.getlength(rows[-1])
    d.text((cx, y - top), code[10], font=font, fill=ink)
    d.rectangle((cx - 4, y - 4, cx + font.getlength(code[10]) + 4, y + cap + 4), outline=ink, width=max(2, px // 14))
    box = (left - 4, y0 - 4, x1 + 4, y + cap + 4)
    d.text((left, y + cap * 1.6 - top), size_type, font=font, fill=ink)
    return box


def _paint_rotated(door, code, size_type, x1, y0, font, ink, rng, layout: str = "one_line"):
    """The code (``layout`` one_line or two_line) and its size-type line painted on a tile turned by ±90°,
    pasted right-aligned at ``x1``.

    Returns the code's box in the door and the rotation, degrees counter-clockwise
    (+90: the code reads bottom to top, -90: top to bottom).
    """
    px = font.size
    if layout == "one_line":
        tile = Image.new("RGBA", (int(font.getlength(f"{code[:4]} {code[4:10]} {code[10]}") + 3 * px), int(4.5 * px)), (0, 0, 0, 0))
    else:  # a row more (1.5 cap heights) than the one-line tile, as wide as the serial row
        tile = Image.new("RGBA", (int(font.getlength(f"{code[4:10]} {code[10]}") + 3 * px), int(5.6 * px)), (0, 0, 0, 0))
    tw = tile.size[0]
    box = _paint_code(ImageDraw.Draw(tile), code, size_type, layout, tw - px, px * 0.5, font, tuple(ink) + (255,))
    rotation_deg = int(rng.choice([90, -90]))
    bx0, by0, bx1, by1 = turned_box(box, tile.size, rotation_deg)
    tile = tile.rotate(rotation_deg, expand=True)
    left, top = int(x1 - tile.size[0]), int(y0)
    door.paste(tile, (left, top), tile)
    return (left + bx0, top + by0, left + bx1, top + by1), rotation_deg


def render_door(code: str, rng, layout: str = "one_line", size_type: str | None = None,
                size: tuple[int, int] = (480, 360)):
    """A gate-camera image of a container door with ``code`` painted on it.

    Parameters
    ----------
    code : str
        11-character ISO 6346 code.
    rng : numpy.random.Generator
    layout : {"one_line", "two_line", "stacked", "rotated", "rotated_two_line"}
        ``rotated``, ``rotated_two_line`` (:data:`ROTATED_LAYOUTS`): the one-line or two-line code turned by ±90°.
    size_type : str, optional
        4-character size-type code; ``None`` draws one of :data:`SIZE_TYPES`.
    size : (width, height), px

    Returns
    -------
    (PIL.Image.Image, dict)
        The RGB image and its truth: ``code``, ``size_type``, ``layout``,
        ``code_box`` (x0, y0, x1, y1), px, round the code in the image, and
        for the rotated layouts ``rotation_deg`` (+90 or -90, counter-clockwise).
    """
    if layout not in DOOR_LAYOUTS + ROTATED_LAYOUTS:
        raise ValueError(f"layout {layout!r} unknown; use one of {DOOR_LAYOUTS + ROTATED_LAYOUTS}")
    size_type = size_type or str(rng.choice(SIZE_TYPES))
    W, H = int(size[0] * 1.6), int(size[1] * 1.6)  # painted larger, warped down to the camera's size
    colour = pick_livery(rng)
    ink = (20, 20, 20) if sum(colour) > 480 else (240, 240, 240)
    door = Image.new("RGB", (W, H), colour)
    d = ImageDraw.Draw(door)
    _paint_door(d, W, H, colour, rng)
    font = code_font(int(H * rng.uniform(0.045, 0.06)))
    x1, y0 = W * rng.uniform(0.8, 0.85), H * rng.uniform(0.06, 0.12)
    rotation_deg = None
    if layout in ROTATED_LAYOUTS:
        inner = "one_line" if layout == "rotated" else "two_line"
        box, rotation_deg = _paint_rotated(door, code, size_type, W * 0.95, y0, font, ink, rng, inner)
    else:
        box = _paint_code(d, code, size_type, layout, x1, y0, font, ink)
    small = code_font(int(font.size * 0.6))
    d.text((W * 0.55, H * 0.8), f"MAX GROSS {int(rng.integers(24, 33)) * 1000} KG", font=small, fill=ink)
    d.text((W * 0.55, H * 0.8 + small.size * 1.4), f"TARE {int(rng.integers(20, 45)) * 100} KG", font=small, fill=ink)
    d.text((W * 0.06, H * 0.15), str(rng.choice(_WORDS)), font=code_font(int(font.size * 1.3)), fill=shade(ink, 0.9))
    # The door fills most of the frame, seen a little from one side and from above.
    w, h = size
    m = rng.uniform(0.03, 0.1, 4) * (w, h, w, h)
    skew = rng.uniform(-0.06, 0.06) * h
    dst = [(m[0], m[1] + max(skew, 0)), (w - m[2], m[1] + max(-skew, 0)), (w - m[2], h - m[3] - max(-skew, 0)),
           (m[0], h - m[3] - max(skew, 0))]
    coeffs = _coefficients([(0, 0), (W, 0), (W, H), (0, H)], dst)
    ground = tuple(int(v) for v in rng.integers(60, 120, 3))
    img = door.transform((w, h), Image.Transform.PERSPECTIVE, tuple(coeffs), Image.Resampling.BILINEAR, fillcolor=ground)
    corners = _project(coeffs, [(box[0], box[1]), (box[2], box[1]), (box[2], box[3]), (box[0], box[3])])
    xs, ys = zip(*corners)
    light = random_light(rng)
    light.update(motion_blur=False, blur=float(min(light["blur"], 0.8)))
    truth = {"code": code, "size_type": size_type, "layout": layout,
             "code_box": [round(float(min(xs)), 1), round(float(min(ys)), 1), round(float(max(xs)), 1), round(float(max(ys)), 1)]}
    if rotation_deg is not None:
        truth["rotation_deg"] = rotation_deg
    return apply_light(img, light), truth
