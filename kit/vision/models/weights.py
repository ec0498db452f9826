"""Loading a local weight file into a freshly built network (no hub downloads here)."""
from __future__ import annotations

import torch

from kit.errors import InputDataError
from kit.io import read_torch_file


def read_state_dict(weights) -> dict:
    """Read a local ``.pt``/``.pth`` file: a ``state_dict``, or a checkpoint ``{"model": state_dict}``.

    Parameters
    ----------
    weights : str or Path

    Returns
    -------
    dict of tensors

    Raises
    ------
    InputDataError
        The file is missing or ``torch.load`` cannot read it; one line, with the fix.
    """
    state = read_torch_file(weights, "weights file", "a local .pt/.pth state_dict or None to train from scratch")
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    return state


def load_weights(model: torch.nn.Module, weights, what: str) -> torch.nn.Module:
    """Load a local ``.pt`` state_dict (or a checkpoint ``{"model": state_dict}``) into ``model``.

    Parameters
    ----------
    model : torch.nn.Module
    weights : str or Path
    what : str
        How the error names the network, e.g. ``"CenterNet(4 classes, width 16)"``.

    Raises
    ------
    InputDataError
        The file is missing, unreadable or does not fit the network; one line, with the fix.
    """
    return fit_state(model, read_state_dict(weights), f"weights file {weights}", what)


def fit_state(model: torch.nn.Module, state: dict, source: str, what: str) -> torch.nn.Module:
    """Load ``state`` into ``model``, or one line saying that ``source`` does not fit ``what`` (and why).

    Examples
    --------
    >>> net = torch.nn.Linear(2, 1)
    >>> fit_state(net, {"weight": torch.zeros(1, 3)}, "weights file w.pt", "Linear(2, 1)")
    Traceback (most recent call last):
    ...
    kit.errors.InputDataError: weights file w.pt does not fit Linear(2, 1): Missing key(s) in state_dict: "bias".
    """
    try:
        model.load_state_dict(state)
    except Exception as exc:
        raise InputDataError(f"{source} does not fit {what}: {_first_reason(exc)}") from None
    return model


def _first_reason(exc: Exception, width: int = 240) -> str:
    # torch's message starts with "Error(s) in loading state_dict for X:" and lists the keys on the next lines
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = next((line for line in lines if not line.startswith("Error(s) in loading")), lines[0] if lines else "")
    return reason if len(reason) <= width else reason[:width - 1] + "…"
