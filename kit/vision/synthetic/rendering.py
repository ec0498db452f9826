"""Rendering a scene: paint it far to near and compute each object's visible box.

Objects are painted far to near, which gives occlusion for free; the
instance-id image painted alongside gives each object's *visible* box
(COCO convention) and how much of it is hidden.
"""
from __future__ import annotations

import math

import numpy as np

from kit.errors import ParameterError
from kit.vision.synthetic.lighting import apply_light
from kit.vision.synthetic.painting import (Canvas, draw_background, draw_container, draw_pallet, draw_person, draw_post,
                                           draw_truck)
from kit.vision.synthetic.scene import CODE_LETTER_M, Scene

#: The id image is 8-bit and 0 means "no object": past this id the remaining (nearest) objects are not painted.
_MAX_OBJECT_ID = 250


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
        containers, ``code`` and ``code_box`` ([x, y, w, h], px) with
        ``code_height_px`` (letter height, px), only when the painted code
        lies fully inside the frame and unoccluded.
    """
    c = Canvas(scene.size, scene.background["ground"])
    draw_background(c, scene)
    drawn = _paint_objects(c, scene)
    ids = np.asarray(c.ids)
    objects = []
    for oid, o, full, code_box, n_full in drawn:
        rec = _annotation(ids, oid, o, full, code_box, n_full, min_visible, min_box_px)
        if rec is not None:
            objects.append(rec)
    image = apply_light(c.rgb, scene.light, scene.size / 256)
    return image, objects


def _paint_objects(c: Canvas, scene: Scene) -> list:
    """Paint the objects far to near (by ground row, then stack level) on ``c``.

    Returns ``(id, object, full box, code box, pixels)`` per annotated
    object, a truck's load after its truck; ``pixels`` is the count of the
    object's id in its full box just after it was painted, before nearer
    objects hide part of it. Posts are painted with id 0 (occluders only).
    """
    drawn = []
    order = sorted(scene.objects, key=lambda o: (o.ground_y, o.attrs.get("level", 0)))
    next_id = 1
    for o in order:
        if next_id > _MAX_OBJECT_ID:
            break
        if o.kind == "post":
            draw_post(c, o, scene)
            continue
        oid = next_id
        next_id += 1
        if o.kind == "container":
            full, code_box = draw_container(c, o, scene, oid)
            drawn.append((oid, o, full, code_box, _id_pixels(c, oid, full)))
        elif o.kind == "truck":
            full, child = draw_truck(c, o, scene, oid, next_id)
            n_truck = _id_pixels(c, oid, full)
            drawn.append((oid, o, full, None, n_truck))
            if child is not None:
                co, cfull, cbox = child
                drawn.append((next_id, co, cfull, cbox, _id_pixels(c, next_id, cfull)))
                next_id += 1
        elif o.kind == "pallet":
            full = draw_pallet(c, o, scene, oid)
            drawn.append((oid, o, full, None, _id_pixels(c, oid, full)))
        elif o.kind == "person":
            full = draw_person(c, o, scene, oid)
            drawn.append((oid, o, full, None, _id_pixels(c, oid, full)))
        else:
            raise ParameterError(f"unknown scene object kind {o.kind!r}")
    return drawn


def _id_pixels(c: Canvas, oid: int, box) -> int:
    """Pixels of id ``oid`` on the id image within ``box`` (XYXY px, clipped to the frame)."""
    s = c.size
    x0, y0 = (int(max(0, math.floor(v))) for v in box[:2])
    x1, y1 = (int(min(s, math.ceil(v) + 1)) for v in box[2:])
    if x1 <= x0 or y1 <= y0:
        return 0
    return int((np.asarray(c.ids.crop((x0, y0, x1, y1))) == oid).sum())


def _annotation(ids, oid, o, full, code_box, n_full, min_visible, min_box_px):
    """The record of one painted object from the final id image, or None when too hidden or too small."""
    s = ids.shape[0]
    x0, y0 = int(max(0, math.floor(full[0]))), int(max(0, math.floor(full[1])))
    x1, y1 = int(min(s, math.ceil(full[2]) + 1)), int(min(s, math.ceil(full[3]) + 1))
    if n_full == 0 or x1 <= x0 or y1 <= y0:
        return None
    mask = ids[y0:y1, x0:x1] == oid
    n_vis = int(mask.sum())
    # Unclipped area, to count the part outside the frame as hidden too.
    n_total = n_full / max(_inside_fraction(full, s), 1e-6)
    visible = n_vis / max(n_total, 1)
    if n_vis == 0 or visible < min_visible:
        return None
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    bx0, by0 = x0 + cols[0], y0 + rows[0]
    bw, bh = cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1
    if bw < min_box_px or bh < min_box_px:
        return None
    rec = {
        "category": o.kind,
        "bbox": [int(bx0), int(by0), int(bw), int(bh)],
        "area": n_vis,
        "visible_fraction": round(min(1.0, visible), 3),
        "track_id": int(o.track_id),
    }
    if o.kind == "container":
        rec["code"] = o.attrs["code"]
        cb = _readable_code_box(ids, oid, code_box)
        if cb is not None:
            rec["code_box"] = cb
            rec["code_height_px"] = round(CODE_LETTER_M * o.ppm, 1)
    return rec


def _readable_code_box(ids, oid, code_box):
    """``[x, y, w, h]`` (px) of a painted code lying inside the frame and unoccluded, else None."""
    s = ids.shape[0]
    if code_box is not None and code_box[0] >= 0 and code_box[1] >= 0 and code_box[2] <= s and code_box[3] <= s:
        # The code must also be unoccluded to be readable.
        cb = [int(math.floor(code_box[0])), int(math.floor(code_box[1])), int(math.ceil(code_box[2])), int(math.ceil(code_box[3]))]
        if (ids[cb[1] : cb[3], cb[0] : cb[2]] == oid).mean() > 0.97:
            return [cb[0], cb[1], cb[2] - cb[0], cb[3] - cb[1]]
    return None


def _inside_fraction(box, s):
    """Share of ``box`` (XYXY px) that lies inside the ``s`` × ``s`` frame."""
    x0, y0, x1, y1 = box
    w, h = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    iw = max(0.0, min(x1, s) - max(x0, 0))
    ih = max(0.0, min(y1, s) - max(y0, 0))
    return (iw * ih) / (w * h)
