"""Light and camera effects: drawing a scene's light conditions and applying them to an image.

Conditions (brightness, tint, contrast, cast shadow, glare, blur, motion
blur, sensor noise) are drawn once per scene; applying them uses the
scene's own seeds, so a fixed camera keeps its shadows while the sensor
noise changes from frame to frame.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def random_light(rng):
    """Light conditions of one scene, drawn from ``rng`` (night in 12 % of scenes)."""
    night = rng.random() < 0.12
    return {
        "brightness": float(rng.uniform(0.3, 0.5) if night else rng.uniform(0.7, 1.25)),
        "tint": tuple(float(t) for t in (rng.normal(1, 0.06, 3) if not night else (0.85, 0.9, 1.15))),
        "contrast": float(rng.uniform(0.75, 1.15)),
        "shadow": bool(rng.random() < 0.35),
        "glare": bool(rng.random() < 0.2),
        "blur": float(rng.choice([0.0, 0.0, rng.uniform(0.3, 1.4)])),
        "motion_blur": bool(rng.random() < 0.1),
        "noise": float(rng.uniform(10, 18) if night else rng.uniform(1, 8)),
        "seed": int(rng.integers(2**31)),
    }


def apply_light(img: Image.Image, light: dict, blur_scale: float = 1.0) -> Image.Image:
    """``img`` as the camera records it under ``light`` (from :func:`random_light`).

    ``blur_scale`` scales the Gaussian blur radius (px) with the image size;
    ``light["noise_seed"]``, when set, seeds the sensor noise apart from
    the shadow and glare.
    """
    rng = np.random.default_rng(light["seed"])
    W, H = img.size
    a = np.asarray(img, dtype=np.float32)
    if light["shadow"]:  # a cast shadow across part of the scene
        shadow = Image.new("L", img.size, 0)
        x = rng.uniform(0, W, 2)
        ImageDraw.Draw(shadow).polygon([(x[0], 0), (x[0] + W * 0.4, 0), (x[1] + W * 0.4, H), (x[1], H)], fill=255)
        m = np.asarray(shadow.filter(ImageFilter.GaussianBlur(W / 60)), dtype=np.float32)[..., None] / 255
        a *= 1 - 0.4 * m
    mean = a.mean()
    a = (a - mean) * light["contrast"] + mean
    a *= light["brightness"] * np.asarray(light["tint"], dtype=np.float32)
    if light["glare"]:  # sun or floodlight flare
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        gx, gy = rng.uniform(0, W), rng.uniform(0, H)
        a += 90 * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * (0.25 * W) ** 2))[..., None]
    out = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if light["motion_blur"]:
        out = out.filter(ImageFilter.Kernel((5, 5), [0] * 10 + [1] * 5 + [0] * 10, scale=5))
    if light["blur"] > 0:
        out = out.filter(ImageFilter.GaussianBlur(light["blur"] * blur_scale))
    a = np.asarray(out, dtype=np.float32)
    # Sensor noise has its own seed so a fixed camera keeps its shadows while the noise changes per frame.
    noise_rng = np.random.default_rng(light.get("noise_seed", light["seed"] + 1))
    a += noise_rng.standard_normal(a.shape, dtype=np.float32) * np.float32(light["noise"])
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
