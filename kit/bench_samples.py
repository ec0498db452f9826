"""The fixed benchmark sample a run folder keeps beside its deployed models.

``kit bench`` measures the models a notebook deployed without the data set
they were trained on, so the deployment step leaves two files in the run
folder:

- ``bench_samples.npz``: ``inputs`` (N, ...) float32 exactly as the model
  sees them (resized and scaled), ``labels`` and whatever else the task's
  accuracy metric needs (for a detector the ground-truth boxes);
- ``bench_samples.json``: what turns those inputs into the metric: the task,
  the metric, the ONNX files, the pre- and post-processing (image size,
  class names, score threshold) and how to rebuild the Torch model.

Written atomically, both or neither (the JSON last: a folder with the JSON
has its arrays). A folder holding a second model (the logistics run: the
detector and the code reader) keeps that model's pair under its own prefix,
``<name>_bench_samples.npz`` / ``.json`` (:func:`sample_names` lists them).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kit.errors import InputDataError

__all__ = ["ARRAYS", "META", "read_bench_samples", "sample_names", "write_bench_samples"]

ARRAYS = "bench_samples.npz"
META = "bench_samples.json"
FORMAT = "kit.bench_samples/1"
STEM = "bench_samples"


def _files(name: str | None) -> tuple[str, str]:
    stem = f"{name}_{STEM}" if name else STEM
    return f"{stem}.npz", f"{stem}.json"


def sample_names(folder) -> list:
    """The samples a folder holds: ``None`` for ``bench_samples.json``, else each ``<name>_bench_samples.json``'s name."""
    folder = Path(folder)
    names = [None] if (folder / META).is_file() else []
    return names + sorted(p.name[:-len(f"_{META}")] for p in folder.glob(f"*_{META}"))


def write_bench_samples(folder, arrays: dict, meta: dict, name: str | None = None) -> Path:
    """Write ``bench_samples.npz`` and ``bench_samples.json`` into ``folder``.

    Parameters
    ----------
    folder : path
        The run's output folder (created if missing).
    arrays : dict of array
        Must hold ``inputs`` (N, ...) float32, the model's input, and ``labels``.
    meta : dict
        JSON-serialisable; must hold ``task`` and ``metric``.
    name : str, optional
        A second model's prefix: ``<name>_bench_samples.npz`` / ``.json``.

    Returns
    -------
    pathlib.Path
        The JSON file.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = write_bench_samples(d, {"inputs": np.zeros((2, 1, 4, 4)), "labels": np.array([0, 1])},
    ...                         {"task": "classification", "metric": "auroc"})
    >>> arrays, meta = read_bench_samples(d)
    >>> arrays["inputs"].dtype, meta["metric"]
    (dtype('float32'), 'auroc')
    """
    from kit.io import atomic_path, write_json

    missing = {"inputs", "labels"} - set(arrays) or {"task", "metric"} - set(meta)
    if missing:
        raise InputDataError(f"the benchmark sample lacks {', '.join(sorted(missing))}; pass them")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = {k: np.asarray(v) for k, v in arrays.items()}
    data["inputs"] = np.ascontiguousarray(data["inputs"], dtype=np.float32)
    arrays_file, meta_file = _files(name)
    with atomic_path(folder / arrays_file) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **data)
    return write_json(folder / meta_file, {"format": FORMAT, "n_samples": int(len(data["inputs"])), **meta})


def read_bench_samples(folder, name: str | None = None) -> tuple[dict, dict]:
    """``(arrays, meta)`` of a run folder written by :func:`write_bench_samples` (``name``: a second model's prefix).

    Raises
    ------
    InputDataError
        The folder holds no benchmark sample (runs from before ``kit bench``
        existed: re-run the notebook).
    """
    folder = Path(folder)
    arrays_file, meta_file = _files(name)
    if not (folder / meta_file).is_file() or not (folder / arrays_file).is_file():
        raise InputDataError(f"{folder} holds no {arrays_file}/{meta_file}; re-run its notebook with this kit "
                             "(the deployment step writes them)")
    meta = json.loads((folder / meta_file).read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise InputDataError(f"{folder / meta_file} is not a {FORMAT} file; re-run its notebook")
    with np.load(folder / arrays_file, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return arrays, meta
