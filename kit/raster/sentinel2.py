"""Sentinel-2 Level-2A as a sensor: its bands, its digital-number to reflectance rule, its clear SCL classes.

Reflectance is ``(DN + offset) × scale``: ``scale`` is ``1 / BOA_QUANTIFICATION_VALUE``
(1e-4) and ``offset`` the product's ``BOA_ADD_OFFSET`` in digital numbers,
-1000 from processing baseline 04.00 (25 January 2022) on, none before. DN 0
stays no data. Also here: a check that scaled reflectances are plausible,
which catches an offset applied twice or a scale forgotten.
"""
from __future__ import annotations

import re

import numpy as np

from kit.raster.mask import scl_in

__all__ = [
    "BAND_IDS", "BOA_ADD_OFFSET", "BOA_QUANTIFICATION_VALUE", "DEFAULT_BANDS", "NATIVE_RESOLUTION_M",
    "OFFSET_BASELINE", "ProductSetAsideWarning", "ReflectanceScaleWarning", "SCL_CLEAR", "baseline_radiometry",
    "band_name", "implausible_reflectance", "processing_baseline", "scl_clear",
]

#: ``band_id`` of each band in the product metadata (``BOA_ADD_OFFSET``, ``Spectral_Information``).
BAND_IDS = {"B01": 0, "B02": 1, "B03": 2, "B04": 3, "B05": 4, "B06": 5, "B07": 6, "B08": 7, "B8A": 8,
            "B09": 9, "B10": 10, "B11": 11, "B12": 12}
#: Native ground sampling of each Level-2A band, metres.
NATIVE_RESOLUTION_M = {"B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20, "B08": 10,
                       "B8A": 20, "B09": 60, "B10": 60, "B11": 20, "B12": 20, "SCL": 20}
#: Bands read when none are asked for: those of the kit's GeoTIFF stacks, SCL last.
DEFAULT_BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12", "SCL")
#: Digital numbers per unit reflectance in every Level-2A baseline so far.
BOA_QUANTIFICATION_VALUE = 10000
#: Offset (DN) of every band from processing baseline 04.00 on.
BOA_ADD_OFFSET = -1000
#: The first processing baseline whose digital numbers carry :data:`BOA_ADD_OFFSET`.
OFFSET_BASELINE = "04.00"
#: SCL classes of a clear view of the ground: 4 vegetation, 5 not vegetated.
SCL_CLEAR = (4, 5)

#: Share of clear pixels beyond which a band's reflectances are called implausible.
IMPLAUSIBLE_SHARE = 0.05


class ProductSetAsideWarning(UserWarning):
    """A product could not be read (or was a duplicate) and was left out; the others were read."""


class ReflectanceScaleWarning(UserWarning):
    """A product's reflectances look wrongly scaled: many negatives, or values above 1 on vegetation."""


def band_name(text) -> str | None:
    """The kit's name of a Sentinel-2 band (``B02 ... B12, B8A, SCL``) from a spelling such as ``B4`` or ``scl``.

    Examples
    --------
    >>> [band_name(t) for t in ("B4", "b08", "B8A", "scl", "red")]
    ['B04', 'B08', 'B8A', 'SCL', None]
    """
    text = str(text).strip().upper()
    if text == "SCL":
        return "SCL"
    match = re.fullmatch(r"B0?(\d{1,2}A?)", text)
    if not match:
        return None
    digits = match.group(1)
    name = "B" + (digits if digits.endswith("A") else digits.zfill(2))
    return name if name in BAND_IDS else None


def processing_baseline(text) -> str | None:
    """A processing baseline as ``NN.NN`` from ``05.10``, ``N0510`` or ``5.1``; None when absent.

    Examples
    --------
    >>> processing_baseline("N0510"), processing_baseline("02.14"), processing_baseline(None)
    ('05.10', '02.14', None)
    """
    if text is None or str(text).strip() == "":
        return None
    text = str(text).strip()
    match = re.fullmatch(r"N?(\d{2})\.?(\d{2})", text)
    if match:
        return f"{match.group(1)}.{match.group(2)}"
    try:
        return f"{float(text):05.2f}"
    except ValueError:
        return None


