"""ONNX export and static int8 quantization of the triage classifier, run with ONNX Runtime.

The int8 model is quantized statically in QDQ format (QuantizeLinear /
DequantizeLinear pairs around each operator; ONNX Runtime fuses them into
integer kernels): weights per channel as signed int8, activations as
unsigned int8 with ranges calibrated on *real validation images*, never on
random noise (noise has the wrong activation ranges and costs accuracy).
After quantizing, the AUROC is measured again on the test images.

Export, sessions and quantization are :mod:`kit.onnx` (shared with
``kit.vision.onnx``); this module keeps the triage model's names and shapes.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from kit import onnx as _onnx
from kit.errors import InputDataError, ParameterError

INPUT_NAME = "image"
OUTPUT_NAME = "logit"


def export_onnx(model, path, image_size: int, opset: int = 17) -> Path:
    """Write the network as an ONNX graph with a dynamic batch axis (via :func:`kit.onnx.export_onnx`).

    Parameters
    ----------
    model : torch.nn.Module
        One logit per image, input ``(batch, 1, image_size, image_size)``.
    path : str or Path
    image_size : int, pixels
    opset : int

    Returns
    -------
    Path
    """
    import torch

    model = model.eval().cpu()
    return _onnx.export_onnx(model, path, torch.zeros(1, 1, image_size, image_size), input_name=INPUT_NAME,
                             output_names=(OUTPUT_NAME,), opset=opset)


def _nchw(images, image_size=None) -> np.ndarray:
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] != 1:
        raise InputDataError(f"images must be (n, H, W) or (n, 1, H, W), got shape {x.shape}")
    if image_size is not None and x.shape[-2:] != (image_size, image_size):
        from kit.medical.train import to_tensor

        x = to_tensor(x[:, 0], image_size).numpy()
    return np.ascontiguousarray(x)


def quantize_int8(fp32_path, int8_path, calibration_images, batch_size: int = 32, per_channel: bool = True) -> Path:
    """Static int8 QDQ quantization calibrated on real images (via :func:`kit.onnx.quantize_int8`).

    Parameters
    ----------
    fp32_path : path
        Model written by :func:`export_onnx`.
    int8_path : path
        Where the quantized model goes.
    calibration_images : array ``(n, H, W)``, [0, 1]
        Validation images at the model's input size (a few hundred suffice).
    batch_size : int
    per_channel : bool
        Per-output-channel weight scales (more accurate for convolutions).

    Returns
    -------
    Path
    """
    import logging

    root = logging.getLogger()
    quiet = _AxisWarnings()
    root.addFilter(quiet)
    try:
        return _onnx.quantize_int8(fp32_path, int8_path, _nchw(calibration_images), batch_size=batch_size,
                                   per_channel=per_channel, method="minmax", min_inputs=8)
    finally:
        root.removeFilter(quiet)


class _AxisWarnings:
    """Drops ONNX Runtime's per-weight "Axis 1 is out-of-range" warnings.

    A DenseNet's pre-activation batch norms (norm -> relu -> conv) stay separate
    ops with 1-D weights, which per-channel quantization leaves per-tensor and
    warns about once per layer: a hundred lines in the report saying nothing.
    """

    def filter(self, record) -> bool:
        return "is out-of-range for weight" not in record.getMessage()


class OnnxTriageModel:
    """An exported classifier run by ONNX Runtime on the CPU.

    Parameters
    ----------
    path : path
        ``.onnx`` file (fp32 or int8).
    threads : int
        Intra-op threads (1 keeps benchmarks comparable and leaves cores to others).
    """

    def __init__(self, path, threads: int = 1):
        path = Path(path)
        if not path.is_file():
            raise InputDataError(f"ONNX model {path} does not exist; export it with export_onnx first")
        if threads < 1:
            raise ParameterError(f"threads must be >= 1, got {threads}")
        self.session = _onnx.ort_session(path, threads)
        shape = self.session.get_inputs()[0].shape
        self.image_size = int(shape[-1]) if isinstance(shape[-1], int) else None
        self.path = path

    def decision_function(self, images, batch_size: int = 256) -> np.ndarray:
        """Logits ``(n,)`` float64."""
        x = _nchw(images, self.image_size)
        out = [self.session.run([OUTPUT_NAME], {INPUT_NAME: x[i:i + batch_size]})[0]
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out).astype(np.float64).ravel() if out else np.zeros(0)


def images_per_second(predict, images, batch_size: int = 64, repeats: int = 3, min_seconds: float = 0.5) -> float:
    """Best-of-``repeats`` throughput of ``predict(batch)`` over ``images``, images per second.

    Each repeat is an MLPerf LoadGen Offline test (:mod:`kit.loadgen`, the
    engine of ``kit bench``): one query of at least ``min_seconds`` worth of
    samples (and at least every image's worth), run ``batch_size`` at a
    time, after one warm-up batch.
    """
    from kit.loadgen import run_unlogged

    x = np.ascontiguousarray(images, dtype=np.float32)
    if len(x) == 0:
        raise InputDataError("images_per_second needs at least one image")
    t = time.perf_counter()
    predict(x[:batch_size])
    rate = min(len(x), batch_size) / max(time.perf_counter() - t, 1e-9)
    settings = {"min_duration_ms": int(min_seconds * 1000), "min_query_count": len(x), "offline_expected_qps": float(rate)}
    best = 0.0
    for _ in range(repeats):
        d = run_unlogged(predict, x, "Offline", settings=settings, max_batch=batch_size)
        best = max(best, float(d["result_samples_per_second"]))
    return best


def torch_predictor(model, image_size: int, threads: int | None = 1):
    """``f(images) -> logits`` running the Torch model in fp32 on the CPU, inference mode.

    ``threads`` sets Torch's intra-op thread count for the comparison
    (restored afterwards is the caller's business: Torch has one global setting).
    """
    import torch

    from kit.medical.train import to_tensor

    if threads is not None:
        torch.set_num_threads(threads)
    model = model.eval().cpu()

    def predict(images):
        with torch.inference_mode():
            return model(to_tensor(images, image_size)).numpy()

    return predict
