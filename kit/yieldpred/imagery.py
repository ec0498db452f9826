"""From an image stack to per-field index series: mask clouds, compute indices, reduce by field."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from kit import raster
from kit.backend import as_backend
from kit.errors import InputDataError
from kit.i18n import _
from kit.labeled import on_backend

__all__ = ["CLOUD_BUFFER_PX", "CLOUD_CLASSES", "MIN_CLEAR_SHARE", "INDEX_BANDS", "index_series_from_stack", "near_clouds", "reflectance"]

#: Bands each index needs (Sentinel-2 names) and the kernel computing it.
INDEX_BANDS = {
    "ndvi": (("B08", "B04"), raster.ndvi),
    "evi": (("B08", "B04", "B02"), raster.evi),
    "savi": (("B08", "B04"), raster.savi),
    "ndwi": (("B03", "B08"), raster.ndwi),
    "ndmi": (("B08", "B11"), raster.ndmi),
}
DN_SCALE = 1e-4  # Sentinel-2 L2A digital number -> reflectance
#: SCL classes whose neighbours are suspect: cloud shadows, medium and high cloud probability, thin cirrus.
CLOUD_CLASSES = (3, 8, 9, 10)
#: Pixels of buffer around them: SCL flags a cloud's core, its thin edge (a pixel or two) stays "clear" with NDVI too low.
CLOUD_BUFFER_PX = 1
#: Share of a field's pixels that must be clear for its mean to count that date. With the edges buffered out, a
#: fifth of the field gives a cleaner mean than half of it without the buffer, and keeps more dates
#: (benchmarks/yield_skill.py, December 2026).
MIN_CLEAR_SHARE = 0.2


def reflectance(stack: xr.DataArray, name: str) -> xr.DataArray:
    """One band as reflectance (float32): (digital number + offset) × scale, no-data (0) as NaN.

    ``scale`` (reflectance per DN) and ``offset`` (DN) come from the stack's
    ``scale`` and ``offset`` coordinates ``(time, band)`` when it has them
    (:func:`kit.raster.read_sentinel2` sets them per product: Sentinel-2
    baseline 04.00 and later carry -1000 DN). Without them, integer digital
    numbers are × ``attrs["scale_factor"]`` (default 1e-4) with no offset,
    and float values are taken as reflectance already.
    """
    dn = raster.band(stack, name)
    nodata = stack.attrs.get("nodata", 0)
    if "scale" in dn.coords and "offset" in dn.coords:
        scale, offset = dn["scale"].variable, dn["offset"].variable
        dn = dn.drop_vars(["scale", "offset"])
        return ((dn.where(dn != nodata) + offset) * scale).astype(np.float32)
    scale = float(stack.attrs.get("scale_factor", DN_SCALE)) if np.issubdtype(dn.dtype, np.integer) else 1.0
    return (dn.where(dn != nodata) * scale).astype(np.float32)


def near_clouds(scl: xr.DataArray, pixels: int) -> xr.DataArray:
    """True within ``pixels`` pixels (a square window) of a pixel of SCL class :data:`CLOUD_CLASSES`, per date.

    A moving maximum over ``(y, x)``: NumPy and Dask alike, chunk edges handled by xarray.

    Examples
    --------
    >>> scl = xr.DataArray(np.array([[[4, 4, 4, 4], [4, 9, 4, 4], [4, 4, 4, 5]]]), dims=("time", "y", "x"))
    >>> near_clouds(scl, 1).values[0].astype(int).tolist()
    [[1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 0]]
    """
    cloud = xr.apply_ufunc(raster.mask.scl_in, scl, kwargs={"classes": CLOUD_CLASSES}, dask="allowed").astype(np.uint8)
    window = 2 * int(pixels) + 1
    near = cloud.rolling(y=window, x=window, center=True, min_periods=1).max()
    return near.fillna(0).astype(bool)


def _chosen_indices(indices, names) -> tuple[list, dict]:
    """The indices to compute and ``{skipped index: why}``; ``"auto"`` takes every index the bands allow."""
    if isinstance(indices, str) and indices != "auto":
        indices = (indices,)
    if isinstance(indices, str):
        missing = {i: [b for b in spec[0] if b not in names] for i, spec in INDEX_BANDS.items()}
        skipped = {i: _("needs {bands}, absent from the stack").format(bands=", ".join(m)) for i, m in missing.items() if m}
        chosen = [i for i in INDEX_BANDS if i not in skipped]
        if not chosen:
            raise InputDataError(_("no index can be computed from bands {bands}; NDVI needs B04 and B08").format(
                bands=", ".join(names)))
        if skipped:
            warnings.warn(_("indices='auto' skipped {skipped}").format(
                skipped="; ".join(f"{i} ({why})" for i, why in skipped.items())), stacklevel=3)
        return chosen, skipped
    unknown = [i for i in indices if i not in INDEX_BANDS]
    if unknown:
        raise InputDataError(_("unknown index {index!r}; choose from {choices}").format(
            index=unknown[0], choices=", ".join(INDEX_BANDS)))
    for i in indices:
        missing = [b for b in INDEX_BANDS[i][0] if b not in names]
        if missing:
            raise InputDataError(_("index {index} needs band {missing}, which the stack lacks (bands: {bands}); leave it "
                                   "out or pass indices='auto'").format(index=i, missing=", ".join(missing),
                                                                        bands=", ".join(names)))
    return list(indices), {}


def index_series_from_stack(stack: xr.DataArray, fields, *, indices=("ndvi", "ndmi"), backend=None,
                            min_valid_fraction: float = MIN_CLEAR_SHARE, field_index=None, clear_classes=raster.SCL_CLEAR,
                            cloud_buffer_px: int = CLOUD_BUFFER_PX) -> pd.DataFrame:
    """Per-field mean of each index on every date, clouds masked (the ``index_series`` table).

    Parameters
    ----------
    stack : xarray.DataArray (time, band, y, x)
        From :func:`kit.raster.read_sentinel2` or :func:`kit.raster.read_stack`;
        uses the ``SCL`` band when present, else reflectance thresholds
        (:func:`kit.raster.threshold_valid`, on B02; a stack with neither
        is an :class:`~kit.errors.InputDataError` naming them).
    fields : path or GeoJSON dict of polygons, or a ready :class:`kit.raster.FieldIndex`
    indices : tuple of str, or "auto"
        Any of :data:`INDEX_BANDS` (one whose band the stack lacks is an
        error naming the band), or ``"auto"``: every index whose bands the
        stack has, the others skipped with a warning.
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}
        Where the index kernels and zonal reductions run: the notebook's
        Backend, or a device to resolve.
    min_valid_fraction : float
        A field-date with this share of clear pixels (after the cloud buffer) or
        less is left out, default :data:`MIN_CLEAR_SHARE`.
    clear_classes : tuple of int
        SCL classes counted as clear, default :data:`kit.raster.SCL_CLEAR`
        (4 vegetation, 5 not vegetated).
    cloud_buffer_px : int
        Clear pixels within this many pixels (Chebyshev distance) of a cloud or
        shadow pixel (SCL :data:`CLOUD_CLASSES`) are masked too, default
        :data:`CLOUD_BUFFER_PX`; 0 keeps every clear-classed pixel. Only with an SCL band.

    Returns
    -------
    pandas.DataFrame
        ``field_id, date`` and one column per index, one row per field and
        clear date (cloudy field-dates are absent, as in an Earth Engine
        export); ``attrs["field_index"]`` holds the rasterized fields,
        ``attrs["skipped_indices"]`` ``{index: why}`` (empty unless ``"auto"`` skipped some).
    """
    names = [str(b) for b in stack.coords["band"].values]
    indices, skipped = _chosen_indices(indices, names)
    backend = as_backend(backend)
    index = field_index if field_index is not None else raster.rasterize_fields(fields, stack.isel(time=0, band=0))
    if "SCL" in names:
        scl = raster.band(stack, "SCL")
        valid = xr.apply_ufunc(raster.scl_clear, scl, kwargs={"clear": tuple(clear_classes)}, dask="allowed")
        if cloud_buffer_px > 0:
            valid = valid & ~near_clouds(scl, cloud_buffer_px)
    elif "B02" not in names:
        raise InputDataError(_("the rasters have bands {bands}: no SCL to mask clouds with, nor B02 for a reflectance "
                               "cloud test; export SCL (or B02) with the bands").format(bands=", ".join(names)))
    else:
        warnings.warn(_("the stack has no SCL band: clouds are masked with reflectance thresholds (B02 > 0.18)"),
                      stacklevel=2)
        valid = xr.apply_ufunc(raster.threshold_valid, reflectance(stack, "B02"), dask="allowed")
    table = None
    for name in indices:
        bands, kernel = INDEX_BANDS[name]
        arrays = [reflectance(stack, b) for b in bands]
        if hasattr(arrays[0].data, "chunks"):
            values = kernel(*arrays)  # Dask: lazily, chunk by chunk, on the host
        else:
            values = on_backend(kernel, *arrays, backend=backend)
        values = values.where(valid)
        means = raster.zonal_mean(values, index, backend=backend if not hasattr(values.data, "chunks") else None,
                                  min_valid_fraction=min_valid_fraction)
        long = means.to_series().rename(name)
        table = long.to_frame() if table is None else table.join(long)
    table = table.reset_index().rename(columns={"time": "date", "field": "field_id"})
    table = table.dropna(subset=list(indices), how="all")
    table["date"] = pd.to_datetime(table["date"]).dt.strftime("%Y-%m-%d")
    table = table[["field_id", "date", *indices]].sort_values(["field_id", "date"], ignore_index=True)
    table.attrs["field_index"] = index
    table.attrs["skipped_indices"] = skipped
    return table
