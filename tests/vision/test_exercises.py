"""The logistics notebook's exercise checks: right answers pass, typical mistakes get their hint."""
import torch
from torchvision.transforms import v2

from kit.vision import exercises, iso6346
from kit.vision.data import train_transforms


def right_augment():
    return v2.Compose([v2.RandomHorizontalFlip(p=0.5), v2.RandomAffine(degrees=0, translate=(0.1, 0.1), scale=(0.8, 1.2)),
                       v2.ClampBoundingBoxes(), v2.SanitizeBoundingBoxes(min_size=2)])


class ImageOnlyFlip:
    """Flips the pixels but leaves the boxes where they were: the mistake the check must catch."""

    def __call__(self, sample):
        out = dict(sample)
        out["image"] = v2.functional.horizontal_flip(sample["image"])
        out["boxes"] = sample["boxes"].clone()
        if torch.rand(1) < 0.5:  # and sometimes moves the boxes without the image
            out["boxes"] = v2.functional.horizontal_flip(sample["boxes"])
            out["image"] = sample["image"]
        return out


def test_box_augmentation_check():
    r = exercises.check_box_augmentation(right_augment())
    assert r.passed and "every box stays on its object" in r.message
    assert exercises.check_box_augmentation(train_transforms(128)).passed  # the kit's own, with colour jitter
    r = exercises.check_box_augmentation(v2.Compose([v2.ToDtype(torch.float32, scale=True)]))
    assert not r.passed and "never move" in r.message
    r = exercises.check_box_augmentation(ImageOnlyFlip())
    assert not r.passed and "did not follow the image" in r.message
    r = exercises.check_box_augmentation(lambda sample: sample["image"])
    assert not r.passed and "whole sample dict" in r.message


def test_colour_agreement_on_the_painted_sample():
    assert min(exercises.box_colour_agreement(exercises.painted_sample())) == 1.0


def test_iou_check():
    def iou(a, b):
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = w * h
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    assert exercises.check_iou(iou).passed
    assert not exercises.check_iou(lambda a, b: 0.0).passed

    def no_clamp(a, b):
        inter = (min(a[2], b[2]) - max(a[0], b[0])) * (min(a[3], b[3]) - max(a[1], b[1]))
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    r = exercises.check_iou(no_clamp)
    assert not r.passed and "clamp" in r.message
    assert exercises.reference_iou([0, 0, 2, 2], [1, 0, 3, 2]) == 1 / 3


def test_check_digit_check():
    def digit(first10):
        values = {d: int(d) for d in "0123456789"}
        values.update(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", [v for v in range(10, 39) if v % 11]))
        return sum(values[c] * 2**i for i, c in enumerate(first10)) % 11 % 10

    assert exercises.check_check_digit(digit).passed
    assert exercises.check_check_digit(iso6346.check_digit).passed
    assert not exercises.check_check_digit(lambda s: 0).passed
    # Letters valued 10..35 without skipping multiples of 11.
    def naive(first10):
        values = {d: int(d) for d in "0123456789"}
        values.update({c: 10 + i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")})
        return sum(values[c] * 2**i for i, c in enumerate(first10)) % 11 % 10
    assert not exercises.check_check_digit(naive).passed
    # Forgetting that a remainder of 10 is written 0.
    r = exercises.check_check_digit(lambda s: exercises._remainder(s))
    assert not r.passed and "remainder is 10" in r.message
