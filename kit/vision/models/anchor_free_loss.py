"""Training objective of the anchor-free detector: heatmap, size and offset targets, and the loss.

Boxes can be learned at the centre cell only (CenterNet) or, as
:func:`kit.vision.train.train_detector` does by default, densely around each
centre with a GIoU loss (TTFNet: Z. Liu et al., *Training-Time-Friendly
Network for Real-Time Object Detection*, AAAI 2020), which converges in far
fewer epochs; the network's outputs and
:func:`kit.vision.models.anchor_free.decode` are the same.

Reference: X. Zhou, D. Wang, P. Krähenbühl, *Objects as Points*,
arXiv:1904.07850 (2019); the penalty-reduced focal loss and Gaussian radius
follow CornerNet (H. Law, J. Deng, ECCV 2018).
"""
from __future__ import annotations

import torch
from torch.nn import functional as F
from torchvision.ops import generalized_box_iou_loss

from kit.errors import ParameterError
from kit.vision.models.anchor_free import STRIDE

__all__ = ["centernet_loss", "encode_targets", "gaussian_radius"]


def _cell_grid(h, w, device):
    """Row and column indices of a (h, w) map, shaped (1, h, 1) and (1, 1, w) to broadcast over objects or images."""
    ys = torch.arange(h, device=device, dtype=torch.float32).view(1, -1, 1)
    xs = torch.arange(w, device=device, dtype=torch.float32).view(1, 1, -1)
    return ys, xs


def gaussian_radius(height, width, min_overlap: float = 0.7):
    """Radius (in cells) within which a shifted box still has IoU ≥ ``min_overlap``.

    The smallest root of CornerNet's three cases (both corners inside, both
    outside, one of each), as in the CenterNet reference code (which halves
    rather than divides by 2a, making the radius conservative). Works on tensors.
    """
    h, w = height, width
    b1 = h + w
    c1 = w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 + torch.sqrt(b1**2 - 4 * c1)) / 2
    b2 = 2 * (h + w)
    c2 = (1 - min_overlap) * w * h
    r2 = (b2 + torch.sqrt(b2**2 - 16 * c2)) / 2
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (h + w)
    c3 = (min_overlap - 1) * w * h
    r3 = (b3 + torch.sqrt(b3**2 - 4 * a3 * c3)) / 2
    return torch.minimum(torch.minimum(r1, r2), r3)


