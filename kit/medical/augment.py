"""Composable augmentations for radiograph batches (torchvision / MONAI style).

Each transform is a callable ``t(images, generator) -> images`` on a float
tensor ``(batch, 1, H, W)`` in [0, 1], drawing its randomness from the
``torch.Generator`` it is given, so a seeded training run is reproducible.
They act on whole batches (one affine grid per batch call, per-image
parameters) because per-image Python loops would dominate CPU training time.

What they imitate: patient positioning (small rotation, shift and zoom) and
the detector and processing differences between sites (gamma, contrast,
brightness, quantum noise), which is the domain shift the subgroup metrics
look for. Horizontal flips are offered but not in :func:`default_augmentation`:
on real radiographs they move the heart to the wrong side.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from kit.errors import ParameterError


def _uniform(generator, n, low, high, device):
    return low + (high - low) * torch.rand(n, generator=generator, device=device)


class Compose:
    """Apply transforms in order.

    Examples
    --------
    >>> import torch
    >>> t = Compose([RandomGamma(0.2), GaussianNoise(0.01)])
    >>> g = torch.Generator().manual_seed(0)
    >>> t(torch.full((2, 1, 8, 8), 0.5), g).shape
    torch.Size([2, 1, 8, 8])
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, images, generator):
        for t in self.transforms:
            images = t(images, generator)
        return images

    def __repr__(self):
        return f"Compose({self.transforms!r})"


class RandomAffine:
    """Random rotation (degrees), translation (fraction of the side) and zoom, zero (air) padding.

    Parameters
    ----------
    degrees : float, degrees
    translate : float, fraction of the image side
    scale : (float, float)
    p : float
        Probability that an image is transformed.
    """

    def __init__(self, degrees: float = 7.0, translate: float = 0.06, scale=(0.92, 1.08), p: float = 1.0):
        if degrees < 0 or not 0 <= translate < 0.5 or not 0 < scale[0] <= scale[1]:
            raise ParameterError("RandomAffine needs degrees >= 0, 0 <= translate < 0.5 and 0 < scale[0] <= scale[1]")
        self.degrees, self.translate, self.scale, self.p = degrees, translate, tuple(scale), p

    def __call__(self, images, generator):
        n, dev = images.shape[0], images.device
        angle = _uniform(generator, n, -self.degrees, self.degrees, dev) * (math.pi / 180)
        zoom = _uniform(generator, n, *self.scale, dev)
        shift = _uniform(generator, 2 * n, -2 * self.translate, 2 * self.translate, dev).reshape(n, 2)
        keep = torch.rand(n, generator=generator, device=dev) >= self.p
        angle = torch.where(keep, torch.zeros_like(angle), angle)
        zoom = torch.where(keep, torch.ones_like(zoom), zoom)
        shift = torch.where(keep[:, None], torch.zeros_like(shift), shift)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta.to(images.dtype), list(images.shape), align_corners=False)
        return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    def __repr__(self):
        return f"RandomAffine(degrees={self.degrees}, translate={self.translate}, scale={self.scale}, p={self.p})"


class RandomGamma:
    """``x ** g`` with ``log g`` uniform in ``[-log_range, log_range]`` (detector and processing curves)."""

    def __init__(self, log_range: float = 0.25):
        self.log_range = log_range

    def __call__(self, images, generator):
        g = torch.exp(_uniform(generator, images.shape[0], -self.log_range, self.log_range, images.device))
        return images.clamp(0, 1) ** g.to(images.dtype)[:, None, None, None]

    def __repr__(self):
        return f"RandomGamma(log_range={self.log_range})"


class RandomContrast:
    """``(x - 0.5) * c + 0.5 + b`` with ``c`` in ``contrast`` and ``b`` in ``±brightness``, clipped to [0, 1]."""

    def __init__(self, contrast=(0.85, 1.15), brightness: float = 0.05):
        self.contrast, self.brightness = tuple(contrast), brightness

    def __call__(self, images, generator):
        n, dev = images.shape[0], images.device
        c = _uniform(generator, n, *self.contrast, dev)[:, None, None, None].to(images.dtype)
        b = _uniform(generator, n, -self.brightness, self.brightness, dev)[:, None, None, None].to(images.dtype)
        return ((images - 0.5) * c + 0.5 + b).clamp(0, 1)

    def __repr__(self):
        return f"RandomContrast(contrast={self.contrast}, brightness={self.brightness})"


class GaussianNoise:
    """Add Gaussian noise of standard deviation uniform in ``[0, std]`` per image (quantum noise)."""

    def __init__(self, std: float = 0.02):
        self.std = std

    def __call__(self, images, generator):
        sigma = _uniform(generator, images.shape[0], 0.0, self.std, images.device)[:, None, None, None]
        noise = torch.randn(images.shape, generator=generator, device=images.device, dtype=images.dtype)
        return (images + sigma.to(images.dtype) * noise).clamp(0, 1)

    def __repr__(self):
        return f"GaussianNoise(std={self.std})"


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p`` (not anatomical on real chests: use with care)."""

    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, images, generator):
        flip = (torch.rand(images.shape[0], generator=generator, device=images.device) < self.p)[:, None, None, None]
        return torch.where(flip, images.flip(-1), images)

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


def default_augmentation() -> Compose:
    """Positioning (affine), then gamma, contrast and noise: the kit's training augmentation."""
    return Compose([RandomAffine(), RandomGamma(), RandomContrast(), GaussianNoise()])
