"""Training checkpoints: a ``state_dict`` and plain metadata written atomically, and read back.

:func:`kit.ml.training.fit` writes ``best.pt`` and ``last.pt`` with
:func:`save_checkpoint`; sectors add their own fields (thresholds, sizes).
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["load_checkpoint", "save_checkpoint"]


def save_checkpoint(path, state: dict, **meta) -> Path:
    """Write ``{"model": state, **meta}`` with ``torch.save``, atomically (a crash leaves the old file).

    Parameters
    ----------
    path : path
        The file; its folder is created.
    state : dict
        A ``state_dict``.
    **meta
        Plain values stored beside it (epoch, scores, thresholds).

    Returns
    -------
    pathlib.Path
    """
    import torch

    from kit.io import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save({"model": state, **meta}, tmp)
    return path


def load_checkpoint(path, model=None) -> dict:
    """Read a file written by :func:`save_checkpoint`; load its weights into ``model`` when given.

    Returns
    -------
    dict
        ``{"model": state_dict, **meta}``, on the CPU.

    Raises
    ------
    kit.errors.InputDataError
        The file is missing or not a checkpoint.
    """
    from kit.errors import InputDataError
    from kit.io import read_torch_file

    expect = "a best.pt or last.pt written during training"
    ck = read_torch_file(path, "training checkpoint", expect)
    if not isinstance(ck, dict) or "model" not in ck:
        raise InputDataError(f"{path} is not a training checkpoint; give {expect}")
    if model is not None:
        model.load_state_dict(ck["model"])
    return ck
