"""The runtimes a model is measured on: Torch eager fp32, ONNX Runtime fp32 and int8 per execution provider.

Each is a batch function ``float32 array -> raw outputs`` built for one
thread count. Torch's thread count is process-wide (``torch.set_num_threads``),
so a Torch engine sets it on every call; ONNX Runtime's is per session
(intra-op threads, one inter-op thread, as :func:`kit.onnx.ort_session`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kit.errors import ParameterError

__all__ = ["Runtime", "available_providers", "build_runtimes"]

# An ONNX Runtime provider that sends requests to Azure endpoints, not a device of this machine.
NOT_A_DEVICE = {"AzureExecutionProvider"}


@dataclass
class Runtime:
    """One engine: ``fn`` is None when it is not available, with ``missing`` saying why."""

    runtime: str
    precision: str
    provider: str
    threads: int
    fn: object = None
    missing: str = ""


def available_providers() -> list:
    """ONNX Runtime's execution providers on this machine that run models here."""
    import onnxruntime as ort

    return [p for p in ort.get_available_providers() if p not in NOT_A_DEVICE]


def _torch_fn(model, threads):
    import torch

    def run(batch):
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        with torch.no_grad():
            return model(torch.from_numpy(np.ascontiguousarray(batch)))

    return run


def _ort_fn(path, threads, provider):
    from kit.onnx import ort_session

    session = ort_session(path, threads, providers=[provider])
    name = session.get_inputs()[0].name
    used = session.get_providers()[0]

    def run(batch):
        return session.run(None, {name: batch})

    return run, used


def build_runtimes(model, threads: int, providers=None, runtimes=("torch", "onnxruntime")) -> list:
    """The engines of one :class:`kit.bench.models.BenchModel` at ``threads`` threads.

    Parameters
    ----------
    model : BenchModel
    threads : int
    providers : list of str, optional
        ONNX Runtime execution providers; None: every one :func:`available_providers` lists.
    runtimes : sequence of {"torch", "onnxruntime"}

    Returns
    -------
    list of Runtime
        Torch fp32 first (the accuracy reference), then per provider ONNX
        Runtime fp32 and int8.
    """
    if int(threads) < 1:
        raise ParameterError(f"threads must be >= 1, got {threads}")
    threads = int(threads)
    found = available_providers()
    providers = list(providers or found)
    unknown = [p for p in providers if p not in found]
    if unknown:
        raise ParameterError(f"execution provider(s) {', '.join(unknown)} not available here; ONNX Runtime has "
                             f"{', '.join(found)}")
    out = []
    if model.meta.get("backbone_only"):  # a torchvision detector: its ONNX input is not the sample's images
        why = "model.onnx holds only a torchvision backbone (heads and NMS run in Torch); kit bench measures whole models"
        kinds = [("torch", "fp32", "eager-cpu")] * ("torch" in runtimes) + [
            ("onnxruntime", prec, p) for p in providers for prec in ("fp32", "int8")] * ("onnxruntime" in runtimes)
        return [Runtime(r, prec, p, threads, missing=why) for r, prec, p in kinds]
    if "torch" in runtimes:
        rt = Runtime("torch", "fp32", "eager-cpu", threads, missing=model.torch_missing)
        torch_model = None if rt.missing else model.torch_model()
        if torch_model is None:
            rt.missing = rt.missing or "the Torch model cannot be rebuilt from the run folder"
        else:
            rt.fn = _torch_fn(torch_model, threads)
        out.append(rt)
    if "onnxruntime" in runtimes:
        for provider in providers:
            for precision in ("fp32", "int8"):
                rt = Runtime("onnxruntime", precision, provider, threads)
                if precision not in model.onnx:
                    rt.missing = f"the run folder holds no {precision} ONNX model"
                else:
                    rt.fn, used = _ort_fn(model.onnx[precision], threads, provider)
                    if used != provider:
                        rt.fn, rt.missing = None, f"ONNX Runtime fell back to {used} for this model"
                out.append(rt)
    return out
