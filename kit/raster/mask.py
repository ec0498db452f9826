"""Cloud and invalid-pixel masks, from Sentinel-2's scene classification or thresholds.

Written against the array API: the same code runs on NumPy, CuPy and Torch.
"""
from __future__ import annotations

from kit.backend import array_namespace

#: Sentinel-2 L2A scene classification (SCL) classes (ESA Sen2Cor product specification).
SCL_CLASSES = {
    0: "no data", 1: "saturated or defective", 2: "dark area pixels", 3: "cloud shadows", 4: "vegetation",
    5: "not vegetated", 6: "water", 7: "unclassified", 8: "cloud medium probability", 9: "cloud high probability",
    10: "thin cirrus", 11: "snow or ice",
}
#: SCL classes treated as invalid by default: no data, defective, shadows, clouds, cirrus, snow.
SCL_INVALID = (0, 1, 3, 8, 9, 10, 11)

__all__ = ["SCL_CLASSES", "SCL_INVALID", "apply_mask", "scl_valid", "threshold_valid"]


def scl_valid(scl, invalid=SCL_INVALID):
    """True where a pixel's SCL class is usable (not cloud, shadow, snow, no data...).

    Parameters
    ----------
    scl : integer array (any shape), Sentinel-2 L2A SCL band
    invalid : tuple of int
        Classes to reject, default :data:`SCL_INVALID`.

    Returns
    -------
    bool array, same namespace and device.

    Examples
    --------
    >>> import numpy as np
    >>> scl_valid(np.array([4, 5, 8, 9, 3, 0, 6])).tolist()
    [True, True, False, False, False, False, True]
    """
    return ~scl_in(scl, invalid)


def scl_in(scl, classes):
    """True where the SCL class of a pixel is one of ``classes`` (array API: any namespace and device).

    >>> import numpy as np
    >>> scl_in(np.array([4, 8, 9]), (8, 9)).tolist()
    [False, True, True]
    """
    xp = array_namespace(scl)
    classes = tuple(classes)
    if not classes:
        return xp.zeros(scl.shape, dtype=xp.bool, device=getattr(scl, "device", None))
    # From the first comparison, not from zeros: a Dask zeros would bring its own chunking and rechunk the band.
    hit = scl == classes[0]
    for cls in classes[1:]:
        hit = hit | (scl == cls)
    return hit


def threshold_valid(blue, swir1=None, *, blue_max: float = 0.18, swir1_min: float = 0.02, nodata_max: float = 0.0):
    """Valid-pixel mask from reflectance thresholds, when no SCL band is available.

    Clouds are bright in blue (Sentinel-2 B02 above ~0.18 over Moroccan
    croplands, whose soils stay below ~0.12); shadows and water are dark in
    SWIR; zero reflectance is no data. Cruder than SCL: use it only when
    the product has no classification.

    Parameters
    ----------
    blue : array, reflectance (unitless), B02
    swir1 : array, reflectance, B11, optional
    blue_max : float, reflectance above which a pixel is cloud
    swir1_min : float, reflectance below which a pixel is shadow or water
    nodata_max : float, reflectance at or below which blue is no data

    Examples
    --------
    >>> import numpy as np
    >>> threshold_valid(np.array([0.05, 0.30, 0.0]), np.array([0.2, 0.3, 0.2])).tolist()
    [True, False, False]
    """
    xp = array_namespace(blue)
    ok = (blue <= blue_max) & (blue > nodata_max)
    if swir1 is not None:
        ok = ok & (swir1 >= swir1_min)
    return ok


def apply_mask(values, valid):
    """``values`` where ``valid``, NaN elsewhere (float output).

    Examples
    --------
    >>> import numpy as np
    >>> apply_mask(np.array([0.5, 0.7]), np.array([True, False])).tolist()
    [0.5, nan]
    """
    xp = array_namespace(values, valid)
    if not xp.isdtype(values.dtype, "real floating"):
        values = xp.astype(values, xp.float32)
    return xp.where(valid, values, xp.full_like(values, float("nan")))
