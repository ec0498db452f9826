"""Distillation targets and loss for the CenterNet student: a teacher's soft heatmaps and boxes.

A teacher supervises the student at every cell of its stride-4 maps:

- a CenterNet teacher (of any width) gives its own maps: the sigmoid of its
  heatmap logits (class probabilities per cell), and its box size and
  centre offset per cell, weighted by its confidence there (the highest
  class probability of the cell) — :func:`centernet_soft_targets`;
- a torchvision teacher gives boxes with scores; each is rendered as a
  Gaussian peak of height = its score on the heatmap (CenterNet's round
  Gaussian, CornerNet's IoU-0.7 radius, as the hard labels of
  :func:`kit.vision.models.encode_targets`), with its size and offset at
  its centre cell, weighted by its score — :func:`render_detections`.

:func:`distillation_loss` compares the student's maps with these soft
targets: the heatmap by the quality focal loss (Li et al., *Generalized
Focal Loss*, NeurIPS 2020), a binary cross-entropy against the soft target
scaled by ``|target − student|^β``, which is zero exactly where the student
matches the teacher, and the size and offset by an L1 distance weighted by
the teacher's confidence. Neither needs labels, so it runs on unlabelled
images too (:mod:`kit.vision.distill`).

References: G. Hinton, O. Vinyals, J. Dean, *Distilling the Knowledge in a
Neural Network*, arXiv:1503.02531 (2015); X. Li et al., *Generalized Focal
Loss*, NeurIPS 2020; X. Zhou et al., *Objects as Points*, arXiv:1904.07850.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from kit.vision.models.anchor_free import STRIDE
from kit.vision.models.anchor_free_loss import gaussian_radius

__all__ = ["centernet_soft_targets", "distillation_loss", "render_detections"]

#: Teacher peaks at or above this probability count as objects when the heatmap term is normalized.
PEAK_FLOOR = 0.1


def centernet_soft_targets(outputs: dict) -> dict:
    """A CenterNet teacher's outputs as soft targets.

    Parameters
    ----------
    outputs : dict of tensors
        ``heatmap`` (B, K, h, w) logits, ``size`` and ``offset`` (B, 2, h, w),
        as :class:`kit.vision.models.CenterNet` returns them.

    Returns
    -------
    dict of tensors
        ``heatmap`` (B, K, h, w) probabilities in [0, 1]; ``size`` (B, 2, h,
        w) box width and height in cells; ``offset`` (B, 2, h, w) in cells;
        ``weight`` (B, h, w) in [0, 1], the cell's highest class probability.
    """
    heat = torch.sigmoid(outputs["heatmap"].float())
    return {"heatmap": heat, "size": outputs["size"].float(), "offset": outputs["offset"].float(),
            "weight": heat.amax(dim=1)}


def render_detections(detections: list, num_classes: int, image_size, stride: int = STRIDE,
                      min_score: float = 0.05) -> dict:
    """A detector's boxes drawn as soft CenterNet targets (soft pseudo-labels).

    Parameters
    ----------
    detections : list of dict
        Per image: ``boxes`` (n, 4) XYXY in input pixels, ``scores`` (n,)
        in [0, 1], ``labels`` (n,) in 1..K (a
        :class:`kit.vision.models.TorchvisionDetector` in eval mode).
    num_classes : int
    image_size : (height, width), px
        The input size (multiple of ``stride``).
    stride : int
    min_score : float, 0–1
        Boxes scoring less are left out.

    Returns
    -------
    dict of tensors
        As :func:`centernet_soft_targets`: ``heatmap`` (B, K, h, w) the
        maximum over boxes of score × Gaussian; ``size``, ``offset`` at each
        box's centre cell (the higher-scoring box where two share one),
        ``weight`` its score there and 0 elsewhere.

    Examples
    --------
    >>> t = render_detections([{"boxes": torch.tensor([[8.0, 8.0, 40.0, 24.0]]), "scores": torch.tensor([0.8]),
    ...                         "labels": torch.tensor([2])}], 3, (64, 64))
    >>> round(float(t["heatmap"][0, 1].max()), 2), t["size"][0, :, 4, 6].tolist()
    (0.8, [8.0, 4.0])
    """
    H, W = image_size
    h, w = H // stride, W // stride
    B = len(detections)
    device = detections[0]["boxes"].device if B else "cpu"
    heat = torch.zeros(B, num_classes, h, w, device=device)
    size = torch.zeros(B, 2, h, w, device=device)
    offset = torch.zeros(B, 2, h, w, device=device)
    weight = torch.zeros(B, h, w, device=device)
    ys = torch.arange(h, device=device, dtype=torch.float32).view(1, -1, 1)
    xs = torch.arange(w, device=device, dtype=torch.float32).view(1, 1, -1)
    for b, det in enumerate(detections):
        keep = det["scores"] >= min_score
        if not bool(keep.any()):
            continue
        # Lowest score first: where two boxes share a centre cell, the later (more confident) one is written last.
        order = torch.argsort(det["scores"][keep].float(), stable=True)
        bx = det["boxes"][keep][order].float() / stride
        score = det["scores"][keep][order].float()
        lab = det["labels"][keep][order].long() - 1
        bw, bh = (bx[:, 2] - bx[:, 0]).clamp(min=1e-3), (bx[:, 3] - bx[:, 1]).clamp(min=1e-3)
        cx, cy = (bx[:, 0] + bx[:, 2]) / 2, (bx[:, 1] + bx[:, 3]) / 2
        ix, iy = cx.floor().clamp(0, w - 1), cy.floor().clamp(0, h - 1)
        sigma = (2 * gaussian_radius(bh.ceil(), bw.ceil()).floor().clamp(min=0) + 1) / 6
        g = torch.exp(-((xs - ix.view(-1, 1, 1)) ** 2 + (ys - iy.view(-1, 1, 1)) ** 2) / (2 * sigma.view(-1, 1, 1) ** 2))
        g = g * score.view(-1, 1, 1)
        for c in lab.unique().tolist():
            heat[b, c] = torch.maximum(heat[b, c], g[lab == c].amax(dim=0))
        yi, xi = iy.long(), ix.long()
        for i in range(len(bx)):  # in score order, so the most confident box of a cell stays
            size[b, :, yi[i], xi[i]] = torch.stack([bw[i], bh[i]])
            offset[b, :, yi[i], xi[i]] = torch.stack([cx[i] - ix[i], cy[i] - iy[i]])
            weight[b, yi[i], xi[i]] = score[i]
    return {"heatmap": heat, "size": size, "offset": offset, "weight": weight}


def distillation_loss(outputs: dict, soft: dict, heatmap_weight: float = 1.0, box_weight: float = 0.1,
                      beta: float = 2.0):
    """Distance of the student's maps from the teacher's soft targets.

    Parameters
    ----------
    outputs : dict of tensors
        The student's ``heatmap`` logits (B, K, h, w), ``size`` and
        ``offset`` (B, 2, h, w), cells.
    soft : dict of tensors
        From :func:`centernet_soft_targets` or :func:`render_detections`,
        same shapes (``weight`` (B, h, w)).
    heatmap_weight : float
        Weight of the heatmap term: the quality focal loss
        ``−|t − p|^β (t log p + (1 − t) log(1 − p))`` summed over cells and
        divided by the teacher's object count (the sum of its heatmap peaks
        of at least 0.1, at least 1), the same scale as the supervised
        focal loss's division by the number of objects.
    box_weight : float
        Weight of the box term: ``|Δ size| + |Δ offset|`` in cells, averaged
        over cells with the teacher's confidence ``weight`` as weights (cells
        under 0.1 left out; the supervised size term's weight is 0.1 as well).
    beta : float
        Focusing exponent of the quality focal loss (2 in GFL).

    Returns
    -------
    (total, parts) : tensor, dict of floats
        ``total`` is 0 when the student's maps equal the teacher's and
        positive otherwise; ``parts``: ``distill_heatmap``, ``distill_box``.

    Examples
    --------
    >>> out = {"heatmap": torch.zeros(1, 2, 4, 4), "size": torch.ones(1, 2, 4, 4), "offset": torch.zeros(1, 2, 4, 4)}
    >>> soft = centernet_soft_targets(out)
    >>> float(distillation_loss(out, soft)[0])
    0.0
    """
    logits = outputs["heatmap"].float()
    t = soft["heatmap"].float()
    p = torch.sigmoid(logits)
    bce = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
    # Subtracting the target's own entropy would also zero the loss at equality, but its gradient is that of
    # plain BCE, dominated by the thousands of background cells; the |t - p|^beta factor focuses it instead.
    qfl = ((t - p).abs() ** beta * bce).sum()
    peaks = t * (F.max_pool2d(t, 3, stride=1, padding=1) == t) * (t >= PEAK_FLOOR)
    heat_term = qfl / peaks.sum().clamp(min=1.0)
    wgt = soft["weight"].float()
    # Cells the teacher barely believes in (background) would otherwise outweigh the objects by their number.
    wgt = (wgt * (wgt >= PEAK_FLOOR)).unsqueeze(1)
    l1 = ((outputs["size"].float() - soft["size"].float()).abs() * wgt).sum() \
        + ((outputs["offset"].float() - soft["offset"].float()).abs() * wgt).sum()
    box_term = l1 / wgt.sum().clamp(min=1e-6)
    total = heatmap_weight * heat_term + box_weight * box_term
    return total, {"distill_heatmap": float(heat_term.detach()), "distill_box": float(box_term.detach())}
