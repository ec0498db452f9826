"""Tiny radiograph stand-ins for training tests: dim noise, and a bright square (the "finding") on every third."""
import numpy as np


def squares(n=96, size=32, seed=0):
    """``(images (n, size, size) float32, labels (n,) int)``: label 1 on every third image, which holds the square."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, size, size), dtype=np.float32) * 0.3
    y = (np.arange(n) % 3 == 0).astype(int)
    for i in np.nonzero(y)[0]:
        r, c = rng.integers(4, size - 12, 2)
        x[i, r:r + 8, c:c + 8] += 0.5  # a bright blob somewhere: the "finding"
    return x, y
