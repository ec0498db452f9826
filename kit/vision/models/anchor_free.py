"""A small anchor-free detector in the manner of CenterNet (Zhou et al., 2019).

Objects are points: a per-class heatmap peaks at each box centre, and two
maps at the same location give the box size and the sub-pixel offset of the
centre, all at stride 4. Decoding keeps the local maxima of the heatmap (a
3×3 max-pool), reads size and offset there, and removes duplicates with
per-class NMS (``torchvision.ops.batched_nms``).

The network is a plain CNN down to stride 16 with a dilated context layer, a
top-down path back to stride 4 (FPN-like additions) and a shared 3×3 conv
feeding three 1×1 outputs: about 0.47 M parameters at the default
``width=16``, trained from scratch.

Boxes can be learned at the centre cell only (CenterNet) or, as
:func:`kit.vision.train.train_detector` does by default, densely around each
centre with a GIoU loss (TTFNet: Z. Liu et al., *Training-Time-Friendly
Network for Real-Time Object Detection*, AAAI 2020), which converges in far
fewer epochs; the network's outputs and :func:`decode` are the same.

Reference: X. Zhou, D. Wang, P. Krähenbühl, *Objects as Points*,
arXiv:1904.07850 (2019); the penalty-reduced focal loss and Gaussian radius
follow CornerNet (H. Law, J. Deng, ECCV 2018).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.ops import Conv2dNormActivation, batched_nms, generalized_box_iou_loss

from kit.errors import ParameterError

__all__ = ["CenterNet", "centernet", "decode", "encode_targets", "gaussian_radius", "centernet_loss"]

STRIDE = 4


def _cell_grid(h, w, device):
    """Row and column indices of a (h, w) map, shaped (1, h, 1) and (1, 1, w) to broadcast over objects or images."""
    ys = torch.arange(h, device=device, dtype=torch.float32).view(1, -1, 1)
    xs = torch.arange(w, device=device, dtype=torch.float32).view(1, 1, -1)
    return ys, xs


def _conv(cin, cout, stride=1, dilation=1):
    return Conv2dNormActivation(cin, cout, 3, stride=stride, dilation=dilation, padding=dilation,
                                norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU)


class CenterNet(nn.Module):
    """Heatmap, size and offset heads at stride 4.

    Parameters
    ----------
    num_classes : int
        Object classes (no background class); dataset labels 1..K map to
        heatmap channels 0..K-1.
    width : int
        Channels of the first stage; later stages use 2×, 4×, 8×.
    head_channels : int
        Channels of the top-down path and of the heads.
    head : {"shared", "separate"}
        ``"shared"`` (default): one 3×3 conv feeds the three 1×1 outputs;
        the stride-4 heads then cost a third as much, so a step is about
        15 % cheaper. ``"separate"``: each output (heatmap, size, offset) has
        its own 3×3 conv before its 1×1 output, as in CenterNet.

    Forward takes images ``(B, 3, H, W)`` float in [0, 1], H and W multiples
    of 16, and returns ``{"heatmap": (B, K, H/4, W/4) logits, "size": (B, 2,
    H/4, W/4) box width and height in input pixels / 4 (>= 0), "offset": (B,
    2, H/4, W/4) offset from the cell to the box centre, in cells}``. Export
    to ONNX covers this forward; :func:`decode` runs after it.
    """

    def __init__(self, num_classes: int, width: int = 16, head_channels: int = 32, head: str = "shared"):
        super().__init__()
        if num_classes < 1:
            raise ParameterError(f"num_classes must be >= 1, got {num_classes}")
        if head not in ("separate", "shared"):
            raise ParameterError(f"head must be 'separate' or 'shared', got {head!r}")
        self.head_kind = head
        w = width
        self.num_classes = num_classes
        self.stem = nn.Sequential(_conv(3, w, 2), _conv(w, 2 * w, 2))  # stride 4
        self.stage8 = nn.Sequential(_conv(2 * w, 4 * w, 2), _conv(4 * w, 4 * w))
        self.stage16 = nn.Sequential(_conv(4 * w, 8 * w, 2), _conv(8 * w, 8 * w), _conv(8 * w, 8 * w, dilation=2))
        c = head_channels
        self.lat16 = nn.Conv2d(8 * w, c, 1)
        self.lat8 = nn.Conv2d(4 * w, c, 1)
        self.lat4 = nn.Conv2d(2 * w, c, 1)
        self.smooth8 = _conv(c, c)
        self.smooth4 = _conv(c, c)

        def make_head(out, bias=0.0):
            last = nn.Conv2d(c, out, 1)
            nn.init.constant_(last.bias, bias)
            if head == "shared":
                return last
            return nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True), last)

        # "shared": one 3×3 conv feeds three 1×1 outputs, a third of the stride-4 head cost.
        self.head_trunk = (nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True))
                           if head == "shared" else nn.Identity())

        # Heatmap bias so the initial probability is 0.1 (Lin et al., focal loss prior).
        self.heatmap = make_head(num_classes, -math.log((1 - 0.1) / 0.1))
        # Sizes are >= 0 (ReLU, as in TTFNet); the bias starts every box at 2 cells so no unit starts dead.
        self.size = make_head(2, 2.0)
        self.offset = make_head(2)
        self.register_buffer("mean", torch.tensor([0.45, 0.45, 0.45]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1), persistent=False)

    def forward(self, images):
        x = (images - self.mean) / self.std
        c4 = self.stem(x)
        c8 = self.stage8(c4)
        c16 = self.stage16(c8)
        p = self.lat16(c16)
        p = self.smooth8(self.lat8(c8) + F.interpolate(p, size=c8.shape[-2:], mode="nearest"))
        p = self.smooth4(self.lat4(c4) + F.interpolate(p, size=c4.shape[-2:], mode="nearest"))
        p = self.head_trunk(p)
        return {"heatmap": self.heatmap(p), "size": F.relu(self.size(p)), "offset": self.offset(p)}


def centernet(num_classes: int, width: int = 16, head_channels: int = 32, weights=None, backend=None,
              head: str = "shared") -> CenterNet:
    """Build the default small detector, from scratch or from a local weight file.

    Parameters
    ----------
    num_classes : int
        Object classes, without background (4 for container, truck, pallet, person).
    width, head_channels : int
        Network size; the defaults give about 0.47 M parameters.
    head : {"shared", "separate"}
        See :class:`CenterNet`; ``"shared"`` (default) trains about 15 %
        faster and, in the same time, scores at least as well as
        ``"separate"`` on the synthetic yard scenes.
    weights : path, optional
        A ``state_dict`` saved with ``torch.save``; no hub download is tried.
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}
        Where the network runs: the notebook's Backend, or a device to resolve.

    Returns
    -------
    CenterNet

    Examples
    --------
    >>> m = centernet(4)
    >>> sum(p.numel() for p in m.parameters()) < 1_000_000
    True
    >>> out = m(torch.zeros(1, 3, 64, 64))
    >>> tuple(out["heatmap"].shape), tuple(out["size"].shape)
    ((1, 4, 16, 16), (1, 2, 16, 16))
    """
    from kit.backend import as_backend

    model = CenterNet(num_classes, width, head_channels, head)
    if weights is not None:
        from kit.vision.models.weights import load_weights

        load_weights(model, weights, f"CenterNet({num_classes} classes, width {width})")
    return model.to(as_backend(backend).torch_device)


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
                   regression: str = "center", beta: float = 0.54):
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
        g = torch.exp(-dx2 / (2 * sx.view(-1, 1, 1) ** 2) - dy2 / (2 * sy.view(-1, 1, 1) ** 2))  # (n, h, w)
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
            gr = torch.exp(-dx2 / (2 * (rx / 3).clamp(min=min_sigma).view(-1, 1, 1) ** 2)
                           - dy2 / (2 * (ry / 3).clamp(min=min_sigma).view(-1, 1, 1) ** 2)) * inside
            gr = gr / gr.sum(dim=(1, 2), keepdim=True)
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


@torch.no_grad()
def decode(outputs: dict, score_threshold: float = 0.05, top_k: int = 100, nms_iou: float = 0.5,
           stride: int = STRIDE, image_sizes=None, input_size=None):
    """Boxes, scores and labels from the network outputs.

    Parameters
    ----------
    outputs : dict
        From :class:`CenterNet` forward (or the same arrays from ONNX Runtime, as tensors).
    score_threshold : float, 0–1
        Keep peaks at least this confident (0.05 for mAP; calibrate a higher
        one for counting).
    top_k : int
        Peaks considered per image, before NMS.
    nms_iou : float
        Per-class NMS threshold.
    stride : int
    image_sizes : list of (height, width), optional
        Original sizes to scale boxes back to (with ``input_size``).
    input_size : (height, width), optional
        Size the network saw; defaults to the heatmap size × stride.

    Returns
    -------
    list of dict
        Per image: ``boxes`` (n, 4) XYXY px, ``scores`` (n,), ``labels`` (n,) int64 in 1..K.
    """
    heat = torch.sigmoid(outputs["heatmap"].float())
    B, K, h, w = heat.shape
    peaks = heat * (F.max_pool2d(heat, 3, stride=1, padding=1) == heat)
    scores, idx = peaks.reshape(B, -1).topk(min(top_k, K * h * w))
    cls = idx // (h * w)
    cell = idx % (h * w)
    ys, xs = (cell // w).float(), (cell % w).float()
    size = outputs["size"].float().reshape(B, 2, -1)
    off = outputs["offset"].float().reshape(B, 2, -1)
    in_h, in_w = input_size or (h * stride, w * stride)
    results = []
    for b in range(B):
        sw, sh = size[b, 0, cell[b]].clamp(min=0), size[b, 1, cell[b]].clamp(min=0)
        cx, cy = xs[b] + off[b, 0, cell[b]], ys[b] + off[b, 1, cell[b]]
        boxes = torch.stack([cx - sw / 2, cy - sh / 2, cx + sw / 2, cy + sh / 2], dim=1) * stride
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, in_w)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, in_h)
        keep = scores[b] >= score_threshold
        bx, sc, lb = boxes[keep], scores[b][keep], cls[b][keep]
        keep = batched_nms(bx, sc, lb, nms_iou)
        bx, sc, lb = bx[keep], sc[keep], lb[keep] + 1
        if image_sizes is not None:
            oh, ow = image_sizes[b]
            bx = bx * torch.tensor([ow / in_w, oh / in_h, ow / in_w, oh / in_h], device=bx.device)
        results.append({"boxes": bx, "scores": sc, "labels": lb.long()})
    return results
