"""GeoTIFF writing with CRS and transform kept."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from kit.backend import to_numpy
from kit.errors import InputDataError
from kit.io import atomic_path
from kit.raster.georef import get_crs, get_transform


def write_geotiff(da: xr.DataArray, path, *, crs=None, transform=None, nodata=np.nan, compress="deflate",
                  cog: bool = False, descriptions=None) -> Path:
    """Write a 2-D (``y, x``) or 3-D (``band, y, x``) DataArray as a tiled, compressed GeoTIFF.

    Parameters
    ----------
    da : xarray.DataArray
        Values on any backend (copied to the host). Its ``spatial_ref``
        coordinate gives CRS and transform unless they are given here.
    path : str or Path
        Written atomically: a failure leaves no partial file.
    cog : bool
        Write a Cloud-Optimized GeoTIFF (GDAL COG driver: 256-pixel tiles,
        overviews, header first) that web maps and QGIS read by HTTP range.
    descriptions : list of str, optional
        Band descriptions; default the ``band`` coordinate of a 3-D array,
        else the array's name.

    Examples
    --------
    >>> import tempfile, pathlib, rasterio
    >>> from kit.raster.synthetic import demo_scene
    >>> ds = demo_scene(32)
    >>> out = write_geotiff(ds["nir"], pathlib.Path(tempfile.mkdtemp()) / "nir.tif")
    >>> rasterio.open(out).crs.to_string()
    'EPSG:32629'
    """
    import rasterio
    from affine import Affine

    values = to_numpy(da.data)
    if values.ndim == 2:
        values = values[None]
    crs = crs or get_crs(da)
    gt = transform if transform is not None else get_transform(da)
    affine = gt if isinstance(gt, Affine) or gt is None else Affine(*gt[:6])
    if crs is None or affine is None:
        raise InputDataError(f"cannot write {path}: the array has no CRS or transform; pass crs= and transform=")
    profile = {
        "driver": "GTiff", "height": values.shape[1], "width": values.shape[2], "count": values.shape[0],
        "dtype": values.dtype.name, "crs": crs, "transform": affine, "compress": compress,
    }
    if cog:
        profile.update(driver="COG", blocksize=256)
    elif values.shape[1] >= 256 and values.shape[2] >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    if np.issubdtype(values.dtype, np.floating):
        profile["nodata"] = nodata
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(values)
            if descriptions is None:
                if da.ndim == 3 and da.dims[0] in da.coords:
                    descriptions = [str(v) for v in da.coords[da.dims[0]].values]
                elif da.name:
                    descriptions = [str(da.name)]
            for i, text in enumerate(descriptions or [], start=1):
                dst.set_band_description(i, str(text))
    return Path(path)
