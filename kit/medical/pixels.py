"""From stored DICOM pixel values to a display image in [0, 1].

The chain is the one of DICOM PS3.3 C.11 (the grayscale pipeline): stored
values → modality LUT (Rescale Slope/Intercept) → VOI LUT or window → the
presentation (MONOCHROME1 shows high values dark, so it is inverted). The
kernels are written against the Python array API, so they run on NumPy, CuPy
or Torch arrays; :func:`display_image` reads the parameters from a pydicom
data set and resizes on the host.
"""
from __future__ import annotations

import math

import numpy as np

from kit.backend import array_namespace
from kit.errors import ParameterError


def _float(xp, x):
    if xp.isdtype(x.dtype, "real floating"):
        return x
    return xp.astype(x, xp.float32)


def rescale(stored, slope: float = 1.0, intercept: float = 0.0):
    """Modality LUT: ``slope * stored + intercept``.

    Parameters
    ----------
    stored : array, stored pixel values
    slope, intercept : float
        Rescale Slope (0028,1053) and Rescale Intercept (0028,1052).

    Returns
    -------
    array, float, in the modality's output units (e.g. HU for CT).

    Examples
    --------
    >>> import numpy as np
    >>> rescale(np.array([0, 1000], dtype=np.uint16), 1.0, -1024.0)
    array([-1024.,   -24.], dtype=float32)
    """
    xp = array_namespace(stored)
    x = _float(xp, stored)
    if slope == 1.0 and intercept == 0.0:
        return x
    return x * slope + intercept


def window_to_unit(values, center: float, width: float, function: str = "LINEAR"):
    """Apply a VOI window and scale the result to [0, 1].

    Follows PS3.3 C.11.2.1.2: for ``LINEAR`` the output is
    ``(x - (c - 0.5)) / (w - 1) + 0.5`` clipped to [0, 1]; ``LINEAR_EXACT``
    uses ``(x - c) / w + 0.5``; ``SIGMOID`` is ``1 / (1 + exp(-4 (x - c) / w))``.

    Parameters
    ----------
    values : array, modality output values
    center : float
        Window Center (0028,1050).
    width : float
        Window Width (0028,1051); must be ≥ 1 (> 0 for LINEAR_EXACT).
    function : {"LINEAR", "LINEAR_EXACT", "SIGMOID"}
        VOI LUT Function (0028,1056).

    Returns
    -------
    array, float in [0, 1]

    Examples
    --------
    >>> import numpy as np
    >>> window_to_unit(np.array([0.0, 50.0, 100.0]), center=50.5, width=101.0)
    array([0. , 0.5, 1. ])
    """
    xp = array_namespace(values)
    x = _float(xp, values)
    function = (function or "LINEAR").upper()
    if function == "SIGMOID":
        if width <= 0:
            raise ParameterError(f"window width must be > 0 for SIGMOID, got {width}")
        return 1.0 / (1.0 + xp.exp(-4.0 * (x - center) / width))
    if function == "LINEAR_EXACT":
        if width <= 0:
            raise ParameterError(f"window width must be > 0 for LINEAR_EXACT, got {width}")
        y = (x - center) / width + 0.5
    else:
        if width < 1:
            raise ParameterError(f"window width must be >= 1 for LINEAR, got {width}")
        y = (x - (center - 0.5)) / max(width - 1.0, 1e-6) + 0.5
    return xp.clip(y, 0.0, 1.0)


def minmax_to_unit(values):
    """Scale to [0, 1] by the array's own minimum and maximum (used when no VOI is given).

    Examples
    --------
    >>> import numpy as np
    >>> minmax_to_unit(np.array([10.0, 20.0, 30.0]))
    array([0. , 0.5, 1. ])
    """
    xp = array_namespace(values)
    x = _float(xp, values)
    lo, hi = xp.min(x), xp.max(x)
    span = hi - lo
    if float(span) <= 0:
        return xp.zeros_like(x)
    return (x - lo) / span


def invert_monochrome1(unit):
    """MONOCHROME1 shows the minimum value white: ``1 - x`` on a [0, 1] image."""
    return 1.0 - unit


def _first(value) -> float:
    # Window Center/Width are multi-valued when several windows are offered; the first is the default.
    if value is None:
        return None
    try:
        return float(value[0])
    except (TypeError, IndexError, KeyError):
        return float(value)


