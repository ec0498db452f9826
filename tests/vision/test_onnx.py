import numpy as np
import onnx
import pytest
import torch

from kit.errors import InputDataError
from kit.vision.models import centernet
from kit.vision.onnx import OrtRunner, export_onnx, max_abs_diff, ort_session, quantize_int8
from kit.vision.recognizer import code_reader


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _calibrated_bn(model, x):
    # Non-trivial BatchNorm statistics, as after training, so the comparison means something.
    model.train()
    with torch.no_grad():
        model(x)
    return model.eval()


def test_detector_onnx_matches_torch_and_keeps_train_mode(tmp_path):
    torch.manual_seed(0)
    x = torch.rand(3, 3, 64, 96)
    m = _calibrated_bn(centernet(4), x)
    m.train()
    path = export_onnx(m, tmp_path / "det.onnx", x[:1])
    assert m.training  # mode restored
    m.eval()
    run = OrtRunner(ort_session(path, threads=1))
    with torch.no_grad():
        ref = m(x)
    got = run(x)  # batch of 3 through a model exported with batch 1
    assert max_abs_diff(ref, got) < 1e-3
    assert set(got) == {"heatmap", "size", "offset"}


def test_reader_onnx_matches_torch(tmp_path):
    torch.manual_seed(0)
    x = torch.rand(4, 3, 32, 160)
    r = _calibrated_bn(code_reader(), x)
    path = export_onnx(r, tmp_path / "reader.onnx", x[:1], input_name="crops", output_names=("logits",))
    got = OrtRunner(ort_session(path))(x)
    with torch.no_grad():
        assert max_abs_diff(r(x), got) < 1e-3


def test_int8_is_qdq_and_close_to_fp32(tmp_path):
    torch.manual_seed(0)
    x = torch.rand(16, 3, 64, 64)
    m = _calibrated_bn(centernet(4), x)
    fp32 = export_onnx(m, tmp_path / "det.onnx", x[:1])
    int8 = quantize_int8(fp32, tmp_path / "det_int8.onnx", x[:8].numpy())
    ops = {n.op_type for n in onnx.load(str(int8)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    a = OrtRunner(ort_session(fp32))(x[8:])["heatmap"].numpy().ravel()
    b = OrtRunner(ort_session(int8))(x[8:])["heatmap"].numpy().ravel()
    assert np.corrcoef(a, b)[0, 1] > 0.95  # quantization noise, not a different function
    assert not np.allclose(a, b, atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["det.onnx", "det_int8.onnx"]  # no leftovers


def test_missing_onnx_file(tmp_path):
    with pytest.raises(InputDataError, match="not found"):
        ort_session(tmp_path / "nope.onnx")
