"""Copy-paste occluders: whole objects cut from other training images and pasted in front of a scene's objects.

Objects under 65 % visible are the detector's main loss on the synthetic
yard scenes (their mAP@0.5 is about 0.1 below the unoccluded objects').
Pasting whole objects (rectangular crops of their boxes, with the few
background pixels a box holds) in front of others gives the network more
partly hidden objects to learn from, and more of the rare classes
(G. Ghiasi et al., *Simple Copy-Paste is a Strong Data Augmentation Method
for Instance Segmentation*, CVPR 2021, with boxes instead of masks).
:func:`kit.vision.train.train_detector` applies it with
``augment={"copy_paste": probability}``; it is off by default there.

The rule for the objects a patch covers follows the data's own convention
(COCO visible boxes, as :func:`kit.vision.synthetic.render` writes them): an
object keeps the bounding box of its part left uncovered, and is dropped
when its visible fraction (its annotated ``visible_fraction`` × the part of
its box left uncovered) falls below ``min_visible`` (0.25, the generator's
own cut). A patch's object is annotated with the patch's rectangle,
visible fraction 1 (later patches can cover it in turn).
"""
from __future__ import annotations

import numpy as np

from kit.errors import ParameterError

__all__ = ["CopyPaste", "uncovered_boxes"]


def uncovered_boxes(boxes, patch):
    """Bounding boxes of what a rectangle ``patch`` leaves uncovered of each box, and the uncovered fraction.

    Parameters
    ----------
    boxes : tensor (n, 4)
        XYXY, px.
    patch : sequence of 4 floats
        XYXY of the pasted rectangle, px.

    Returns
    -------
    (boxes, fraction) : tensor (n, 4), tensor (n,)
        A box covered across its whole width (height) is trimmed from the
        covered side; covered in its middle, its extent stays. ``fraction``
        is the uncovered part of each box's area, 0–1.

    Examples
    --------
    >>> import torch
    >>> b, f = uncovered_boxes(torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 10.]]), (5, -1, 12, 11))
    >>> b[0].tolist(), round(float(f[0]), 2)
    ([0.0, 0.0, 5.0, 10.0], 0.5)
    >>> b, f = uncovered_boxes(torch.tensor([[0., 0., 10., 10.]]), (4, 4, 6, 6))
    >>> b[0].tolist(), round(float(f[0]), 2)
    ([0.0, 0.0, 10.0, 10.0], 0.96)
    """
    import torch

    px0, py0, px1, py1 = (float(v) for v in patch)
    x0, y0, x1, y1 = boxes.unbind(-1)
    iw = (torch.minimum(x1, torch.tensor(px1)) - torch.maximum(x0, torch.tensor(px0))).clamp(min=0)
    ih = (torch.minimum(y1, torch.tensor(py1)) - torch.maximum(y0, torch.tensor(py0))).clamp(min=0)
    area = ((x1 - x0) * (y1 - y0)).clamp(min=1e-6)
    fraction = (1 - iw * ih / area).clamp(0, 1)
    full_w, full_h = (px0 <= x0) & (px1 >= x1), (py0 <= y0) & (py1 >= y1)
    hit = (iw > 0) & (ih > 0)
    # Covered across the whole width: the top or bottom is hidden (both: nothing is left, fraction 0).
    ny0 = torch.where(hit & full_w & (py0 <= y0), torch.maximum(y0, torch.tensor(py1)), y0)
    ny1 = torch.where(hit & full_w & (py1 >= y1), torch.minimum(y1, torch.tensor(py0)), y1)
    nx0 = torch.where(hit & full_h & (px0 <= x0), torch.maximum(x0, torch.tensor(px1)), x0)
    nx1 = torch.where(hit & full_h & (px1 >= x1), torch.minimum(x1, torch.tensor(px0)), x1)
    return torch.stack([nx0, ny0, torch.maximum(nx1, nx0), torch.maximum(ny1, ny0)], dim=-1), fraction


