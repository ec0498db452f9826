"""The scene model: objects on a ground plane, the camera's scale, and real sizes and colours.

A :class:`Scene` is what :func:`~kit.vision.synthetic.layout.layout_scene`
places and :func:`~kit.vision.synthetic.rendering.render` draws: a camera
(horizon row and the linear growth of pixels per metre below it), a
background, the light and a list of :class:`SceneObject`. Dimensions are
real (ISO 668 container sizes, EUR pallets, people 1.6–1.9 m); colours are
typical shipping-line liveries, not a standard. Containers carry ISO 6346
codes with valid check digits (:func:`random_code`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kit.vision.iso6346 import DIGITS, LETTERS, check_digit

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
    """A layout: camera, background and objects; :func:`kit.vision.synthetic.render` draws it."""

    kind: str
    size: int
    horizon: float  # px from the top
    depth_px_per_m: tuple  # image offset of one metre of depth (top faces)
    background: dict
    light: dict
    objects: list


def pick_livery(rng):
    """A livery colour (RGB) drawn from :data:`LIVERIES` by weight."""
    colours, w = zip(*LIVERIES)
    w = np.asarray(w, float)
    return colours[rng.choice(len(colours), p=w / w.sum())]


def ppm_at(y, horizon, k):
    """Scale at image row ``y``, px per metre: ``k`` per row below the horizon, at least 0.3."""
    return max(0.3, k * (y - horizon))


def row_for_ppm(ppm, horizon, k, size):
    """Image row where the scale reaches ``ppm`` (at most 0.9 of the image height)."""
    return min(horizon + ppm / k, 0.9 * size)
