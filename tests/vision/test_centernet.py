import time

import pytest
import torch
from torchvision.ops import box_iou

from kit.errors import InputDataError
from kit.vision.models import centernet, centernet_loss, decode, encode_targets


def test_size_and_output_shapes():
    m = centernet(4)
    assert sum(p.numel() for p in m.parameters()) < 1_000_000
    out = m(torch.rand(2, 3, 96, 128))
    assert tuple(out["heatmap"].shape) == (2, 4, 24, 32)
    assert tuple(out["size"].shape) == tuple(out["offset"].shape) == (2, 2, 24, 32)


def test_shared_head_is_lighter_and_keeps_the_output_contract():
    sep, shared = centernet(4, head="separate"), centernet(4)  # shared is the default
    n_sep = sum(p.numel() for p in sep.parameters())
    n_shared = sum(p.numel() for p in shared.parameters())
    # Two 3×3 convs of 32→32 channels (with bias) fewer.
    assert n_sep - n_shared == 2 * (32 * 32 * 9 + 32)
    out = shared(torch.rand(1, 3, 64, 64))
    assert {k: tuple(v.shape) for k, v in out.items()} == {"heatmap": (1, 4, 16, 16), "size": (1, 2, 16, 16),
                                                            "offset": (1, 2, 16, 16)}
    # Focal prior 0.1 at initialization on the heatmap.
    assert torch.allclose(torch.sigmoid(shared.heatmap.bias), torch.full((4,), 0.1))
    with pytest.raises(Exception, match="head"):
        centernet(4, head="tiny")


def _targets_as_outputs(t):
    # Exact targets in the network's output form: decode(encode(x)) must give x back.
    logits = torch.logit(t["heatmap"].clamp(1e-6, 1 - 1e-6))
    return {"heatmap": logits, "size": t["size"], "offset": t["offset"]}


def test_encode_decode_round_trip():
    boxes = [torch.tensor([[10.0, 12.0, 50.0, 40.0], [60.5, 3.25, 90.0, 30.0], [5.0, 70.0, 20.0, 95.0]]), torch.zeros(0, 4)]
    labels = [torch.tensor([1, 3, 2]), torch.zeros(0, dtype=torch.int64)]
    t = encode_targets(boxes, labels, num_classes=3, image_size=(96, 128))
    assert t["heatmap"].shape == (2, 3, 24, 32)
    assert int(t["mask"].sum()) == 3 and float(t["heatmap"].max()) == 1.0
    # Peak cells: centre (30, 26) / 4 -> cell (7, 6) for class 1.
    assert float(t["heatmap"][0, 0, 6, 7]) == 1.0
    dets = decode(_targets_as_outputs(t), score_threshold=0.99)
    order = torch.argsort(dets[0]["labels"])
    torch.testing.assert_close(dets[0]["boxes"][order], boxes[0][[0, 2, 1]], atol=1e-4, rtol=0)
    assert dets[0]["labels"][order].tolist() == [1, 2, 3]
    assert len(dets[1]["boxes"]) == 0
    # Scaling back to an original 192 x 256 image doubles the coordinates.
    big = decode(_targets_as_outputs(t), score_threshold=0.99, image_sizes=[(192, 256), (192, 256)])
    torch.testing.assert_close(big[0]["boxes"][torch.argsort(big[0]["labels"])], 2 * boxes[0][[0, 2, 1]], atol=1e-4, rtol=0)


def test_decode_suppresses_duplicates_per_class():
    h = w = 16
    heat = torch.full((1, 2, h, w), -10.0)
    heat[0, 0, 5, 5] = 3.0
    heat[0, 0, 5, 7] = 2.0  # another peak of the same class, its box overlaps -> NMS removes it
    heat[0, 1, 5, 7] = 2.0  # same place, other class -> kept
    size = torch.zeros(1, 2, h, w)
    size[0, :, 5, 5] = 10.0  # cells: 40-px boxes 8 px apart, IoU 0.67
    size[0, :, 5, 7] = 10.0
    out = {"heatmap": heat, "size": size, "offset": torch.zeros(1, 2, h, w)}
    d = decode(out, score_threshold=0.5)[0]
    assert sorted(d["labels"].tolist()) == [1, 2]
    assert d["scores"].max() == pytest.approx(torch.sigmoid(torch.tensor(3.0)).item())


def test_loss_is_zero_like_for_perfect_prediction_and_positive_otherwise():
    boxes = [torch.tensor([[10.0, 10.0, 30.0, 40.0]])]
    t = encode_targets(boxes, [torch.tensor([1])], 2, (64, 64))
    perfect = _targets_as_outputs(t)
    perfect["heatmap"] = torch.where(t["heatmap"] == 1, 20.0, -20.0)
    loss, parts = centernet_loss(perfect, t)
    assert float(loss) < 1e-3
    worse = dict(perfect, size=perfect["size"] + 1.0)
    assert float(centernet_loss(worse, t)[0]) == pytest.approx(float(loss) + 0.1 * 2, abs=1e-3)


def test_weights_from_a_local_file(tmp_path):
    m = centernet(3)
    torch.save(m.state_dict(), tmp_path / "w.pt")
    m2 = centernet(3, weights=tmp_path / "w.pt")
    x = torch.rand(1, 3, 32, 32)
    m.eval(), m2.eval()
    torch.testing.assert_close(m(x)["heatmap"], m2(x)["heatmap"])
    with pytest.raises(InputDataError, match="does not exist"):
        centernet(3, weights=tmp_path / "missing.pt")
    with pytest.raises(InputDataError, match="does not fit"):
        centernet(5, weights=tmp_path / "w.pt")
    (tmp_path / "broken.pt").write_bytes(b"not a torch file")
    with pytest.raises(InputDataError, match="cannot be read by torch.load"):
        centernet(3, weights=tmp_path / "broken.pt")


def test_overfits_a_handful_of_synthetic_scenes(tmp_path):
    from kit.vision.data import CocoDetection, eval_transforms
    from kit.vision.synthetic import generate

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        t0 = time.process_time()
        folder = generate(tmp_path, n_images=4, image_size=128, seed=1, n_code_crops=0, sequence_frames=0)
        ds = CocoDetection(folder, transforms=eval_transforms(128))
        samples = [ds[i] for i in range(len(ds))]
        x = torch.stack([s["image"] for s in samples])
        boxes = [s["boxes"].as_subclass(torch.Tensor) for s in samples]
        labels = [s["labels"] for s in samples]
        targets = encode_targets(boxes, labels, 4, (128, 128))
        model = centernet(4)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
        first = None
        for _ in range(120):
            loss, _ = centernet_loss(model(x), targets)
            first = float(loss.detach()) if first is None else first
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert float(loss.detach()) < first / 20
        model.eval()
        with torch.no_grad():
            dets = decode(model(x), score_threshold=0.3)
        found = total = false_pos = n_dets = 0
        for d, b, lab in zip(dets, boxes, labels):
            match = (box_iou(b, d["boxes"]) >= 0.5) & (lab[:, None] == d["labels"][None])
            big = torch.minimum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) >= 10
            found += int(match.any(1)[big].sum())
            total += int(big.sum())
            false_pos += int((~match.any(0)).sum())
            n_dets += len(d["boxes"])
        assert total >= 25
        assert found / total >= 0.9  # boxes at least 10 px on their short side (a few are mostly hidden)
        assert false_pos / max(n_dets, 1) <= 0.1
        assert time.process_time() - t0 < 60
    finally:
        torch.set_num_threads(threads)
