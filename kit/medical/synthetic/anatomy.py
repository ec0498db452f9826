"""Drawing one frontal chest radiograph (attenuation, white = dense) with an optional urgent finding.

The anatomy is a few analytic shapes: torso and neck (soft tissue), two
lungs above the diaphragm domes with smooth random vessel markings, the
mediastinum and heart, spine, ribs and clavicles. A finding changes one
lung: a large opacity, a pneumothorax-like rim without markings and with a
pleural line, or an effusion filling the costophrenic angle with a meniscus.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.ndimage import gaussian_filter

from kit.errors import ParameterError

__all__ = ["FINDINGS", "render_chest"]

FINDINGS = ("opacity", "pneumothorax", "effusion")


class _Chest(NamedTuple):
    """Where this patient's chest lies, in image fractions (0–1)."""

    cx: float  # midline
    lung_w: float  # half-width of a lung
    lung_h: float  # half-height of a lung
    lung_y: float  # height of the lungs' centres
    gap: float  # distance of each lung's centre from the midline


def _smooth_step(x, width):
    return 0.5 * (1.0 + np.tanh(x / max(width, 1e-6)))


def _draw_chest(rng: np.random.Generator) -> _Chest:
    cx = 0.5 + rng.normal(0, 0.015)
    lung_w = rng.uniform(0.15, 0.19)
    lung_h = rng.uniform(0.27, 0.33)
    lung_y = rng.uniform(0.43, 0.48)
    gap = rng.uniform(0.17, 0.21)
    return _Chest(cx, lung_w, lung_h, lung_y, gap)


def _soft_tissue_and_lungs(rng, x, y, size, c: _Chest):
    """Torso, neck, abdomen below the domes and the two lungs with their markings.

    Returns ``mu, body, dome, side_masks`` (``side_masks``: lung mask of each side).
    """
    body = ((x - c.cx) / 0.47) ** 2 + ((y - 0.62) / 0.62) ** 2 < 1.0
    neck = (np.abs(x - c.cx) < 0.09) & (y < 0.2)
    mu = np.where(body | neck, 0.38, 0.0).astype(np.float32)

    # Diaphragm domes: below them is abdomen (dense).
    dome_r = c.lung_y + c.lung_h * 0.92 - 0.05 * np.cos((x - (c.cx - c.gap)) * 7.0)
    dome_l = c.lung_y + c.lung_h * 0.98 - 0.05 * np.cos((x - (c.cx + c.gap)) * 7.0)
    dome = np.where(x < c.cx, dome_r, dome_l)

    lungs = np.zeros_like(mu, dtype=bool)
    side_masks = {}
    for side, sx in (("right", c.cx - c.gap), ("left", c.cx + c.gap)):
        ell = ((x - sx) / c.lung_w) ** 2 + ((y - c.lung_y) / c.lung_h) ** 2 < 1.0
        lung = ell & (y < dome) & (np.abs(x - c.cx) > 0.055)
        side_masks[side] = lung
        lungs |= lung
    # Lung markings (vessels): a smooth random texture inside the lungs only.
    markings = gaussian_filter(rng.normal(0, 1, (size, size)).astype(np.float32), sigma=size / 48)
    markings = markings / (np.abs(markings).max() + 1e-6)
    hilum = np.exp(-(((np.abs(x - c.cx) - 0.1) / 0.08) ** 2 + ((y - c.lung_y) / 0.12) ** 2))
    lung_value = 0.10 + 0.05 * markings + 0.12 * hilum
    mu = np.where(lungs, lung_value, mu)
    mu = np.where(body & (y >= dome) & (np.abs(x - c.cx) < 0.45), 0.62, mu)
    return mu, body, dome, side_masks


def _add_heart(rng, mu, x, y, dome, c: _Chest):
    """Mediastinum and heart; returns ``mu`` and the heart mask."""
    mediastinum = (np.abs(x - c.cx) < 0.06 + 0.05 * np.clip((y - 0.2) / 0.5, 0, 1)) & (y > 0.08) & (y < dome + 0.02)
    heart_c = (c.cx + rng.uniform(0.03, 0.06), c.lung_y + c.lung_h * rng.uniform(0.45, 0.6))
    heart_r = (rng.uniform(0.12, 0.16), rng.uniform(0.10, 0.13))
    heart = ((x - heart_c[0]) / heart_r[0]) ** 2 + ((y - heart_c[1]) / heart_r[1]) ** 2 < 1.0
    return np.where(mediastinum | heart, 0.64, mu), heart


