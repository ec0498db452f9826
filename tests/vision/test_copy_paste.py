"""Copy-paste occluders: the same draws for the same seed, boxes that match the pixels, the visibility rule."""
import numpy as np
import pytest
import torch

from kit.errors import ParameterError
from kit.vision.copy_paste import CopyPaste, uncovered_boxes

RED, BLUE = (200, 0, 0), (0, 0, 200)


def _image(size, rects, colour):
    """A black uint8 image with solid rectangles (x0, y0, x1, y1) of one colour."""
    img = torch.zeros(3, *size, dtype=torch.uint8)
    for x0, y0, x1, y1 in rects:
        img[:, y0:y1, x0:x1] = torch.tensor(colour, dtype=torch.uint8).view(3, 1, 1)
    return img


def _bank_items():
    """One source image holding red objects of two classes (a 10x10 label 4, a 6x12 label 2)."""
    rects = [(2, 5, 12, 15), (20, 4, 26, 16)]
    return [(_image((32, 40), rects, RED), torch.tensor(rects, dtype=torch.float32), torch.tensor([4, 2]))]


def _pixel_box(img, colour):
    """Bounding box (XYXY) and count of the pixels of ``colour``; None when there are none."""
    mask = (img == torch.tensor(colour, dtype=torch.uint8).view(3, 1, 1)).all(dim=0)
    ys, xs = mask.nonzero(as_tuple=True)
    if len(ys) == 0:
        return None, 0
    return [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)], int(mask.sum())


def test_same_seed_same_pastes_and_another_seed_others():
    items = _bank_items()
    target = (_image((32, 40), [(0, 0, 8, 8)], BLUE), torch.tensor([[0.0, 0.0, 8.0, 8.0]]), torch.tensor([1]))

    def run(seed):
        cp = CopyPaste(items, probability=1.0, max_objects=3, seed=seed)
        return [cp(*target) for _ in range(10)]

    a, b, c = run(3), run(3), run(4)
    for (ia, ba, la), (ib, bb, lb) in zip(a, b):
        assert torch.equal(ia, ib) and torch.equal(ba, bb) and torch.equal(la, lb)
    assert any(not torch.equal(ra[1], rc[1]) for ra, rc in zip(a, c))
    assert torch.equal(target[0], _image((32, 40), [(0, 0, 8, 8)], BLUE))  # the input is not changed


def test_boxes_match_the_pixels_and_hidden_objects_are_dropped():
    """Over many draws: pasted boxes hold the source's pixels; a covered object keeps the box of its uncovered pixels,
    or is dropped when less than min_visible of it stays uncovered."""
    items = _bank_items()
    obj = (4, 6, 16, 14)  # blue, 12x8, label 1
    target_img = _image((32, 40), [obj], BLUE)
    kept_partly = dropped = 0
    for seed in range(60):
        cp = CopyPaste(items, probability=1.0, max_objects=1, seed=seed)
        img, boxes, labels = cp(target_img, torch.tensor([obj], dtype=torch.float32), torch.tensor([1]))
        pasted = boxes[-1].long().tolist()
        src_img, src_boxes, src_labels = items[0]
        j = int((src_labels == labels[-1]).nonzero()[0])
        sx0, sy0, sx1, sy1 = src_boxes[j].long().tolist()
        assert pasted[1] == sy0  # pasted at its own row
        assert torch.equal(img[:, pasted[1]:pasted[3], pasted[0]:pasted[2]], src_img[:, sy0:sy1, sx0:sx1])
        box, n_blue = _pixel_box(img, BLUE)
        area = (obj[2] - obj[0]) * (obj[3] - obj[1])
        if n_blue / area < 0.25:
            assert len(boxes) == 1 and labels.tolist() == [labels[-1].item()]
            dropped += 1
        else:
            assert labels[0] == 1 and boxes[0].tolist() == box
            kept_partly += n_blue < area
    assert kept_partly > 0 and dropped > 0  # both sides of the rule were exercised


