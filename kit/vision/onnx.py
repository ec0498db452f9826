"""ONNX export, ONNX Runtime execution and static int8 quantization.

Export uses Torch's TorchScript-based exporter (``dynamo=False``): it needs
no extra package and handles the detector and the GRU of the code reader.
Quantization is post-training *static* QDQ int8 (``onnxruntime.quantization``):
weights per channel, activations calibrated on real images (validation
crops or scenes), because dynamic quantization only helps MatMul-heavy
models and makes CNNs slower.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from kit.errors import InputDataError, ParameterError

__all__ = ["OrtRunner", "export_onnx", "max_abs_diff", "ort_session", "quantize_int8"]


def _wrap(model, output_names):
    import torch

    class _AsTuple(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            out = self.inner(x)
            if isinstance(out, dict):
                return tuple(out[k] for k in output_names)
            return out

    return _AsTuple(model).eval()


def export_onnx(model, path, example, *, input_name: str = "images", output_names=("heatmap", "size", "offset"),
                dynamic_batch: bool = True, opset: int = 17) -> Path:
    """Export a model's forward to an ONNX file (atomically).

    Parameters
    ----------
    model : torch.nn.Module
        Exported in eval mode (the mode is restored afterwards).
    path : path
        Target ``.onnx`` file.
    example : tensor
        An input of the right shape, e.g. ``torch.rand(1, 3, 256, 256)``.
    input_name : str
    output_names : tuple of str
        Names of the outputs; a model returning a dict is exported with its
        values in this order.
    dynamic_batch : bool
        Leave the batch dimension free.
    opset : int

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, torch
    >>> from kit.vision.models import centernet
    >>> p = export_onnx(centernet(4), tempfile.mkdtemp() + "/m.onnx", torch.rand(1, 3, 64, 64))
    >>> runner = OrtRunner(ort_session(p))
    >>> sorted(runner(torch.rand(2, 3, 64, 64)))
    ['heatmap', 'offset', 'size']
    """
    import torch

    from kit.io import atomic_path

    was_training = model.training
    wrapped = _wrap(model, list(output_names))
    axes = None
    if dynamic_batch:
        axes = {input_name: {0: "batch"}, **{n: {0: "batch"} for n in output_names}}
    try:
        with atomic_path(path) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation and GRU batch notes
            torch.onnx.export(wrapped, (example.to(next(model.parameters()).device),), str(tmp), dynamo=False,
                              input_names=[input_name], output_names=list(output_names), dynamic_axes=axes,
                              opset_version=opset)
    finally:
        model.train(was_training)
    return Path(path)


def ort_session(path, threads: int = 1, device: str = "cpu"):
    """An ONNX Runtime session with a fixed thread count.

    Parameters
    ----------
    path : path
        ``.onnx`` file.
    threads : int
        Intra-op threads (inter-op 1, sequential execution); fixed so timings
        are comparable with Torch at the same count and nothing spins on a
        shared machine.
    device : {"cpu", "cuda"}
        CUDA uses the CUDA execution provider when ONNX Runtime has it.

    Returns
    -------
    onnxruntime.InferenceSession
    """
    import onnxruntime as ort

    if not Path(path).is_file():
        raise InputDataError(f"ONNX file {path} not found; export the model first (kit.vision.onnx.export_onnx)")
    if threads < 1:
        raise ParameterError(f"threads must be >= 1, got {threads}")
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    providers = ["CPUExecutionProvider"]
    if str(device).startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    try:
        return ort.InferenceSession(str(path), so, providers=providers)
    except Exception as exc:
        raise InputDataError(f"ONNX Runtime cannot load {path}: {str(exc).splitlines()[0]}; re-export the model") from None


class OrtRunner:
    """Call an ONNX Runtime session like the Torch model: tensor in, dict of tensors out.

    A single-output model returns that tensor instead of a dict.
    """

    def __init__(self, session):
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.output_names = [o.name for o in session.get_outputs()]

    def numpy(self, x: np.ndarray) -> list:
        """Raw outputs for a float32 NumPy batch."""
        return self.session.run(None, {self.input_name: np.ascontiguousarray(x, dtype=np.float32)})

    def __call__(self, x):
        import torch

        arr = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
        outs = [torch.from_numpy(o) for o in self.numpy(arr)]
        return outs[0] if len(outs) == 1 else dict(zip(self.output_names, outs))


def max_abs_diff(a, b) -> float:
    """Largest absolute difference between two outputs (tensors, arrays or dicts of them)."""
    from kit.backend import to_numpy

    if isinstance(a, dict):
        return max(max_abs_diff(a[k], b[k]) for k in a)
    return float(np.max(np.abs(np.asarray(to_numpy(a), dtype=np.float64) - np.asarray(to_numpy(b), dtype=np.float64))))


def quantize_int8(fp32_path, int8_path, calibration, *, per_channel: bool = True, method: str = "minmax",
                  exclude_nodes=None) -> Path:
    """Post-training static int8 quantization (QDQ), calibrated on real inputs.

    Parameters
    ----------
    fp32_path, int8_path : path
    calibration : array (N, ...) float32
        Real model inputs (validation images, as the model sees them), a few
        dozen are enough; batches of 8 are fed to the calibrator.
    per_channel : bool
        Per-channel weight scales (keeps accuracy of small convolutions).
    method : {"minmax", "entropy", "percentile"}
        Activation range calibration.
    exclude_nodes : list of str, optional
        Node names kept in float (e.g. the last layer of a head).

    Returns
    -------
    pathlib.Path
        ``int8_path``.
    """
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from kit.io import atomic_path

    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    if method not in methods:
        raise ParameterError(f"method must be one of {', '.join(methods)}, got {method!r}")
    data = np.ascontiguousarray(calibration, dtype=np.float32)
    if len(data) == 0:
        raise InputDataError("no calibration input for int8 quantization; pass validation images")
    import onnxruntime as ort

    name = ort.InferenceSession(str(fp32_path), providers=["CPUExecutionProvider"]).get_inputs()[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{name: data[i:i + 8]} for i in range(0, len(data), 8)])

        def get_next(self):
            return next(self.batches, None)

    int8_path = Path(int8_path)
    with atomic_path(int8_path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pre = tmp.with_name(tmp.stem + ".pre.onnx")
        try:
            quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
            quantize_static(str(pre), str(tmp), Reader(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=methods[method], nodes_to_exclude=list(exclude_nodes or []))
        finally:
            if pre.exists():
                os.unlink(pre)
    return int8_path
