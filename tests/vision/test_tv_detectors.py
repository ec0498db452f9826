"""torchvision detectors behind the CenterNet API: build from scratch, one training step, common output format."""
import pytest
import torch

from kit.errors import InputDataError, ParameterError
from kit.vision import evaluate
from kit.vision.data import CocoDetection, eval_transforms
from kit.vision.models import TorchvisionDetector, build_detector, faster_rcnn, fcos, ssdlite
from kit.vision.train import train_detector


pytestmark = pytest.mark.usefixtures("one_torch_thread", "seeded_init")


@pytest.fixture
def seeded_init():
    """Seed before each test builds its network: its random initial weights come from the global RNG,
    whose state would otherwise depend on the tests that ran before in the same process."""
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from kit.vision.synthetic import generate

    # Two training images and one validation image, 64 px.
    return generate(tmp_path_factory.mktemp("tv"), n_images=4, image_size=64, seed=4, n_code_crops=0, sequence_frames=0,
                    split_fractions=(0.5, 0.5, 0.0))


def _one_step(model, folder):
    train, val = CocoDetection(folder, "train"), CocoDetection(folder, "val")
    before = {k: v.clone() for k, v in model.state_dict().items() if v.is_floating_point()}
    r = train_detector(model, train, val, epochs=1, batch_size=2, image_size=64, progress=False, seed=0)
    changed = sum(not torch.equal(before[k], v) for k, v in r.model.state_dict().items() if k in before)
    assert changed > 0.5 * len(before)  # the step reached most of the network
    assert len(r.history) == 1 and r.history[0]["train_loss"] > 0
    assert 0.05 <= r.score_threshold <= 0.95
    ids, dets = evaluate.predict(r.model, CocoDetection(folder, "val", transforms=eval_transforms(64)), image_size=64)
    assert len(ids) == len(val) and len(dets) == len(ids)
    for d in dets:  # the CenterNet format: XYXY boxes in original pixels, scores, labels 1..K
        assert set(d) == {"boxes", "scores", "labels"}
        assert d["boxes"].shape[1:] == (4,) and d["labels"].dtype == torch.int64
        assert len(d["scores"]) <= 100 and (d["scores"] >= 0.01).all()
        if len(d["labels"]):
            assert 1 <= int(d["labels"].min()) and int(d["labels"].max()) <= 4
            assert float(d["boxes"].min()) >= 0 and float(d["boxes"].max()) <= 64
    scores = evaluate.coco_evaluate(evaluate.to_coco_results(dets, ids, val.index.category_ids), val.index)
    assert scores.n_images == len(val) and scores.n_gt == sum(len(b) for b in val.index.boxes)
    return r


class _ScriptedNet(torch.nn.Module):
    """A torchvision-style network whose detections are given: per image, boxes in the input's pixels and labels 0..K."""

    def __init__(self, detections):
        super().__init__()
        self.detections = list(detections)

    def forward(self, images):
        assert all(img.shape == (3, 32, 32) for img in images)
        return [self.detections.pop(0) for _ in images]


def test_torchvision_detections_reach_the_evaluation_exactly(folder):
    """Ground truth "detected" at half size comes back in the original pixels, background and low scores dropped: mAP 1."""
    val = CocoDetection(folder, "val", transforms=eval_transforms(32))
    scripted = []
    for boxes, labels in zip(val.index.boxes, val.index.labels):
        n = len(boxes)
        scripted.append({
            # the objects at decreasing scores, a background box on top and a wrong one under predict's threshold
            "boxes": torch.cat([torch.from_numpy(boxes) / 2, torch.tensor([[0.0, 0.0, 32.0, 32.0], [1.0, 1.0, 9.0, 9.0]])]),
            "scores": torch.cat([0.9 - 0.01 * torch.arange(n), torch.tensor([0.99, 0.005])]),
            "labels": torch.cat([torch.from_numpy(labels), torch.tensor([0, 2])]),
        })
    model = TorchvisionDetector(_ScriptedNet(scripted), 4, "scripted")
    ids, dets = evaluate.predict(model, val, image_size=32)
    assert ids == [im["id"] for im in val.index.images]
    for d, boxes, labels in zip(dets, val.index.boxes, val.index.labels):
        torch.testing.assert_close(d["boxes"], torch.from_numpy(boxes), rtol=0, atol=1e-5)
        assert d["labels"].tolist() == labels.tolist()
    scores = evaluate.coco_evaluate(evaluate.to_coco_results(dets, ids, val.index.category_ids), val.index)
    assert scores.n_gt == 25 and scores.map50 == 1.0 and scores.map50_95 == 1.0


def test_ssdlite_trains_and_predicts_like_centernet(folder, tmp_path):
    m = ssdlite(4, image_size=64)
    assert m.name == "ssdlite" and m.num_classes == 4 and m.outputs_detections
    r = _one_step(m, folder)
    # Weights round-trip through a local file (a train_detector checkpoint holds {"model": state_dict}).
    torch.save({"model": r.model.state_dict()}, tmp_path / "ssd.pt")
    again = ssdlite(4, image_size=64, weights=tmp_path / "ssd.pt").eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a, b = r.model.eval()(x)[0], again(x)[0]
    torch.testing.assert_close(a["scores"], b["scores"])


@pytest.mark.slow
def test_fcos_one_step(folder):
    _one_step(fcos(4, image_size=64), folder)


def test_faster_rcnn_mobilenet_one_step(folder):
    _one_step(faster_rcnn(4, image_size=64, backbone="mobilenet_v3_large"), folder)


@pytest.mark.slow
def test_faster_rcnn_resnet50_one_step(folder):
    _one_step(faster_rcnn(4, image_size=64), folder)


def test_factory_errors(tmp_path):
    with pytest.raises(ParameterError, match="model must be one of"):
        build_detector("yolo", 4)
    with pytest.raises(ParameterError, match="multiple of 16"):
        ssdlite(4, image_size=50)
    with pytest.raises(ParameterError, match="backbone"):
        faster_rcnn(4, image_size=64, backbone="vgg")
    with pytest.raises(InputDataError, match="does not exist"):
        ssdlite(4, image_size=64, weights=tmp_path / "none.pt")
    torch.save({"unrelated.weight": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(InputDataError, match="neither a torchvision ssdlite checkpoint nor its ImageNet backbone"):
        ssdlite(4, image_size=64, weights=tmp_path / "other.pt")
    # A file of the bare torchvision network with another class count (e.g. COCO's 91) still loads its backbone.
    bare = ssdlite(7, image_size=64).net.state_dict()
    torch.save(bare, tmp_path / "bare.pt")
    m = ssdlite(4, image_size=64, weights=tmp_path / "bare.pt")
    k = next(k for k in bare if k.startswith("backbone") and bare[k].is_floating_point() and bare[k].numel() > 8)
    torch.testing.assert_close(m.net.state_dict()[k], bare[k])
