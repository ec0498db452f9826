"""Spectral indices, written once against the Python array API.

Each function takes reflectance arrays (unitless, 0–1) from any array-API
namespace (NumPy, CuPy, Torch, array-api-strict, Dask through
array-api-compat) or xarray DataArrays, and returns the index on the same
namespace and device. Integer inputs (digital numbers) are promoted to
float32; pixels whose denominator is zero come out NaN.

Why the kernels look the way they do: on a full Sentinel-2 tile
(10980 × 10980) an index is limited by memory traffic and page faults, not
arithmetic. Every whole-tile temporary is another trip through RAM, so the
kernels run block by block (about 1 MB of float32 per temporary, which stays
in cache) into one preallocated output, cast each band once, and do the
arithmetic with in-place operators (part of the array API standard, which
has no ``out=``). The sequence of floating-point operations is the same on
every namespace, so results are bit-identical across them.

A fresh whole-tile output still costs its page faults on first touch (as
much again as the arithmetic on a 10980² tile), so every index also takes
``out=``: an array of the result's shape and dtype on the same namespace,
which a caller computing tile after tile allocates once and reuses.
"""
from __future__ import annotations

import itertools
import math

from array_api_compat import device as device_of
from array_api_compat import is_lazy_array

from kit.backend import array_namespace
from kit.labeled import labeled

#: Elements per block: 2**18 float32 values are 1 MB per temporary, so the
#: handful a kernel needs fit in a 2 MB L2 cache (measured best at 16–32 rows
#: of a 10980-pixel tile; see benchmarks/raster_ndvi_zonal.py).
BLOCK_ELEMENTS = 1 << 18