def voi_to_unit(ds, modality_values: np.ndarray) -> tuple[np.ndarray, str]:
    """Apply the data set's VOI LUT, else its first window, else min–max; return ([0,1] image, how)."""
    if "VOILUTSequence" in ds and len(ds.VOILUTSequence) > 0:
        from pydicom.pixels import apply_voi_lut

        item = ds.VOILUTSequence[0]
        n_bits = int(item.LUTDescriptor[2])
        out = apply_voi_lut(modality_values, ds, index=0, prefer_lut=True).astype(np.float32)
        return np.clip(out / float(2**n_bits - 1), 0.0, 1.0), "voi_lut"
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if center is not None and width is not None and math.isfinite(center) and width >= 1:
        function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR")
        return window_to_unit(modality_values, center, width, function), "window"
    return minmax_to_unit(modality_values), "minmax"


def resize_unit(image: np.ndarray, size: int, keep_aspect: bool = True) -> np.ndarray:
    """Resize a [0, 1] float image to ``size`` × ``size`` pixels.

    With ``keep_aspect`` the image is first padded to a square with zeros
    (black, like the air around a radiograph) so anatomy is not stretched.
    Downsampling uses Pillow's area-averaging (``BOX``) filter on 32-bit
    floats, so no 8-bit quantization happens on the way.

    Examples
    --------
    >>> import numpy as np
    >>> resize_unit(np.ones((4, 2), dtype=np.float32), 2).tolist()  # half of each output pixel is padding
    [[0.5, 0.5], [0.5, 0.5]]
    """
    from PIL import Image

    if size < 1:
        raise ParameterError(f"image_size must be >= 1 pixel, got {size}")
    img = np.asarray(image, dtype=np.float32)
    if keep_aspect and img.shape[0] != img.shape[1]:
        side = max(img.shape)
        square = np.zeros((side, side), dtype=np.float32)
        top, left = (side - img.shape[0]) // 2, (side - img.shape[1]) // 2
        square[top : top + img.shape[0], left : left + img.shape[1]] = img
        img = square
    if img.shape == (size, size):
        return img
    pil = Image.fromarray(img, mode="F")
    shrinking = size < max(img.shape)
    out = pil.resize((size, size), Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR)
    return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)


def to_grayscale(pixels: np.ndarray) -> np.ndarray:
    """Collapse RGB (…, 3) to luminance with ITU-R BT.601 weights; grayscale passes through."""
    if pixels.ndim == 3 and pixels.shape[-1] == 3:
        return pixels[..., 0] * 0.299 + pixels[..., 1] * 0.587 + pixels[..., 2] * 0.114
    return pixels


def display_image(ds, pixels: np.ndarray, image_size: int | None = None, keep_aspect: bool = True):
    """Turn a decoded pixel array into a float32 display image in [0, 1].

    Parameters
    ----------
    ds : pydicom.Dataset
        Supplies Rescale Slope/Intercept or a Modality LUT, VOI LUT or
        Window Center/Width, and Photometric Interpretation.
    pixels : ndarray
        ``ds.pixel_array`` (one frame: rows × columns, or rows × columns × 3).
    image_size : int, optional
        Output side in pixels; ``None`` keeps the native size.
    keep_aspect : bool
        Pad to a square before resizing.

    Returns
    -------
    image : ndarray, float32 in [0, 1], white = dense (bone), black = air
    how : str
        ``"window"``, ``"voi_lut"``, ``"minmax"`` or ``"rgb"``.
    """
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if pixels.ndim == 3 and pixels.shape[-1] == 3:
        gray = to_grayscale(pixels.astype(np.float32))
        unit, how = minmax_to_unit(gray), "rgb"
    else:
        if "ModalityLUTSequence" in ds:
            from pydicom.pixels import apply_modality_lut

            modality = apply_modality_lut(pixels, ds).astype(np.float32)
        else:
            slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
            intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
            modality = rescale(pixels, slope, intercept)
        unit, how = voi_to_unit(ds, modality)
        if photometric == "MONOCHROME1":
            unit = invert_monochrome1(unit)
    unit = np.asarray(unit, dtype=np.float32)
    if image_size is not None:
        unit = resize_unit(unit, image_size, keep_aspect=keep_aspect)
    return unit, how
