"""A fixed-camera clip: trucks driving through a yard scene and people walking, with stable track ids."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from kit.vision.synthetic.layout import layout_scene, make_person, make_truck
from kit.vision.synthetic.rendering import render
from kit.vision.synthetic.scene import PERSON_MIN_PPM, ppm_at, row_for_ppm


def render_sequence(n_frames: int = 40, image_size: int = 256, seed: int = 0, kind: str = "yard", n_trucks: int = 4, n_people: int = 3,
                    fps: float = 5.0):
    """Frames from a fixed camera (:func:`iter_sequence`) as a list; parameters and frames as there."""
    return list(iter_sequence(n_frames, image_size, seed, kind, n_trucks, n_people, fps))


def iter_sequence(n_frames: int = 40, image_size: int = 256, seed: int = 0, kind: str = "yard", n_trucks: int = 4, n_people: int = 3,
                  fps: float = 5.0):
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
    fps : float, frames per second
        Frame rate the clip is meant for: people walk about 1.2 m/s at it
        (trucks cross in a share of the sequence, whatever its rate).

    Yields
    ------
    (PIL.Image.Image, list of dict)
        One per frame, objects as in :func:`render`, with stable ``track_id``
        (a generator, so a long high-resolution clip is never held in memory).
    """
    rng = np.random.default_rng(seed)
    base = layout_scene(kind, image_size, rng=rng)
    k = next((o.ppm / (o.ground_y - base.horizon) for o in base.objects if o.ground_y > base.horizon), 10 / image_size)
    # A counting camera is aimed at the road it counts: trucks drive on a two-way road in the near part
    # of the view (near lane's ground row 80-92 % down the image, far lane 4.5 m behind it), cleared of
    # stacks and pallets; the near lane and nearer objects may still hide part of a truck. (Trucks on the
    # layout's own lanes are mostly hidden between far stacks: a clip to test a detector, not counting.)
    near_y = image_size * rng.uniform(0.8, 0.92)
    near_ppm = ppm_at(near_y, base.horizon, k)
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
        ppm = ppm_at(y, base.horizon, k)
        rightwards = lane_dir[lane]
        t = make_truck(rng, 0.0, y, ppm, facing="right" if rightwards else "left")
        length_px = (t.attrs["trailer_m"] + 2.7) * ppm
        speed = (image_size + 17.0 * ppm) / lane_speed[lane] / n_frames  # crosses in 35-55 % of the sequence
        start = lane_free[lane] + rng.uniform(0, 0.1) * n_frames
        lane_free[lane] = start + 1.5 * length_px / speed
        x0 = -length_px if rightwards else image_size
        movers.append((t, x0, speed if rightwards else -speed, 0.0, start))
        t.track_id = track
        track += 1
    for _ in range(n_people):
        top = max(max(base.horizon, 0) + 0.3 * image_size, row_for_ppm(PERSON_MIN_PPM * image_size / 256, base.horizon, k, image_size))
        gy = rng.uniform(top, image_size)
        ppm = ppm_at(gy, base.horizon, k)
        p = make_person(rng, rng.uniform(0, image_size), gy, ppm)
        p.track_id = track
        track += 1
        v = rng.uniform(0.8, 1.5) * ppm * 0.2 * (5.0 / fps)  # about 1.2 m/s
        ang = rng.uniform(0, 2 * math.pi)
        movers.append((p, p.x, v * math.cos(ang), v * math.sin(ang) * 0.3, 0.0))
    stride_frames = max(1, round(2 * fps / 5.0))  # a leg swing every 0.4 s
    for f in range(n_frames):
        objs = list(static)
        for o, x0, vx, vy, start in movers:
            if o.kind == "truck":
                if f < start:
                    continue
                moved = replace(o, x=x0 + vx * (f - start))
            else:
                gy = o.ground_y + vy * f
                moved = replace(o, x=x0 + vx * f, ground_y=gy, ppm=ppm_at(gy, base.horizon, k),
                                attrs={**o.attrs, "stride": o.attrs["stride"] * (-1) ** (f // stride_frames)})
            objs.append(moved)
        light = dict(base.light, noise_seed=int(base.light["seed"]) + 1 + f)
        yield render(replace(base, objects=objs, light=light))
