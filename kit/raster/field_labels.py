"""Fields given as a label raster: one integer ``field_id`` per pixel (rasterized parcels), 0 or no-data outside.

A cadastre of tens of thousands of parcels is often at hand already burned
into a GeoTIFF on the imagery's grid (``gdal_rasterize -a field_id``). Read
lazily (``chunks=``), the labels stay on disk and are renumbered chunk by
chunk, so a whole Sentinel-2 tile of labels never has to be in memory.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from kit.errors import InputDataError
from kit.raster.georef import set_georef
from kit.raster.stack import lazy_geotiffs
from kit.raster.zonal import FieldIndex

__all__ = ["field_index_from_labels", "read_field_labels"]


def field_index_from_labels(labels: xr.DataArray, *, nodata=None) -> FieldIndex:
    """A :class:`FieldIndex` from a ``(y, x)`` raster of integer field ids (NumPy- or Dask-backed).

    Parameters
    ----------
    labels : xarray.DataArray (y, x), integers
        The field id of each pixel; 0 (and ``nodata``) outside fields.
    nodata : int, optional

    Returns
    -------
    FieldIndex
        ``field_ids`` the ids found, ascending, as strings; ``labels`` their
        ranks 1..K (Dask-backed, lazily renumbered, when the input is).

    Examples
    --------
    >>> ids = xr.DataArray(np.array([[0, 7, 7], [12, 12, 7]]), dims=("y", "x"))
    >>> idx = field_index_from_labels(ids)
    >>> idx.field_ids, idx.labels.values.tolist(), idx.pixels.tolist()
    (['7', '12'], [[0, 1, 1], [2, 2, 1]], [3, 2])
    """
    data = labels.data
    if not np.issubdtype(labels.dtype, np.integer):
        raise InputDataError(f"field labels are {labels.dtype}, not integers; burn field_id as an integer "
                             "(gdal_rasterize -a field_id -ot Int32)")
    lazy = hasattr(data, "dask")
    if lazy:
        import dask.array as da

        ids = np.asarray(da.unique(data).compute())
    else:
        ids = np.unique(data)
    ids = ids[(ids != 0) & (ids != (0 if nodata is None else nodata))]
    if ids.size == 0:
        raise InputDataError("the field label raster holds no field (every pixel 0 or no data); burn field_id into it")

    def renumber(block):
        rank = np.searchsorted(ids, block)
        inside = (block != 0) & (rank < ids.size) & (ids[np.minimum(rank, ids.size - 1)] == block)
        return np.where(inside, rank + 1, 0).astype(np.int32)

    if lazy:
        ranks = data.map_blocks(renumber, dtype=np.int32)
        pixels = np.asarray(da.bincount(ranks.ravel(), minlength=ids.size + 1).compute())
    else:
        ranks = renumber(data)
        pixels = np.bincount(ranks.ravel(), minlength=ids.size + 1)
    out = labels.copy(data=ranks).rename("field_label")
    out.attrs = {"long_name": "field label, 0 outside fields"}
    return FieldIndex(out, [str(i) for i in ids], pixels[1:], [])


def read_field_labels(path, *, chunks=None) -> FieldIndex:
    """Read a single-band integer GeoTIFF of field ids into a :class:`FieldIndex` on its grid.

    Parameters
    ----------
    path : str or Path
        One band, integer ``field_id`` per pixel; 0 or the file's no-data outside fields.
    chunks : None or int
        None reads it into memory; an int reads it lazily in blocks of that
        many rows and columns (as :func:`kit.raster.read_stack`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from kit.raster.io import write_geotiff
    >>> ids = xr.DataArray(np.array([[0, 7, 7], [12, 12, 7]], dtype="int32"), dims=("y", "x"))
    >>> path = write_geotiff(ids, pathlib.Path(tempfile.mkdtemp()) / "fields.tif", crs="EPSG:32629",
    ...                      transform=(10.0, 0.0, 600_000.0, 0.0, -10.0, 3_700_020.0))
    >>> idx = read_field_labels(path, chunks=2)
    >>> idx.field_ids, idx.pixels.tolist(), idx.labels.chunks
    (['7', '12'], [3, 2], ((2,), (2, 1)))
    """
    import rasterio

    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"field label raster {path} does not exist; give a GeoTIFF with one field_id per pixel")
    with rasterio.open(path) as src:
        if src.count != 1:
            raise InputDataError(f"{path} has {src.count} bands; a field label raster has one (field_id per pixel)")
        crs, t, nodata, dtype = src.crs, src.transform, src.nodata, src.dtypes[0]
        shape = (src.height, src.width)
        data = src.read(1) if chunks is None else lazy_geotiffs([path], (1,) + shape, dtype, chunks)[0, 0]
    x = t.c + (np.arange(shape[1]) + 0.5) * t.a
    y = t.f + (np.arange(shape[0]) + 0.5) * t.e
    labels = set_georef(xr.DataArray(data, dims=("y", "x"), coords={"y": y, "x": x}), crs, t)
    return field_index_from_labels(labels, nodata=None if nodata is None else int(nodata))
