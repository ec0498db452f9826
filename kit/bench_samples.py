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
has its arrays).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kit.errors import InputDataError

__all__ = ["ARRAYS", "META", "read_bench_samples", "write_bench_samples"]

ARRAYS = "bench_samples.npz"
META = "bench_samples.json"
FORMAT = "kit.bench_samples/1"


def write_bench_samples(folder, arrays: dict, meta: dict) -> Path:
    """Write ``bench_samples.npz`` and ``bench_samples.json`` into ``folder``.

    Parameters
    ----------
    folder : path
        The run's output folder (created if missing).
    arrays : dict of array
        Must hold ``inputs`` (N, ...) float32, the model's input, and ``labels``.
    meta : dict
        JSON-serialisable; must hold ``task`` and ``metric``.

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
    with atomic_path(folder / ARRAYS) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **data)
    return write_json(folder / META, {"format": FORMAT, "n_samples": int(len(data["inputs"])), **meta})


def read_bench_samples(folder) -> tuple[dict, dict]:
    """``(arrays, meta)`` of a run folder written by :func:`write_bench_samples`.

    Raises
    ------
    InputDataError
        The folder holds no benchmark sample (runs from before ``kit bench``
        existed: re-run the notebook).
    """
    folder = Path(folder)
    if not (folder / META).is_file() or not (folder / ARRAYS).is_file():
        raise InputDataError(f"{folder} holds no {ARRAYS}/{META}; re-run its notebook with this kit "
                             "(the deployment step writes them)")
    meta = json.loads((folder / META).read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise InputDataError(f"{folder / META} is not a {FORMAT} file; re-run its notebook")
    with np.load(folder / ARRAYS, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return arrays, meta
