"""One optimizer update of a Torch network, in the autocast precision of the run's Backend.

:func:`resolve_precision` takes the precision from the
:class:`kit.backend.Backend` (``Backend.precision``, chosen once per run);
:func:`autocast` turns it into a ``torch.autocast`` context (disabled for
``"fp32"``); :class:`TrainStep` runs one update with it. The training loop
around it is :func:`kit.ml.training.fit`. Torch is imported inside the
functions, so importing this module does not import it.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

from kit.errors import ParameterError

__all__ = ["AUTOCAST_DTYPES", "TrainStep", "WeightAverage", "autocast", "float32_where_bf16_fails",
           "resolve_precision"]

#: Autocast dtypes by precision name (``None``: float32, no autocast).
AUTOCAST_DTYPES = {"fp32": None, "bf16": "bfloat16", "fp16": "float16"}


def resolve_precision(backend, precision: str = "auto") -> str:
    """The autocast precision to train in on ``backend``.

    Parameters
    ----------
    backend : kit.backend.Backend
    precision : {"auto", "fp32", "bf16", "fp16"}
        ``"auto"``: the backend's (``Backend.precision``, chosen once for the
        run); another value is checked by :func:`kit.backend.train_precision`
        (which lets ``KIT_PRECISION`` override it).

    Returns
    -------
    str
        ``"fp32"``, ``"bf16"`` or ``"fp16"``.

    Examples
    --------
    >>> from kit.backend import cpu_backend
    >>> resolve_precision(cpu_backend()) == cpu_backend().precision
    True
    """
    from kit.backend import train_precision

    return backend.precision if precision == "auto" else train_precision(backend.torch_device, precision)[0]


def _device_type(torch_device) -> str:
    return "cuda" if str(torch_device).startswith("cuda") else "cpu"


def autocast(torch_device, precision: str):
    """The autocast context of a forward pass: ``torch.autocast``, disabled for ``"fp32"``.

    Parameters
    ----------
    torch_device : str or torch.device
        ``"cpu"``, ``"cuda:0"``, ...
    precision : {"fp32", "bf16", "fp16"}
        A resolved precision (:func:`resolve_precision`).

    Examples
    --------
    >>> import torch
    >>> with autocast("cpu", "bf16"):
    ...     torch.is_autocast_enabled("cpu")
    True
    >>> with autocast("cpu", "fp32"):
    ...     torch.is_autocast_enabled("cpu")
    False
    """
    import torch

    dtype = _autocast_dtype(precision)
    return torch.autocast(_device_type(torch_device), dtype=dtype, enabled=dtype is not None)


def _autocast_dtype(precision: str):
    """The Torch dtype of ``precision``'s autocast, ``None`` for float32; an unknown name is refused."""
    import torch

    if precision not in AUTOCAST_DTYPES:
        raise ParameterError(f"precision must be one of {', '.join(AUTOCAST_DTYPES)}, got {precision!r}")
    name = AUTOCAST_DTYPES[precision]
    return getattr(torch, name) if name else None


@contextmanager
def float32_where_bf16_fails(model, torch_device, precision: str):
    """Run, inside a CPU bfloat16 autocast, the convolutions whose weight gradient oneDNN gets wrong in float32.

    With bfloat16 on the CPU (torch 2.14, oneDNN), the weight gradient of a
    dense or grouped convolution whose input is smaller than its stride in a
    spatial dimension (a 1 × 1 map into a stride-2 convolution, as FCOS's
    P7 layer gets from a 64 px image) comes back as unwritten memory:
    NaN, or finite values up to 1e30 that clipping then turns into a step
    that changes nothing. Those convolutions (few, and on the smallest maps)
    compute in float32 here; every other layer keeps bfloat16. Elsewhere
    (float32, float16 on CUDA) this does nothing.

    Parameters
    ----------
    model : torch.nn.Module
    torch_device : str
        ``Backend.torch_device``.
    precision : {"fp32", "bf16", "fp16"}

    Examples
    --------
    >>> import torch
    >>> conv = torch.nn.Conv2d(16, 16, 3, stride=2, padding=1)
    >>> with autocast("cpu", "bf16"), float32_where_bf16_fails(conv, "cpu", "bf16"):
    ...     conv(torch.rand(1, 16, 1, 1)).dtype, conv(torch.rand(1, 16, 4, 4)).dtype
    (torch.float32, torch.bfloat16)
    """
    import torch

    if precision != "bf16" or _device_type(torch_device) != "cpu":
        yield
        return
    contexts = {}  # module id -> the autocast-off context entered for its forward

    def enter(module, args):
        x = args[0] if args else None
        if not torch.is_tensor(x) or not any(n < s for n, s in zip(x.shape[2:], module.stride)):
            return None
        contexts[id(module)] = off = torch.autocast("cpu", enabled=False)
        off.__enter__()
        return (x.float(), *args[1:])

    def leave(module, args, output):
        off = contexts.pop(id(module), None)
        if off is not None:
            off.__exit__(None, None, None)

    convs = [m for m in model.modules()
             if isinstance(m, torch.nn.modules.conv._ConvNd) and not m.groups == m.in_channels > 1]
    handles = [h for m in convs for h in (m.register_forward_pre_hook(enter),
                                          m.register_forward_hook(leave, always_call=True))]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