def test_visibility_counts_what_was_already_hidden():
    """The same paste keeps a fully visible object whose uncovered part is over 0.25 and drops one annotated 40 %
    visible when 0.4 x that part falls under 0.25."""
    img = torch.zeros(3, 16, 40, dtype=torch.uint8)
    source = [(_image((16, 40), [(0, 4, 10, 14)], RED), torch.tensor([[0.0, 4.0, 10.0, 14.0]]), torch.tensor([3]))]
    box = torch.tensor([[15.0, 4.0, 25.0, 14.0]])  # same rows as the patch: only columns decide the cover
    outcomes = set()
    for seed in range(60):
        for v0 in (1.0, 0.4):
            cp = CopyPaste(source, probability=1.0, max_objects=1, max_area_fraction=0.2, seed=seed)
            _, boxes, _ = cp(img, box, torch.tensor([1]), np.array([v0]))
            x = int(boxes[-1, 0])
            left = 1 - max(0, min(25, x + 10) - max(15, x)) / 10
            kept = len(boxes) == 2
            assert kept == (v0 * left >= 0.25)
            outcomes.add((v0, kept, 0.25 <= left < 0.625))
    assert (1.0, True, True) in outcomes and (0.4, False, True) in outcomes


def test_uncovered_boxes_trims_only_a_fully_covered_side():
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0]] * 3)
    trimmed, frac = uncovered_boxes(boxes[:1], (-2, 6, 12, 20))  # the bottom 4 rows
    assert trimmed[0].tolist() == [0.0, 0.0, 10.0, 6.0] and frac[0] == pytest.approx(0.6)
    same, frac = uncovered_boxes(boxes[:1], (3, 6, 7, 20))  # a notch in the bottom edge: the extent stays
    assert same[0].tolist() == [0.0, 0.0, 10.0, 10.0] and frac[0] == pytest.approx(0.84)
    gone, frac = uncovered_boxes(boxes[:1], (-1, -1, 11, 11))
    assert float(frac[0]) == 0.0
    untouched, frac = uncovered_boxes(boxes[:1], (20, 20, 30, 30))
    assert untouched[0].tolist() == [0.0, 0.0, 10.0, 10.0] and float(frac[0]) == 1.0


def test_bank_keeps_whole_small_objects_only():
    img = torch.zeros(3, 40, 40, dtype=torch.uint8)
    boxes = torch.tensor([[0.0, 0.0, 8.0, 8.0], [10.0, 10.0, 39.0, 39.0], [0.0, 20.0, 2.0, 30.0], [20.0, 0.0, 28.0, 8.0]])
    cp = CopyPaste([(img, boxes, torch.tensor([1, 2, 3, 4]))], [np.array([1.0, 1.0, 1.0, 0.5])], seed=0)
    assert [label for _, label, _ in cp.bank] == [1]  # too large, too thin, too hidden are left out


def test_bad_probability_is_refused():
    with pytest.raises(ParameterError, match="probability"):
        CopyPaste(_bank_items(), probability=1.5)


def test_cached_images_paste_before_the_transforms(tmp_path):
    from torchvision import tv_tensors

    from kit.vision.batches import CachedImages
    from kit.vision.data import CocoDetection, train_transforms
    from kit.vision.synthetic import generate

    folder = generate(tmp_path, n_images=6, image_size=64, n_code_crops=0, sequence_frames=0,
                      split_fractions=(1.0, 0.0, 0.0))
    cached = CachedImages(CocoDetection(folder, "train"), train_transforms(64, hflip=0.0, jitter=0, scale_jitter=0))
    plain = [cached.get(i) for i in range(len(cached))]
    cached.paste = CopyPaste(cached.items, cached.visibility, probability=1.0, seed=0)
    pasted = [cached.get(i) for i in range(len(cached))]
    assert len(cached.paste.bank) > 0
    assert any(len(p["boxes"]) != len(q["boxes"]) or not torch.equal(p["image"], q["image"]) for p, q in zip(pasted, plain))
    for s in pasted:
        assert isinstance(s["boxes"], tv_tensors.BoundingBoxes) and tuple(s["boxes"].canvas_size) == (64, 64)
        assert len(s["boxes"]) == len(s["labels"]) and s["image"].dtype == torch.float32
