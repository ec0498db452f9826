"""torchvision's published checkpoints as local files: built offline with torchvision's own constructors
(random weights, the published key layout and file name), recognised, and every tensor where it belongs."""
import pytest
import torch

from kit.errors import InputDataError, ParameterError
from kit.vision.models import build_detector, faster_rcnn, ssdlite
from kit.vision.models.pretrained import CLASS_HEAD, published

pytestmark = pytest.mark.usefixtures("one_torch_thread", "seeded")

CLASSES = ["container", "truck", "pallet", "person"]  # the synthetic yard's, labels 1..4
COCO_ROWS = {0: 0, 2: 8, 4: 1}  # background, truck, person: their rows in torchvision's 91 COCO categories
@pytest.fixture
def seeded():
    torch.manual_seed(0)


def test_file_names_come_from_torchvision_enums():
    names = {p.file_name for p in published().values()}
    assert {"ssdlite320_mobilenet_v3_large_coco-a79551df.pth", "fcos_resnet50_fpn_coco-99b0c9b7.pth",
            "fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth", "fasterrcnn_resnet50_fpn_coco-258fb6c6.pth",
            "mobilenet_v3_large-8738ca79.pth", "resnet50-0676ba61.pth"} == names


def _check_detector(model, state, arch):
    """Every tensor of the file in place; the class head's background, truck and person rows carried over."""
    own = model.net.state_dict()
    head = CLASS_HEAD[arch] + "."
    for key, value in state.items():
        if not key.startswith(head) or own[key].shape == value.shape:
            assert torch.equal(own[key], value), key
            continue
        per_class = "bbox_pred" in key
        old = value.reshape(91, -1, *value.shape[1:]) if per_class else value.reshape(-1, 91, *value.shape[1:])
        new = own[key].reshape(5, -1, *value.shape[1:]) if per_class else own[key].reshape(-1, 5, *value.shape[1:])
        for label in range(5):
            got = new[label] if per_class else new[:, label]
            if label in COCO_ROWS:
                want = old[COCO_ROWS[label]] if per_class else old[:, COCO_ROWS[label]]
                assert torch.equal(got, want), (key, label)
            elif key.endswith("weight"):  # container and pallet: fresh, none of COCO's rows (biases start at 0 in both)
                assert not any(torch.equal(got, old[r] if per_class else old[:, r]) for r in range(91)), (key, label)


@pytest.mark.parametrize("arch", ["ssdlite", "faster_rcnn_mobilenet_v3_large",
                                  pytest.param("fcos", marks=pytest.mark.slow),
                                  pytest.param("faster_rcnn_resnet50", marks=pytest.mark.slow)])
def test_coco_detector_lands_key_by_key(published_file, arch):
    path, state = published_file(arch, "detector")
    name = "faster_rcnn" if arch.startswith("faster") else arch
    model = build_detector(name, 4, image_size=64, weights=path, class_names=CLASSES)
    _check_detector(model, state, arch)
    info = model.weights_info
    assert info["source"]["file_name"] == path.name and info["source"]["trained_on"] == "COCO"
    assert "CC BY 4.0" in info["source"]["terms"] and info["source"]["recipe"].startswith("https://github.com/pytorch/vision")
    assert info["carried"] == {"truck": "truck", "person": "person"}
    assert model.available_labels == (2, 4) and "container, pallet" in info["reset"][0]
    out = model.eval()(torch.rand(2, 3, 64, 64))
    assert all(set(d["labels"].tolist()) <= {2, 4} for d in out)  # the fresh rows detect nothing yet


@pytest.mark.parametrize("arch", ["ssdlite", "faster_rcnn_mobilenet_v3_large",
                                  pytest.param("faster_rcnn_resnet50", marks=pytest.mark.slow)])
def test_imagenet_backbone_lands_in_the_backbone(published_file, arch):
    path, state = published_file(arch, "backbone")
    name = "faster_rcnn" if arch.startswith("faster") else arch
    model = build_detector(name, 4, image_size=64, weights_backbone=path, class_names=CLASSES)
    own = model.net.state_dict()
    body = "backbone.features." if arch == "ssdlite" else "backbone.body."
    by_value = {}
    for k, v in own.items():
        if k.startswith(body) and v.is_floating_point():
            by_value.setdefault((tuple(v.shape), float(v.double().sum())), []).append(k)
    features = {k: v for k, v in state.items() if not k.startswith(("fc.", "classifier.")) and v.is_floating_point()}
    for key, value in features.items():  # random values: each tensor of the file is found once, unchanged, in the body
        if arch == "faster_rcnn_resnet50":
            assert torch.equal(own[body + key], value), key
        else:
            hits = [k for k in by_value.get((tuple(value.shape), float(value.double().sum())), [])
                    if torch.equal(own[k], value)]
            assert hits, key
    assert model.weights_info["source"]["trained_on"] == "ImageNet-1K"
    assert model.available_labels == ()  # every head is fresh: nothing to detect before training


def test_wrong_files_give_one_line_errors(published_file, tmp_path):
    path, _ = published_file("ssdlite", "detector")
    with pytest.raises(ParameterError, match="run with model ssdlite"):
        faster_rcnn(4, image_size=64, weights=path, backbone="mobilenet_v3_large")
    with pytest.raises(ParameterError, match="pass it as weights"):
        ssdlite(4, image_size=64, weights_backbone=path)
    torch.save({"conv.weight": torch.zeros(2)}, tmp_path / "odd.pth")
    with pytest.raises(InputDataError, match="ssdlite320_mobilenet_v3_large_coco-a79551df.pth") as err:
        ssdlite(4, image_size=64, weights=tmp_path / "odd.pth")
    assert "\n" not in str(err.value) and "mobilenet_v3_large-8738ca79.pth" in str(err.value)
    broken = dict(torch.load(path))
    broken["backbone.features.0.0.0.weight"] = torch.zeros(3)
    torch.save(broken, tmp_path / "broken.pth")
    with pytest.raises(InputDataError, match="does not load"):
        ssdlite(4, image_size=64, weights=tmp_path / "broken.pth")
