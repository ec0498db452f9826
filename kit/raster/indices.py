"""Spectral indices, written once against the Python array API.

Each function takes reflectance arrays (unitless, 0–1) from any array-API
namespace (NumPy, CuPy, Torch, array-api-strict, Dask through
array-api-compat) or xarray DataArrays, and returns the index on the same
namespace and device. Integer inputs (digital numbers) are promoted to
float32; pixels whose denominator is zero come out NaN.
"""
from __future__ import annotations

from kit.backend import array_namespace
from kit.labeled import labeled


def _as_float(xp, x):
    if xp.isdtype(x.dtype, "real floating"):
        return x
    return xp.astype(x, xp.float32)


def _safe_ratio(xp, num, den):
    # Division is done on a denominator with zeros replaced, so no
    # divide-by-zero warnings leak into notebook output.
    zero = den == 0
    one = xp.ones_like(den)
    nan = xp.full_like(den, float("nan"))
    return xp.where(zero, nan, num / xp.where(zero, one, den))


def _prepare(*bands):
    xp = array_namespace(*bands)
    floats = [_as_float(xp, b) for b in bands]
    dtype = xp.result_type(*floats)
    return xp, [xp.astype(b, dtype, copy=False) for b in floats]  # no copy when already that dtype


@labeled("normalized_difference")
def normalized_difference(a, b):
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
    xp, (a, b) = _prepare(a, b)
    return _safe_ratio(xp, a - b, a + b)


@labeled("ndvi")
def ndvi(nir, red):
    """Normalized Difference Vegetation Index, ``(NIR - Red) / (NIR + Red)``.

    Sentinel-2: NIR is B08, Red is B04.

    Parameters
    ----------
    nir : array, reflectance (unitless)
    red : array, reflectance (unitless)

    Returns
    -------
    array, unitless in [-1, 1]

    Examples
    --------
    >>> import numpy as np
    >>> ndvi(np.array([0.4, 0.3]), np.array([0.1, 0.3]))
    array([0.6, 0. ])
    """
    return normalized_difference.__wrapped__(nir, red)


@labeled("ndwi")
def ndwi(green, nir):
    """Normalized Difference Water Index (McFeeters 1996), ``(Green - NIR) / (Green + NIR)``.

    Sentinel-2: Green is B03, NIR is B08. Positive over open water.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(ndwi(np.array([0.3]), np.array([0.1]))[0]), 6)
    0.5
    """
    return normalized_difference.__wrapped__(green, nir)


@labeled("ndmi")
def ndmi(nir, swir1):
    """Normalized Difference Moisture Index (Gao 1996), ``(NIR - SWIR1) / (NIR + SWIR1)``.

    Sentinel-2: NIR is B08 (or B8A), SWIR1 is B11.

    Examples
    --------
    >>> import numpy as np
    >>> float(ndmi(np.array([0.4]), np.array([0.2]))[0])
    0.3333333333333333
    """
    return normalized_difference.__wrapped__(nir, swir1)


@labeled("savi")
def savi(nir, red, soil_factor=0.5):
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
    xp, (nir, red) = _prepare(nir, red)
    return _safe_ratio(xp, (1.0 + soil_factor) * (nir - red), nir + red + soil_factor)


@labeled("evi")
def evi(nir, red, blue, gain=2.5, c1=6.0, c2=7.5, canopy_background=1.0):
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
    xp, (nir, red, blue) = _prepare(nir, red, blue)
    return _safe_ratio(xp, gain * (nir - red), nir + c1 * red - c2 * blue + canopy_background)
