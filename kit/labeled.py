"""Run array-API kernels on xarray objects and keep their labels.

xarray holds NumPy, CuPy or Dask arrays (never Torch), so kernels run on
``.data`` and the result is rewrapped with the first input's dims and coords
(including the ``spatial_ref`` coordinate that carries the CRS).
"""
from __future__ import annotations

import functools

import xarray as xr


def labeled(name: str, units: str = "1"):
    """Decorate an array kernel so it also accepts and returns DataArrays.

    Parameters
    ----------
    name : str
        Name given to the output DataArray.
    units : str
        ``units`` attribute of the output.
    """

    def decorate(kernel):
        @functools.wraps(kernel)
        def wrapper(*arrays, **kwargs):
            labeled_inputs = [a for a in arrays if isinstance(a, xr.DataArray)]
            if not labeled_inputs:
                return kernel(*arrays, **kwargs)
            if isinstance(kwargs.get("out"), xr.DataArray):
                kwargs["out"] = kwargs["out"].data  # the kernel writes into its buffer
            template = labeled_inputs[0]
            aligned = xr.align(*labeled_inputs, join="exact")
            it = iter(aligned)
            raw = [next(it).data if isinstance(a, xr.DataArray) else a for a in arrays]
            out = kernel(*raw, **kwargs)
            attrs = {"units": units, "long_name": name}
            return xr.DataArray(out, dims=template.dims, coords=template.coords, attrs=attrs, name=name)

        return wrapper

    return decorate


def on_backend(kernel, *arrays, backend, **kwargs):
    """Run ``kernel`` on ``backend`` and return a host (NumPy-backed) DataArray.

    The inputs' ``.data`` are moved to the backend's namespace and device, the
    kernel runs there, and the result comes back to the host with the first
    DataArray's labels, because xarray cannot hold every backend's arrays
    (Torch tensors in particular).

    Parameters
    ----------
    kernel : callable
        An array-API kernel, such as :func:`kit.raster.ndvi`.
    *arrays : xarray.DataArray
    backend : kit.backend.Backend

    Examples
    --------
    >>> from kit.backend import get_backend
    >>> from kit.raster.synthetic import demo_scene
    >>> from kit.raster import ndvi
    >>> ds = demo_scene(16)
    >>> on_backend(ndvi, ds.nir, ds.red, backend=get_backend("cpu")).dims
    ('y', 'x')
    """
    from kit.backend import to_numpy

    template = next(a for a in arrays if isinstance(a, xr.DataArray))
    raw = [backend.asarray(a.data if isinstance(a, xr.DataArray) else a) for a in arrays]
    out = getattr(kernel, "__wrapped__", kernel)(*raw, **kwargs)
    result = xr.DataArray(to_numpy(out), dims=template.dims, coords=template.coords)
    name = getattr(kernel, "__name__", "result")
    return result.rename(name).assign_attrs(units="1", long_name=name)
