"""A small anchor-free detector in the manner of CenterNet (Zhou et al., 2019): the network and its decoding.

Objects are points: a per-class heatmap peaks at each box centre, and two
maps at the same location give the box size and the sub-pixel offset of the
centre, all at stride 4. Decoding keeps the local maxima of the heatmap (a
3×3 max-pool), reads size and offset there, and removes duplicates with
per-class NMS (``torchvision.ops.batched_nms``).

The network is a plain CNN down to stride 16 with a dilated context layer, a
top-down path back to stride 4 (FPN-like additions) and a shared 3×3 conv
feeding three 1×1 outputs: about 0.47 M parameters at the default
``width=16``, trained from scratch. Its training targets and loss are in
:mod:`kit.vision.models.anchor_free_loss`.

Reference: X. Zhou, D. Wang, P. Krähenbühl, *Objects as Points*,
arXiv:1904.07850 (2019).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.ops import Conv2dNormActivation, batched_nms

from kit.errors import ParameterError

__all__ = ["CenterNet", "centernet", "decode"]

STRIDE = 4


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
