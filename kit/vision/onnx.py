"""ONNX export, ONNX Runtime execution and static int8 quantization of the detector and the code reader.

Thin wrappers over :mod:`kit.onnx` (one implementation for every domain)
with the detector's defaults: input ``images``, outputs ``heatmap``,
``size``, ``offset``, calibration batches of 8. Quantization is
post-training *static* QDQ int8, weights per channel, activations calibrated
on real images (validation scenes or crops), because dynamic quantization
only helps MatMul-heavy models and makes CNNs slower.
"""
from __future__ import annotations

from pathlib import Path

from kit import onnx as _onnx
from kit.onnx import OrtRunner, max_abs_diff

__all__ = ["OrtRunner", "export_onnx", "max_abs_diff", "ort_session", "quantize_int8"]


def export_onnx(model, path, example, *, input_name: str = "images", output_names=("heatmap", "size", "offset"),
                dynamic_batch: bool = True, opset: int = 17) -> Path:
    """Export a model's forward to an ONNX file (atomically).

    :func:`kit.onnx.export_onnx` (parameters and return value documented
    there) with the detector's input and output names as defaults.

    Examples
    --------
    >>> import tempfile, torch
    >>> from kit.vision.models import centernet
    >>> p = export_onnx(centernet(4), tempfile.mkdtemp() + "/m.onnx", torch.rand(1, 3, 64, 64))
    >>> runner = OrtRunner(ort_session(p))
    >>> sorted(runner(torch.rand(2, 3, 64, 64)))
    ['heatmap', 'offset', 'size']
    """
    return _onnx.export_onnx(model, path, example, input_name=input_name, output_names=output_names,
                             dynamic_batch=dynamic_batch, opset=opset)


def ort_session(path, threads: int = 1, device: str = "cpu"):
    """An ONNX Runtime session: ``threads`` intra-op threads, sequential, ``ORT_ENABLE_ALL``; see :func:`kit.onnx.ort_session`."""
    return _onnx.ort_session(path, threads, device)


def quantize_int8(fp32_path, int8_path, calibration, *, per_channel: bool = True, method: str = "minmax",
                  exclude_nodes=None) -> Path:
    """Post-training static int8 quantization (QDQ), calibrated on real inputs.

    :func:`kit.onnx.quantize_int8` (parameters and return value documented
    there), feeding the calibrator batches of 8 real images or crops.
    """
    return _onnx.quantize_int8(fp32_path, int8_path, calibration, batch_size=8, per_channel=per_channel,
                               method=method, exclude_nodes=exclude_nodes)
