"""Checks for the logistics-vision notebook's exercises (kit teach).

The checks build their own small inputs (a painted image whose boxes have
known colours, box pairs, container codes), so they do not depend on the
detector the notebook trained.
"""
from __future__ import annotations

import numpy as np

from kit.exercise_checks import check
from kit.i18n import _, format_percent

# Three boxes painted in distinct colours on black: wherever a transform moves a box, its pixels must follow.
_SIDE = 96
_BOXES = [(8.0, 10.0, 40.0, 34.0), (52.0, 16.0, 88.0, 56.0), (18.0, 50.0, 46.0, 88.0)]
_COLOURS = [(230, 40, 40), (40, 200, 60), (50, 80, 230)]
_LABELS = [1, 2, 3]


def painted_sample():
    """A sample in the format of :class:`kit.vision.data.CocoDetection` with three coloured boxes."""
    import torch
    from torchvision import tv_tensors

    img = torch.zeros(3, _SIDE, _SIDE, dtype=torch.uint8)
    for (x0, y0, x1, y1), rgb in zip(_BOXES, _COLOURS):
        img[:, int(y0):int(y1), int(x0):int(x1)] = torch.tensor(rgb, dtype=torch.uint8)[:, None, None]
    return {"image": tv_tensors.Image(img),
            "boxes": tv_tensors.BoundingBoxes(torch.tensor(_BOXES), format="XYXY", canvas_size=(_SIDE, _SIDE)),
            "labels": torch.tensor(_LABELS), "image_id": 1, "orig_size": (_SIDE, _SIDE), "file_name": "painted.png"}


def _run(transform, seed: int):
    import torch

    torch.manual_seed(seed)  # torchvision.transforms.v2 draws from Torch's global generator
    return transform(painted_sample())


def _as_unit(image) -> np.ndarray:
    x = image.as_subclass(__import__("torch").Tensor).detach().float()
    if not image.is_floating_point():
        x = x / 255.0
    return x.numpy()


def box_colour_agreement(out, margin: float = 2.0) -> list[float]:
    """Per output box, the share of its pixels closest to its label's colour (1: the box sits on its object)."""
    palette = np.array([(0, 0, 0), *_COLOURS], dtype=float) / 255.0
    img = _as_unit(out["image"])  # (3, H, W)
    h, w = img.shape[1:]
    nearest = np.argmin(((img.transpose(1, 2, 0)[:, :, None, :] - palette) ** 2).sum(-1), axis=-1)
    shares = []
    boxes = np.asarray(out["boxes"].as_subclass(__import__("torch").Tensor).detach().cpu(), dtype=float).reshape(-1, 4)
    for (x0, y0, x1, y1), lab in zip(boxes, np.asarray(out["labels"]).ravel()):
        xa, ya = int(np.ceil(max(x0 + margin, 0))), int(np.ceil(max(y0 + margin, 0)))
        xb, yb = int(np.floor(min(x1 - margin, w))), int(np.floor(min(y1 - margin, h)))
        if xb - xa < 2 or yb - ya < 2:
            continue  # too small to judge after the margin
        shares.append(float((nearest[ya:yb, xa:xb] == _LABELS.index(int(lab)) + 1).mean()))
    return shares


def check_box_augmentation(transform, seeds=range(8)):
    """Exercise 1: a ``transforms.v2`` augmentation that moves the image and keeps every box on its object."""
    import torch
    from torchvision import tv_tensors

    outs = {}

    def out(seed):
        if seed not in outs:
            outs[seed] = _run(transform, seed)
        return outs[seed]

    def well_formed():
        return all(isinstance(out(s), dict) and isinstance(out(s).get("image"), torch.Tensor)
                   and isinstance(out(s).get("boxes"), tv_tensors.BoundingBoxes)
                   and len(out(s)["boxes"]) == len(out(s)["labels"]) for s in seeds)

    def moves():
        ref = torch.tensor(_BOXES)
        return any(out(s)["boxes"].shape != ref.shape
                   or not torch.allclose(out(s)["boxes"].as_subclass(torch.Tensor).float(), ref, atol=0.5) for s in seeds)

    def worst():
        shares = [v for s in seeds for v in box_colour_agreement(out(s))]
        return min(shares) if shares else 0.0

    return check(_("exercise 1: an augmentation that keeps boxes right"), [
        (callable(transform), _("my_augment is callable"),
         _("my_augment should be a transform, e.g. v2.Compose([...]) from torchvision.transforms.v2")),
        (well_formed, _("it returns the sample dict with an image, BoundingBoxes and one label per box"),
         _("apply the transform to the whole sample dict (image, boxes, labels): v2 transforms move the boxes with the "
         "image only when they are tv_tensors.BoundingBoxes in the same call")),
        (moves, _("it moves the boxes (a geometric augmentation)"),
         _("the boxes never move over 8 seeds: add a geometric transform (flip, affine, crop or zoom)")),
        (lambda: all(len(box_colour_agreement(out(s))) > 0 for s in seeds), _("boxes are kept"),
         _("some outputs have no usable box left: make the transform milder (smaller zoom or shift)")),
        (lambda: worst() >= 0.8, lambda: _("and every box stays on its object (at least {share} of its pixels)").format(share=format_percent(100 * worst(), 0)),
         _("a box no longer covers its object: the boxes did not follow the image (were they transformed in the "
         "same call, as tv_tensors.BoundingBoxes?)")),
    ])


