import numpy as np
import pytest
import torch
from torch import nn

from kit.errors import InputDataError
from kit.medical.gradcam import grad_cam, heatmap_mass_in
from kit.medical.model import Classifier, small_cnn
from kit.medical.onnx import OnnxTriageModel, export_onnx, quantize_int8


def _linear_probe(sign: float):
    # features = ReLU(1x1 conv, weight 1) -> GAP -> linear(sign): logit = sign * mean(image) for images >= 0.
    conv = nn.Conv2d(1, 1, 1, bias=False)
    conv.weight.data.fill_(1.0)
    net = Classifier(nn.Sequential(conv, nn.ReLU()), 1, dropout=0.0)
    net.head[-1].weight.data.fill_(sign)
    net.head[-1].bias.data.zero_()
    return net


def test_grad_cam_of_a_linear_probe_is_the_image_itself():
    # Analytically: gradient d logit / d A = sign / (H W) everywhere, so CAM = ReLU(sign * A / (H W)):
    # the normalised image for a positive weight, nothing for a negative one.
    x = torch.rand(3, 1, 16, 16)
    cam = grad_cam(_linear_probe(+1.0), x, layer=None)
    expected = (x[:, 0] / x[:, 0].flatten(1).amax(1)[:, None, None]).numpy()
    np.testing.assert_allclose(cam, expected, atol=1e-5)
    assert np.abs(grad_cam(_linear_probe(-1.0), x)).max() == 0


def test_grad_cam_shape_and_mass_helper():
    torch.manual_seed(0)  # an unseeded random network can give an all-zero map (ReLU), which depends on earlier tests
    net = small_cnn(width=4).eval()
    cam = grad_cam(net, np.random.default_rng(0).random((2, 48, 48), dtype=np.float32))
    assert cam.shape == (2, 48, 48) and cam.min() >= 0
    np.testing.assert_allclose(cam.reshape(2, -1).max(1), 1.0, rtol=1e-6)  # normalised to its peak
    mask = np.zeros((48, 48), bool)
    mask[:24] = True
    frac = heatmap_mass_in(cam, mask)
    assert ((0 <= frac) & (frac <= 1)).all()
    assert np.isnan(heatmap_mass_in(np.zeros((1, 48, 48)), mask)).all()  # no mass: undefined, not 0
    assert not net.training


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    # A small trained network: int8 error is only meaningful relative to logits that carry signal.
    from kit.medical.train import TriageClassifier

    rng = np.random.default_rng(0)
    images = rng.random((160, 32, 32), dtype=np.float32) * 0.3
    y = (np.arange(160) % 3 == 0).astype(int)
    for i in np.nonzero(y)[0]:
        r, c = rng.integers(4, 20, 2)
        images[i, r:r + 8, c:c + 8] += 0.5
    # 12 epochs: at 6 some CPUs' numerics leave the network flat (logit spread 0.004), and
    # int8 noise on a constant is no measure of anything.
    clf = TriageClassifier(image_size=32, epochs=12, width=8, batch_size=32, progress=False, seed=0)
    net = clf.fit(images[:96], y[:96]).model_
    folder = tmp_path_factory.mktemp("onnx")
    fp32 = export_onnx(net, folder / "m.onnx", 32)
    int8 = quantize_int8(fp32, folder / "m8.onnx", images[96:128])  # calibration: held-out real images
    return net, fp32, int8, images[128:], y[128:]


def test_onnx_fp32_equals_torch(exported):
    net, fp32, _, images, _ = exported
    with torch.no_grad():
        ref = net(torch.from_numpy(images)[:, None]).numpy()
    np.testing.assert_allclose(OnnxTriageModel(fp32).decision_function(images), ref, atol=1e-4, rtol=1e-4)


def test_int8_is_quantized_and_close_to_fp32(exported):
    import onnx

    from kit.medical.evaluate import auroc

    _, fp32, int8, images, y = exported
    ops = {n.op_type for n in onnx.load(str(int8)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops  # QDQ format
    z32 = OnnxTriageModel(fp32).decision_function(images)
    z8 = OnnxTriageModel(int8).decision_function(images)
    assert z32.std() > 0.1, "the fixture network must carry signal for this test to mean anything"
    assert np.corrcoef(z32, z8)[0, 1] > 0.95
    assert abs(auroc(y, z8) - auroc(y, z32)) <= 0.02
    assert int8.stat().st_size < fp32.stat().st_size


def test_onnx_refusals(tmp_path, exported):
    with pytest.raises(InputDataError, match="does not exist"):
        OnnxTriageModel(tmp_path / "none.onnx")
    with pytest.raises(InputDataError, match="at least 8"):
        quantize_int8(exported[1], tmp_path / "q.onnx", np.zeros((3, 32, 32), np.float32))