class CopyPaste:
    """Paste objects from a bank of whole objects onto training images (uint8, before the other augmentations).

    Parameters
    ----------
    items : list of (image, boxes, labels)
        The training split decoded once (:class:`kit.vision.batches.CachedImages`
        ``items``): uint8 ``(3, H, W)`` images, ``(n, 4)`` XYXY boxes in px,
        ``(n,)`` labels.
    visibility : list of arrays, optional
        Per image, each box's visible fraction 0–1 (``CocoIndex.visibility``);
        1 where not given.
    probability : float, 0–1
        Chance that an image gets pastes at all.
    max_objects : int
        An image that gets pastes gets 1 to ``max_objects`` of them.
    min_visible : float, 0–1
        Objects left less visible than this are dropped (see the module).
    max_area_fraction : float, 0–1
        Largest object in the bank, as a fraction of its image's area (a
        pasted container stack would hide most of a scene).
    min_source_visible : float, 0–1
        Only objects at least this visible go into the bank, so a patch shows a whole object.
    min_side_px : float, px
        Smallest width and height of a banked object.
    seed : int
        Seeds the draws (their own generator: the same seed gives the same pastes).

    Examples
    --------
    >>> import torch
    >>> img = torch.zeros(3, 32, 32, dtype=torch.uint8)
    >>> items = [(img, torch.tensor([[2., 2., 8., 10.]]), torch.tensor([4]))]
    >>> cp = CopyPaste(items, probability=1.0, max_objects=1, seed=0)
    >>> image, boxes, labels = cp(*items[0])
    >>> len(cp.bank), labels.tolist()[-1]
    (1, 4)
    """

    def __init__(self, items, visibility=None, *, probability: float = 0.5, max_objects: int = 3,
                 min_visible: float = 0.25, max_area_fraction: float = 0.08, min_source_visible: float = 0.9,
                 min_side_px: float = 4.0, seed: int = 0):
        if not 0 <= probability <= 1 or max_objects < 1 or not 0 <= min_visible <= 1:
            raise ParameterError(f"copy-paste needs probability and min_visible in [0, 1] and max_objects >= 1, got "
                                 f"{probability}, {min_visible} and {max_objects}")
        self.probability, self.max_objects, self.min_visible = float(probability), int(max_objects), float(min_visible)
        self.rng = np.random.default_rng(seed)
        self.bank = []  # (patch uint8 (3, h, w), label, top row px)
        for i, (img, boxes, labels) in enumerate(items):
            H, W = img.shape[-2:]
            vis = np.ones(len(boxes)) if visibility is None else np.asarray(visibility[i], float)
            for box, label, v in zip(np.asarray(boxes, float), np.asarray(labels), vis):
                x0, y0 = int(np.floor(max(box[0], 0))), int(np.floor(max(box[1], 0)))
                x1, y1 = int(np.ceil(min(box[2], W))), int(np.ceil(min(box[3], H)))
                if (v >= min_source_visible and min(x1 - x0, y1 - y0) >= min_side_px
                        and (x1 - x0) * (y1 - y0) <= max_area_fraction * H * W):
                    self.bank.append((img[:, y0:y1, x0:x1].clone(), int(label), y0))
        by_class = {}
        for j, (_, label, _) in enumerate(self.bank):
            by_class.setdefault(label, []).append(j)
        self.by_class = [np.asarray(v) for _, v in sorted(by_class.items())]

    def __call__(self, image, boxes, labels, visibility=None):
        """Pasted ``(image, boxes, labels)``; the inputs are not changed.

        Objects are drawn class first (each class equally likely, then an
        object of it), so rare classes are pasted as often as common ones;
        each is pasted at its own top row (cameras of one data set see
        objects at a row at about the same scale) and a random column.
        """
        import torch

        draw = self.rng.random() < self.probability
        if not self.bank or not draw:
            return image, boxes, labels
        n = int(self.rng.integers(1, self.max_objects + 1))
        image = image.clone()
        boxes = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4).clone()
        labels = torch.as_tensor(labels).clone()
        vis = (torch.ones(len(boxes)) if visibility is None
               else torch.as_tensor(np.asarray(visibility, np.float32)).clone())
        H, W = image.shape[-2:]
        for _ in range(n):
            members = self.by_class[int(self.rng.integers(len(self.by_class)))]
            patch, label, y = self.bank[int(members[int(self.rng.integers(len(members)))])]
            h, w = patch.shape[-2:]
            if h > H or w > W:
                continue
            # Same row as in its own image: a fixed camera's scale goes with the row, so the object keeps a size it could have there.
            y, x = min(y, H - h), int(self.rng.integers(0, W - w + 1))
            image[:, y:y + h, x:x + w] = patch
            new, fraction = uncovered_boxes(boxes, (x, y, x + w, y + h))
            vis = vis * fraction
            keep = vis >= self.min_visible
            boxes = torch.cat([new[keep], torch.tensor([[x, y, x + w, y + h]], dtype=torch.float32)])
            labels = torch.cat([labels[keep], torch.tensor([label], dtype=labels.dtype)])
            vis = torch.cat([vis[keep], torch.ones(1)])
        return image, boxes, labels