def reference_iou(a, b) -> float:
    """Intersection over union of two XYXY boxes (independent of the kit's tracker).

    >>> reference_iou([0, 0, 2, 2], [1, 0, 3, 2])
    0.3333333333333333
    """
    import torch
    from torchvision.ops import box_iou

    return float(box_iou(torch.tensor([a], dtype=torch.float64), torch.tensor([b], dtype=torch.float64))[0, 0])


def check_iou(my_iou):
    """Exercise 2: IoU of two boxes ``[x0, y0, x1, y1]`` in pixels."""
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 100, (60, 2, 2))
    wh = rng.uniform(1, 60, (60, 2, 2))
    pairs = [(list(np.r_[xy[k, 0], xy[k, 0] + wh[k, 0]]), list(np.r_[xy[k, 1], xy[k, 1] + wh[k, 1]])) for k in range(60)]

    def same(a, b):
        return abs(float(my_iou(a, b)) - reference_iou(a, b)) < 1e-6

    return check(_("exercise 2: IoU"), [
        (callable(my_iou), _("my_iou is a function"), _("define my_iou(a, b) for boxes [x0, y0, x1, y1]")),
        (lambda: same([0, 0, 10, 10], [0, 0, 10, 10]), _("a box with itself: 1"),
         _("a box with itself has IoU 1: intersection area / union area")),
        (lambda: same([0, 0, 2, 2], [1, 0, 3, 2]), _("half-shifted squares: 1/3"),
         _("[0, 0, 2, 2] and [1, 0, 3, 2] overlap on 2 px² of a 6 px² union: IoU 1/3")),
        (lambda: same([0, 0, 4, 4], [1, 1, 3, 3]), _("a box inside another: 4/16"),
         _("a 2×2 box inside a 4×4 box has IoU 4/16")),
        (lambda: same([0, 0, 2, 2], [5, 5, 8, 9]) and same([0, 0, 2, 2], [2, 0, 4, 2]) and same([0, 0, 2, 2], [3, -5, 4, -1]),
         _("apart or only touching: 0"),
         _("boxes that do not overlap have IoU 0: clamp the intersection's width and height at 0 before multiplying")),
        (lambda: all(same(a, b) for a, b in pairs), _("and it matches torchvision.ops.box_iou on 60 random pairs"),
         _("right on the simple cases but not on random boxes: check the union (area a + area b - intersection)")),
    ])


def _remainder(first10: str) -> int:
    """ISO 6346 weighted sum modulo 11, written out independently of kit.vision.iso6346."""
    values = {d: int(d) for d in "0123456789"}
    values.update(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", (v for v in range(10, 39) if v % 11)))
    return sum(values[c] * 2**i for i, c in enumerate(first10)) % 11


def check_check_digit(my_check_digit):
    """Exercise 3: the ISO 6346 check digit of a container code's first ten characters."""
    from kit.vision import iso6346

    rng = np.random.default_rng(2)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    codes = ["".join(rng.choice(list(letters), 3)) + str(rng.choice(list("UJZ"))) + "".join(rng.choice(list("0123456789"), 6))
             for _k in range(60)]
    ten = next(c for c in (f"CSQU{n:06d}" for n in range(1000)) if _remainder(c) == 10)

    def same(code):
        return int(my_check_digit(code)) == iso6346.check_digit(code)

    return check(_("exercise 3: the check digit"), [
        (callable(my_check_digit), _("my_check_digit is a function"), _("define my_check_digit(first10) returning an int")),
        (lambda: same("CSQU305438"), _("CSQU 305438 → 3"),
         _("CSQU305438 has check digit 3: letters are worth A=10, B=12, ... (skipping 11, 22, 33), digits their value; "
         "multiply the character at position i (from 0) by 2**i, sum, take the remainder of the division by 11")),
        (lambda: same(ten), _("a remainder of 10 is written 0 ({example})").format(example=f"{ten} → 0"),
         _("when the remainder is 10 the check digit is 0")),
        (lambda: all(same(c) for c in codes), _("and right on 60 random codes"),
         _("right for CSQU305438 but not for other codes: check the letter values (11, 22 and 33 are skipped)")),
    ])
