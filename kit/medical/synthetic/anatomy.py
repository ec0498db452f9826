"""Drawing one frontal chest radiograph (attenuation, white = dense) with an optional urgent finding.

The anatomy is a few analytic shapes: torso and neck (soft tissue), two
lungs above the diaphragm domes with smooth random vessel markings, the
mediastinum and heart, spine, ribs and clavicles. A finding changes one
lung: an opacity (from a small faint nodule to a lobar consolidation), a
pneumothorax (a lucent rim without markings behind a pleural line), or an
effusion (from a blunted costophrenic angle to a meniscus; on a supine AP
film a veil over the hemithorax, since the fluid layers behind the lung).
``severity`` (0–1) sets how large and dense the finding is, so some are as
subtle as the ones readers miss. The patient's age, sex and the view add
the normal look-alikes of :mod:`~kit.medical.synthetic.confounders`, and an
AP (portable) film is magnified, shallower in inspiration and rotated.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.ndimage import gaussian_filter

from kit.errors import ParameterError

__all__ = ["FINDINGS", "VIEWS", "render_chest"]

FINDINGS = ("opacity", "pneumothorax", "effusion")
VIEWS = ("PA", "AP")


class _Chest(NamedTuple):
    """Where this patient's chest lies, in image fractions (0–1)."""

    cx: float  # midline
    lung_w: float  # half-width of a lung
    lung_h: float  # half-height of a lung
    lung_y: float  # height of the lungs' centres
    gap: float  # distance of each lung's centre from the midline


def _smooth_step(x, width):
    return 0.5 * (1.0 + np.tanh(x / max(width, 1e-6)))


def _draw_chest(rng: np.random.Generator, view: str = "PA", age_years: float = 45.0) -> _Chest:
    # A bedside AP film: the patient is rotated and breathes in less; the elderly are often hyperinflated.
    cx = 0.5 + rng.normal(0, 0.03 if view == "AP" else 0.015)
    lung_w = rng.uniform(0.15, 0.19)
    inspiration = rng.uniform(0.86, 0.95) if view == "AP" else 1.0
    inflation = 1.0 + 0.06 * float(np.clip((age_years - 50) / 40, 0, 1)) * rng.random()
    lung_h = rng.uniform(0.27, 0.33) * inspiration * inflation
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


def _add_heart(rng, mu, x, y, dome, c: _Chest, magnification: float = 1.0):
    """Mediastinum and heart (``magnification`` > 1 on an AP film: the heart is far from the detector)."""
    mediastinum = (np.abs(x - c.cx) < (0.06 + 0.05 * np.clip((y - 0.2) / 0.5, 0, 1)) * magnification) & (y > 0.08) & (
        y < dome + 0.02)
    heart_c = (c.cx + rng.uniform(0.03, 0.06), c.lung_y + c.lung_h * rng.uniform(0.45, 0.6))
    heart_r = (rng.uniform(0.12, 0.16) * magnification, rng.uniform(0.10, 0.13) * magnification)
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


def _opacity(rng, mu, x, y, c: _Chest, lung, heart, sx, severity):
    """From a faint nodule (severity 0) to a dense lobar consolidation (1), its edge and texture irregular."""
    oy = rng.uniform(c.lung_y - 0.15, c.lung_y + 0.15)
    ox = sx + rng.uniform(-0.06, 0.06)
    sigma = (0.04 + 0.05 * severity) * rng.uniform(0.85, 1.15)
    blob = np.exp(-(((x - ox) ** 2 + (y - oy) ** 2) / (2 * sigma**2)))
    texture = 0.8 + 0.2 * np.cos((x - ox) * 90 * rng.uniform(0.7, 1.3)) * np.cos((y - oy) * 80)
    mu = mu + (0.18 + 0.24 * severity) * blob * texture * (lung | heart)
    return mu, (blob > 0.3) & lung


def _pneumothorax(rng, mu, x, y, c: _Chest, lung, bone, side, sx, severity):
    """Air between lung and chest wall: a lateral-apical rim, deeper and darker with severity, behind a pleural line."""
    depth = 0.25 + 0.3 * severity
    lateral = (x - sx) * (-1.0 if side == "right" else 1.0)
    rim = lung & ((lateral / c.lung_w) + 0.8 * ((c.lung_y - y) / c.lung_h).clip(0, None) > 1.0 - depth)
    lucency = 0.75 + 0.25 * severity  # how much of the lung's own density the air replaces
    mu = np.where(rim, mu + lucency * (0.02 + bone - mu), mu)
    edge = rim & ~np.roll(rim, 2 if side == "left" else -2, axis=1)
    mu = np.where(edge, mu + 0.05 + 0.08 * severity, mu)
    return mu, rim


