import numpy as np
import pytest

from kit.vision.counting import calibrate_count_threshold
from kit.vision.data import load_coco
from kit.vision.evaluate import coco_evaluate, count_errors, to_coco_results


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    from kit.vision.synthetic import generate

    folder = generate(tmp_path_factory.mktemp("ev"), n_images=4, image_size=96, seed=2, n_code_crops=0, sequence_frames=0)
    return load_coco(folder)


def _gt_results(index, score=1.0):
    out = []
    for im, bs, ls in zip(index.images, index.boxes, index.labels):
        for b, lab in zip(bs.tolist(), ls.tolist()):
            out.append({"image_id": im["id"], "category_id": index.category_ids[lab],
                        "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]], "score": score})
    return out


def test_perfect_detections_score_one(index):
    s = coco_evaluate(_gt_results(index), index)
    present = {index.label_names[int(lab)] for ls in index.labels for lab in ls}
    assert s.map50 == pytest.approx(1.0) and s.map50_95 == pytest.approx(1.0)
    assert all(s.ap50[c] == pytest.approx(1.0) for c in present)
    assert s.n_gt == sum(len(b) for b in index.boxes)


def test_half_found_gives_coco_101_point_ap():
    from types import SimpleNamespace

    # One image, two containers; one found. COCO interpolates precision on 101 recall points:
    # precision 1 up to recall 0.5 (51 points), 0 beyond -> AP = 51/101.
    idx = SimpleNamespace(images=[{"id": 1, "width": 100, "height": 100}],
                          boxes=[np.array([[0, 0, 20, 20], [50, 50, 80, 70]], np.float32)],
                          labels=[np.array([1, 1])], categories=[{"id": 1, "name": "container"}],
                          category_ids={1: 1}, label_names={1: "container"})
    hit = {"image_id": 1, "category_id": 1, "bbox": [1, 1, 20, 20], "score": 0.9}  # IoU 0.82
    assert coco_evaluate([hit], idx).ap50["container"] == pytest.approx(51 / 101)
    # A false positive ranked above the hit halves the precision at recall 0.5.
    fp = {"image_id": 1, "category_id": 1, "bbox": [30, 0, 10, 10], "score": 0.95}
    s = coco_evaluate([hit, fp], idx)
    assert s.ap50["container"] == pytest.approx(0.5 * 51 / 101)
    assert np.nanmax(s.precision["container"]) == pytest.approx(0.5)
    # At IoU 0.85 the hit no longer counts (0.82), so AP@0.50:0.95 is below AP@0.5.
    assert s.ap50_95["container"] < s.ap50["container"]


def test_to_coco_results_and_count_calibration(index):
    dets, ids = [], []
    rng = np.random.default_rng(0)
    for im, bs, ls in zip(index.images, index.boxes, index.labels):
        # true boxes with high scores plus one spurious low-score box per image
        extra = np.array([[0, 0, 5, 5]], np.float32)
        dets.append({"boxes": np.concatenate([bs, extra]), "scores": np.concatenate([rng.uniform(0.6, 0.9, len(bs)), [0.4]]),
                     "labels": np.concatenate([ls, [1]])})
        ids.append(im["id"])
    res = to_coco_results(dets, ids, index.category_ids)
    assert len(res) == sum(len(d["boxes"]) for d in dets)
    err = count_errors(dets, index, [0.3, 0.5, 0.95], ids)
    assert err[0, 0] == pytest.approx(1.0)  # the spurious container counted in every image
    assert err[1].sum() == pytest.approx(0.0)
    thr, per = calibrate_count_threshold(dets, index, ids)
    assert 0.4 < thr <= 0.6 and 0.4 < per[1] <= 0.6


def _runner(peak_at_fixed_cell: bool):
    """Fake network outputs at stride 4: a heatmap from the image itself (mirror-equivariant) or a fixed peak (not)."""
    import torch
    from torch.nn import functional as F

    def run(x):
        b, _, h, w = x.shape
        if peak_at_fixed_cell:
            heat = torch.full((b, 1, h // 4, w // 4), -8.0)
            heat[:, 0, 3, 2] = 4.0
        else:
            heat = F.avg_pool2d(x[:, :1], 4) * 16 - 8
        return {"heatmap": heat, "size": torch.full((b, 2, h // 4, w // 4), 2.0), "offset": torch.full((b, 2, h // 4, w // 4), 0.5)}

    return run


def test_flip_averaging_keeps_a_mirror_symmetric_network_and_halves_a_one_sided_peak():
    import torch

    from kit.vision.evaluate import predict

    img = torch.zeros(3, 32, 32)
    img[:, 8:12, 4:8] = 1.0  # one bright object left of centre: a peak at cell (2, 1)
    data = [{"image": img, "orig_size": (32, 32), "image_id": 7}]
    for flip in (False, True):
        _, (d,) = predict(None, data, image_size=32, runner=_runner(False), flip=flip)
        torch.testing.assert_close(d["boxes"][0], torch.tensor([2.0, 6.0, 10.0, 14.0]))
        assert float(d["scores"][0]) == pytest.approx(float(torch.sigmoid(torch.tensor(8.0))), rel=1e-4)
    _, (plain,) = predict(None, data, image_size=32, runner=_runner(True), flip=False)
    _, (flipped,) = predict(None, data, image_size=32, runner=_runner(True), flip=True)
    p, q = torch.sigmoid(torch.tensor(4.0)), torch.sigmoid(torch.tensor(-8.0))
    assert float(plain["scores"][0]) == pytest.approx(float(p), rel=1e-4)
    assert float(flipped["scores"][0]) == pytest.approx(float((p + q) / 2), rel=1e-4)
