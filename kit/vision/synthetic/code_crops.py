"""Code crops: one painted ISO 6346 code as a recognizer sees it after detection."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from kit.vision.synthetic.lighting import apply_light, random_light
from kit.vision.synthetic.painting import code_font, shade
from kit.vision.synthetic.scene import pick_livery


def render_code_crop(code: str, rng, height: int = 32, width: int = 160) -> Image.Image:
    """A one-line crop of a painted code, as a recognizer sees it after detection.

    The code is painted on a corrugated livery colour at high resolution,
    with its layout (spaces, a hyphen or slash, a boxed check digit), then
    rotated slightly, stained, partly occluded, lit, blurred, noised and
    downsampled to ``height`` × ``width``.

    Parameters
    ----------
    code : str
        11-character code (the label is this, without layout).
    rng : numpy.random.Generator
    height, width : int, px

    Returns
    -------
    PIL.Image.Image, RGB
    """
    font_px = int(rng.integers(34, 48))
    font = code_font(font_px)
    colour = pick_livery(rng)
    ink = (20, 20, 20) if sum(colour) > 480 else (240, 240, 240)
    sep = rng.choice([" ", "  ", "-", "/", " "])
    text = f"{code[:4]}{rng.choice([' ', '  ', ''])}{code[4:10]}"
    tw = font.getlength(text + sep + code[10])
    pad_x, pad_y = int(font_px * rng.uniform(0.2, 0.8)), int(font_px * rng.uniform(0.15, 0.45))
    W, H = int(tw + 2 * pad_x + font_px * 0.4), int(font_px * 1.15 + 2 * pad_y)
    img = Image.new("RGB", (W, H), colour)
    d = ImageDraw.Draw(img)
    step = font_px * rng.uniform(0.4, 0.7)
    dark = shade(colour, rng.uniform(0.65, 0.85))
    phase = rng.uniform(0, step)
    for xx in np.arange(phase, W, step):
        d.line((xx, 0, xx, H), fill=dark, width=max(1, font_px // 12))
    top = font.getbbox("M")[1]
    x, y = pad_x, pad_y
    d.text((x, y - top), text + sep, font=font, fill=ink)
    cx = x + font.getlength(text + sep)
    d.text((cx, y - top), code[10], font=font, fill=ink)
    if rng.random() < 0.6:
        cap = font.getbbox("0")[3] - top
        d.rectangle((cx - 4, y - 4, cx + font.getlength(code[10]) + 4, y + cap + 4), outline=ink, width=max(2, font_px // 14))
    for _ in range(int(rng.poisson(0.8))):  # rust and dirt
        r = rng.uniform(0.04, 0.18) * H
        ex, ey = rng.uniform(0, W), rng.uniform(0, H)
        d.ellipse((ex - r, ey - r, ex + r, ey + r), fill=shade((140, 80, 40), rng.uniform(0.7, 1.2)))
    if rng.random() < 0.1:  # a twist lock, strap or shadow crossing one character
        ox = rng.uniform(0, W)
        d.rectangle((ox, 0, ox + font_px * rng.uniform(0.1, 0.3), H), fill=shade(colour, 0.3))
    img = img.rotate(float(rng.normal(0, 1.5)), resample=Image.BILINEAR, expand=False, fillcolor=colour)
    # Crop jitter, as a detector's box is never exact.
    jx, jy = rng.uniform(-0.04, 0.04, 2) * (W, H)
    img = img.crop((int(jx), int(jy), int(W + jx), int(H + jy)))
    img = img.resize((width, height), Image.BILINEAR)
    light = random_light(rng)
    light.update(blur=float(rng.choice([0.0, rng.uniform(0.2, 0.8)])), shadow=False, glare=False, motion_blur=False)
    return apply_light(img, light)
