"""Device resolution and the array namespace kernels run on.

Backend choice lives here and only here: kernels ask for
``array_namespace(x)`` (the namespace of the arrays they were given) and never
branch on CuPy or Torch themselves.

``device`` is ``"auto"``, ``"cpu"`` or ``"cuda"``; the environment variable
``KIT_DEVICE``, when set, overrides it (so a scheduled run can be moved to a
GPU machine without editing parameters). ``"auto"`` picks CUDA only when CuPy
or Torch really sees a GPU.

The device is resolved once per run: the notebook calls :func:`get_backend`
and passes the :class:`Backend` down as ``backend=``. Library functions take
it through :func:`as_backend`, which hands a ``Backend`` back untouched and
resolves only a device string (a convenience for interactive calls), so
nothing below the notebook decides the device again. The notebook records
the Backend it used with :func:`kit.report.record_backend`; the run's
manifest reads it from there.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from types import ModuleType

import numpy as np
from array_api_compat import array_namespace, is_torch_array

from kit.arrays import sum_by_label, to_numpy  # re-exported: kernels import them from here
from kit.errors import DeviceUnavailable, ParameterError
from kit.i18n import N_, Message, _, shown

DEVICES = ("auto", "cpu", "cuda")
ENV_VAR = "KIT_DEVICE"

__all__ = [
    "DEVICES",
    "Backend",
    "array_namespace",
    "cpu_training_path",
    "cuda_status",
    "get_backend",
    "resolve_device",
    "sum_by_label",
    "to_numpy",
    "train_precision",
]

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
PRECISION_ENV_VAR = "KIT_PRECISION"
# oneDNN ISA caps (ONEDNN_MAX_CPU_ISA) under which bfloat16 has no native kernels.
_ISAS_WITHOUT_BF16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI")


@dataclass(frozen=True)
class Backend:
    """Where kernels and networks run, resolved once per run.

    Attributes
    ----------
    device : str
        ``"cpu"`` or ``"cuda"``.
    xp : module
        Array API namespace for kernels (array-api-compat's NumPy, CuPy or Torch).
    torch_device : str
        Device string for Torch models, e.g. ``"cpu"`` or ``"cuda:0"``.
    reason : str
        Why this device was chosen, for reports and ``kit doctor``.
    requested_precision : str
        The training precision asked for: ``"fp32"``, ``"bf16"``, ``"fp16"``,
        or ``"auto"`` (with ``requested_precision_reason`` None).
    requested_precision_reason : str or None
        Why that precision; None: resolve ``requested_precision`` by
        :func:`train_precision` when :attr:`precision` is first read.
    precision : str
        Autocast precision networks train in on this device (``"fp32"``,
        ``"bf16"`` or ``"fp16"``, see :func:`train_precision`). On the CPU
        with ``"auto"`` it is resolved on first read, because that imports
        Torch (about 0.6 GB): notebooks that train no network never pay it.
    precision_reason : str
        Why that precision.
    """

    device: str
    xp: ModuleType
    torch_device: str
    reason: str
    requested_precision: str = "fp32"
    requested_precision_reason: str | None = "default"

    @property
    def precision(self) -> str:
        return self._precision()[0]

    @property
    def precision_reason(self) -> str:
        return self._precision()[1]

    def _precision(self) -> tuple[str, str]:
        if self.requested_precision_reason is not None:
            return self.requested_precision, self.requested_precision_reason
        if "_resolved_precision" not in self.__dict__:  # frozen: cache it beside the fields
            object.__setattr__(self, "_resolved_precision", _precision_on(self.torch_device, self.requested_precision))
        return self.__dict__["_resolved_precision"]

    def asarray(self, x, dtype=None):
        """Move ``x`` (NumPy array, list or scalar) onto this backend."""
        if self.xp.__name__.endswith("torch"):
            import torch

            return torch.as_tensor(np.asarray(x) if not is_torch_array(x) else x, dtype=dtype, device=self.torch_device)
        return self.xp.asarray(x, dtype=dtype)

    def __reduce__(self):
        # A namespace module cannot be pickled: rebuild it by name (Dask workers, sklearn's clone).
        precision = self.__dict__.get("_resolved_precision", (self.requested_precision, self.requested_precision_reason))
        return (_rebuild_backend, (self.device, self.xp.__name__, self.torch_device, self.reason, *precision))

    def describe(self) -> dict:
        """What a manifest records: device, namespace, Torch device, precision and why.

        A precision still to be resolved is resolved here only when Torch is
        already imported (a run that trains a network); otherwise it is
        recorded as ``"auto"``, so that recording the backend of a run without
        networks does not import Torch.
        """
        unresolved = self.requested_precision_reason is None and "_resolved_precision" not in self.__dict__
        if unresolved and "torch" not in sys.modules:
            precision, why = "auto", "auto: resolved when a network first trains (this run has not imported Torch)"
        else:
            precision, why = self._precision()
        return {"resolved": self.device, "reason": self.reason, "namespace": self.xp.__name__,
                "torch_device": self.torch_device, "precision": precision, "precision_reason": why}


def _rebuild_backend(device, xp_name, torch_device, reason, precision, precision_reason) -> Backend:
    import importlib

    return Backend(device, importlib.import_module(xp_name), torch_device, reason, precision, precision_reason)


def cpu_backend() -> Backend:
    """NumPy on the CPU: what a library function runs on when it is given no backend.

    Nothing is resolved (the CPU is always there, and ``KIT_DEVICE`` steers
    runs, not library defaults); the training precision is this CPU's.
    """
    import array_api_compat.numpy as xp

    return Backend("cpu", xp, "cpu", Message(N_("no backend given: the CPU")), *_precision_later("cpu"))


def _precision_on(torch_device: str, precision: str = "auto") -> tuple[str, str]:
    try:
        return train_precision(torch_device, precision)
    except ImportError:  # no Torch: nothing trains here
        return "fp32", "Torch is not installed"


def _precision_later(torch_device: str, precision: str = "auto") -> tuple[str, str | None]:
    """``(precision, reason)`` now when that needs no Torch, else ``(precision, None)``: resolved on first read.

    Bad values (parameter or ``KIT_PRECISION``) are refused now either way.
    """
    requested = _requested_precision(precision)[0]
    if requested == "auto" and not torch_device.startswith("cuda"):
        return precision, None
    return _precision_on(torch_device, precision)


def as_backend(backend) -> Backend:
    """The :class:`Backend` a library function runs on.

    A ``Backend`` is returned as it is (never resolved again); ``None`` is
    :func:`cpu_backend`; a device string (``"cpu"``, ``"cuda"``, ``"auto"``)
    is resolved, for calls made by hand. Notebooks resolve once with
    :func:`get_backend` and pass the object.

    Examples
    --------
    >>> b = get_backend("cpu")
    >>> as_backend(b) is b, as_backend("cpu").device
    (True, 'cpu')
    """
    if isinstance(backend, Backend):
        return backend
    if backend is None:
        return cpu_backend()
    if isinstance(backend, str):
        return get_backend(backend)
    raise ParameterError(_("backend must be a kit.backend.Backend, None or one of {choices}, got {value!r}").format(
        choices=", ".join(DEVICES), value=backend))


def _cupy_status() -> tuple[bool, str]:
    try:
        import cupy
    except ImportError:
        return False, Message(N_("CuPy is not installed (pip install 'sector-kit[gpu]')"))
    except Exception as exc:  # a broken CUDA install raises at import
        return False, Message(N_("CuPy failed to import: {error}"), error=str(exc))
    try:
        if not cupy.cuda.is_available():
            return False, Message(N_("CuPy is installed but sees no CUDA device (no driver or no GPU)"))
        return True, Message(N_("CuPy sees {n} CUDA device(s)"), n=cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:
        return False, Message(N_("CuPy could not query CUDA: {error}"), error=str(exc))


def _torch_status() -> tuple[bool, str]:
    try:
        import torch
    except ImportError:
        return False, Message(N_("Torch is not installed"))
    if not torch.cuda.is_available():
        why = Message(N_("no CUDA driver or device")) if torch.version.cuda else Message(N_("Torch is a CPU-only build"))
        return False, Message(N_("Torch {version} sees no CUDA device ({why})"), version=torch.__version__, why=why)
    return True, Message(N_("Torch sees {n} CUDA device(s): {name}"), n=torch.cuda.device_count(),
                         name=torch.cuda.get_device_name(0))


def cuda_status() -> dict:
    """Report whether CuPy and Torch can use a GPU, and why not.

    Returns
    -------
    dict
        ``{"cupy": (ok, message), "torch": (ok, message)}``.
    """
    return {"cupy": _cupy_status(), "torch": _torch_status()}


def resolve_device(device: str | None = "auto") -> tuple[str, str]:
    """Decide the device to run on.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"}
        Requested device; the ``KIT_DEVICE`` environment variable overrides it.

    Returns
    -------
    (device, reason) : tuple of str
        ``device`` is ``"cpu"`` or ``"cuda"``.

    Raises
    ------
    DeviceUnavailable
        ``"cuda"`` was requested and no GPU is usable; the message says why.

    Examples
    --------
    >>> resolve_device("cpu")
    ('cpu', 'requested cpu')
    """
    # The reason is a kit.i18n.Message: English where it is stored (manifest), the report's language where shown.
    source = Message(N_("requested"))
    env = os.environ.get(ENV_VAR, "").strip().lower()
    if env:
        device, source = env, Message(N_("{variable}={value} overrides the parameter;"), variable=ENV_VAR, value=env)
    device = (device or "auto").strip().lower()
    if device not in DEVICES:
        raise ParameterError(_("device must be one of {choices}, got {value!r}").format(choices=", ".join(DEVICES),
                                                                                          value=device))
    if device == "cpu":
        return "cpu", Message(N_("{source} cpu"), source=source)
    status = cuda_status()
    usable = [msg for ok, msg in status.values() if ok]
    if usable:
        return "cuda", Message(N_("{source} {device}: {status}"), source=source, device=device, status=usable[0])
    cupy_why, torch_why = (msg for _ok, msg in status.values())
    why = Message(N_("{cupy}; {torch}"), cupy=cupy_why, torch=torch_why)
    if device == "cuda":
        raise DeviceUnavailable(_("device 'cuda' is not usable here: {why}. Use device='cpu' or 'auto'.").format(
            why=why.shown()))
    return "cpu", Message(N_("{source} auto: no GPU ({why})"), source=source, why=why)


def get_backend(device: str | None = "auto", precision: str = "auto") -> Backend:
    """Resolve ``device`` (and the training precision on it) into a :class:`Backend`.

    On CUDA the kernels use CuPy when it is installed, else Torch tensors on
    the GPU; on the CPU they use NumPy. ``precision`` is resolved by
    :func:`train_precision` (``KIT_PRECISION`` overrides it).
    """
    name, reason = resolve_device(device)
    if name == "cpu":
        import array_api_compat.numpy as xp

        torch_device = "cpu"
    else:
        if _cupy_status()[0]:
            import array_api_compat.cupy as xp
        else:
            import array_api_compat.torch as xp
        torch_device = "cuda:0"
    return Backend(name, xp, torch_device, reason, *_precision_later(torch_device, precision))


def check_device(device: str | None) -> None:
    """Raise unless ``device`` is a valid choice that this machine can serve (parameter checks)."""
    resolve_device(device)


def device_report() -> list[str]:
    """How ``auto`` and ``cuda`` resolve here, and why, one line each (``kit doctor``)."""
    lines = []
    for requested in ("auto", "cuda"):
        try:
            device, reason = resolve_device(requested)
            lines.append(f"device={requested:<5} -> {device}: {reason}")
        except (ParameterError, DeviceUnavailable) as exc:
            lines.append(f"device={requested:<5} -> error: {exc}")
    return lines


def train_precision(torch_device: str, precision: str = "auto") -> tuple[str, str]:
    """Choose the autocast precision a network trains in.

    Parameters
    ----------
    torch_device : str
        ``"cpu"`` or ``"cuda:N"`` (``Backend.torch_device``).
    precision : {"auto", "fp32", "bf16", "fp16"}
        ``"auto"``: float16 with gradient scaling on CUDA; bfloat16 on a CPU
        with native bfloat16 instructions (AVX512-BF16 or AMX), where oneDNN
        runs convolutions about 1.7× faster than in float32; float32 on other
        CPUs, where bfloat16 is emulated and slower, and wherever
        ``ONEDNN_MAX_CPU_ISA`` caps oneDNN below bfloat16. The environment
        variable ``KIT_PRECISION`` overrides it, as ``KIT_DEVICE`` overrides
        the device: a scheduled run or a test pass can force the float32 path
        that CPUs without bfloat16 take.

    Returns
    -------
    (precision, reason) : tuple of str
        ``precision`` is ``"fp32"``, ``"bf16"`` or ``"fp16"``.

    Examples
    --------
    >>> train_precision("cpu", "fp32")[0] in ("fp32", "bf16", "fp16")
    True
    >>> train_precision("cpu")[0] in ("fp32", "bf16")
    True
    """
    precision, source = _requested_precision(precision)
    if precision != "auto":
        return precision, f"{source} {precision}"
    if torch_device.startswith("cuda"):
        return "fp16", f"{source} auto: float16 autocast on CUDA"
    import torch

    isa_cap = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "").strip().upper()
    if isa_cap in _ISAS_WITHOUT_BF16:
        return "fp32", f"{source} auto: ONEDNN_MAX_CPU_ISA={isa_cap} leaves oneDNN no bfloat16 kernels"
    if torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported():
        return "bf16", f"{source} auto: the CPU has native bfloat16 instructions"
    return "fp32", f"{source} auto: no native bfloat16 on this CPU"


def _requested_precision(precision: str) -> tuple[str, str]:
    """The precision asked for (``KIT_PRECISION`` over the parameter) and who asked; a bad value is refused."""
    source = "requested"
    env = os.environ.get(PRECISION_ENV_VAR, "").strip().lower()
    if env:
        precision, source = env, f"{PRECISION_ENV_VAR}={env} overrides the parameter;"
    if precision not in PRECISIONS:
        where = PRECISION_ENV_VAR if env else "precision"
        raise ParameterError(f"{where} must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision, source


def cpu_training_path() -> tuple[str, str]:
    """The numerical path training takes on this CPU by default: ``(precision, ATen kernels)``.

    For example ``("bf16", "AVX512")`` on a server with AMX or AVX512-BF16,
    ``("fp32", "AVX2")`` on a laptop without AVX-512. Honours ``KIT_PRECISION``,
    ``ONEDNN_MAX_CPU_ISA`` and ``ATEN_CPU_CAPABILITY``, so a test pass can tell
    whether forcing the fp32/AVX2 path changes anything here.

    Examples
    --------
    >>> cpu_training_path()[0] in ("fp32", "bf16", "fp16")
    True
    """
    import torch

    return train_precision("cpu")[0], torch.backends.cpu.get_cpu_capability()


def device_line(backend: Backend) -> str:
    """Which device runs the work, and why, in the report's language: ``device: cpu (requested cpu)``."""
    return _("device: {device} ({reason})").format(device=backend.device, reason=shown(backend.reason))
