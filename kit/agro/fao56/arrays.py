"""Inputs of the FAO-56 equations as floating arrays on one array-API namespace, device and dtype."""
from __future__ import annotations

from array_api_compat import device as _device

from kit.backend import array_namespace

__all__ = ["floating", "has_float64", "like"]


def like(x, ref):
    """``x`` (number or array) as an array on ``ref``'s namespace, device and float dtype."""
    xp = array_namespace(ref)
    dtype = ref.dtype if xp.isdtype(ref.dtype, "real floating") else None
    if isinstance(x, (int, float)):
        return xp.asarray(float(x), dtype=dtype, device=_device(ref))
    if dtype is not None and x.dtype != dtype:
        x = xp.astype(x, dtype)
    return x


def floating(x):
    """``(namespace, x)`` with ``x`` floating: its own float dtype, else float64 where the device has it, else float32."""
    xp = array_namespace(x)
    if xp.isdtype(x.dtype, "real floating"):
        return xp, x
    return xp, xp.astype(x, xp.float32 if not has_float64(xp, x) else xp.float64)


def has_float64(xp, x) -> bool:
    """Whether ``x``'s device can hold float64 arrays."""
    try:
        xp.zeros((1,), dtype=xp.float64, device=_device(x))
        return True
    except Exception:  # array-api-strict's 'no_float64' device refuses float64
        return False
