"""From an image stack to per-field index series: mask clouds, compute indices, reduce by field."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from kit import raster
from kit.backend import as_backend
from kit.errors import InputDataError
from kit.labeled import on_backend

__all__ = ["INDEX_BANDS", "index_series_from_stack", "reflectance"]

#: Bands each index needs (Sentinel-2 names) and the kernel computing it.
INDEX_BANDS = {
    "ndvi": (("B08", "B04"), raster.ndvi),
    "evi": (("B08", "B04", "B02"), raster.evi),
    "savi": (("B08", "B04"), raster.savi),
    "ndwi": (("B03", "B08"), raster.ndwi),
    "ndmi": (("B08", "B11"), raster.ndmi),
}
DN_SCALE = 1e-4  # Sentinel-2 L2A digital number -> reflectance


def reflectance(stack: xr.DataArray, name: str) -> xr.DataArray:
    """One band as reflectance (float32): digital numbers × 1e-4, no-data (0) as NaN."""
    dn = raster.band(stack, name)
    nodata = stack.attrs.get("nodata", 0)
    scale = float(stack.attrs.get("scale_factor", DN_SCALE)) if np.issubdtype(dn.dtype, np.integer) else 1.0
    return (dn.where(dn != nodata) * scale).astype(np.float32)


def index_series_from_stack(stack: xr.DataArray, fields, *, indices=("ndvi", "ndmi"), backend=None,
                            min_valid_fraction: float = 0.5, field_index=None) -> pd.DataFrame:
    """Per-field mean of each index on every date, clouds masked (the ``index_series`` table).

    Parameters
    ----------
    stack : xarray.DataArray (time, band, y, x)
        From :func:`kit.raster.read_stack`; uses the ``SCL`` band when
        present, else reflectance thresholds (:func:`kit.raster.threshold_valid`).
    fields : path or GeoJSON dict of polygons, or a ready :class:`kit.raster.FieldIndex`
    indices : tuple of str
        Any of :data:`INDEX_BANDS`.
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}
        Where the index kernels and zonal reductions run: the notebook's
        Backend, or a device to resolve.
    min_valid_fraction : float
        A field-date with this share of clear pixels or less is left out.

    Returns
    -------
    pandas.DataFrame
        ``field_id, date`` and one column per index, one row per field and
        clear date (cloudy field-dates are absent, as in an Earth Engine
        export); ``attrs["field_index"]`` holds the rasterized fields.
    """
    unknown = [i for i in indices if i not in INDEX_BANDS]
    if unknown:
        raise InputDataError(f"unknown index {unknown[0]!r}; choose from {', '.join(INDEX_BANDS)}")
    backend = as_backend(backend)
    index = field_index if field_index is not None else raster.rasterize_fields(fields, stack.isel(time=0, band=0))
    names = [str(b) for b in stack.coords["band"].values]
    if "SCL" in names:
        scl = raster.band(stack, "SCL")
        valid = xr.apply_ufunc(raster.scl_valid, scl, dask="allowed")
    else:
        warnings.warn("the stack has no SCL band: clouds are masked with reflectance thresholds (B02 > 0.18)", stacklevel=2)
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
    return table
