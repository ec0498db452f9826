"""What makes a real chest film hard to read, drawn over the anatomy: normal look-alikes of the findings.

None of these is a finding, yet each resembles one at low resolution, so a
classifier cannot score a film by "anything bright in a lung":

- age-related lung changes: coarser interstitial markings and small
  calcified granulomas (bright specks, like a small nodule) grow with age;
- breast shadows: soft-tissue density over both lower zones in women (like a
  basal opacity or a small effusion);
- portable (AP, bedside) films: scapulae over the lateral lung fields, ECG
  electrodes and their leads, a central venous line, and sometimes a skin fold
  (a curved edge over the lung periphery, the classic pneumothorax mimic).

All shapes are drawn on the normalized grid, so the same film at any size.
"""
from __future__ import annotations

import numpy as np

__all__ = ["age_changes", "breast_shadows", "overlying_devices", "scapulae", "skin_fold"]


def _age_factor(age_years: float) -> float:
    """0 at 30 years or younger, 1 at 90: how far the age-related changes have gone."""
    return float(np.clip((age_years - 30.0) / 60.0, 0.0, 1.0))


def age_changes(rng, x, y, lungs, size: int, age_years: float):
    """Coarse interstitial markings and calcified granulomas in the lungs (attenuation to add).

    Examples
    --------
    >>> y, x = np.mgrid[0:64, 0:64] / 63.0
    >>> lungs = (np.abs(x - 0.5) > 0.1) & (np.abs(y - 0.45) < 0.3)
    >>> young = age_changes(np.random.default_rng(0), x, y, lungs, 64, 25)
    >>> old = age_changes(np.random.default_rng(0), x, y, lungs, 64, 88)
    >>> bool(np.abs(old).sum() > np.abs(young).sum())
    True
    """
    from scipy.ndimage import gaussian_filter

    a = _age_factor(age_years)
    fine = gaussian_filter(rng.normal(0, 1, (size, size)).astype(np.float32), sigma=max(size / 64, 0.6))
    fine = fine / (np.abs(fine).max() + 1e-6)
    add = np.where(lungs, (0.01 + 0.04 * a) * fine, 0.0)
    n_granulomas = int(rng.poisson(0.2 + 2.0 * a))
    ys, xs = np.nonzero(lungs)
    for _ in range(n_granulomas if len(ys) else 0):
        k = int(rng.integers(0, len(ys)))
        gy, gx = ys[k] / (size - 1), xs[k] / (size - 1)
        r = rng.uniform(0.006, 0.014)
        add = add + rng.uniform(0.12, 0.3) * np.exp(-((x - gx) ** 2 + (y - gy) ** 2) / (2 * r**2))
    return add.astype(np.float32)


def breast_shadows(rng, x, y, cx: float, lung_y: float, lung_h: float):
    """Soft-tissue density over both lower zones, fading upward, ending in a curved lower edge."""
    out = np.zeros(x.shape, dtype=np.float32)
    density = rng.uniform(0.04, 0.12)
    for sign in (-1.0, 1.0):
        bx = cx + sign * rng.uniform(0.2, 0.26)
        by = lung_y + lung_h * rng.uniform(0.5, 0.8)
        r = rng.uniform(0.13, 0.18)
        d2 = ((x - bx) / r) ** 2 + ((y - by) / (0.8 * r)) ** 2
        upper = np.clip((y - (by - r)) / r, 0.0, 1.0)  # thicker toward the inframammary fold
        out += np.where(d2 < 1.0, density * upper * np.sqrt(np.clip(1.0 - d2, 0, 1)), 0.0).astype(np.float32)
    return out


def scapulae(rng, x, y, cx: float, lung_y: float):
    """The scapulae a supine AP film cannot rotate out of the lung fields: bands over the upper lateral lungs."""
    out = np.zeros(x.shape, dtype=np.float32)
    for sign in (-1.0, 1.0):
        medial = cx + sign * rng.uniform(0.22, 0.3)
        lateral = np.abs(x - cx) > np.abs(medial - cx) - 0.03 * (y - 0.2) / 0.3
        band = lateral & (y > 0.15) & (y < lung_y + 0.05) & (np.abs(x - cx) < 0.46)
        taper = np.clip((lung_y + 0.05 - y) / 0.15, 0, 1)  # the blade thins toward its tip
        out += np.where(band, rng.uniform(0.05, 0.1) * taper, 0.0).astype(np.float32)
    return out


def _segment(x, y, p0, p1, half_width):
    """Distance-based mask of the segment p0-p1 (a wire) with a soft edge."""
    d = np.array(p1) - np.array(p0)
    t = np.clip(((x - p0[0]) * d[0] + (y - p0[1]) * d[1]) / (d @ d + 1e-9), 0, 1)
    dist = np.hypot(x - (p0[0] + t * d[0]), y - (p0[1] + t * d[1]))
    return np.exp(-((dist / half_width) ** 2))


def overlying_devices(rng, x, y, cx: float, lung_y: float):
    """ECG electrodes with their leads and, on some films, a central venous line from the subclavian vein."""
    out = np.zeros(x.shape, dtype=np.float32)
    for _ in range(int(rng.integers(2, 5))):
        ex, ey = cx + rng.uniform(-0.35, 0.35), lung_y + rng.uniform(-0.25, 0.3)
        r = rng.uniform(0.012, 0.02)
        disc = np.hypot(x - ex, y - ey) < r
        out += np.where(disc, rng.uniform(0.3, 0.6), 0.0).astype(np.float32)
        end = (ex + rng.uniform(-0.3, 0.3), ey + rng.uniform(0.2, 0.5))
        out += (0.2 * _segment(x, y, (ex, ey), end, 0.004)).astype(np.float32)
    if rng.random() < 0.5:
        side = -1.0 if rng.random() < 0.5 else 1.0
        start = (cx + side * 0.25, 0.2)
        bend = (cx + side * 0.06, 0.25)
        tip = (cx + side * 0.02, lung_y + rng.uniform(-0.02, 0.06))
        line = np.maximum(_segment(x, y, start, bend, 0.005), _segment(x, y, bend, tip, 0.005))
        out += (0.3 * line).astype(np.float32)
    return out


def skin_fold(rng, x, y, cx: float, lung_y: float, lung_h: float):
    """A curved skin edge over one lung's periphery: a density step with a dark rim, no pleural line."""
    side = -1.0 if rng.random() < 0.5 else 1.0
    x0 = cx + side * rng.uniform(0.26, 0.33)
    curve = x0 - side * 0.08 * ((y - lung_y) / lung_h) ** 2
    beyond = side * (x - curve)  # > 0 lateral of the fold
    zone = np.abs(y - lung_y) < lung_h * 0.8
    step = np.where(zone & (beyond > 0), 0.04, 0.0) - np.where(zone & (np.abs(beyond) < 0.01), 0.03, 0.0)
    return step.astype(np.float32)