def encode_targets(boxes_list, labels_list, num_classes: int, image_size, stride: int = STRIDE,
                   gaussian: str = "circle", alpha: float = 0.54, min_sigma: float = 0.5,
                   regression: str = "center", beta: float = 0.54, box_weight: str = "equal"):
    """Training targets for a batch.

    Parameters
    ----------
    boxes_list : list of (n, 4) tensors
        XYXY boxes in input pixels, one tensor per image.
    labels_list : list of (n,) int tensors
        Labels 1..K.
    num_classes : int
    image_size : (height, width), px
        Input size (multiple of ``stride``).
    stride : int
    gaussian : {"circle", "ellipse"}
        Shape of each object's peak on the heatmap. ``"circle"``:
        CenterNet's round Gaussian with the CornerNet radius of the box's
        IoU-0.7 tolerance. ``"ellipse"`` (TTFNet, Liu et al., AAAI 2020):
        standard deviations ``alpha`` × box width / 6 and × box height / 6;
        on the synthetic yard scenes it scores no better than the circle,
        so it is not the default.
    alpha : float
        Ellipse size relative to the box.
    min_sigma : float, cells
        Smallest standard deviation (objects of one or two cells).
    regression : {"center", "dense"}
        ``"center"``: size and offset are trained at each object's centre
        cell only (CenterNet). ``"dense"`` (TTFNet, Liu et al., AAAI 2020):
        also at every cell of the central ``beta`` part of the box, each
        cell predicting the whole box (its size, and the offset from the
        cell to the centre), weighted by an elliptical Gaussian that sums to
        1 per object; adds ``box`` (B, 4, h, w) XYXY in cells and
        ``reg_weight`` (B, h, w) for the GIoU term of :func:`centernet_loss`.
    beta : float
        Part of the box (per side) whose cells regress the box when ``regression="dense"``.
    box_weight : {"equal", "log_area"}
        Weight of each object in the GIoU term (``regression="dense"``).
        ``"equal"``: every object weighs 1. ``"log_area"`` (TTFNet): the log
        of its area in input pixels, divided by the image's mean over its
        objects (so the weights still average 1), which gives a large truck
        about twice the weight of a person.

    Returns
    -------
    dict of tensors
        ``heatmap`` (B, K, h, w) in [0, 1] with exact 1 at each centre cell;
        ``size`` and ``offset`` (B, 2, h, w); ``mask`` (B, h, w) float, 1 at centre cells.
    """
    H, W = image_size
    h, w = H // stride, W // stride
    B = len(boxes_list)
    device = boxes_list[0].device if B else "cpu"
    heat = torch.zeros(B, num_classes, h, w, device=device)
    size = torch.zeros(B, 2, h, w, device=device)
    offset = torch.zeros(B, 2, h, w, device=device)
    mask = torch.zeros(B, h, w, device=device)
    if box_weight not in ("equal", "log_area"):
        raise ParameterError(f"box_weight must be 'equal' or 'log_area', got {box_weight!r}")
    if regression not in ("center", "dense"):
        raise ParameterError(f"regression must be 'center' or 'dense', got {regression!r}")
    dense = regression == "dense"
    if dense:
        box_t = torch.zeros(B, 4, h, w, device=device)
        reg_w = torch.zeros(B, h, w, device=device)
    ys, xs = _cell_grid(h, w, device)
    for b, (boxes, labels) in enumerate(zip(boxes_list, labels_list)):
        if len(boxes) == 0:
            continue
        bx = torch.as_tensor(boxes, dtype=torch.float32, device=device) / stride
        lab = torch.as_tensor(labels, device=device).long() - 1
        bw, bh = (bx[:, 2] - bx[:, 0]).clamp(min=1e-3), (bx[:, 3] - bx[:, 1]).clamp(min=1e-3)
        # Objects ranked large to small; where they share a cell the smaller one wins, so its box is not lost.
        order = torch.argsort(bw * bh, descending=True, stable=True)
        bx, lab, bw, bh = bx[order], lab[order], bw[order], bh[order]
        rank = torch.arange(len(bx), device=device)
        cx, cy = (bx[:, 0] + bx[:, 2]) / 2, (bx[:, 1] + bx[:, 3]) / 2
        ix, iy = cx.floor().clamp(0, w - 1), cy.floor().clamp(0, h - 1)
        if gaussian == "ellipse":
            sx, sy = (alpha * bw / 6).clamp(min=min_sigma), (alpha * bh / 6).clamp(min=min_sigma)
        elif gaussian == "circle":
            radius = gaussian_radius(bh.ceil(), bw.ceil()).floor().clamp(min=0)
            sx = sy = (2 * radius + 1) / 6
        else:
            raise ParameterError(f"gaussian must be 'ellipse' or 'circle', got {gaussian!r}")
        dx2, dy2 = (xs - ix.view(-1, 1, 1)) ** 2, (ys - iy.view(-1, 1, 1)) ** 2  # (n, 1, w), (n, h, 1)
        # The Gaussians are separable: one exp per row and per column instead of per cell (a third of encoding's time).
        g = torch.exp(-dx2 / (2 * sx.view(-1, 1, 1) ** 2)) * torch.exp(-dy2 / (2 * sy.view(-1, 1, 1) ** 2))  # (n, h, w)
        for c in lab.unique().tolist():
            heat[b, c] = torch.maximum(heat[b, c], g[lab == c].amax(dim=0))
        cell = (iy * w + ix).long()
        last = torch.full((h * w,), -1, dtype=torch.long, device=device).scatter_reduce(0, cell, rank, "amax")
        win = last[cell] == rank
        yi, xi = iy.long()[win], ix.long()[win]
        size[b, :, yi, xi] = torch.stack([bw, bh])[:, win]
        offset[b, :, yi, xi] = torch.stack([cx - ix, cy - iy])[:, win]
        mask[b, yi, xi] = 1.0
        if dense:
            # Cells within the central beta part of the box (the centre cell always), Gaussian-weighted, summing to 1.
            rx, ry = (beta * bw / 2).clamp(min=0.5), (beta * bh / 2).clamp(min=0.5)
            inside = (dx2 <= rx.floor().view(-1, 1, 1) ** 2) & (dy2 <= ry.floor().view(-1, 1, 1) ** 2)
            gr = (torch.exp(-dx2 / (2 * (rx / 3).clamp(min=min_sigma).view(-1, 1, 1) ** 2))
                  * torch.exp(-dy2 / (2 * (ry / 3).clamp(min=min_sigma).view(-1, 1, 1) ** 2))) * inside
            gr = gr / gr.sum(dim=(1, 2), keepdim=True)
            if box_weight == "log_area":
                log_area = torch.log((bw * bh * stride**2).clamp(min=2.0))
                gr = gr * (log_area / log_area.mean()).view(-1, 1, 1)
            owner = torch.where(inside, rank.view(-1, 1, 1), -1).amax(dim=0)  # (h, w): smallest covering object
            rows, cols = (owner >= 0).nonzero(as_tuple=True)
            own = owner[rows, cols]
            reg_w[b, rows, cols] = gr[own, rows, cols]
            box_t[b][:, rows, cols] = bx[own].T
    out = {"heatmap": heat, "size": size, "offset": offset, "mask": mask}
    if dense:
        out.update(box=box_t, reg_weight=reg_w)
    return out


