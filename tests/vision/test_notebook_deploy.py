"""The notebook's deployment step: ONNX Runtime fp32 and int8 for CenterNet and, split at the backbone, for torchvision."""
import numpy as np
import pytest
import torch

from kit.vision import notebook as nbk
from kit.vision import tv_onnx
from kit.vision.data import CocoDetection, eval_transforms
from kit.vision.models import build_detector
from kit.vision.onnx import ort_session
from kit.vision.synthetic import generate


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    folder = generate(tmp_path_factory.mktemp("deploy"), n_images=12, image_size=64, seed=5, n_code_crops=0,
                      sequence_frames=0, split_fractions=(0.0, 0.5, 0.5))
    return (CocoDetection(folder, "test", transforms=eval_transforms(64)),
            CocoDetection(folder, "val", transforms=eval_transforms(64)))


@pytest.mark.parametrize("name", ["centernet", "ssdlite"])
def test_deployment_matches_torch_and_scores_int8(name, scenes, tmp_path):
    test, val = scenes
    torch.manual_seed(0)
    model = build_detector(name, 4, image_size=64).eval()
    sample = torch.stack([test[i]["image"].as_subclass(torch.Tensor) for i in range(3)])
    deploy = nbk.onnx_deployment(model, sample, test, val, image_size=64, output_dir=tmp_path, threads=1)
    bench = {"bench_samples.npz", "bench_samples.json"} | ({"detector_weights.pt"} if name == "centernet" else set())
    assert {p.name for p in tmp_path.iterdir()} == {"model.onnx", "model_int8.onnx"} | bench  # kit bench's sample
    assert deploy["split"] is (name != "centernet")
    assert deploy["onnx_max_abs_diff"] < 1e-3
    assert 0.0 <= deploy["int8_scores"].map50 <= 1.0
    fp32 = deploy["engines"][("onnxruntime", "fp32")](sample.numpy())
    with torch.no_grad():
        ref = model(sample)
    if name == "centernet":  # raw outputs in export order, as NumPy arrays
        for got, key in zip(fp32, ("heatmap", "size", "offset")):
            assert np.allclose(got, ref[key].numpy(), atol=1e-3)
    else:  # whole detections: same boxes as Torch, image by image
        for a, b in zip(fp32, ref):
            assert len(a["boxes"]) == len(b["boxes"]) > 0
            assert torch.allclose(a["boxes"], b["boxes"], atol=1e-2)
            assert torch.equal(a["labels"], b["labels"])


@pytest.mark.parametrize("name", ["fcos", "faster_rcnn"])
def test_backbone_split_matches_torch_on_trained_like_features(name, tmp_path):
    # Random BatchNorm statistics make an untrained backbone's features large; they must still agree within 1e-3 relative.
    torch.manual_seed(0)
    model = build_detector(name, 4, image_size=64).eval()
    path, names = tv_onnx.export_backbone(model, tmp_path / "b.onnx", torch.rand(1, 3, 64, 64))
    ort = tv_onnx.with_ort_backbone(model, ort_session(path), names)
    x = tv_onnx.backbone_inputs(model, torch.rand(2, 3, 80, 48))  # non-square: height and width are free
    ref, got = tv_onnx.backbone_outputs(model, x), ort.net.backbone(x)
    assert list(ref) == list(got) == names
    for k in names:
        scale = float(ref[k].abs().max()) + 1e-6
        assert float((ref[k] - got[k]).abs().max()) / scale < 1e-3
    assert ort.net.backbone is not model.net.backbone and ort.net.transform is model.net.transform


def test_split_keeps_original_model_intact(tmp_path):
    model = build_detector("ssdlite", 4, image_size=64).eval()
    before = type(model.net.backbone)
    path, names = tv_onnx.export_backbone(model, tmp_path / "b.onnx", torch.rand(1, 3, 64, 64))
    tv_onnx.with_ort_backbone(model, ort_session(path), names)
    assert type(model.net.backbone) is before and not model.training
    assert not np.any([m.training for m in model.modules()])


def test_model_parameter_offers_every_factory():
    from kit.vision.models.tv import TORCHVISION_DETECTORS

    model = next(p for p in nbk.PARAMETERS.params if p.name == "model")
    assert set(model.choices) == {"centernet", *TORCHVISION_DETECTORS}