class TrainStep:
    """One optimizer update on one batch.

    The forward pass runs under :func:`autocast` at ``precision``; the loss
    is computed after it (sector losses cast the outputs to float32), then
    the gradients are zeroed, back-propagated (scaled when ``precision`` is
    ``"fp16"``: bfloat16 has float32's exponent range and needs no scaling),
    optionally clipped, the optimizer steps and the schedule advances.
    Convolutions whose bfloat16 gradient the CPU kernels get wrong run in
    float32 (:func:`float32_where_bf16_fails`).

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    forward : callable
        ``forward(model, batch) -> outputs``.
    loss : callable
        ``loss(outputs, batch) -> scalar tensor``.
    scheduler : torch.optim.lr_scheduler.LRScheduler, optional
        Stepped after every update.
    torch_device : str
        Where the model is (``Backend.torch_device``), for the autocast device type.
    precision : {"fp32", "bf16", "fp16"}
    clip_grad_norm : float, optional
        Clip the model's gradients to this total 2-norm before the step.
    ema_decay : float, optional
        Keep an exponential moving average of the weights (:class:`WeightAverage`)
        updated after every step; :func:`kit.ml.training.fit` then evaluates
        and keeps the averaged weights (``scored_model``).
    """

    def __init__(self, optimizer, forward: Callable, loss: Callable, *, scheduler=None, torch_device="cpu",
                 precision: str = "fp32", clip_grad_norm: float | None = None, ema_decay: float | None = None):
        import torch

        _autocast_dtype(precision)  # refuses an unknown precision before any work
        self.optimizer, self.forward, self.loss, self.scheduler = optimizer, forward, loss, scheduler
        self.torch_device, self.precision, self.clip_grad_norm = torch_device, precision, clip_grad_norm
        self.scaler = torch.amp.GradScaler(_device_type(torch_device), enabled=precision == "fp16")
        self.average = None if ema_decay is None else WeightAverage(ema_decay)

    def __call__(self, model, batch):
        """Update ``model`` on ``batch``; return the loss (a tensor, before the update)."""
        import torch

        with autocast(self.torch_device, self.precision), float32_where_bf16_fails(model, self.torch_device,
                                                                                   self.precision):
            outputs = self.forward(model, batch)
        loss = self.loss(outputs, batch)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        if self.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.clip_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.scheduler is not None:
            self.scheduler.step()
        if self.average is not None:
            self.average.update(model)
        return loss

    def scored_model(self, model):
        """The network to evaluate and keep: the weight average when there is one, else ``model``."""
        return model if self.average is None or self.average.module is None else self.average.module

    @property
    def lr(self) -> float:
        """Learning rate of the first parameter group, as the schedule last set it."""
        if self.scheduler is not None:
            return self.scheduler.get_last_lr()[0]
        return self.optimizer.param_groups[0]["lr"]


class WeightAverage:
    """Exponential moving average of a network's weights and buffers (model EMA, as YOLOv5 and timm keep).

    After update ``n`` the average moves towards the weights by
    ``1 - d``, ``d = min(decay, (1 + n) / (10 + n))``: the short warm-up lets
    the first updates count while the average would otherwise still hold the
    random initial weights. Batch-norm statistics are averaged the same way;
    integer buffers are copied.

    Parameters
    ----------
    decay : float, 0–1
        Per-step decay; the average spans about ``1 / (1 - decay)`` steps.
    """

    def __init__(self, decay: float = 0.998):
        if not 0.0 < float(decay) < 1.0:
            raise ParameterError(f"ema_decay must be between 0 and 1 (exclusive), got {decay}")
        self.decay, self.updates, self.module = float(decay), 0, None

    def update(self, model) -> None:
        import copy

        import torch

        if self.module is None:
            self.module = copy.deepcopy(model).eval().requires_grad_(False)
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        with torch.no_grad():
            for avg, cur in zip(self.module.state_dict().values(), model.state_dict().values()):
                if avg.dtype.is_floating_point:
                    avg.lerp_(cur, 1.0 - d)
                else:
                    avg.copy_(cur)
