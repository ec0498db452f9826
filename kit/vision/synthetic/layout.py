"""Placing the objects of one scene: yard and gate camera layouts, drawn from a random generator.

Every draw comes from the generator passed in, in a fixed order, so the
same seed gives the same scene (bump
:data:`kit.vision.synthetic.dataset.DATA_VERSION` when a change alters it).
"""
from __future__ import annotations

import numpy as np

from kit.errors import ParameterError
from kit.vision.synthetic.lighting import random_light
from kit.vision.synthetic.scene import (CARGO, CONTAINER_LENGTH_M, CONTAINER_WIDTH_M, FAR_ROW_PPM, PALLET_MIN_PPM,
                                        PERSON_MIN_PPM, VEST, YARD_PPM_BOTTOM, Scene, SceneObject, pick_livery, ppm_at,
                                        random_code, row_for_ppm)


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
        ppm = ppm_at(y, horizon, k)
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
                t = make_truck(rng, x, y, ppm)
                objects.append(t)
                x += (t.attrs["trailer_m"] + 2.7 + rng.uniform(2.0, 12.0)) * ppm
            y += ppm * rng.uniform(4.5, 6.5)
        else:  # an open strip with pallets
            for _ in range(int(rng.integers(1, 6))):
                objects.append(make_pallet(rng, rng.uniform(-0.05, 0.95) * size, y + rng.uniform(-1, 1) * ppm, ppm))
            y += ppm * rng.uniform(2.5, 4.0)
    # People on the ground of the watch zone, pallets near the camera, lamp posts as occluders.
    top = max(horizon + 0.05 * size, row_for_ppm(PERSON_MIN_PPM * size / 256, horizon, k, size))
    for _ in range(int(rng.poisson(3.0))):
        gy = rng.uniform(top, size * 1.02)
        objects.append(make_person(rng, rng.uniform(0, size), gy, ppm_at(gy, horizon, k)))
    top = max(size * 0.6, row_for_ppm(PALLET_MIN_PPM * size / 256, horizon, k, size))
    for _ in range(int(rng.poisson(1.0))):
        gy = rng.uniform(top, size * 1.02)
        objects.append(make_pallet(rng, rng.uniform(0, size), gy, ppm_at(gy, horizon, k)))
    for _ in range(int(rng.poisson(0.6))):
        gy = rng.uniform(size * 0.5, size * 1.1)
        objects.append(SceneObject("post", rng.uniform(0, size), gy, ppm_at(gy, horizon, k), {"height_m": 14.0}))
    return Scene("yard", size, horizon, depth, _background(rng, "yard"), random_light(rng), objects)


def _layout_gate(rng, size):
    horizon = size * rng.uniform(0.25, 0.5)
    ppm_lane = rng.uniform(8.0, 40.0) * size / 256  # overview to close-up
    lane_y = size * rng.uniform(0.8, 1.0)
    k = ppm_lane / (lane_y - horizon)
    objects = []
    if rng.random() < 0.35:  # a second lane behind
        y2 = lane_y - ppm_lane * rng.uniform(4.5, 6.0)
        if y2 > horizon + 0.05 * size:
            objects.append(make_truck(rng, rng.uniform(-0.5, 0.6) * size, y2, ppm_at(y2, horizon, k)))
    truck_len_px = 17.0 * ppm_lane
    x = rng.uniform(-0.8 * truck_len_px, size * 0.2)
    objects.append(make_truck(rng, x, lane_y, ppm_lane, loaded=rng.random() < 0.9))
    top = max(horizon + 0.1 * size, row_for_ppm(PERSON_MIN_PPM * size / 256, horizon, k, size))
    for _ in range(int(rng.poisson(1.5))):
        gy = rng.uniform(top, size * 1.02)
        objects.append(make_person(rng, rng.uniform(0, size), gy, ppm_at(gy, horizon, k)))
    top = max(horizon + 0.1 * size, row_for_ppm(PALLET_MIN_PPM * size / 256, horizon, k, size))
    for _ in range(int(rng.poisson(0.5))):
        gy = rng.uniform(top, size)
        objects.append(make_pallet(rng, rng.uniform(0, size), gy, ppm_at(gy, horizon, k)))
    if rng.random() < 0.3:
        gy = rng.uniform(lane_y, size * 1.1)
        objects.append(SceneObject("post", rng.uniform(0, size), gy, ppm_at(gy, horizon, k), {"height_m": 6.0}))
    depth = (0.0, -rng.uniform(0.0, 0.12))
    return Scene("gate", size, horizon, depth, _background(rng, "gate"), random_light(rng), objects)


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


def _container_attrs(rng, length=None):
    """Size, livery, code and painting style of one container; ``length`` ("20", "40", "45") is drawn when not given."""
    length = length or rng.choice(["20", "40", "40", "45"], p=[0.4, 0.35, 0.15, 0.1])
    return {
        "length": str(length),
        "height": rng.choice(["standard", "high_cube"], p=[0.6, 0.4]),
        "colour": pick_livery(rng),
        "code": random_code(rng),
        "door_end": bool(rng.random() < 0.15),
        "boxed_check": bool(rng.random() < 0.6),
        "two_line": bool(rng.random() < 0.3),
        "level": 0,
    }


def make_truck(rng, x, ground_y, ppm, loaded=None, facing=None):
    """A tractor and trailer standing at ``ground_y`` (px), loaded with a container three times in four.

    ``loaded`` and ``facing`` (``"left"`` or ``"right"``) are drawn when not given.
    """
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


def make_pallet(rng, x, ground_y, ppm):
    """A EUR pallet (1.2 m) with cargo, or a stack of empty pallets, at ``ground_y`` (px)."""
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


def make_person(rng, x, ground_y, ppm):
    """A person 1.6–1.9 m tall, mostly in a high-visibility vest, standing at ``ground_y`` (px)."""
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