def _blocks(shape, target):
    """Index tuples that tile ``shape`` in C order, about ``target`` elements each.

    The blocked axis is the first one whose trailing sub-array fits the
    target; axes before it are walked one index at a time (kept as length-1
    slices so the block keeps its rank).
    """
    ndim = len(shape)
    axis, inner = ndim, 1
    while axis > 0 and inner * shape[axis - 1] <= target:
        axis -= 1
        inner *= shape[axis]
    if axis == 0:
        yield (slice(None),) * ndim
        return
    axis -= 1  # block along this axis, `step` indices at a time
    step = max(1, target // inner)
    outer = [range(n) for n in shape[:axis]]
    for lead in itertools.product(*outer):
        head = tuple(slice(i, i + 1) for i in lead)
        for start in range(0, shape[axis], step):
            yield head + (slice(start, min(start + step, shape[axis])),) + (slice(None),) * (ndim - axis - 1)


def _check_out(out, xp, shape, dtype, device):
    """Refuse an ``out=`` buffer the result cannot be written into, naming the fix."""
    if array_namespace(out) is not xp or device_of(out) != device:
        raise TypeError(f"out= is a {type(out).__name__} on {device_of(out)}, the bands are on "
                        f"{xp.__name__} ({device}): allocate out on the bands' namespace and device")
    if tuple(out.shape) != shape or out.dtype != dtype:
        raise ValueError(f"out= has shape {tuple(out.shape)} and dtype {out.dtype}; the index needs "
                         f"shape {shape} and dtype {dtype}")


def _ratio(parts, *bands, out=None):
    """``num / den`` with ``(num, den) = parts(xp, *float_bands, scratch)``, NaN where ``den == 0``.

    ``parts`` gets float32/64 copies of the band blocks plus one scratch
    block of the same shape, all of which it may overwrite, and must only
    use in-place operators on them. The buffers are allocated for the first
    block and reused for the next ones: freeing and reallocating megabyte
    temporaries per block makes the allocator hand pages back to the OS and
    fault them in again, which costs more than the arithmetic. Lazy arrays
    (Dask) get one call; their scheduler does the chunking. ``out``, when
    given, receives the result and is returned.
    """
    xp = array_namespace(*bands)
    dtype = xp.result_type(*[b.dtype if xp.isdtype(b.dtype, "real floating") else xp.float32 for b in bands])
    if len({tuple(b.shape) for b in bands}) > 1:
        bands = xp.broadcast_arrays(*bands)
    shape, device = tuple(bands[0].shape), device_of(bands[0])
    bufs, casting_setitem = None, True

    def kernel(views, into=None):
        """The index of one block; computed in ``into`` (a view of the output) when given."""
        nonlocal bufs, casting_setitem
        block_shape = tuple(views[0].shape)
        if bufs is None or tuple(bufs[-1].shape) != block_shape:
            bufs = [xp.empty(block_shape, dtype=dtype, device=device) for _ in range(len(views) + 1)]
        work = [into] + bufs[1:] if into is not None else list(bufs)
        if casting_setitem:
            try:
                for buf, v in zip(work, views):
                    buf[...] = v  # casts on NumPy, CuPy, Torch
            except TypeError:  # array-api-strict refuses mixed dtypes in setitem
                casting_setitem = False
        if not casting_setitem:
            work[:len(views)] = [xp.astype(v, dtype) for v in views]  # astype copies: inputs stay untouched
        num, den = parts(xp, *work)
        # NaN in the denominator instead of a zero: the quotient is then NaN
        # without a divide-by-zero warning and without another full pass.
        den[den == 0] = float("nan")
        num /= den
        return num

    lazy = any(is_lazy_array(b) for b in bands)
    if out is not None:
        if lazy:
            raise TypeError("out= is not supported for lazy (Dask) bands: leave it out and let Dask chunk")
        _check_out(out, xp, shape, dtype, device)
    if lazy and all(hasattr(b, "map_blocks") for b in bands):
        # Dask: the eager kernel chunk by chunk. Buffers from xp.empty would take Dask's own chunking
        # (128 MiB blocks spanning dates), and every band would be rechunked to it: memory by tile, not by chunk.
        import dask.array as da

        return da.map_blocks(lambda *blocks: _ratio(parts, *blocks), *bands, dtype=dtype)
    size = math.prod(shape) if all(isinstance(n, int) for n in shape) else None
    if size is None or size <= BLOCK_ELEMENTS or lazy:
        if out is None:
            return kernel(bands)
        out[...] = kernel(bands)
        return out
    if out is None:
        out = xp.empty(shape, dtype=dtype, device=device)
    # Where slicing gives views (NumPy, CuPy, Torch) each block is computed in
    # place in the output, which saves a copy of every block.
    in_place = _slices_write_through(xp, out)
    for key in _blocks(shape, BLOCK_ELEMENTS):
        into = out[key] if in_place else None
        block = kernel([b[key] for b in bands], into)
        if block is not into:
            out[key] = block
    return out


def _slices_write_through(xp, out):
    """Whether writing into a slice of ``out`` writes into ``out`` (the standard leaves it open)."""
    corner = (slice(0, 1),) * out.ndim
    out[corner] = 0
    view = out[corner]
    view[...] = 1
    return bool(xp.all(out[corner] == 1))


def _nd_parts(xp, a, b, den):
    den[...] = a
    den += b
    a -= b
    return a, den


@labeled("normalized_difference")
def normalized_difference(a, b, *, out=None):
    """Normalized difference ``(a - b) / (a + b)``.

    Parameters
    ----------
    a, b : array, reflectance (unitless)

    Returns
    -------
    array, unitless in [-1, 1]; NaN where ``a + b == 0``.

    Examples
    --------
    >>> import numpy as np
    >>> normalized_difference(np.array([0.5, 0.0]), np.array([0.1, 0.0]))
    array([0.66666667,        nan])
    """
    return _ratio(_nd_parts, a, b, out=out)


@labeled("ndvi")
def ndvi(nir, red, *, out=None):
    """Normalized Difference Vegetation Index, ``(NIR - Red) / (NIR + Red)``.

    Sentinel-2: NIR is B08, Red is B04.

    Parameters
    ----------
    nir : array, reflectance (unitless)
    red : array, reflectance (unitless)
    out : array, optional
        Written with the result and returned: same shape as the bands, float32
        for integer or float32 bands, on their namespace. Reuse one across
        tiles to skip the page faults of a fresh output (every index takes it).

    Returns
    -------
    array, unitless in [-1, 1]

    Examples
    --------
    >>> import numpy as np
    >>> ndvi(np.array([0.4, 0.3]), np.array([0.1, 0.3]))
    array([0.6, 0. ])
    >>> buf = np.empty(2, np.float32)
    >>> ndvi(np.array([4000, 3000], np.uint16), np.array([1000, 3000], np.uint16), out=buf) is buf
    True
    """
    return normalized_difference.__wrapped__(nir, red, out=out)


@labeled("ndwi")
def ndwi(green, nir, *, out=None):
    """Normalized Difference Water Index (McFeeters 1996), ``(Green - NIR) / (Green + NIR)``.

    Sentinel-2: Green is B03, NIR is B08. Positive over open water.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(ndwi(np.array([0.3]), np.array([0.1]))[0]), 6)
    0.5
    """
    return normalized_difference.__wrapped__(green, nir, out=out)


@labeled("ndmi")
def ndmi(nir, swir1, *, out=None):
    """Normalized Difference Moisture Index (Gao 1996), ``(NIR - SWIR1) / (NIR + SWIR1)``.

    Sentinel-2: NIR is B08 (or B8A), SWIR1 is B11.

    Examples
    --------
    >>> import numpy as np
    >>> float(ndmi(np.array([0.4]), np.array([0.2]))[0])
    0.3333333333333333
    """
    return normalized_difference.__wrapped__(nir, swir1, out=out)


@labeled("savi")
def savi(nir, red, soil_factor=0.5, *, out=None):
    """Soil-Adjusted Vegetation Index (Huete 1988).

    ``(1 + L) (NIR - Red) / (NIR + Red + L)`` with soil factor ``L``.

    Parameters
    ----------
    nir, red : array, reflectance (unitless)
    soil_factor : float, default 0.5
        ``L``: 0 for dense vegetation (SAVI = NDVI), 1 for bare soil.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(savi(np.array([0.4]), np.array([0.1]))[0]), 6)   # 1.5 * 0.3 / 1.0
    0.45
    """
    def parts(xp, nir, red, den):
        den[...] = nir
        den += red
        den += soil_factor
        nir -= red
        nir *= 1.0 + soil_factor
        return nir, den

    return _ratio(parts, nir, red, out=out)


@labeled("evi")
def evi(nir, red, blue, gain=2.5, c1=6.0, c2=7.5, canopy_background=1.0, *, out=None):
    """Enhanced Vegetation Index (Huete et al. 2002), MODIS coefficients.

    ``G (NIR - Red) / (NIR + C1 Red - C2 Blue + L)``.

    Parameters
    ----------
    nir, red, blue : array, reflectance (unitless)
        Sentinel-2: B08, B04, B02. Needs true reflectance (scaled and offset),
        not digital numbers: the constant ``L`` does not cancel.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(evi(np.array([0.4]), np.array([0.1]), np.array([0.05]))[0]), 4)
    0.4615
    """
    def parts(xp, nir, red, blue, den):
        den[...] = red
        den *= c1
        den += nir  # IEEE addition commutes exactly: same as nir + c1 * red
        blue *= c2
        den -= blue
        den += canopy_background
        nir -= red
        nir *= gain
        return nir, den

    return _ratio(parts, nir, red, blue, out=out)