def _effusion(rng, mu, x, y, c: _Chest, lung, bone, sx, severity, view):
    """Upright (PA): fluid in the costophrenic angle under a meniscus, from a blunted angle (0) to a
    third of the hemithorax (1). Supine (AP): the fluid layers behind the lung, a veil densest at the base."""
    if view == "AP":
        top = c.lung_y - c.lung_h
        gradient = np.clip((y - top) / (2 * c.lung_h), 0, 1)
        veil = (0.13 + 0.12 * severity) * (0.4 + 0.6 * gradient) * rng.uniform(0.85, 1.15)
        return np.where(lung, mu + veil, mu), lung
    level = c.lung_y + c.lung_h * (0.62 - 0.27 * severity + rng.uniform(-0.03, 0.03))
    lateral = np.abs(x - sx) / c.lung_w
    fill = lung * _smooth_step(y - (level - 0.10 * lateral**2), 0.008)
    strength = 0.75 + 0.25 * severity
    mu = mu + fill * strength * (0.55 + 0.5 * bone - mu)
    return mu, fill > 0.5


def _add_finding(rng, mu, x, y, finding, c: _Chest, side_masks, heart, bone, severity=1.0, view="PA"):
    """Change one lung for ``finding``; returns ``mu`` and the finding's mask (all False when none)."""
    side = "right" if rng.random() < 0.5 else "left"
    lung = side_masks[side]
    sx = c.cx - c.gap if side == "right" else c.cx + c.gap
    if finding == "opacity":
        return _opacity(rng, mu, x, y, c, lung, heart, sx, severity)
    if finding == "pneumothorax":
        return _pneumothorax(rng, mu, x, y, c, lung, bone, side, sx, severity)
    if finding == "effusion":
        return _effusion(rng, mu, x, y, c, lung, bone, sx, severity, view)
    return mu, np.zeros(x.shape, dtype=bool)


def _look_alikes(rng, x, y, size, c: _Chest, lungs, age_years, sex, view):
    """The normal look-alikes of findings this patient's film shows (attenuation to add)."""
    from kit.medical.synthetic import confounders as cf

    layer = cf.age_changes(rng, x, y, lungs, size, age_years)
    if sex == "F":
        layer = layer + cf.breast_shadows(rng, x, y, c.cx, c.lung_y, c.lung_h)
    if view == "AP":
        layer = layer + cf.scapulae(rng, x, y, c.cx, c.lung_y)
    if rng.random() < (0.85 if view == "AP" else 0.06):
        layer = layer + cf.overlying_devices(rng, x, y, c.cx, c.lung_y)
    if rng.random() < (0.3 if view == "AP" else 0.03):
        layer = layer + cf.skin_fold(rng, x, y, c.cx, c.lung_y, c.lung_h)
    return layer


def _check_render(finding, severity, view, sex):
    if finding not in (None, *FINDINGS):
        raise ParameterError(f"finding must be None or one of {', '.join(FINDINGS)}, got {finding!r}")
    if not 0.0 <= severity <= 1.0:
        raise ParameterError(f"severity must be between 0 (subtle) and 1 (obvious), got {severity}")
    if view not in VIEWS:
        raise ParameterError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    if sex not in ("F", "M"):
        raise ParameterError(f"sex must be 'F' or 'M', got {sex!r}")


def render_chest(rng: np.random.Generator, size: int = 128, finding: str | None = None, *, severity: float = 1.0,
                 age_years: float = 45.0, sex: str = "M", view: str = "PA"):
    """Draw one frontal chest radiograph (white = dense) and the finding's mask.

    Parameters
    ----------
    rng : numpy.random.Generator
    size : int, pixels
    finding : {None, "opacity", "pneumothorax", "effusion"}
    severity : float, 0–1
        Size and density of the finding: 0 is as subtle as a reader may miss, 1 obvious.
    age_years : float
        Older lungs have coarser markings, calcified granulomas and hyperinflation.
    sex : {"M", "F"}
        Women's films carry breast shadows over the lower zones.
    view : {"PA", "AP"}
        AP: a bedside portable film (magnified heart, shallow inspiration, rotation,
        scapulae over the lungs, ECG leads and lines, skin folds; a supine effusion is a veil).

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
    _check_render(finding, severity, view, sex)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / np.float32(size - 1)
    px = 1.0 / size
    chest = _draw_chest(rng, view, age_years)
    mu, body, dome, side_masks = _soft_tissue_and_lungs(rng, x, y, size, chest)
    mu, heart = _add_heart(rng, mu, x, y, dome, chest, rng.uniform(1.1, 1.25) if view == "AP" else 1.0)
    bone = _bones(rng, x, y, body, dome, chest)
    mu = mu + bone
    # Drawn before the finding, so a film with and without it differ only by the finding (same seed).
    layer = _look_alikes(rng, x, y, size, chest, side_masks["right"] | side_masks["left"], age_years, sex, view)
    mu, mask = _add_finding(rng, mu, x, y, finding, chest, side_masks, heart, bone, severity, view)
    mu = gaussian_filter(mu + layer, sigma=max(0.6 * px * size / 128, 0.4))
    return np.clip(mu, 0.0, 1.0).astype(np.float32), mask