def _bones(rng, x, y, body, dome, c: _Chest):
    """Attenuation the spine (vertebrae), ribs and clavicles add on top of the rest."""
    spine = (np.abs(x - c.cx) < 0.035) & (y > 0.05) & body
    vertebrae = 0.5 + 0.5 * np.cos(2 * np.pi * y * 17.0)
    bone = np.where(spine, 0.12 + 0.06 * vertebrae, 0.0)
    rib_count = rng.uniform(9.0, 10.5)
    dx = np.abs(x - c.cx)
    rib_phase = (y - 0.55 * (dx - 0.05) ** 2 * 3.0 + 0.25 * dx) * rib_count
    ribs = _smooth_step(np.cos(2 * np.pi * rib_phase) - 0.55, 0.12)
    rib_zone = body & (dx > 0.04) & (dx < 0.43) & (y > 0.12) & (y < dome + 0.04)
    bone = bone + np.where(rib_zone, 0.10 * ribs, 0.0)
    clavicle = np.abs(y - (0.17 + 0.08 * (dx - 0.05))) < 0.012
    return bone + np.where(clavicle & (dx > 0.03) & (dx < 0.3), 0.15, 0.0)


def _add_finding(rng, mu, x, y, finding, c: _Chest, side_masks, heart, bone):
    """Change one lung for ``finding``; returns ``mu`` and the finding's mask (all False when none)."""
    mask = np.zeros(x.shape, dtype=bool)
    side = "right" if rng.random() < 0.5 else "left"
    lung = side_masks[side]
    sx = c.cx - c.gap if side == "right" else c.cx + c.gap
    if finding == "opacity":
        oy = rng.uniform(c.lung_y - 0.12, c.lung_y + 0.15)
        ox = sx + rng.uniform(-0.05, 0.05)
        sigma = rng.uniform(0.06, 0.09)
        blob = np.exp(-(((x - ox) ** 2 + (y - oy) ** 2) / (2 * sigma**2)))
        mu = mu + 0.38 * blob * (lung | heart)
        mask = (blob > 0.3) & lung
    elif finding == "pneumothorax":
        # Air between lung and chest wall: the lateral-apical rim of one lung loses its markings.
        depth = rng.uniform(0.35, 0.55)
        lateral = (x - sx) * (-1.0 if side == "right" else 1.0)
        rim = lung & ((lateral / c.lung_w) + 0.8 * ((c.lung_y - y) / c.lung_h).clip(0, None) > 1.0 - depth)
        mu = np.where(rim, 0.01 + 0.3 * bone, mu)
        edge = rim & ~np.roll(rim, 2 if side == "left" else -2, axis=1)
        mu = np.where(edge, mu + 0.12, mu)
        mask = rim
    elif finding == "effusion":
        # Fluid fills the costophrenic angle with a meniscus rising laterally.
        level = c.lung_y + c.lung_h * rng.uniform(0.35, 0.55)
        lateral = np.abs(x - sx) / c.lung_w
        fluid = lung & (y > level - 0.10 * lateral**2)
        mu = np.where(fluid, 0.55 + 0.5 * bone, mu)
        mask = fluid
    return mu, mask


def render_chest(rng: np.random.Generator, size: int = 128, finding: str | None = None):
    """Draw one frontal chest radiograph (white = dense) and the finding's mask.

    Parameters
    ----------
    rng : numpy.random.Generator
    size : int, pixels
    finding : {None, "opacity", "pneumothorax", "effusion"}

    Returns
    -------
    image : ndarray (size, size), float32 in [0, 1]; attenuation, before any scanner noise
    mask : ndarray (size, size), bool; pixels the finding changed (all False when none)

    Examples
    --------
    >>> import numpy as np
    >>> img, mask = render_chest(np.random.default_rng(0), 64, "effusion")
    >>> img.shape, img.dtype, bool(mask.any())
    ((64, 64), dtype('float32'), True)
    """
    if finding not in (None, *FINDINGS):
        raise ParameterError(f"finding must be None or one of {', '.join(FINDINGS)}, got {finding!r}")
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / np.float32(size - 1)
    px = 1.0 / size
    chest = _draw_chest(rng)
    mu, body, dome, side_masks = _soft_tissue_and_lungs(rng, x, y, size, chest)
    mu, heart = _add_heart(rng, mu, x, y, dome, chest)
    bone = _bones(rng, x, y, body, dome, chest)
    mu = mu + bone
    mu, mask = _add_finding(rng, mu, x, y, finding, chest, side_masks, heart, bone)
    mu = gaussian_filter(mu, sigma=max(0.6 * px * size / 128, 0.4))
    return np.clip(mu, 0.0, 1.0).astype(np.float32), mask
