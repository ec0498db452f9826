"""Deploying the small code reader: ONNX fp32, static int8 and the fixed sample ``kit bench`` reads back.

:func:`deploy_reader` writes into the run folder ``code_reader.onnx``,
``code_reader_int8.onnx`` (calibrated on training crops),
``code_reader_weights.pt`` (a ``state_dict``) and the benchmark sample
``code_reader_bench_samples.npz`` / ``.json`` (:mod:`kit.bench_samples`):
test crops as the network sees them, their true codes, the alphabet and
crop size. :func:`rebuild_reader`, :func:`frame_probabilities` and
:func:`whole_code_accuracy` turn them back into the metric: the network's
CTC frames read once (no row-shift averaging, unlike :func:`read_codes`)
and decoded under the check digit (:func:`decode_frames`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["deploy_reader", "frame_probabilities", "rebuild_reader", "whole_code_accuracy"]

NAME = "code_reader"
WEIGHTS = "code_reader_weights.pt"


def deploy_reader(reader, train_crops, test_crops, output_dir, *, n_samples: int = 128, n_calibration: int = 64) -> dict:
    """Export the trained reader to ONNX, check it against Torch, quantize it to int8 and write the bench sample.

    Parameters
    ----------
    reader : CodeReader
        Trained (any device; exported from a CPU copy).
    train_crops, test_crops : list of dict
        From :func:`kit.vision.recognizer.load_code_crops`: the first
        ``n_calibration`` training crops calibrate int8, the first
        ``n_samples`` test crops are the benchmark sample.
    output_dir : path

    Returns
    -------
    dict
        ``onnx_max_abs_diff`` (logits, Torch against ONNX Runtime fp32, on the sample) and the paths written.
    """
    import copy

    import torch

    from kit import onnx
    from kit.bench_samples import write_bench_samples
    from kit.io import atomic_path
    from kit.vision.recognizer.crops import _to_batch
    from kit.vision.recognizer.model import CROP_SIZE

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = copy.deepcopy(reader).cpu().eval()
    sample = [c for c in test_crops[:n_samples] if c["text"]]
    x = _to_batch([c["image"] for c in sample])
    fp32 = onnx.export_onnx(model, out / f"{NAME}.onnx", x[:1], input_name="crops", output_names=("logits",))
    with torch.no_grad():
        diff = onnx.max_abs_diff(model(x), onnx.OrtRunner(onnx.ort_session(fp32))(x))
    calibration = _to_batch([c["image"] for c in train_crops[:n_calibration]]).numpy()
    int8 = onnx.quantize_int8(fp32, out / f"{NAME}_int8.onnx", calibration, batch_size=8)
    with atomic_path(out / WEIGHTS) as tmp:
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp)
    meta = {"task": "code_reading", "metric": "code_accuracy", "model_name": NAME, "alphabet": model.alphabet,
            "crop_size": list(CROP_SIZE), "onnx": {"fp32": fp32.name, "int8": int8.name}, "output_names": ["logits"],
            "decoding": "softmax of the logits, greedy CTC, else the best valid ISO 6346 path (one pass, no row shifts)",
            "torch": {"factory": "code_reader", "width": int(model.cnn[0].out_channels),
                      "hidden": int(model.project[0].out_channels), "weights": WEIGHTS},
            "onnx_max_abs_diff": float(diff), "multistream": False}
    arrays = {"inputs": x.numpy(), "labels": np.array([c["text"] for c in sample], dtype="<U11")}
    sample_json = write_bench_samples(out, arrays, meta, name=NAME)
    return {"onnx_max_abs_diff": float(diff), "onnx": fp32, "int8": int8, "weights": out / WEIGHTS, "sample": sample_json}


def rebuild_reader(folder, meta: dict):
    """The Torch reader a run folder describes (``meta["torch"]``), eval mode on the CPU, or None."""
    cfg = meta.get("torch") or {}
    path = Path(folder) / cfg.get("weights", WEIGHTS)
    if cfg.get("factory") != "code_reader" or not path.is_file():
        return None
    from kit.vision.recognizer.model import code_reader

    return code_reader(meta["alphabet"], cfg["width"], cfg["hidden"], weights=path).eval()


def frame_probabilities(outputs) -> list:
    """Per crop the float32 ``(T, classes)`` frame probabilities, from ONNX Runtime's list or the Torch tensor."""
    out = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
    logits = out.detach().cpu().numpy() if hasattr(out, "detach") else np.asarray(out)
    logits = logits.astype(np.float64)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    return list((p / p.sum(-1, keepdims=True)).astype(np.float32))


def whole_code_accuracy(per_sample: list, arrays: dict, meta: dict) -> float:
    """Share of sample crops whose decoded code equals the true code."""
    from kit.vision.recognizer.decoding import decode_frames

    readings = decode_frames(np.stack([np.asarray(p) for p in per_sample]), meta["alphabet"])
    return float(np.mean([r.code == t for r, t in zip(readings, arrays["labels"])]))
