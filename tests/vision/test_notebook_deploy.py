"""The notebook's deployment step: torchvision detectors are declined (Torch only), never half-exported."""
from kit.vision import notebook as nbk
from kit.vision.models import build_detector


def test_torchvision_detector_gets_no_onnx_files(tmp_path):
    model = build_detector("ssdlite", 4, image_size=64).eval()
    assert nbk.onnx_deployment(model, None, [], [], image_size=64, output_dir=tmp_path, threads=1) is None
    assert list(tmp_path.iterdir()) == []


def test_model_parameter_offers_every_factory():
    from kit.vision.models.tv import TORCHVISION_DETECTORS

    model = next(p for p in nbk.PARAMETERS.params if p.name == "model")
    assert set(model.choices) == {"centernet", *TORCHVISION_DETECTORS}
