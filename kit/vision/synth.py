"""Synthetic yard and gate-camera scenes with COCO annotations and code crops.

Scenes are drawn with Pillow from a list of objects placed on a ground plane
seen by a pinhole camera: the scale in pixels per metre grows linearly below
the horizon, so far containers are small and near ones large. Objects are
painted far to near, which gives occlusion for free; an instance-id image
drawn alongside gives each object's *visible* box (COCO convention) and how
much of it is hidden. Containers carry ISO 6346 codes (valid check digits)
painted with Pillow's default font, so code crops come with their text.

Dimensions are real (ISO 668 container sizes, a cab-over tractor, EUR
pallets, people 1.6–1.9 m); colours are typical shipping-line liveries, not
a standard. See ``datasets/logistics/README.md`` for the card.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from kit.errors import ParameterError
from kit.io import atomic_path, write_json
from kit.vision.iso6346 import DIGITS, LETTERS, check_digit

__all__ = [
    "CATEGORIES",
    "Scene",
    "SceneObject",
    "generate",
    "layout_scene",
    "random_code",
    "render",
    "render_code_crop",
    "render_sequence",
]

CATEGORIES = [
    {"id": 1, "name": "container", "supercategory": "cargo"},
    {"id": 2, "name": "truck", "supercategory": "vehicle"},
    {"id": 3, "name": "pallet", "supercategory": "cargo"},
    {"id": 4, "name": "person", "supercategory": "person"},
]
_CAT_ID = {c["name"]: c["id"] for c in CATEGORIES}
SPLITS = ("train", "val", "test")
#: Bumped when the same seed gives different scenes (2: yard camera set-up, one-way truck lanes;
#: 3: the clip's trucks drive on a cleared road in the near part of the view).
DATA_VERSION = 3

# ISO 668 external dimensions, m.
CONTAINER_LENGTH_M = {"20": 6.058, "40": 12.192, "45": 13.716}
CONTAINER_WIDTH_M = 2.438
CONTAINER_HEIGHT_M = {"standard": 2.591, "high_cube": 2.896}
CODE_LETTER_M = 0.30  # painted letters are at least 100 mm; 250–300 mm is common on sides
# Camera set-up (px per metre at a 256-px image; scaled with image_size). A yard camera is aimed
# and zoomed so that the people and pallets in its watch zone are resolved: people are placed
# where they are at least 12 px tall, pallets where they are at least 7 px wide; farther ground
# holds only stacks and lanes (a far person at 3 px is noise to any camera, not a detection).
YARD_PPM_BOTTOM = (8.0, 16.0)
FAR_ROW_PPM = 4.0  # the farthest stacks and lanes the camera is meant to watch
PERSON_MIN_PPM = 7.5
PALLET_MIN_PPM = 6.0
# Typical liveries (RGB), with weights: blues and reds dominate real yards.
LIVERIES = [
    ((38, 84, 150), 3), ((80, 160, 205), 3), ((165, 40, 35), 3), ((110, 35, 35), 2),
    ((225, 110, 30), 2), ((40, 110, 60), 2), ((215, 175, 45), 1), ((140, 145, 150), 2),
    ((225, 225, 220), 2), ((120, 80, 50), 2), ((30, 120, 130), 1),
]
VEST = [(250, 120, 20), (200, 230, 40), (250, 200, 30)]
CARGO = [(190, 150, 100), (205, 170, 120), (225, 228, 232), (150, 110, 70)]


@functools.lru_cache(maxsize=64)
def _font(px: int):
    return ImageFont.load_default(size=max(1, int(px)))


def random_code(rng) -> str:
    """A random ISO 6346 freight-container code with a correct check digit.

    Examples
    --------
    >>> import numpy as np
    >>> from kit.vision.iso6346 import is_valid
    >>> is_valid(random_code(np.random.default_rng(0)))
    True
    """
    owner = "".join(rng.choice(list(LETTERS), size=3))
    serial = "".join(rng.choice(list(DIGITS), size=6))
    first10 = owner + "U" + serial
    return first10 + str(check_digit(first10))


@dataclass
class SceneObject:
    """One object on the ground plane.

    Attributes
    ----------
    kind : str
        ``container``, ``truck``, ``pallet``, ``person`` or ``post`` (an
        unannotated occluder).
    x : float, px
        Left edge of the object's side face.
    ground_y : float, px
        Image row where the object stands (its base row for stacked containers).
    ppm : float, px per metre
        Scale at that row.
    attrs : dict
        Kind-specific: size, colour, code, stack level, load...
    track_id : int
        Identity across frames of a sequence.
    """

    kind: str
    x: float
    ground_y: float
    ppm: float
    attrs: dict = field(default_factory=dict)
    track_id: int = 0


@dataclass
class Scene:
    """A layout: camera, background and objects; :func:`render` draws it."""

    kind: str
    size: int
    horizon: float  # px from the top
    depth_px_per_m: tuple  # image offset of one metre of depth (top faces)
    background: dict
    light: dict
    objects: list


class _Canvas:
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


def _shade(rgb, f):
    return tuple(int(max(0, min(255, c * f))) for c in rgb)


def _pick_livery(rng):
    colours, w = zip(*LIVERIES)
    w = np.asarray(w, float)
    return colours[rng.choice(len(colours), p=w / w.sum())]


def _container_attrs(rng, length=None):
    length = length or rng.choice(["20", "40", "40", "45"], p=[0.4, 0.35, 0.15, 0.1])
    return {
        "length": str(length),
        "height": rng.choice(["standard", "high_cube"], p=[0.6, 0.4]),
        "colour": _pick_livery(rng),
        "code": random_code(rng),
        "door_end": bool(rng.random() < 0.15),
        "boxed_check": bool(rng.random() < 0.6),
        "two_line": bool(rng.random() < 0.3),
        "level": 0,
    }


def _ppm_at(y, horizon, k):
    return max(0.3, k * (y - horizon))


def _row_for_ppm(ppm, horizon, k, size):
    """Image row where the scale reaches ``ppm`` (at most 0.9 of the image height)."""
    return min(horizon + ppm / k, 0.9 * size)


# --------------------------------------------------------------------------- layouts


def layout_scene(kind: str = "yard", image_size: int = 256, rng=None, seed: int = 0) -> Scene:
    """Place objects for one scene.

    Parameters
    ----------
    kind : {"yard", "gate"}
        ``yard``: an elevated camera over container stacks with trucks,
        pallets and people; ``gate``: a low camera beside a gate lane with
        trucks carrying containers, from overview to close-up.
    image_size : int, px
    rng : numpy.random.Generator, optional
        Used instead of ``seed`` when given.
    seed : int

    Returns
    -------
    Scene
    """
    rng = np.random.default_rng(seed) if rng is None else rng
    if kind == "yard":
        return _layout_yard(rng, image_size)
    if kind == "gate":
        return _layout_gate(rng, image_size)
    raise ParameterError(f"scene kind must be 'yard' or 'gate', got {kind!r}")


def _light(rng):
    night = rng.random() < 0.12
    return {
        "brightness": float(rng.uniform(0.3, 0.5) if night else rng.uniform(0.7, 1.25)),
        "tint": tuple(float(t) for t in (rng.normal(1, 0.06, 3) if not night else (0.85, 0.9, 1.15))),
        "contrast": float(rng.uniform(0.75, 1.15)),
        "shadow": bool(rng.random() < 0.35),
        "glare": bool(rng.random() < 0.2),
        "blur": float(rng.choice([0.0, 0.0, rng.uniform(0.3, 1.4)])),
        "motion_blur": bool(rng.random() < 0.1),
        "noise": float(rng.uniform(10, 18) if night else rng.uniform(1, 8)),
        "seed": int(rng.integers(2**31)),
    }


def _background(rng, kind):
    overcast = rng.random() < 0.35
    sky = (170, 175, 180) if overcast else tuple(int(c) for c in rng.normal((120, 170, 225), 12))
    ground = int(rng.uniform(80, 130))
    return {
        "sky": sky,
        "ground": (ground, ground, ground + int(rng.integers(-5, 6))),
        "cranes": int(rng.integers(0, 4)) if kind == "yard" else int(rng.integers(0, 2)),
        "lane_marks": bool(rng.random() < 0.7),
        "wall": kind == "gate" and rng.random() < 0.6,
        "seed": int(rng.integers(2**31)),
    }


def _layout_yard(rng, size):
    horizon = size * rng.uniform(-0.15, 0.25)  # negative: camera looks down, no sky
    # k sets the zoom: pixels per metre at the bottom row.
    ppm_bottom = rng.uniform(*YARD_PPM_BOTTOM) * size / 256
    k = ppm_bottom / (size - horizon)
    depth = (rng.uniform(-0.35, 0.35), -rng.uniform(0.15, 0.45))  # top-face offset per metre, in ppm units
    objects = []
    # Rows of stacks at several depths, far to near.
    # Rows start where the scale reaches FAR_ROW_PPM (a 20-ft container ~24 px long, 10 px high).
    y = max(horizon + FAR_ROW_PPM * size / 256 / k, size * rng.uniform(0.0, 0.12))
    while y < size * 1.05:
        ppm = _ppm_at(y, horizon, k)
        roll = rng.random()
        if roll < 0.5:  # a row of container stacks, in blocks separated by aisles
            x = rng.uniform(-0.5, 0.1) * size
            length = rng.choice(["20", "40"])
            max_level = int(rng.integers(1, 5))
            while x < size:
                for _ in range(int(rng.integers(1, 6))):
                    attrs = _container_attrs(rng, length if rng.random() < 0.8 else None)
                    width_px = (CONTAINER_WIDTH_M if attrs["door_end"] else CONTAINER_LENGTH_M[attrs["length"]]) * ppm
                    for level in range(int(rng.integers(1, max_level + 1))):
                        a = dict(attrs) if level == 0 else _container_attrs(rng, attrs["length"])
                        a.update(door_end=attrs["door_end"], height=attrs["height"], level=level)
                        objects.append(SceneObject("container", x, y, ppm, a))
                    x += width_px + rng.uniform(0.3, 1.0) * ppm
                x += rng.uniform(4.0, 15.0) * ppm
            y += ppm * rng.uniform(3.5, 6.0)
        elif roll < 0.6:  # open ground
            y += ppm * rng.uniform(3.0, 8.0)
        elif roll < 0.85 or ppm < PALLET_MIN_PPM * size / 256:  # a lane with trucks, one behind the other
            x = rng.uniform(-0.3, 0.5) * size
            for _ in range(int(rng.integers(1, 3))):
                t = _truck(rng, x, y, ppm)
                objects.append(t)
                x += (t.attrs["trailer_m"] + 2.7 + rng.uniform(2.0, 12.0)) * ppm
            y += ppm * rng.uniform(4.5, 6.5)
        else:  # an open strip with pallets
            for _ in range(int(rng.integers(1, 6))):
                objects.append(_pallet(rng, rng.uniform(-0.05, 0.95) * size, y + rng.uniform(-1, 1) * ppm, ppm))
            y += ppm * rng.uniform(2.5, 4.0)
    # People on the ground of the watch zone, pallets near the camera, lamp posts as occluders.
    top = max(horizon + 0.05 * size, _row_for_ppm(PERSON_MIN_PPM * size / 256, horizon, k, size))
    for _ in range(int(rng.poisson(3.0))):
        gy = rng.uniform(top, size * 1.02)
        objects.append(_person(rng, rng.uniform(0, size), gy, _ppm_at(gy, horizon, k)))
    top = max(size * 0.6, _row_for_ppm(PALLET_MIN_PPM * size / 256, horizon, k, size))
    for _ in range(int(rng.poisson(1.0))):
        gy = rng.uniform(top, size * 1.02)
        objects.append(_pallet(rng, rng.uniform(0, size), gy, _ppm_at(gy, horizon, k)))
    for _ in range(int(rng.poisson(0.6))):
        gy = rng.uniform(size * 0.5, size * 1.1)
        objects.append(SceneObject("post", rng.uniform(0, size), gy, _ppm_at(gy, horizon, k), {"height_m": 14.0}))
    return Scene("yard", size, horizon, depth, _background(rng, "yard"), _light(rng), objects)


def _truck(rng, x, ground_y, ppm, loaded=None, facing=None):
    loaded = rng.random() < 0.75 if loaded is None else loaded
    load = _container_attrs(rng, rng.choice(["20", "40", "40", "45"])) if loaded else None
    if load is not None:
        load["door_end"] = False
    return SceneObject(
        "truck",
        x,
        ground_y,
        ppm,
        {
            "cab_colour": tuple(int(c) for c in rng.choice([(200, 30, 30), (230, 230, 230), (30, 60, 140), (240, 200, 40), (60, 60, 60), (20, 110, 60)])),
            "facing": facing if facing is not None else ("right" if rng.random() < 0.5 else "left"),
            "trailer_m": 13.6 if load is None or load["length"] != "20" else 7.8,
            "load": load,
            "box_body": load is None and rng.random() < 0.4,
        },
    )


def _pallet(rng, x, ground_y, ppm):
    return SceneObject(
        "pallet",
        x,
        ground_y,
        ppm,
        {
            "load_m": float(rng.choice([0.0, rng.uniform(0.5, 1.6)], p=[0.2, 0.8])),
            "empty_stack": int(rng.integers(3, 9)),
            "cargo": tuple(int(c) for c in CARGO[rng.integers(len(CARGO))]),
            "wrapped": bool(rng.random() < 0.4),
        },
    )


def _person(rng, x, ground_y, ppm):
    return SceneObject(
        "person",
        x,
        ground_y,
        ppm,
        {
            "height_m": float(rng.uniform(1.6, 1.9)),
            "vest": tuple(VEST[rng.integers(len(VEST))]) if rng.random() < 0.8 else tuple(int(c) for c in rng.integers(30, 200, 3)),
            "helmet": rng.random() < 0.7,
            "stride": float(rng.uniform(-0.25, 0.25)),
        },
    )


def _layout_gate(rng, size):
    horizon = size * rng.uniform(0.25, 0.5)
    ppm_lane = rng.uniform(8.0, 40.0) * size / 256  # overview to close-up
    lane_y = size * rng.uniform(0.8, 1.0)
    k = ppm_lane / (lane_y - horizon)
    objects = []
    if rng.random() < 0.35:  # a second lane behind
        y2 = lane_y - ppm_lane * rng.uniform(4.5, 6.0)
        if y2 > horizon + 0.05 * size:
            objects.append(_truck(rng, rng.uniform(-0.5, 0.6) * size, y2, _ppm_at(y2, horizon, k)))
    truck_len_px = 17.0 * ppm_lane
    x = rng.uniform(-0.8 * truck_len_px, size * 0.2)
    objects.append(_truck(rng, x, lane_y, ppm_lane, loaded=rng.random() < 0.9))
    top = max(horizon + 0.1 * size, _row_for_ppm(PERSON_MIN_PPM * size / 256, horizon, k, size))
    for _ in range(int(rng.poisson(1.5))):
        gy = rng.uniform(top, size * 1.02)
        objects.append(_person(rng, rng.uniform(0, size), gy, _ppm_at(gy, horizon, k)))
    top = max(horizon + 0.1 * size, _row_for_ppm(PALLET_MIN_PPM * size / 256, horizon, k, size))
    for _ in range(int(rng.poisson(0.5))):
        gy = rng.uniform(top, size)
        objects.append(_pallet(rng, rng.uniform(0, size), gy, _ppm_at(gy, horizon, k)))
    if rng.random() < 0.3:
        gy = rng.uniform(lane_y, size * 1.1)
        objects.append(SceneObject("post", rng.uniform(0, size), gy, _ppm_at(gy, horizon, k), {"height_m": 6.0}))
    depth = (0.0, -rng.uniform(0.0, 0.12))
    return Scene("gate", size, horizon, depth, _background(rng, "gate"), _light(rng), objects)


# --------------------------------------------------------------------------- drawing


def _draw_background(c: _Canvas, scene: Scene):
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
        c.d.ellipse((x - r, y - r * 0.4, x + r, y + r * 0.4), fill=_shade(ground, f))


def _face_quad(x0, y0, x1, y1, dx, dy):
    """Top face of a box whose side face spans (x0, y0)-(x1, y1)."""
    return [(x0, y0), (x1, y0), (x1 + dx, y0 + dy), (x0 + dx, y0 + dy)]


def _draw_code(c: _Canvas, attrs, x0, y0, x1, y1, ppm):
    """Paint the code near the top right of a side (or the top of a door end)."""
    letter_px = CODE_LETTER_M * ppm
    font = _font(round(letter_px * 1.3))  # font size is about 1.3× cap height
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


def _draw_container(c, o: SceneObject, scene, oid, base_y=None):
    a, ppm = o.attrs, o.ppm
    length_m = CONTAINER_WIDTH_M if a["door_end"] else CONTAINER_LENGTH_M[a["length"]]
    h = CONTAINER_HEIGHT_M[a["height"]] * ppm
    base = (o.ground_y if base_y is None else base_y) - a["level"] * h
    x0, x1 = o.x, o.x + length_m * ppm
    y0, y1 = base - h, base
    colour = a["colour"]
    dx, dy = scene.depth_px_per_m[0] * ppm * CONTAINER_WIDTH_M, scene.depth_px_per_m[1] * ppm * CONTAINER_WIDTH_M
    if abs(dy) >= 1:
        c.poly(_face_quad(x0, y0, x1, y0, dx, dy), _shade(colour, 1.15), oid)
    c.rect(x0, y0, x1, y1, colour, oid)
    dark = _shade(colour, 0.72)
    # Corrugations on the side, locking bars on a door end.
    step = (0.55 if a["door_end"] else 0.28) * ppm
    if step >= 2:
        xs = np.arange(x0 + step, x1 - step / 2, step)
        for xx in xs:
            c.d.line((xx, y0 + 0.08 * h, xx, y1 - 0.08 * h), fill=dark, width=1)
    c.d.rectangle((x0, y0, x1, y1), outline=_shade(colour, 0.55), width=max(1, round(0.08 * ppm)))
    if a["door_end"] and ppm > 3:
        c.d.line(((x0 + x1) / 2, y0, (x0 + x1) / 2, y1), fill=_shade(colour, 0.45), width=max(1, round(0.05 * ppm)))
    box = _draw_code(c, a, x0, y0, x1, y1, ppm)
    full = (min(x0, x0 + dx), min(y0, y0 + dy), max(x1, x1 + dx), y1)
    return full, box


def _draw_truck(c, o: SceneObject, scene, oid, next_oid):
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
        cfull, cbox = _draw_container(c, co, scene, next_oid)
        child = (co, cfull, cbox)
    return full, child


def _draw_pallet(c, o, scene, oid):
    a, p = o.attrs, o.ppm
    x0, x1 = o.x, o.x + 1.2 * p
    g = o.ground_y
    wood = (160, 120, 75)
    if a["load_m"] == 0:  # a stack of empty pallets
        top = g - a["empty_stack"] * 0.144 * p
        c.rect(x0, top, x1, g, wood, oid)
        for i in range(a["empty_stack"]):
            yy = g - (i + 0.5) * 0.144 * p
            c.d.line((x0, yy, x1, yy), fill=_shade(wood, 0.6))
    else:
        c.rect(x0, g - 0.144 * p, x1, g, wood, oid)
        for fx in (x0 + 0.1 * p, (x0 + x1) / 2, x1 - 0.1 * p):  # gaps between blocks
            c.rect(fx - 0.08 * p, g - 0.1 * p, fx + 0.08 * p, g, _shade(wood, 0.4))
        top = g - 0.144 * p - a["load_m"] * p
        cargo = a["cargo"]
        c.rect(x0 + 0.03 * p, top, x1 - 0.03 * p, g - 0.144 * p, cargo, oid)
        if a["wrapped"]:
            c.rect(x0 + 0.03 * p, top, x1 - 0.03 * p, g - 0.144 * p, None, outline=(235, 235, 240))
        elif p > 8:
            rows = max(1, int(a["load_m"] / 0.4))
            for i in range(1, rows):
                yy = top + i * (g - 0.144 * p - top) / rows
                c.d.line((x0, yy, x1, yy), fill=_shade(cargo, 0.7))
            c.d.line(((x0 + x1) / 2, top, (x0 + x1) / 2, g - 0.144 * p), fill=_shade(cargo, 0.7))
    dx, dy = scene.depth_px_per_m[0] * p * 1.0, scene.depth_px_per_m[1] * p * 1.0
    if abs(dy) >= 1:
        c.poly(_face_quad(x0, top, x1, top, dx, dy), _shade(a["cargo"] if a["load_m"] else wood, 1.15), oid)
    return (min(x0, x0 + dx), min(top, top + dy), max(x1, x1 + dx), g)


def _draw_person(c, o, scene, oid):
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


def _draw_post(c, o, scene):
    p = o.ppm
    w = max(1.0, 0.3 * p)
    c.rect(o.x, o.ground_y - o.attrs["height_m"] * p, o.x + w, o.ground_y, (110, 110, 115), oid=0)
    c.rect(o.x - 0.8 * p, o.ground_y - o.attrs["height_m"] * p, o.x + w + 0.8 * p, o.ground_y - (o.attrs["height_m"] - 0.4) * p, (90, 90, 90), oid=0)


def _apply_light(img: Image.Image, light: dict, blur_scale: float = 1.0) -> Image.Image:
    rng = np.random.default_rng(light["seed"])
    W, H = img.size
    a = np.asarray(img, dtype=np.float32)
    if light["shadow"]:  # a cast shadow across part of the scene
        shadow = Image.new("L", img.size, 0)
        x = rng.uniform(0, W, 2)
        ImageDraw.Draw(shadow).polygon([(x[0], 0), (x[0] + W * 0.4, 0), (x[1] + W * 0.4, H), (x[1], H)], fill=255)
        m = np.asarray(shadow.filter(ImageFilter.GaussianBlur(W / 60)), dtype=np.float32)[..., None] / 255
        a *= 1 - 0.4 * m
    mean = a.mean()
    a = (a - mean) * light["contrast"] + mean
    a *= light["brightness"] * np.asarray(light["tint"], dtype=np.float32)
    if light["glare"]:  # sun or floodlight flare
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        gx, gy = rng.uniform(0, W), rng.uniform(0, H)
        a += 90 * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * (0.25 * W) ** 2))[..., None]
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if light["motion_blur"]:
        out = out.filter(ImageFilter.Kernel((5, 5), [0] * 10 + [1] * 5 + [0] * 10, scale=5))
    if light["blur"] > 0:
        out = out.filter(ImageFilter.GaussianBlur(light["blur"] * blur_scale))
    a = np.asarray(out, dtype=np.float32)
    # Sensor noise has its own seed so a fixed camera keeps its shadows while the noise changes per frame.
    noise_rng = np.random.default_rng(light.get("noise_seed", light["seed"] + 1))
    a += noise_rng.standard_normal(a.shape, dtype=np.float32) * np.float32(light["noise"])
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def render(scene: Scene, min_visible: float = 0.25, min_box_px: float = 3.0):
    """Draw a scene and compute the visible box of each object.

    Parameters
    ----------
    scene : Scene
    min_visible : float, 0–1
        Objects with less than this fraction of their area visible (occluded
        or outside the frame) are left unannotated.
    min_box_px : float, px
        Objects whose visible box is narrower or lower than this are left
        unannotated.

    Returns
    -------
    image : PIL.Image.Image
        RGB, ``scene.size`` square.
    objects : list of dict
        ``category`` (name), ``bbox`` ([x, y, w, h] of visible pixels, px),
        ``area`` (visible pixels), ``visible_fraction``, ``track_id`` and, for
        containers, ``code`` and ``code_box`` ([x, y, w, h], px, only when the
        painted code lies fully inside the frame).
    """
    c = _Canvas(scene.size, scene.background["ground"])
    _draw_background(c, scene)
    drawn = []  # (oid, object, full box, code box)
    order = sorted(scene.objects, key=lambda o: (o.ground_y, o.attrs.get("level", 0)))
    next_id = 1
    s = scene.size

    def count(oid, box):
        x0, y0 = (int(max(0, math.floor(v))) for v in box[:2])
        x1, y1 = (int(min(s, math.ceil(v) + 1)) for v in box[2:])
        if x1 <= x0 or y1 <= y0:
            return 0
        return int((np.asarray(c.ids.crop((x0, y0, x1, y1))) == oid).sum())

    for o in order:
        if next_id > 250:
            break
        if o.kind == "post":
            _draw_post(c, o, scene)
            continue
        oid = next_id
        next_id += 1
        if o.kind == "container":
            full, code_box = _draw_container(c, o, scene, oid)
            drawn.append((oid, o, full, code_box, count(oid, full)))
        elif o.kind == "truck":
            full, child = _draw_truck(c, o, scene, oid, next_id)
            n_truck = count(oid, full)
            drawn.append((oid, o, full, None, n_truck))
            if child is not None:
                co, cfull, cbox = child
                drawn.append((next_id, co, cfull, cbox, count(next_id, cfull)))
                next_id += 1
        elif o.kind == "pallet":
            full = _draw_pallet(c, o, scene, oid)
            drawn.append((oid, o, full, None, count(oid, full)))
        elif o.kind == "person":
            full = _draw_person(c, o, scene, oid)
            drawn.append((oid, o, full, None, count(oid, full)))
        else:
            raise ParameterError(f"unknown scene object kind {o.kind!r}")

    ids = np.asarray(c.ids)
    objects = []
    for oid, o, full, code_box, n_full in drawn:
        x0, y0 = int(max(0, math.floor(full[0]))), int(max(0, math.floor(full[1])))
        x1, y1 = int(min(s, math.ceil(full[2]) + 1)), int(min(s, math.ceil(full[3]) + 1))
        if n_full == 0 or x1 <= x0 or y1 <= y0:
            continue
        mask = ids[y0:y1, x0:x1] == oid
        n_vis = int(mask.sum())
        # Unclipped area, to count the part outside the frame as hidden too.
        n_total = n_full / max(_inside_fraction(full, s), 1e-6)
        visible = n_vis / max(n_total, 1)
        if n_vis == 0 or visible < min_visible:
            continue
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        bx0, by0 = x0 + cols[0], y0 + rows[0]
        bw, bh = cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1
        if bw < min_box_px or bh < min_box_px:
            continue
        rec = {
            "category": o.kind,
            "bbox": [int(bx0), int(by0), int(bw), int(bh)],
            "area": n_vis,
            "visible_fraction": round(min(1.0, visible), 3),
            "track_id": int(o.track_id),
        }
        if o.kind == "container":
            rec["code"] = o.attrs["code"]
            if code_box is not None and code_box[0] >= 0 and code_box[1] >= 0 and code_box[2] <= s and code_box[3] <= s:
                # The code must also be unoccluded to be readable.
                cb = [int(math.floor(code_box[0])), int(math.floor(code_box[1])), int(math.ceil(code_box[2])), int(math.ceil(code_box[3]))]
                if (ids[cb[1] : cb[3], cb[0] : cb[2]] == oid).mean() > 0.97:
                    rec["code_box"] = [cb[0], cb[1], cb[2] - cb[0], cb[3] - cb[1]]
                    rec["code_height_px"] = round(CODE_LETTER_M * o.ppm, 1)
        objects.append(rec)
    image = _apply_light(c.rgb, scene.light, s / 256)
    return image, objects


def _inside_fraction(box, s):
    x0, y0, x1, y1 = box
    w, h = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    iw = max(0.0, min(x1, s) - max(x0, 0))
    ih = max(0.0, min(y1, s) - max(y0, 0))
    return (iw * ih) / (w * h)


# --------------------------------------------------------------------------- code crops


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
    font = _font(font_px)
    colour = _pick_livery(rng)
    ink = (20, 20, 20) if sum(colour) > 480 else (240, 240, 240)
    sep = rng.choice([" ", "  ", "-", "/", " "])
    text = f"{code[:4]}{rng.choice([' ', '  ', ''])}{code[4:10]}"
    tw = font.getlength(text + sep + code[10])
    pad_x, pad_y = int(font_px * rng.uniform(0.2, 0.8)), int(font_px * rng.uniform(0.15, 0.45))
    W, H = int(tw + 2 * pad_x + font_px * 0.4), int(font_px * 1.15 + 2 * pad_y)
    img = Image.new("RGB", (W, H), colour)
    d = ImageDraw.Draw(img)
    step = font_px * rng.uniform(0.4, 0.7)
    dark = _shade(colour, rng.uniform(0.65, 0.85))
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
        d.ellipse((ex - r, ey - r, ex + r, ey + r), fill=_shade((140, 80, 40), rng.uniform(0.7, 1.2)))
    if rng.random() < 0.1:  # a twist lock, strap or shadow crossing one character
        ox = rng.uniform(0, W)
        d.rectangle((ox, 0, ox + font_px * rng.uniform(0.1, 0.3), H), fill=_shade(colour, 0.3))
    img = img.rotate(float(rng.normal(0, 1.5)), resample=Image.BILINEAR, expand=False, fillcolor=colour)
    # Crop jitter, as a detector's box is never exact.
    jx, jy = rng.uniform(-0.04, 0.04, 2) * (W, H)
    img = img.crop((int(jx), int(jy), int(W + jx), int(H + jy)))
    img = img.resize((width, height), Image.BILINEAR)
    light = _light(rng)
    light.update(blur=float(rng.choice([0.0, rng.uniform(0.2, 0.8)])), shadow=False, glare=False, motion_blur=False)
    return _apply_light(img, light)


# --------------------------------------------------------------------------- sequences


def render_sequence(n_frames: int = 40, image_size: int = 256, seed: int = 0, kind: str = "yard", n_trucks: int = 4, n_people: int = 3):
    """Frames from a fixed camera with trucks driving through and people walking.

    Containers, pallets and the background stay still; trucks enter from
    one side at staggered frames and leave at the other, on a two-way road
    in the near part of the view cleared of stacks and pallets, so each
    truck should be counted once (each lane is one-way at one speed and
    trucks keep their distance, as in real traffic); people walk in
    straight lines.

    Parameters
    ----------
    n_frames : int
    image_size : int, px
    seed : int
    kind : {"yard", "gate"}
    n_trucks, n_people : int
        Moving objects over the whole sequence.

    Returns
    -------
    list of (PIL.Image.Image, list of dict)
        One per frame, objects as in :func:`render`, with stable ``track_id``.
    """
    rng = np.random.default_rng(seed)
    base = layout_scene(kind, image_size, rng=rng)
    k = next((o.ppm / (o.ground_y - base.horizon) for o in base.objects if o.ground_y > base.horizon), 10 / image_size)
    # A counting camera is aimed at the road it counts: trucks drive on a two-way road in the near part
    # of the view (near lane's ground row 80-92 % down the image, far lane 4.5 m behind it), cleared of
    # stacks and pallets; the near lane and nearer objects may still hide part of a truck. (Trucks on the
    # layout's own lanes are mostly hidden between far stacks: a clip to test a detector, not counting.)
    near_y = image_size * rng.uniform(0.8, 0.92)
    near_ppm = _ppm_at(near_y, base.horizon, k)
    lanes = [near_y - 4.5 * near_ppm, near_y]
    static = [o for o in base.objects if o.kind not in ("truck", "person")
              and (o.kind == "post" or not lanes[0] - 4.0 * near_ppm < o.ground_y < near_y + 1.0 * near_ppm)]
    track = 1
    movers = []
    # Traffic that could happen: each lane is one-way at one speed and trucks follow each other
    # at least 0.5 truck lengths apart, so they never drive through each other.
    first_right = rng.random() < 0.5
    lane_dir = [first_right, not first_right]
    lane_speed = [rng.uniform(0.35, 0.55) for _ in lanes]  # share of the sequence a truck takes to cross
    lane_free = [rng.uniform(0, 0.25) * n_frames for _ in lanes]  # first frame a new truck may enter the lane
    for i in range(n_trucks):
        lane = i % len(lanes)
        y = lanes[lane]
        ppm = _ppm_at(y, base.horizon, k)
        rightwards = lane_dir[lane]
        t = _truck(rng, 0.0, y, ppm, facing="right" if rightwards else "left")
        length_px = (t.attrs["trailer_m"] + 2.7) * ppm
        speed = (image_size + 17.0 * ppm) / lane_speed[lane] / n_frames  # crosses in 35-55 % of the sequence
        start = lane_free[lane] + rng.uniform(0, 0.1) * n_frames
        lane_free[lane] = start + 1.5 * length_px / speed
        x0 = -length_px if rightwards else image_size
        movers.append((t, x0, speed if rightwards else -speed, 0.0, start))
        t.track_id = track
        track += 1
    for _ in range(n_people):
        top = max(max(base.horizon, 0) + 0.3 * image_size, _row_for_ppm(PERSON_MIN_PPM * image_size / 256, base.horizon, k, image_size))
        gy = rng.uniform(top, image_size)
        ppm = _ppm_at(gy, base.horizon, k)
        p = _person(rng, rng.uniform(0, image_size), gy, ppm)
        p.track_id = track
        track += 1
        v = rng.uniform(0.8, 1.5) * ppm * 0.2  # about 1.2 m/s at 5 frames/s
        ang = rng.uniform(0, 2 * math.pi)
        movers.append((p, p.x, v * math.cos(ang), v * math.sin(ang) * 0.3, 0.0))
    frames = []
    for f in range(n_frames):
        objs = list(static)
        for o, x0, vx, vy, start in movers:
            if o.kind == "truck":
                if f < start:
                    continue
                moved = replace(o, x=x0 + vx * (f - start))
            else:
                gy = o.ground_y + vy * f
                moved = replace(o, x=x0 + vx * f, ground_y=gy, ppm=_ppm_at(gy, base.horizon, k),
                                attrs={**o.attrs, "stride": o.attrs["stride"] * (-1) ** (f // 2)})
            objs.append(moved)
        light = dict(base.light, noise_seed=int(base.light["seed"]) + 1 + f)
        frames.append(render(replace(base, objects=objs, light=light)))
    return frames


# --------------------------------------------------------------------------- writing


def _assign_split(rng, fractions):
    return SPLITS[int(rng.choice(3, p=np.asarray(fractions) / np.sum(fractions)))]


def generate(
    output_dir,
    n_images: int = 600,
    image_size: int = 256,
    seed: int = 0,
    split_fractions=(0.7, 0.15, 0.15),
    gate_fraction: float = 0.35,
    n_code_crops: int = 1500,
    crop_size=(32, 160),
    sequence_frames: int = 40,
    image_format: str = "jpg",
):
    """Write a synthetic logistics data set as a COCO folder.

    Layout written::

        output_dir/
          annotations.json      COCO: images (with "split"), annotations, categories
          images/000001.jpg ...
          code_crops.json       [{"file_name", "text", "split", "source", ...}]
          crops/000001.png ...
          sequence/annotations.json, sequence/images/...   (a fixed-camera clip)

    Parameters
    ----------
    output_dir : path
    n_images : int
        Still scenes.
    image_size : int, px
    seed : int
        Same seed, same files (on the same Pillow and FreeType versions, which
        render the font).
    split_fractions : tuple of 3 floats
        Train, val, test shares; assigned per image (and per crop).
    gate_fraction : float, 0–1
        Share of gate-camera scenes; the rest are yard scenes.
    n_code_crops : int
        Rendered code crops, on top of the crops cut from scenes where the
        painted code is at least 8 px high.
    crop_size : (height, width), px
    sequence_frames : int
        Frames of the fixed-camera clip; 0 for none.
    image_format : {"jpg", "png"}

    Returns
    -------
    pathlib.Path
        ``output_dir``.

    Examples
    --------
    >>> import tempfile, json
    >>> out = generate(tempfile.mkdtemp(), n_images=4, n_code_crops=2, sequence_frames=0, image_size=96)
    >>> coco = json.loads((out / "annotations.json").read_text())
    >>> len(coco["images"]), [c["name"] for c in coco["categories"]]
    (4, ['container', 'truck', 'pallet', 'person'])
    """
    if n_images < 0 or n_code_crops < 0 or sequence_frames < 0:
        raise ParameterError("n_images, n_code_crops and sequence_frames must be >= 0")
    if image_size < 32:
        raise ParameterError(f"image_size must be >= 32 px, got {image_size}")
    if image_format not in ("jpg", "png"):
        raise ParameterError(f"image_format must be 'jpg' or 'png', got {image_format!r}")
    if len(split_fractions) != 3 or min(split_fractions) < 0 or sum(split_fractions) <= 0:
        raise ParameterError(f"split_fractions must be three non-negative shares (train, val, test), got {split_fractions!r}")
    out = Path(output_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images, annotations, crops = [], [], []
    crop_dir = out / "crops"
    crop_dir.mkdir(exist_ok=True)
    ann_id = 1
    ch, cw = crop_size
    for i in range(1, n_images + 1):
        kind = "gate" if rng.random() < gate_fraction else "yard"
        split = _assign_split(rng, split_fractions)
        scene = layout_scene(kind, image_size, rng=rng)
        img, objs = render(scene)
        name = f"images/{i:06d}.{image_format}"
        _save(img, out / name)
        images.append({"id": i, "file_name": name, "width": image_size, "height": image_size, "split": split, "scene": kind})
        for o in objs:
            ann = {
                "id": ann_id,
                "image_id": i,
                "category_id": _CAT_ID[o["category"]],
                "bbox": o["bbox"],
                "area": o["area"],
                "iscrowd": 0,
                "visible_fraction": o["visible_fraction"],
            }
            if "code" in o:
                ann["code"] = o["code"]
            if "code_box" in o:
                ann["code_box"] = o["code_box"]
                if o["code_height_px"] >= 8:
                    x, y, w, h = o["code_box"]
                    crop = img.crop((x, y, x + w, y + h)).resize((cw, ch), Image.BILINEAR)
                    cname = f"crops/{len(crops) + 1:06d}.png"
                    _save(crop, out / cname)
                    crops.append({"id": len(crops) + 1, "file_name": cname, "text": o["code"], "split": split,
                                  "source": "scene", "image_id": i, "annotation_id": ann_id})
            annotations.append(ann)
            ann_id += 1
    crop_rng = np.random.default_rng([seed, 1])
    for _ in range(n_code_crops):
        code = random_code(crop_rng)
        img = render_code_crop(code, crop_rng, ch, cw)
        cname = f"crops/{len(crops) + 1:06d}.png"
        _save(img, out / cname)
        crops.append({"id": len(crops) + 1, "file_name": cname, "text": code,
                      "split": _assign_split(crop_rng, split_fractions), "source": "rendered"})
    info = {"description": "kit.vision.synth synthetic logistics scenes", "generator": "kit.vision.synth.generate",
            "seed": seed, "image_size": image_size, "version": DATA_VERSION}
    write_json(out / "code_crops.json", {"info": info, "crops": crops})
    if sequence_frames:
        _write_sequence(out / "sequence", sequence_frames, image_size, [seed, 2], image_format)
    # Written last: a folder with annotations.json is complete.
    write_json(out / "annotations.json", {"info": info, "images": images, "annotations": annotations, "categories": CATEGORIES})
    return out


def _write_sequence(folder, n_frames, image_size, seed, image_format):
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    frames = render_sequence(n_frames, image_size, seed=int(np.random.default_rng(seed).integers(2**31)), kind="yard")
    images, annotations, ann_id = [], [], 1
    for f, (img, objs) in enumerate(frames):
        name = f"images/{f:06d}.{image_format}"
        _save(img, folder / name)
        images.append({"id": f + 1, "file_name": name, "width": image_size, "height": image_size, "split": "test",
                       "sequence_id": 1, "frame_index": f})
        for o in objs:
            annotations.append({"id": ann_id, "image_id": f + 1, "category_id": _CAT_ID[o["category"]], "bbox": o["bbox"],
                                "area": o["area"], "iscrowd": 0, "track_id": o["track_id"],
                                "visible_fraction": o["visible_fraction"], **({"code": o["code"]} if "code" in o else {})})
            ann_id += 1
    write_json(folder / "annotations.json", {"info": {"description": "fixed-camera clip, kit.vision.synth"},
                                             "images": images, "annotations": annotations, "categories": CATEGORIES})


def _save(img: Image.Image, path: Path):
    with atomic_path(path) as tmp:
        if path.suffix == ".jpg":
            img.save(tmp, format="JPEG", quality=90)
        else:
            img.save(tmp, format="PNG", compress_level=1)
