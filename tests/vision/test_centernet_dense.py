"""Dense (TTFNet-style) box regression: targets, GIoU loss, decoding."""
import math

import pytest
import torch

from kit.errors import ParameterError
from kit.vision.models import centernet, centernet_loss, decode, encode_targets
from kit.vision.models.anchor_free_loss import gaussian_radius


def _dense_perfect(t):
    # Every regression cell predicts its object's box exactly: size, and offset from the cell to the centre.
    h, w = t["reg_weight"].shape[-2:]
    ys = torch.arange(h, dtype=torch.float32).view(-1, 1)
    xs = torch.arange(w, dtype=torch.float32).view(1, -1)
    bx = t["box"]
    size = torch.stack([bx[:, 2] - bx[:, 0], bx[:, 3] - bx[:, 1]], dim=1)
    off = torch.stack([(bx[:, 0] + bx[:, 2]) / 2 - xs, (bx[:, 1] + bx[:, 3]) / 2 - ys], dim=1)
    return {"heatmap": torch.where(t["heatmap"] == 1, 20.0, -20.0), "size": size, "offset": off}


def test_dense_targets_cover_the_box_centre_with_unit_weight_per_object():
    boxes = torch.tensor([[8.0, 8.0, 72.0, 56.0], [100.0, 20.0, 108.0, 44.0]])
    t = encode_targets([boxes], [torch.tensor([1, 2])], 2, (64, 128), regression="dense")
    assert t["box"].shape == (1, 4, 16, 32) and t["reg_weight"].shape == (1, 16, 32)
    assert float(t["reg_weight"].sum()) == pytest.approx(2.0)
    # Large box: 16 x 12 cells, centre (10, 8) cells; beta 0.54 -> cells within 4.32 and 3.24 of the centre cell.
    big = t["reg_weight"][0, :, :20] > 0
    ys, xs = torch.nonzero(big, as_tuple=True)
    assert (int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())) == (6, 14, 5, 11)
    torch.testing.assert_close(t["box"][0, :, 8, 10], boxes[0] / 4)
    # The weight peaks at the centre cell; the small object's centre cell is included and holds its box.
    assert float(t["reg_weight"][0, 8, 10]) == float(t["reg_weight"][0, :, :20].max())
    torch.testing.assert_close(t["box"][0, :, 8, 26], boxes[1] / 4)
    # Centre-only targets are unchanged by the option.
    c = encode_targets([boxes], [torch.tensor([1, 2])], 2, (64, 128))
    for k in ("heatmap", "size", "offset", "mask"):
        torch.testing.assert_close(c[k], t[k])
    assert "reg_weight" not in c
    with pytest.raises(ParameterError, match="regression"):
        encode_targets([boxes], [torch.tensor([1, 2])], 2, (64, 128), regression="everywhere")


def test_small_objects_keep_their_cells_where_boxes_overlap():
    big, small = [0.0, 0.0, 64.0, 64.0], [28.0, 28.0, 36.0, 36.0]  # small one at the big one's centre
    t = encode_targets([torch.tensor([small, big])], [torch.tensor([2, 1])], 2, (64, 64), regression="dense")
    torch.testing.assert_close(t["box"][0, :, 8, 8], torch.tensor(small) / 4)


def test_giou_loss_is_zero_when_perfect_and_matches_a_hand_computed_giou():
    boxes = torch.tensor([[8.0, 8.0, 40.0, 24.0]])  # 8 x 4 cells, centre (6, 4)
    t = encode_targets([boxes], [torch.tensor([1])], 1, (64, 64), regression="dense")
    perfect = _dense_perfect(t)
    loss, parts = centernet_loss(perfect, t)
    assert float(loss) < 1e-6 and parts["giou"] == pytest.approx(0.0, abs=1e-6)
    # Every cell predicts a box 2 cells wider (10 x 4 around the true centre): IoU = 32/40, enclosing box = union,
    # so GIoU = IoU and the loss is 5 x (1 - 0.8) whatever the weights (they sum to 1).
    wider = dict(perfect, size=perfect["size"] + torch.tensor([2.0, 0.0]).view(1, 2, 1, 1))
    loss, parts = centernet_loss(wider, t)
    assert parts["giou"] == pytest.approx(0.2, abs=1e-5) and float(loss) == pytest.approx(5 * 0.2, abs=1e-4)
    # Shifted 8 cells right (no overlap; gap of 0): IoU 0, enclosing 16 x 4 = 64, union 64 -> GIoU 0, loss 1.
    shifted = dict(perfect, offset=perfect["offset"] + torch.tensor([8.0, 0.0]).view(1, 2, 1, 1))
    assert centernet_loss(shifted, t)[1]["giou"] == pytest.approx(1.0, abs=1e-5)


def test_decode_reads_the_dense_prediction_at_the_peak():
    boxes = torch.tensor([[8.0, 8.0, 40.0, 24.0], [44.0, 30.0, 60.0, 62.0]])
    t = encode_targets([boxes], [torch.tensor([1, 2])], 2, (64, 64), regression="dense")
    d = decode(_dense_perfect(t), score_threshold=0.5)[0]
    order = torch.argsort(d["labels"])
    torch.testing.assert_close(d["boxes"][order], boxes, atol=1e-4, rtol=0)


def test_network_sizes_are_never_negative():
    torch.manual_seed(0)
    for head in ("shared", "separate"):
        m = centernet(3, head=head)
        last = m.size if head == "shared" else m.size[-1]
        with torch.no_grad():
            last.bias.fill_(-50.0)
            out = m(torch.rand(1, 3, 64, 64))
        assert float(out["size"].min()) == 0.0


