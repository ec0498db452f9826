"""Painting scene objects with Pillow: containers with their codes, trucks, pallets, people, posts.

Each painter draws on a :class:`Canvas`, an RGB image and an instance-id
image kept in step, and returns the object's full box (px, before
occlusion); :func:`kit.vision.synthetic.rendering.render` turns the id image
into visible boxes.
"""
from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from kit.vision.synthetic.scene import (CODE_LETTER_M, CONTAINER_HEIGHT_M, CONTAINER_LENGTH_M, CONTAINER_WIDTH_M, Scene,
                                        SceneObject)


@functools.lru_cache(maxsize=64)
def code_font(px: int):
    """Pillow's default font at ``px`` (at least 1), the font codes are painted with; cached."""
    return ImageFont.load_default(size=max(1, int(px)))


class Canvas:
    """An RGB image and an instance-id image drawn in step."""

    def __init__(self, size, rgb_bg):
        self.size = size
        self.rgb = Image.new("RGB", (size, size), rgb_bg)
        self.ids = Image.new("L", (size, size), 0)
        self.d = ImageDraw.Draw(self.rgb)
        self.di = ImageDraw.Draw(self.ids)

    def poly(self, pts, fill, oid=None, outline=None):
        self.d.polygon(pts, fill=fill, outline=outline)
        if oid is not None:
            self.di.polygon(pts, fill=oid)

    def rect(self, x0, y0, x1, y1, fill, oid=None, outline=None):
        if x1 < x0 or y1 < y0:
            return
        self.d.rectangle((x0, y0, x1, y1), fill=fill, outline=outline)
        if oid is not None:
            self.di.rectangle((x0, y0, x1, y1), fill=oid)

    def ellipse(self, x0, y0, x1, y1, fill, oid=None):
        self.d.ellipse((x0, y0, x1, y1), fill=fill)
        if oid is not None:
            self.di.ellipse((x0, y0, x1, y1), fill=oid)


def shade(rgb, f):
    """``rgb`` scaled by ``f`` (darker below 1, lighter above), clipped to 0–255."""
    return tuple(int(max(0, min(255, c * f))) for c in rgb)


def draw_background(c: Canvas, scene: Scene):
    """Sky with cranes and a wall above the horizon, ground with lane marks and stains below; not annotated."""
    s, h, bg = scene.size, scene.horizon, scene.background
    rng = np.random.default_rng(bg["seed"])
    if h > 0:
        c.rect(0, 0, s, h, bg["sky"])
        for _ in range(bg["cranes"]):  # ship-to-shore cranes on the skyline
            cx, cw = rng.uniform(0, s), rng.uniform(0.06, 0.15) * s
            top = h - rng.uniform(0.1, 0.3) * s
            col = (150, 40, 40) if rng.random() < 0.5 else (120, 120, 125)
            for lx in (cx, cx + cw):
                c.d.line((lx, h, lx, top), fill=col, width=2)
            c.d.line((cx - 0.6 * cw, top + 3, cx + 1.8 * cw, top + 3), fill=col, width=2)
        if bg["wall"]:
            c.rect(0, h - 0.12 * s, s, h, (185, 180, 170))
    ground = bg["ground"]
    c.rect(0, max(h, 0), s, s, ground)
    if bg["lane_marks"]:
        for _ in range(int(rng.integers(2, 6))):
            y = rng.uniform(max(h, 0), s)
            w = max(1, int((y - h) / s * 4))
            col = (220, 220, 215) if rng.random() < 0.7 else (220, 190, 40)
            c.d.line((0, y, s, y + rng.uniform(-0.05, 0.05) * s), fill=col, width=w)
    # Stains and patches so the ground is not a flat colour.
    for _ in range(int(rng.integers(3, 10))):
        x, y = rng.uniform(0, s), rng.uniform(max(h, 0), s)
        r = rng.uniform(0.02, 0.12) * s
        f = rng.uniform(0.85, 1.1)
        c.d.ellipse((x - r, y - r * 0.4, x + r, y + r * 0.4), fill=shade(ground, f))


