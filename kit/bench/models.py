"""The deployed models of a run folder, as ``kit bench`` measures them.

A run folder is recognised by its ``bench_samples.json`` and
``<name>_bench_samples.json`` files (:mod:`kit.bench_samples`): a detector
(``kit.vision``, mAP@0.5), the small code reader beside it
(``kit.vision.recognizer.deploy``, whole-code accuracy after check-digit
decoding) or the triage classifier (``kit.medical``, AUROC); a logistics run
holds the first two. Each task brings how to rebuild
its Torch model, how to turn raw outputs into per-sample results and its
accuracy metric; this module is the one place that knows the sectors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit.errors import InputDataError

__all__ = ["DEFAULT_BOUND_MS", "BenchModel", "load_run"]

#: Server p99 latency bounds, ms: MLPerf Inference's RetinaNet (100 ms) and ResNet-50 (15 ms) edge/datacenter
#: bounds; MLPerf has no text reader, so the code reader (a crop classifier's size) takes ResNet-50's.
DEFAULT_BOUND_MS = {"detection": 100.0, "classification": 15.0, "code_reading": 15.0}


@dataclass
class BenchModel:
    """One deployed model with its fixed sample.

    Attributes
    ----------
    name : str
        ``detector``, ``code_reader`` or ``triage`` (with the run folder's name when two runs share one).
    folder : pathlib.Path
    arrays, meta : dict
        From :func:`kit.bench_samples.read_bench_samples`.
    onnx : dict
        ``{"fp32": path, "int8": path}`` of the files that exist.
    torch_missing : str
        Why the Torch model cannot be rebuilt ("" when it can).
    """

    name: str
    folder: Path
    arrays: dict
    meta: dict
    onnx: dict = field(default_factory=dict)
    torch_missing: str = ""

    @property
    def task(self) -> str:
        return self.meta["task"]

    @property
    def metric(self) -> str:
        return self.meta["metric"]

    @property
    def inputs(self):
        return self.arrays["inputs"]

    def torch_model(self):
        """The rebuilt Torch model (eval, CPU), or None."""
        if self.task == "detection":
            from kit.vision.bench_sample import rebuild_torch

            return rebuild_torch(self.folder, self.meta)
        if self.task == "code_reading":
            from kit.vision.recognizer.deploy import rebuild_reader

            return rebuild_reader(self.folder, self.meta)
        return _triage_torch(self.folder, self.meta)

    def postprocess(self, outputs) -> list:
        """Per-sample arrays (detections ``(n, 6)``, CTC frame probabilities ``(T, classes)``, or the logit) of one batch."""
        if self.task == "detection":
            from kit.vision.bench_sample import decode_detections

            return decode_detections(outputs, self.meta)
        if self.task == "code_reading":
            from kit.vision.recognizer.deploy import frame_probabilities

            return frame_probabilities(outputs)
        return list(_logits(outputs))

    def score(self, per_sample: list) -> float:
        """The task metric over the whole sample."""
        if self.task == "detection":
            from kit.vision.bench_sample import map50

            return map50(per_sample, self.arrays, self.meta)
        if self.task == "code_reading":
            from kit.vision.recognizer.deploy import whole_code_accuracy

            return whole_code_accuracy(per_sample, self.arrays, self.meta)
        from kit.medical.evaluate import auroc

        return float(auroc(self.arrays["labels"], np.concatenate([np.asarray(o).reshape(-1) for o in per_sample])))

    def accuracy_missing(self) -> str:
        """Why the metric cannot be computed from the ONNX outputs ("" when it can)."""
        if self.meta.get("backbone_only"):
            return "model.onnx holds only the torchvision backbone; heads and NMS run in Torch"
        return ""


def _triage_torch(folder, meta):
    """The triage network of a run folder's checkpoint (``TriageClassifier.save``), eval mode on the CPU, or None."""
    path = Path(folder) / (meta.get("torch") or {}).get("checkpoint", "model.pt")
    if not path.is_file():
        return None
    from kit.medical.train import TriageClassifier

    return TriageClassifier.load(path, backend="cpu").model_.eval()


def _logits(outputs) -> np.ndarray:
    """Per image the float32 logit ``(n, 1)``, from ONNX Runtime's list of arrays or the Torch model's tensor."""
    out = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
    out = out.detach().cpu().numpy() if hasattr(out, "detach") else np.asarray(out)
    return out.astype(np.float32).reshape(len(out), -1)[:, :1]


def load_run(folder) -> list:
    """Every deployed model of one run folder (a logistics run: the detector, then the code reader when it was trained).

    Raises
    ------
    InputDataError
        No benchmark sample, an unknown task, or no ONNX model in the folder.
    """
    from kit.bench_samples import read_bench_samples, sample_names

    folder = Path(folder)
    if not folder.is_dir():
        raise InputDataError(f"run folder {folder} not found; give the --out folder of kit run (e.g. reports/logistics_vision)")
    # A folder with no sample still reads bench_samples.npz/.json: the one-line error names them.
    names = sample_names(folder) or [None]
    return [_load_model(folder, name, *read_bench_samples(folder, name)) for name in names]


def _load_model(folder: Path, name, arrays: dict, meta: dict) -> BenchModel:
    sample = f"{name}_bench_samples.json" if name else "bench_samples.json"
    if meta.get("task") not in DEFAULT_BOUND_MS:
        raise InputDataError(f"{folder}/{sample} has task {meta.get('task')!r}; kit bench knows "
                             f"{', '.join(DEFAULT_BOUND_MS)}")
    onnx = {k: folder / v for k, v in meta.get("onnx", {}).items() if (folder / v).is_file()}
    if "fp32" not in onnx:
        raise InputDataError(f"{folder} holds no {meta.get('onnx', {}).get('fp32', 'model.onnx')}; re-run its notebook "
                             "to the ONNX deployment step")
    model = BenchModel(meta.get("model_name", name or folder.name), folder, arrays, meta, onnx)
    if not meta.get("torch"):
        model.torch_missing = "the run folder holds no Torch weights for this model (torchvision detectors are not rebuilt)"
    return model
