"""Time the synthetic logistics generator: scenes, code crops and a clip.

Usage: python benchmarks/vision_synthetic.py [n_images] [image_size]

Prints seconds and images per second for each part, and the same scenes
re-read by kit.vision.data.load_coco (full decode check) beside them.
There is no peer generator to compare with; the target is 600 scenes at
256 px in well under a minute.
"""
from __future__ import annotations

import os
import platform
import sys
import tempfile
import time

import numpy as np

from kit.vision import synthetic
from kit.vision.data import load_coco


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(n_images: int = 600, image_size: int = 256):
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; single process")
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    for _ in range(50):
        synthetic.render(synthetic.layout_scene("yard" if rng.random() < 0.65 else "gate", image_size, rng=rng))
    per = (time.perf_counter() - t) / 50
    print(f"render only: {per * 1000:.1f} ms/scene ({1 / per:.0f} scenes/s)")
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        synthetic.generate(d, n_images=n_images, image_size=image_size, seed=0, n_code_crops=0, sequence_frames=0)
        scenes = time.perf_counter() - t
        print(f"generate {n_images} scenes at {image_size} px (JPEG written): {scenes:.1f} s ({n_images / scenes:.0f} images/s)")
        t = time.perf_counter()
        idx = load_coco(d)
        print(f"load_coco with full decode check: {time.perf_counter() - t:.2f} s for {len(idx.images)} images; "
              f"{sum(len(b) for b in idx.boxes)} boxes; report: {idx.report}")
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        synthetic.generate(d, n_images=0, n_code_crops=1500, sequence_frames=0)
        crops = time.perf_counter() - t
        print(f"1500 code crops 32x160: {crops:.1f} s ({1500 / crops:.0f} crops/s)")
    t = time.perf_counter()
    synthetic.render_sequence(40, image_size, seed=0)
    print(f"40-frame clip: {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