def _giou_loss(outputs, targets):
    """Sum over cells of ``reg_weight × (1 − GIoU)`` between each cell's predicted box and its target box."""
    wgt = targets["reg_weight"]
    ys, xs = _cell_grid(*wgt.shape[-2:], wgt.device)
    sel = wgt > 0
    sw, sh = outputs["size"][:, 0], outputs["size"][:, 1]
    cx, cy = xs + outputs["offset"][:, 0], ys + outputs["offset"][:, 1]
    pred = torch.stack([cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2], dim=-1)[sel]
    tgt = targets["box"].permute(0, 2, 3, 1)[sel]
    return (generalized_box_iou_loss(pred, tgt, reduction="none") * wgt[sel]).sum()


def centernet_loss(outputs: dict, targets: dict, size_weight: float = 0.1, offset_weight: float = 1.0,
                   class_balanced: bool = False, giou_weight: float = 5.0):
    """CenterNet loss: penalty-reduced focal loss + L1 size and offset at centres.

    Parameters
    ----------
    outputs, targets : dict of tensors
        ``heatmap``, ``size``, ``offset`` (and ``mask`` in ``targets``), as
        returned by the network and :func:`encode_targets`.
    size_weight, offset_weight : float
        Weights of the L1 terms against the focal loss.
    class_balanced : bool
        Divide each class's focal loss by its own number of objects and
        average the classes (see :func:`kit.vision.train.balanced_loss`),
        instead of dividing the sum by the number of objects of all classes.
    giou_weight : float
        With dense targets (``encode_targets(..., regression="dense")``,
        which carry ``box`` and ``reg_weight``), the L1 size and offset terms
        are replaced by this weight × the mean over objects of
        ``1 − GIoU`` (Rezatofighi et al., CVPR 2019) of the boxes predicted
        around each centre, as in TTFNet (weight 5).

    Returns
    -------
    (total, parts) : tensor, dict of floats
    """
    logits = outputs["heatmap"]
    gt = targets["heatmap"]
    pos = gt.eq(1).float()
    # log-sigmoid forms are stable where sigmoid saturates.
    log_p, log_1mp = F.logsigmoid(logits), F.logsigmoid(-logits)
    p = torch.sigmoid(logits)
    if class_balanced:
        per_class = (log_p * (1 - p) ** 2 * pos + log_1mp * p**2 * (1 - gt) ** 4 * (1 - pos)).sum(dim=(0, 2, 3))
        focal = -(per_class / pos.sum(dim=(0, 2, 3)).clamp(min=1.0)).mean()
    else:
        pos_loss = (log_p * (1 - p) ** 2 * pos).sum()
        neg_loss = (log_1mp * p**2 * (1 - gt) ** 4 * (1 - pos)).sum()
        focal = -(pos_loss + neg_loss) / pos.sum().clamp(min=1.0)
    m = targets["mask"].unsqueeze(1)
    n_obj = targets["mask"].sum().clamp(min=1.0)
    size_l1 = (F.l1_loss(outputs["size"], targets["size"], reduction="none") * m).sum() / n_obj
    off_l1 = (F.l1_loss(outputs["offset"], targets["offset"], reduction="none") * m).sum() / n_obj
    parts = {"heatmap": float(focal.detach()), "size": float(size_l1.detach()), "offset": float(off_l1.detach())}
    if "reg_weight" in targets:
        giou = _giou_loss(outputs, targets) / n_obj
        parts["giou"] = float(giou.detach())
        return focal + giou_weight * giou, parts
    total = focal + size_weight * size_l1 + offset_weight * off_l1
    return total, parts
