"""The radiology notebook's exercise checks: right answers pass, typical mistakes get their hint."""
import numpy as np
import torch

from kit.medical import exercises
from kit.medical.augment import RandomAffine, default_augmentation


class RandomShift:
    def __init__(self, max_px=4):
        self.max_px = max_px

    def __call__(self, images, generator):
        n = images.shape[0]
        shifts = torch.randint(-self.max_px, self.max_px + 1, (n, 2), generator=generator)
        out = torch.zeros_like(images)
        h, w = images.shape[-2:]
        for i, (dy, dx) in enumerate(shifts.tolist()):
            src = images[i, :, max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
            out[i, :, max(0, dy):max(0, dy) + src.shape[-2], max(0, dx):max(0, dx) + src.shape[-1]] = src
        return out


class GlobalRandomShift(RandomShift):
    """Draws from the global Torch generator, not the one it is given: not reproducible from the seed."""

    def __call__(self, images, generator):
        return super().__call__(images, None)


class Cutout:
    """Blank a random half of each image: it can erase the finding."""

    def __call__(self, images, generator):
        out = images.clone()
        left = torch.rand(images.shape[0], generator=generator) < 0.5
        w = images.shape[-1]
        for i, lft in enumerate(left.tolist()):
            if lft:
                out[i, ..., : w // 2] = 0
            else:
                out[i, ..., w // 2:] = 0
        return out


def test_augmentation_check():
    assert exercises.check_augmentation(RandomShift(4)).passed
    assert exercises.check_augmentation(default_augmentation()).passed  # the kit's own keeps the label
    assert exercises.check_augmentation(RandomAffine()).passed
    r = exercises.check_augmentation(lambda images, generator: images)
    assert not r.passed and "unchanged" in r.message
    r = exercises.check_augmentation(GlobalRandomShift(4))
    assert not r.passed and "generator" in r.message
    r = exercises.check_augmentation(Cutout())
    assert not r.passed and "erase the finding" in r.message
    r = exercises.check_augmentation(lambda images, generator: images * 2 + 0.5)
    assert not r.passed and "[0, 1]" in r.message


def test_finding_kept_measures_the_signal():
    assert np.allclose(exercises.finding_kept(lambda x, g: x), 1.0)
    assert np.allclose(exercises.finding_kept(lambda x, g: 0.5 * x), 0.5, atol=1e-6)
    assert exercises.finding_kept(Cutout()).min() < 0.3


def test_operating_threshold_check():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(60), np.zeros(90)].astype(int)
    z = rng.normal(0, 1, 150) + 2 * y
    right = float(np.quantile(z[y == 1], 1 - 0.9))
    r = exercises.check_operating_threshold(right, y, z, 0.9, y, z)
    assert r.passed and "validation sensitivity 0.9" in r.message and "test split" in r.message
    assert not exercises.check_operating_threshold(None, y, z, 0.9).passed
    r = exercises.check_operating_threshold(float(np.median(z[y == 1])), y, z, 0.9)
    assert not r.passed and "too high" in r.message
    r = exercises.check_operating_threshold(float(z.min()), y, z, 0.9)
    assert not r.passed and "too low" in r.message
    # The 0.9 quantile instead of the 0.1 quantile: a classic slip.
    assert not exercises.check_operating_threshold(float(np.quantile(z[y == 1], 0.9)), y, z, 0.9).passed


def test_ppv_check():
    assert exercises.check_ppv_at(lambda s, c, p: s * p / (s * p + (1 - c) * (1 - p))).passed
    r = exercises.check_ppv_at(lambda s, c, p: s * p / (s * p + (1 - c)))
    assert not r.passed
    assert not exercises.check_ppv_at(None).passed


def test_ppv_check_reports_the_operating_point():
    r = exercises.check_ppv_at(lambda s, c, p: s * p / (s * p + (1 - c) * (1 - p)), {"sensitivity": 0.9, "specificity": 0.95})
    assert r.passed and "66.7% of flagged studies are urgent" in r.message