def baseline_radiometry(baseline) -> tuple[float, float]:
    """``(scale, offset)`` of a processing baseline: ``(1e-4, -1000)`` from 04.00 on, ``(1e-4, 0)`` before.

    Parameters
    ----------
    baseline : str, as :func:`processing_baseline` reads it (an unknown baseline counts as before 04.00)

    Returns
    -------
    scale : float, reflectance per digital number
    offset : float, digital numbers added before scaling

    Examples
    --------
    >>> baseline_radiometry("05.10"), baseline_radiometry("02.14")
    ((0.0001, -1000.0), (0.0001, 0.0))
    """
    has_offset = (processing_baseline(baseline) or "00.00") >= OFFSET_BASELINE
    return 1.0 / BOA_QUANTIFICATION_VALUE, float(BOA_ADD_OFFSET if has_offset else 0)


def scl_clear(scl, clear=SCL_CLEAR):
    """True where a pixel's scene class is a clear view of the ground (vegetation or not vegetated).

    Stricter than :func:`kit.raster.scl_valid`, which also keeps dark areas,
    water and unclassified pixels.

    Parameters
    ----------
    scl : integer array (any shape), Sentinel-2 L2A SCL band
    clear : tuple of int
        Classes to keep, default :data:`SCL_CLEAR` (4, 5).

    Returns
    -------
    bool array, same namespace and device.

    Examples
    --------
    >>> import numpy as np
    >>> scl_clear(np.array([4, 5, 2, 6, 7, 8, 0])).tolist()
    [True, True, False, False, False, False, False]
    """
    return scl_in(scl, clear)


def implausible_reflectance(dn, names, scale, offset, *, nodata=0) -> str | None:
    """Why one product's reflectances look wrongly scaled, or None when they look right.

    Clear pixels (SCL 4 or 5 where there is an SCL band, else every pixel
    with data) should have almost no negative reflectance, and vegetation
    (SCL 4) none above 1. More than :data:`IMPLAUSIBLE_SHARE` of either in a
    band points at an offset applied twice or where the data has none, or a
    scale forgotten.

    Parameters
    ----------
    dn : numpy array (band, y, x), digital numbers of one product
    names : list of str, band names
    scale, offset : sequences of float, per band (reflectance per DN; DN)
    nodata : int, the no-data digital number

    Examples
    --------
    >>> import numpy as np
    >>> dn = np.stack([np.full((4, 4), 600), np.full((4, 4), 4)])
    >>> implausible_reflectance(dn, ["B04", "SCL"], [1e-4, float("nan")], [-1000.0, 0.0])[:45]
    'B04: 100 % of clear reflectances are negative'
    """
    dn = np.asarray(dn)
    names = list(names)
    scl = dn[names.index("SCL")] if "SCL" in names else None
    for i, name in enumerate(names):
        if name == "SCL":
            continue
        data = dn[i] != nodata
        clear = data if scl is None else data & np.isin(scl, SCL_CLEAR)
        vegetation = clear if scl is None else data & (scl == 4)
        refl = (dn[i].astype(np.float64) + offset[i]) * scale[i]
        if clear.sum() and (refl[clear] < 0).mean() > IMPLAUSIBLE_SHARE:
            share = (refl[clear] < 0).mean()
            return (f"{name}: {share * 100:.0f} % of clear reflectances are negative with scale {scale[i]:g} and offset "
                    f"{offset[i]:g} DN; the offset may be applied twice, or where the data has none")
        if vegetation.sum() and (refl[vegetation] > 1).mean() > IMPLAUSIBLE_SHARE:
            share = (refl[vegetation] > 1).mean()
            return (f"{name}: {share * 100:.0f} % of vegetation reflectances exceed 1 with scale {scale[i]:g} and offset "
                    f"{offset[i]:g} DN; the scale looks wrong (digital numbers not divided by 10 000?)")
    return None
