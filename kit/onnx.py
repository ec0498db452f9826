"""ONNX export, ONNX Runtime sessions and post-training static int8 quantization.

One implementation for every domain (``kit.vision.onnx`` and
``kit.medical.onnx`` are thin wrappers with their own defaults):

- :func:`export_onnx`: Torch's TorchScript-based exporter (``dynamo=False``,
  no extra package; it handles CNNs and GRUs), dynamic batch axis, written
  atomically. A model returning a dict is exported with its values in the
  order of ``output_names``.
- :func:`ort_session`: an ONNX Runtime session with explicit settings so
  timings are comparable with Torch at the same thread count: intra-op
  threads fixed, one inter-op thread, sequential execution, all graph
  optimisations (``ORT_ENABLE_ALL``: constant folding, Conv+BN+ReLU fusion,
  layout transforms for the CPU's convolution kernels).
- :func:`quantize_int8`: static QDQ int8 (QuantizeLinear/DequantizeLinear
  pairs that ONNX Runtime fuses into integer kernels), weights per channel as
  signed int8, activations as unsigned int8 with ranges calibrated on *real*
  inputs (validation images) through :class:`ArrayCalibrationReader`.
  Dynamic quantization is not offered: it only helps MatMul-heavy models and
  makes CNNs slower.
- :func:`max_abs_diff`: the check that ONNX Runtime reproduces Torch.
"""
from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np

from kit.errors import InputDataError, ParameterError

__all__ = ["ArrayCalibrationReader", "OrtRunner", "export_onnx", "max_abs_diff", "ort_session", "quantize_int8"]

CALIBRATION_METHODS = ("minmax", "entropy", "percentile")


def _as_tuple(model, output_names):
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

    return _AsTuple(model)


def export_onnx(model, path, example, *, input_name: str = "input", output_names=("output",),
                dynamic_batch: bool = True, dynamic_spatial: bool = False, opset: int = 17) -> Path:
    """Export a model's forward to an ONNX file (atomically).

    Parameters
    ----------
    model : torch.nn.Module
        Exported in eval mode (its mode is restored afterwards).
    path : path
        Target ``.onnx`` file.
    example : tensor
        An input of the right shape (batch 1 is enough), e.g. ``torch.rand(1, 3, 256, 256)``.
    input_name : str
    output_names : sequence of str
        Names of the outputs; a model returning a dict is exported with the
        dict's values in this order.
    dynamic_batch : bool
        Leave the batch dimension free (batch 1 for latency, large batches for throughput).
    dynamic_spatial : bool
        Also leave dimensions 2 and 3 (height and width) of the input and of
        every output free, for fully convolutional networks fed images of
        any size.
    opset : int

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU())
    >>> p = export_onnx(net, tempfile.mkdtemp() + "/m.onnx", torch.rand(1, 1, 8, 8))
    >>> OrtRunner(ort_session(p))(torch.rand(3, 1, 8, 8)).shape
    torch.Size([3, 2, 6, 6])
    """
    import torch

    from kit.io import atomic_path

    output_names = list(output_names)
    was_training = model.training
    wrapped = _as_tuple(model, output_names).eval()
    free = ({0: "batch"} if dynamic_batch else {})
    if dynamic_spatial:
        free = {**free, 2: "height", 3: "width"}
    # Each output's spatial axes get their own names: feature maps of a pyramid differ in size.
    axes = {input_name: free, **{n: {d: (v if d == 0 else f"{n}_{v}") for d, v in free.items()} for n in output_names}}
    axes = axes if free else None
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    try:
        with atomic_path(path) as tmp, warnings.catch_warnings():
            # The TorchScript exporter's deprecation note and GRU batch notes; the graph is checked by max_abs_diff.
            warnings.simplefilter("ignore")
            torch.onnx.export(wrapped, (example.to(device),), str(tmp), dynamo=False, input_names=[input_name],
                              output_names=output_names, dynamic_axes=axes, opset_version=opset)
    finally:
        model.train(was_training)
    return Path(path)


def ort_session(path, threads: int = 1, device: str = "cpu", *, sequential: bool = True, providers=None):
    """An ONNX Runtime session with explicit thread and optimisation settings.

    Parameters
    ----------
    path : path
        ``.onnx`` file.
    threads : int
        Intra-op threads; one inter-op thread. Fixed, so timings compare with
        Torch at the same count and nothing spins on a shared machine.
    device : {"cpu", "cuda"}
        CUDA uses the CUDA execution provider when ONNX Runtime has it.
    sequential : bool
        ``ORT_SEQUENTIAL`` execution (operators one after the other, each
        using the intra-op threads), right for chain-like CNNs; ``False``
        runs independent branches in parallel.
    providers : list of str, optional
        Execution providers in order of preference (``kit bench``), overriding
        ``device``; the CPU provider is appended as the fallback.

    Returns
    -------
    onnxruntime.InferenceSession

    Raises
    ------
    InputDataError
        Missing or unloadable file.
    """
    import onnxruntime as ort

    if not Path(path).is_file():
        raise InputDataError(f"ONNX file {path} not found; export the model first (kit.onnx.export_onnx)")
    if int(threads) < 1:
        raise ParameterError(f"threads must be >= 1, got {threads}")
    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL if sequential else ort.ExecutionMode.ORT_PARALLEL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    providers_given, providers = providers, ["CPUExecutionProvider"]
    if str(device).startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    if providers_given:
        providers = [*[p for p in providers_given if p != "CPUExecutionProvider"], "CPUExecutionProvider"]
    try:
        return ort.InferenceSession(str(path), so, providers=providers)
    except Exception as exc:
        raise InputDataError(f"ONNX Runtime cannot load {path}: {str(exc).splitlines()[0]}; re-export the model") from None


