"""kit.onnx: export with a free batch axis, explicit ORT sessions, QDQ static int8, the max-abs-diff check."""
import numpy as np
import onnx
import pytest
import torch

from kit import onnx as konnx
from kit.errors import InputDataError, ParameterError


pytestmark = pytest.mark.usefixtures("one_torch_thread")


class TwoHeads(torch.nn.Module):
    """A small CNN with BatchNorm and a dict output, like the detector."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                                        torch.nn.Conv2d(8, 8, 3, stride=2, padding=1), torch.nn.ReLU())
        self.a = torch.nn.Conv2d(8, 2, 1)
        self.b = torch.nn.Conv2d(8, 1, 1)

    def forward(self, x):
        h = self.body(x)
        return {"b": self.b(h), "a": self.a(h)}


def _trained_bn(model, x):
    model.train()
    with torch.no_grad():
        model(x)  # non-trivial BatchNorm statistics, so the comparison means something
    return model.eval()


def test_export_dynamic_batch_dict_order_and_mode(tmp_path):
    torch.manual_seed(0)
    x = torch.rand(5, 3, 16, 24)
    m = _trained_bn(TwoHeads(), x)
    m.train()
    path = konnx.export_onnx(m, tmp_path / "m.onnx", x[:1], input_name="images", output_names=("a", "b"))
    assert m.training  # the caller's mode is restored
    graph = onnx.load(str(path)).graph
    assert [o.name for o in graph.output] == ["a", "b"]
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    m.eval()
    run = konnx.OrtRunner(konnx.ort_session(path))
    got = run(x)  # batch 5 through a graph exported at batch 1
    with torch.no_grad():
        ref = m(x)
    assert set(got) == {"a", "b"} and tuple(got["a"].shape) == (5, 2, 8, 12)
    assert konnx.max_abs_diff(ref, got) < 1e-4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_session_settings_are_explicit(tmp_path):
    import onnxruntime as ort

    path = konnx.export_onnx(torch.nn.Conv2d(1, 1, 3), tmp_path / "c.onnx", torch.rand(1, 1, 8, 8))
    s = konnx.ort_session(path, threads=2)
    o = s.get_session_options()
    assert o.intra_op_num_threads == 2 and o.inter_op_num_threads == 1
    assert o.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert o.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    with pytest.raises(ParameterError):
        konnx.ort_session(path, threads=0)
    with pytest.raises(InputDataError, match="not found"):
        konnx.ort_session(tmp_path / "missing.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(InputDataError, match="cannot load"):
        konnx.ort_session(tmp_path / "bad.onnx")


def test_calibration_reader_batches_and_rewinds():
    x = np.arange(10 * 2, dtype=np.float64).reshape(10, 2)
    r = konnx.ArrayCalibrationReader(x, "inp", batch_size=4)
    sizes = []
    while (b := r.get_next()) is not None:
        assert b["inp"].dtype == np.float32
        sizes.append(len(b["inp"]))
    assert sizes == [4, 4, 2]
    r.rewind()
    np.testing.assert_array_equal(r.get_next()["inp"], x[:4])


def test_int8_static_qdq_close_to_fp32(tmp_path):
    torch.manual_seed(0)
    x = torch.rand(24, 3, 32, 32)
    m = _trained_bn(TwoHeads(), x)
    fp32 = konnx.export_onnx(m, tmp_path / "m.onnx", x[:1], output_names=("a", "b"))
    int8 = konnx.quantize_int8(fp32, tmp_path / "m8.onnx", x[:16].numpy(), batch_size=8)
    ops = [n.op_type for n in onnx.load(str(int8)).graph.node]
    assert ops.count("QuantizeLinear") >= 2 and "DequantizeLinear" in ops  # QDQ format, not dynamic
    assert "DynamicQuantizeLinear" not in ops
    a = konnx.OrtRunner(konnx.ort_session(fp32))(x[16:])
    b = konnx.OrtRunner(konnx.ort_session(int8))(x[16:])
    scale = float(a["a"].abs().max())
    err = konnx.max_abs_diff(a, b)
    assert 0 < err < 0.05 * scale  # quantization noise, not a different function
    assert np.corrcoef(a["a"].numpy().ravel(), b["a"].numpy().ravel())[0, 1] > 0.99
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m8.onnx"]  # no leftovers
    with pytest.raises(InputDataError, match="calibration"):
        konnx.quantize_int8(fp32, tmp_path / "x.onnx", x[:4].numpy(), min_inputs=8)
    with pytest.raises(ParameterError, match="method"):
        konnx.quantize_int8(fp32, tmp_path / "x.onnx", x[:8].numpy(), method="dynamic")


def test_max_abs_diff_forms():
    assert konnx.max_abs_diff(np.zeros(3), np.array([0.0, -2.0, 1.0])) == 2.0
    assert konnx.max_abs_diff([torch.zeros(2)], [torch.ones(2)]) == 1.0
    assert konnx.max_abs_diff({"k": np.zeros(0)}, {"k": np.zeros(0)}) == 0.0
    with pytest.raises(InputDataError, match="shape"):
        konnx.max_abs_diff(np.zeros(3), np.zeros(4))


def test_domain_wrappers_share_the_implementation():
    from kit.medical import onnx as monnx
    from kit.vision import onnx as vonnx

    assert vonnx.OrtRunner is konnx.OrtRunner and vonnx.max_abs_diff is konnx.max_abs_diff
    assert monnx._onnx is konnx and vonnx._onnx is konnx