# The object-by-object loop that encode_targets replaced with array operations; kept as its specification.
def _encode_loop(boxes_list, labels_list, num_classes, image_size, stride=4, gaussian="circle", alpha=0.54, min_sigma=0.5, beta=0.54):
    H, W = image_size; h, w = H // stride, W // stride; B = len(boxes_list); device="cpu"
    heat = torch.zeros(B, num_classes, h, w); size = torch.zeros(B, 2, h, w); offset = torch.zeros(B, 2, h, w); mask = torch.zeros(B, h, w)
    box_t = torch.zeros(B, 4, h, w); reg_w = torch.zeros(B, h, w)
    ys = torch.arange(h, dtype=torch.float32).view(-1, 1); xs = torch.arange(w, dtype=torch.float32).view(1, -1)
    for b, (boxes, labels) in enumerate(zip(boxes_list, labels_list)):
        if len(boxes) == 0: continue
        bx = torch.as_tensor(boxes, dtype=torch.float32) / stride
        bw, bh = (bx[:, 2] - bx[:, 0]).clamp(min=1e-3), (bx[:, 3] - bx[:, 1]).clamp(min=1e-3)
        cx, cy = (bx[:, 0] + bx[:, 2]) / 2, (bx[:, 1] + bx[:, 3]) / 2
        ix, iy = cx.floor().clamp(0, w - 1), cy.floor().clamp(0, h - 1)
        if gaussian == "ellipse":
            sx, sy = (alpha * bw / 6).clamp(min=min_sigma), (alpha * bh / 6).clamp(min=min_sigma)
        else:
            radius = gaussian_radius(bh.ceil(), bw.ceil()).floor().clamp(min=0); sx = sy = (2 * radius + 1) / 6
        for k in torch.argsort(bw * bh, descending=True, stable=True).tolist():
            g = torch.exp(-(xs - ix[k]) ** 2 / (2 * sx[k] ** 2) - (ys - iy[k]) ** 2 / (2 * sy[k] ** 2))
            c = int(labels[k]) - 1
            heat[b, c] = torch.maximum(heat[b, c], g)
            yi, xi = int(iy[k]), int(ix[k])
            size[b, :, yi, xi] = torch.stack([bw[k], bh[k]]); offset[b, :, yi, xi] = torch.stack([cx[k] - ix[k], cy[k] - iy[k]]); mask[b, yi, xi] = 1.0
            rx, ry = max(float(beta * bw[k] / 2), 0.5), max(float(beta * bh[k] / 2), 0.5)
            x0, x1 = max(xi - math.floor(rx), 0), min(xi + math.floor(rx), w - 1) + 1
            y0, y1 = max(yi - math.floor(ry), 0), min(yi + math.floor(ry), h - 1) + 1
            gr = torch.exp(-(xs[:, x0:x1] - xi) ** 2 / (2 * max(rx / 3, min_sigma) ** 2) - (ys[y0:y1] - yi) ** 2 / (2 * max(ry / 3, min_sigma) ** 2))
            reg_w[b, y0:y1, x0:x1] = gr / gr.sum(); box_t[b, :, y0:y1, x0:x1] = bx[k].view(4, 1, 1)
    return {"heatmap": heat, "size": size, "offset": offset, "mask": mask, "box": box_t, "reg_weight": reg_w}


@pytest.mark.parametrize("gaussian", ["circle", "ellipse"])
def test_vectorized_targets_equal_the_object_loop(gaussian):
    g = torch.Generator().manual_seed(0)
    boxes, labels = [], []
    for _ in range(5):
        n = int(torch.randint(0, 25, (1,), generator=g))
        xy, wh = torch.rand(n, 2, generator=g) * 240, torch.rand(n, 2, generator=g) ** 2 * 120 + 1
        boxes.append(torch.cat([xy, (xy + wh).clamp(max=256)], 1))
        labels.append(torch.randint(1, 5, (n,), generator=g))
    # Same centre cell for three objects: the smallest one's size and box win.
    boxes.append(torch.tensor([[10.0, 10, 30, 30], [10, 10, 30, 30], [12, 12, 28, 28]]))
    labels.append(torch.tensor([1, 2, 2]))
    got = encode_targets(boxes, labels, 4, (256, 256), regression="dense", gaussian=gaussian)
    want = _encode_loop(boxes, labels, 4, (256, 256), gaussian=gaussian)
    for k in want:
        assert torch.allclose(got[k], want[k], atol=1e-6), k
    assert got["size"][5, :, 5, 5].tolist() == [4.0, 4.0]


def test_log_area_weights_favour_large_boxes_and_still_average_one_per_object():
    boxes = torch.tensor([[8.0, 8.0, 72.0, 56.0], [100.0, 20.0, 108.0, 44.0]])  # 64x48 and 8x24 px
    t = encode_targets([boxes], [torch.tensor([1, 2])], 2, (64, 128), regression="dense", box_weight="log_area")
    w_big, w_small = float(t["reg_weight"][0, :, :20].sum()), float(t["reg_weight"][0, :, 20:].sum())
    log_big, log_small = math.log(64 * 48), math.log(8 * 24)
    assert w_big + w_small == pytest.approx(2.0, rel=1e-5)
    assert w_big / w_small == pytest.approx(log_big / log_small, rel=1e-5)
    equal = encode_targets([boxes], [torch.tensor([1, 2])], 2, (64, 128), regression="dense")
    torch.testing.assert_close(t["box"], equal["box"])
    with pytest.raises(ParameterError, match="box_weight"):
        encode_targets([boxes], [torch.tensor([1, 2])], 2, (64, 128), regression="dense", box_weight="area")