class OrtRunner:
    """Call an ONNX Runtime session like the Torch model: tensor in, tensor(s) out.

    A model with one output returns that tensor; with several, a dict
    ``{output name: tensor}``. :meth:`numpy` gives the raw list of arrays.
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
    """Largest absolute difference between two outputs (tensors, arrays, or dicts/sequences of them).

    Examples
    --------
    >>> max_abs_diff({"a": np.zeros(3)}, {"a": np.array([0.0, 2e-4, -5e-4])})
    0.0005
    """
    from kit.backend import to_numpy

    if isinstance(a, dict):
        return max(max_abs_diff(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return max(max_abs_diff(x, y) for x, y in zip(a, b))
    x = np.asarray(to_numpy(a), dtype=np.float64)
    y = np.asarray(to_numpy(b), dtype=np.float64)
    if x.shape != y.shape:
        raise InputDataError(f"outputs differ in shape: {x.shape} against {y.shape}; compare the same inputs")
    return float(np.max(np.abs(x - y))) if x.size else 0.0


class ArrayCalibrationReader:
    """Feeds real model inputs to ONNX Runtime's static quantizer, in batches.

    Implements ``onnxruntime.quantization.CalibrationDataReader``
    (``get_next`` returns ``{input name: batch}`` then ``None``; ``rewind``
    starts over, which the entropy and percentile calibrators need).

    Parameters
    ----------
    inputs : array (N, ...) float32
        Model inputs exactly as the model sees them (same size and scaling).
    input_name : str
    batch_size : int
    """

    def __init__(self, inputs, input_name: str, batch_size: int = 8):
        self.inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        self.input_name = input_name
        self.batch_size = max(1, int(batch_size))
        self.i = 0

    def get_next(self):
        if self.i >= len(self.inputs):
            return None
        batch = self.inputs[self.i:self.i + self.batch_size]
        self.i += self.batch_size
        return {self.input_name: batch}

    def rewind(self):
        self.i = 0


def quantize_int8(fp32_path, int8_path, calibration, *, batch_size: int = 8, per_channel: bool = True,
                  method: str = "minmax", exclude_nodes=None, min_inputs: int = 1) -> Path:
    """Post-training static int8 quantization (QDQ), calibrated on real inputs.

    The model is first pre-processed as ONNX Runtime recommends (shape
    inference, graph optimisation that folds BatchNorm into convolutions),
    then quantized; the result is written atomically.

    Weights use 7 of their 8 bits (``reduce_range``): on x86 CPUs without
    VNNI (AVX2 laptops, AVX-512 servers before Cascade Lake) ONNX Runtime
    multiplies uint8 activations by int8 weights with VPMADDUBSW, whose 16-bit
    sums saturate at full range, and the same model that is accurate on a
    VNNI machine loses its ranking there (AUROC-style scores fall apart).
    The 7-bit weights cannot saturate, so one file behaves the same on every
    CPU, at a small cost in weight resolution.

    Parameters
    ----------
    fp32_path, int8_path : path
    calibration : array (N, ...) float32
        Real model inputs (validation images, as the model sees them); a few
        dozen to a few hundred are enough.
    batch_size : int
        Calibration batch.
    per_channel : bool
        Per-output-channel weight scales (keeps small convolutions accurate).
    method : {"minmax", "entropy", "percentile"}
        Activation range calibration.
    exclude_nodes : list of str, optional
        Node names kept in float (e.g. the last layer of a head).
    min_inputs : int
        Fewer calibration inputs than this is an error.

    Returns
    -------
    pathlib.Path
        ``int8_path``.

    Examples
    --------
    >>> import tempfile, torch
    >>> d = tempfile.mkdtemp()
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 1, 1))
    >>> p = export_onnx(net.eval(), d + "/m.onnx", torch.rand(1, 1, 16, 16))
    >>> x = np.random.default_rng(0).random((8, 1, 16, 16), dtype=np.float32)
    >>> q = quantize_int8(p, d + "/m8.onnx", x)
    >>> max_abs_diff(OrtRunner(ort_session(p)).numpy(x), OrtRunner(ort_session(q)).numpy(x)) < 0.05
    True
    """
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from kit.io import atomic_path

    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    if method not in methods:
        raise ParameterError(f"method must be one of {', '.join(methods)}, got {method!r}")
    data = np.ascontiguousarray(calibration, dtype=np.float32)
    if len(data) < max(1, min_inputs):
        raise InputDataError(f"int8 calibration needs at least {max(1, min_inputs)} real inputs, got {len(data)}; "
                             "pass validation images")
    if not Path(fp32_path).is_file():
        raise InputDataError(f"ONNX file {fp32_path} not found; export the model first (kit.onnx.export_onnx)")
    name = ort.InferenceSession(str(fp32_path), providers=["CPUExecutionProvider"]).get_inputs()[0].name
    int8_path = Path(int8_path)
    with tempfile.TemporaryDirectory(prefix="kit-quant-") as work, atomic_path(int8_path) as tmp, \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pre = Path(work) / "preprocessed.onnx"
        quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(tmp), ArrayCalibrationReader(data, name, batch_size),
                        quant_format=QuantFormat.QDQ, per_channel=per_channel, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, reduce_range=True, calibrate_method=methods[method],
                        nodes_to_exclude=list(exclude_nodes or []))
    return int8_path
