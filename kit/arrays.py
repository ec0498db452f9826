"""Array primitives the array API lacks, chosen per namespace.

``to_numpy`` copies any supported array (NumPy, CuPy, Torch, Dask,
array-api-strict) to the host; ``sum_by_label`` is the group-by sum that zonal
statistics and other reductions are written on. Both are re-exported by
``kit.backend``, where kernels have always imported them.
"""
from __future__ import annotations

import numpy as np
from array_api_compat import (
    array_namespace,
    is_cupy_array,
    is_cupy_namespace,
    is_numpy_array,
    is_numpy_namespace,
    is_torch_array,
    is_torch_namespace,
)


def to_numpy(x) -> np.ndarray:
    """Copy an array from any supported namespace to a NumPy array on the host."""
    if is_numpy_array(x):
        return x
    if is_cupy_array(x):
        return x.get()
    if is_torch_array(x):
        return x.detach().cpu().numpy()
    if hasattr(x, "compute"):  # Dask
        return np.asarray(x.compute())
    try:
        return np.asarray(x)
    except (TypeError, RuntimeError, ValueError):
        # array-api-strict refuses __array__ off its CPU device; DLPack works after a move.
        xp = array_namespace(x)
        return np.from_dlpack(xp.asarray(x, device=xp.__array_namespace_info__().default_device()))


def sum_by_label(values, labels, n_labels: int):
    """Sum ``values`` by integer label: ``out[k] = sum(values[labels == k])``.

    The array API has no ``bincount`` or scatter-add, so this one primitive
    is chosen per backend here: NumPy/CuPy ``bincount``, Torch
    ``index_add_``, and any other namespace (array-api-strict, ...) through
    NumPy on the host with the result returned to the input's device. Zonal
    statistics and other group-by reductions are written once on top of it.

    Parameters
    ----------
    values : float array, any shape
        NaN is summed like any number: mask it to 0 first if it means "no data".
    labels : integer array, same shape and namespace, values in ``0..n_labels-1``
    n_labels : int

    Returns
    -------
    array (n_labels,), the values' float dtype, namespace and device.

    Examples
    --------
    >>> import numpy as np
    >>> sum_by_label(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0, 2, 2, 1]), 3)
    array([1., 4., 5.])
    """
    xp = array_namespace(labels, values)
    flat_v = xp.reshape(values, (-1,))
    flat_l = xp.reshape(labels, (-1,))
    if is_numpy_namespace(xp) or is_cupy_namespace(xp):
        # bincount accumulates in float64; cast back so every backend returns the values' dtype.
        return xp.asarray(xp.bincount(flat_l, weights=flat_v, minlength=n_labels)[:n_labels], dtype=flat_v.dtype)
    if is_torch_namespace(xp):
        out = xp.zeros((n_labels,), dtype=flat_v.dtype, device=flat_v.device)
        return out.index_add_(0, flat_l.to(dtype=xp.int64), flat_v)
    host_v = to_numpy(flat_v)
    host = np.bincount(to_numpy(flat_l).astype(np.int64), weights=host_v, minlength=n_labels)[:n_labels]
    return xp.asarray(host.astype(host_v.dtype), device=flat_v.device)