def _face_quad(x0, y0, x1, y1, dx, dy):
    """Top face of a box whose side face spans (x0, y0)-(x1, y1)."""
    return [(x0, y0), (x1, y0), (x1 + dx, y0 + dy), (x0 + dx, y0 + dy)]


def _draw_code(c: Canvas, attrs, x0, y0, x1, y1, ppm):
    """Paint the code near the top right of a side (or the top of a door end)."""
    letter_px = CODE_LETTER_M * ppm
    font = code_font(round(letter_px * 1.3))  # font size is about 1.3× cap height
    colour = (20, 20, 20) if sum(attrs["colour"]) > 480 else (240, 240, 240)
    code = attrs["code"]
    lines = [code[:4], code[4:10]] if attrs["two_line"] else [f"{code[:4]} {code[4:10]}"]
    gap = letter_px * 0.6
    widths = [font.getlength(t) for t in lines]
    check_w = font.getlength(code[10])
    total_w = max(widths[-1] + gap + check_w, widths[0])
    line_h = letter_px * 1.4
    tx = x1 - total_w - 0.4 * ppm if not attrs["door_end"] else (x0 + x1 - total_w) / 2
    ty = y0 + 0.35 * ppm
    if total_w > (x1 - x0) * 0.95 or ty + line_h * len(lines) > y1:
        return None
    if letter_px < 3:
        # Below 3 px a camera sees a smudge, not letters: paint the smudge (and skip slow text rendering).
        smudge = tuple((a + b) // 2 for a, b in zip(colour, attrs["colour"]))
        for i in range(len(lines)):
            c.d.rectangle((tx, ty + i * line_h, tx + total_w, ty + i * line_h + letter_px), fill=smudge)
        return (tx - gap * 0.5, ty - letter_px * 0.4, tx + total_w + gap * 0.5, ty + (len(lines) - 1) * line_h + letter_px * 1.4)
    top = font.getbbox("M")[1]
    for i, t in enumerate(lines):
        c.d.text((tx, ty + i * line_h - top), t, font=font, fill=colour)
    cx = tx + widths[-1] + gap
    cy = ty + (len(lines) - 1) * line_h
    c.d.text((cx, cy - top), code[10], font=font, fill=colour)
    if attrs["boxed_check"] and letter_px >= 3:
        pad = letter_px * 0.2
        c.d.rectangle((cx - pad, cy - pad, cx + check_w + pad, cy + letter_px + pad), outline=colour, width=max(1, round(letter_px / 8)))
    return (tx - gap * 0.5, ty - letter_px * 0.4, tx + total_w + gap * 0.5, cy + letter_px * 1.4)


def draw_container(c, o: SceneObject, scene, oid, base_y=None):
    """Paint a container (side or door end, top face, code); returns its full box and its code box (px)."""
    a, ppm = o.attrs, o.ppm
    length_m = CONTAINER_WIDTH_M if a["door_end"] else CONTAINER_LENGTH_M[a["length"]]
    h = CONTAINER_HEIGHT_M[a["height"]] * ppm
    base = (o.ground_y if base_y is None else base_y) - a["level"] * h
    x0, x1 = o.x, o.x + length_m * ppm
    y0, y1 = base - h, base
    colour = a["colour"]
    dx, dy = scene.depth_px_per_m[0] * ppm * CONTAINER_WIDTH_M, scene.depth_px_per_m[1] * ppm * CONTAINER_WIDTH_M
    if abs(dy) >= 1:
        c.poly(_face_quad(x0, y0, x1, y0, dx, dy), shade(colour, 1.15), oid)
    c.rect(x0, y0, x1, y1, colour, oid)
    dark = shade(colour, 0.72)
    # Corrugations on the side, locking bars on a door end.
    step = (0.55 if a["door_end"] else 0.28) * ppm
    if step >= 2:
        xs = np.arange(x0 + step, x1 - step / 2, step)
        for xx in xs:
            c.d.line((xx, y0 + 0.08 * h, xx, y1 - 0.08 * h), fill=dark, width=1)
    c.d.rectangle((x0, y0, x1, y1), outline=shade(colour, 0.55), width=max(1, round(0.08 * ppm)))
    if a["door_end"] and ppm > 3:
        c.d.line(((x0 + x1) / 2, y0, (x0 + x1) / 2, y1), fill=shade(colour, 0.45), width=max(1, round(0.05 * ppm)))
    box = _draw_code(c, a, x0, y0, x1, y1, ppm)
    full = (min(x0, x0 + dx), min(y0, y0 + dy), max(x1, x1 + dx), y1)
    return full, box


def draw_truck(c, o: SceneObject, scene, oid, next_oid):
    """Paint a truck in side view; returns its full box and, when loaded, ``(container, full box, code box)``.

    The load is painted with id ``next_oid``: it is annotated as a container of its own.
    """
    a, p = o.attrs, o.ppm
    trailer = a["trailer_m"] * p
    cab_w = 2.4 * p
    left = a["facing"] == "left"
    # Side view: the trailer and the cab, facing left or right.
    tx0 = o.x + (cab_w + 0.3 * p if left else 0)
    tx1 = tx0 + trailer
    cx0 = o.x if left else tx1 + 0.3 * p
    cx1 = cx0 + cab_w
    g = o.ground_y
    deck = g - 1.35 * p
    wheel_r = 0.5 * p
    c.rect(tx0, deck - 0.25 * p, tx1, deck, (45, 45, 50), oid)  # chassis
    c.rect(min(tx0, cx0), deck - 0.1 * p, max(tx1, cx1), deck + 0.1 * p, (40, 40, 40), oid)  # coupling beam
    cab_top = g - 3.2 * p
    col = a["cab_colour"]
    c.rect(cx0, cab_top, cx1, g - 0.7 * p, col, oid)
    win_x0, win_x1 = (cx0 + 0.15 * p, cx0 + 1.1 * p) if left else (cx1 - 1.1 * p, cx1 - 0.15 * p)
    c.rect(win_x0, cab_top + 0.3 * p, win_x1, cab_top + 1.2 * p, (60, 80, 100))
    if a["box_body"]:
        c.rect(tx0, g - 4.0 * p, tx1, deck - 0.25 * p, (215, 215, 210), oid, outline=(150, 150, 150))
    if left:
        wheels = [cx0 + 0.6 * p, cx1 - 0.6 * p] + [tx1 - 1.0 * p - i * 1.3 * p for i in range(3)]
    else:
        wheels = [cx1 - 0.6 * p, cx0 + 0.6 * p] + [tx0 + 1.0 * p + i * 1.3 * p for i in range(3)]
    for wx in wheels:
        c.ellipse(wx - wheel_r, g - 2 * wheel_r, wx + wheel_r, g, (25, 25, 25), oid)
        if wheel_r >= 2:
            c.ellipse(wx - wheel_r / 2, g - 1.5 * wheel_r, wx + wheel_r / 2, g - 0.5 * wheel_r, (150, 150, 150))
    full = (min(tx0, cx0), cab_top if not a["box_body"] else min(cab_top, g - 4.0 * p), max(tx1, cx1), g)
    child = None
    if a["load"] is not None:
        load = a["load"]
        lx = tx0 + (trailer - CONTAINER_LENGTH_M[load["length"]] * p) / 2
        # The load keeps its own identity: track ids of loads are the truck's plus 100000.
        co = SceneObject("container", lx, deck - 0.25 * p, p, load, o.track_id + 100000 if o.track_id else 0)
        cfull, cbox = draw_container(c, co, scene, next_oid)
        child = (co, cfull, cbox)
    return full, child


def draw_pallet(c, o, scene, oid):
    """Paint a loaded pallet or a stack of empty ones; returns its full box (px)."""
    a, p = o.attrs, o.ppm
    x0, x1 = o.x, o.x + 1.2 * p
    g = o.ground_y
    wood = (160, 120, 75)
    if a["load_m"] == 0:  # a stack of empty pallets
        top = g - a["empty_stack"] * 0.144 * p
        c.rect(x0, top, x1, g, wood, oid)
        for i in range(a["empty_stack"]):
            yy = g - (i + 0.5) * 0.144 * p
            c.d.line((x0, yy, x1, yy), fill=shade(wood, 0.6))
    else:
        c.rect(x0, g - 0.144 * p, x1, g, wood, oid)
        for fx in (x0 + 0.1 * p, (x0 + x1) / 2, x1 - 0.1 * p):  # gaps between blocks
            c.rect(fx - 0.08 * p, g - 0.1 * p, fx + 0.08 * p, g, shade(wood, 0.4))
        top = g - 0.144 * p - a["load_m"] * p
        cargo = a["cargo"]
        c.rect(x0 + 0.03 * p, top, x1 - 0.03 * p, g - 0.144 * p, cargo, oid)
        if a["wrapped"]:
            c.rect(x0 + 0.03 * p, top, x1 - 0.03 * p, g - 0.144 * p, None, outline=(235, 235, 240))
        elif p > 8:
            rows = max(1, int(a["load_m"] / 0.4))
            for i in range(1, rows):
                yy = top + i * (g - 0.144 * p - top) / rows
                c.d.line((x0, yy, x1, yy), fill=shade(cargo, 0.7))
            c.d.line(((x0 + x1) / 2, top, (x0 + x1) / 2, g - 0.144 * p), fill=shade(cargo, 0.7))
    dx, dy = scene.depth_px_per_m[0] * p * 1.0, scene.depth_px_per_m[1] * p * 1.0
    if abs(dy) >= 1:
        c.poly(_face_quad(x0, top, x1, top, dx, dy), shade(a["cargo"] if a["load_m"] else wood, 1.15), oid)
    return (min(x0, x0 + dx), min(top, top + dy), max(x1, x1 + dx), g)


def draw_person(c, o, scene, oid):
    """Paint a person (legs mid-stride, vest, head, maybe a helmet); returns the full box (px)."""
    a, p = o.attrs, o.ppm
    h = a["height_m"] * p
    cx, g = o.x, o.ground_y
    w = 0.45 * p
    head = 0.24 * p
    legs = (60, 60, 80)
    stride = a["stride"] * p
    c.poly([(cx - w * 0.35, g - 0.48 * h), (cx + w * 0.35, g - 0.48 * h), (cx + w * 0.3 + stride, g), (cx + w * 0.05 + stride, g),
            (cx, g - 0.35 * h), (cx - w * 0.05 - stride, g), (cx - w * 0.3 - stride, g)], legs, oid)
    c.rect(cx - w / 2, g - 0.82 * h, cx + w / 2, g - 0.46 * h, a["vest"], oid)
    c.ellipse(cx - head / 2, g - h, cx + head / 2, g - h + head, (190, 150, 120), oid)
    if a["helmet"]:
        c.poly([(cx - head * 0.6, g - h + head * 0.4), (cx + head * 0.6, g - h + head * 0.4), (cx, g - h - head * 0.1)], (245, 235, 80), oid)
    return (cx - w / 2 - abs(stride), g - h - head * 0.1, cx + w / 2 + abs(stride), g)


def draw_post(c, o, scene):
    """Paint a lamp post: an occluder drawn with id 0, so it hides what is behind it and is not annotated."""
    p = o.ppm
    w = max(1.0, 0.3 * p)
    c.rect(o.x, o.ground_y - o.attrs["height_m"] * p, o.x + w, o.ground_y, (110, 110, 115), oid=0)
    c.rect(o.x - 0.8 * p, o.ground_y - o.attrs["height_m"] * p, o.x + w + 0.8 * p, o.ground_y - (o.attrs["height_m"] - 0.4) * p, (90, 90, 90), oid=0)
