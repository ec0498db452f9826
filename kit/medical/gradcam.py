"""Grad-CAM heatmaps: where in the radiograph the urgent logit comes from.

Selvaraju et al. 2017 ("Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization", ICCV): the activations ``A_k`` of a convolution
layer are weighted by the spatial mean of the logit's gradient with respect
to them, ``w_k = mean_xy d logit / d A_k``, and ``ReLU(sum_k w_k A_k)`` is
upsampled to the image. It shows the evidence *for* the urgent class.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from kit.medical.model import gradcam_layer


def grad_cam(model, images, layer=None, normalize: bool = True) -> np.ndarray:
    """Grad-CAM heatmaps for a one-logit classifier.

    Parameters
    ----------
    model : torch.nn.Module
        Returns one logit per image (``(batch,)``).
    images : tensor or array ``(n, 1, H, W)`` or ``(n, H, W)``
        Already at the model's input size.
    layer : torch.nn.Module, optional
        Layer whose output is weighed; default :func:`kit.medical.model.gradcam_layer`.
    normalize : bool
        Scale each heatmap to [0, 1] by its maximum (all-zero maps stay zero).

    Returns
    -------
    ndarray ``(n, H, W)`` float32

    Examples
    --------
    >>> from kit.medical.model import small_cnn
    >>> grad_cam(small_cnn(width=8).eval(), torch.rand(2, 1, 32, 32)).shape
    (2, 32, 32)
    """
    x = torch.as_tensor(np.asarray(images, dtype=np.float32) if not torch.is_tensor(images) else images)
    if x.ndim == 3:
        x = x[:, None]
    layer = gradcam_layer(model) if layer is None else layer
    device = next(model.parameters()).device
    x = x.to(device)
    store = {}

    def hook(_module, _inputs, output):
        output.retain_grad()
        store["act"] = output

    handle = layer.register_forward_hook(hook)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            logits = model(x)
            model.zero_grad(set_to_none=True)
            logits.sum().backward()  # images are independent in eval mode: one backward serves the batch
        act, grad = store["act"].detach(), store["act"].grad.detach()
    finally:
        handle.remove()
        model.train(was_training)
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * act).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    if normalize:
        peak = cam.flatten(1).amax(dim=1).clamp_min(1e-12)[:, None, None]
        cam = cam / peak
    return cam.cpu().numpy().astype(np.float32)


def heatmap_mass_in(cam, mask) -> np.ndarray:
    """Fraction of each heatmap's total inside a boolean mask (localization check).

    Examples
    --------
    >>> cam = np.zeros((1, 4, 4)); cam[0, :2, :2] = 1
    >>> heatmap_mass_in(cam, np.ones((1, 4, 4), bool) & (np.arange(4)[:, None] < 2)).tolist()
    [1.0]
    """
    cam = np.asarray(cam, dtype=np.float64)
    mask = np.broadcast_to(np.asarray(mask, bool), cam.shape)
    total = cam.reshape(len(cam), -1).sum(1)
    inside = (cam * mask).reshape(len(cam), -1).sum(1)
    return np.where(total > 0, inside / np.where(total > 0, total, 1), np.nan)
