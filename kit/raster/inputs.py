"""Sentinel-2 imagery as users have it, recognised and read into one stack contract.

:func:`read_sentinel2` takes a folder of ``YYYY-MM-DD.tif`` GeoTIFFs
(exports from Earth Engine or openEO), a folder of SAFE products (folders or
zips), one SAFE product, or a STAC JSON file, and returns the ``(time,
band, y, x)`` stack of :func:`kit.raster.read_stack` with per-(time, band)
``scale`` and ``offset`` coordinates (reflectance = (DN + offset) × scale)
and the product table in ``attrs["products"]``.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from kit.errors import InputDataError
from kit.raster.products import TABLE_COLUMNS, Product, product_row, stack_products
from kit.raster.safe import is_safe, read_safe, safe_products
from kit.raster.sentinel2 import BOA_QUANTIFICATION_VALUE, ReflectanceScaleWarning, implausible_reflectance
from kit.raster.stac import is_stac, read_stac
from kit.raster.stack import _SUFFIXES, _acquisitions, open_stack, read_stack

__all__ = ["input_kind", "read_sentinel2"]


def input_kind(path) -> str:
    """What ``path`` holds: ``"geotiff"`` (folder), ``"safe"`` (folder of SAFE products, or one), ``"stac"``, ``"stack"`` (.nc/.zarr).

    Raises
    ------
    kit.errors.InputDataError
        The path is missing or holds none of these.
    """
    path = Path(path)
    if not path.exists():
        raise InputDataError(f"{path} does not exist; give a folder of YYYY-MM-DD.tif, SAFE products (.SAFE or .zip) or a STAC JSON file")
    if path.suffix.lower() in (".nc", ".zarr"):
        return "stack"
    if is_stac(path):
        return "stac"
    if is_safe(path):
        return "safe"
    if path.is_dir():
        entries = [p for p in path.iterdir() if not p.name.startswith(".")]
        if any(is_safe(p) for p in entries):
            return "safe"
        if any(p.suffix.lower() in _SUFFIXES for p in entries):
            return "geotiff"
        if any(is_stac(p) for p in entries):
            return "stac"
    raise InputDataError(f"{path} holds no Sentinel-2 imagery kit reads: give a folder of YYYY-MM-DD.tif, a folder of SAFE "
                         "products (.SAFE or .zip), one SAFE product, or a STAC ItemCollection/Catalog JSON file")


def _stac_file(path: Path) -> Path:
    if path.is_file():
        return path
    found = sorted(p for p in path.iterdir() if is_stac(p))
    preferred = [p for p in found if p.name in ("catalog.json", "collection.json")]
    return (preferred or found)[0]


def read_sentinel2(path, *, bands=None, chunks=None):
    """Read Sentinel-2 L2A imagery of any kind kit knows into one ``(time, band, y, x)`` stack.

    Parameters
    ----------
    path : str or Path
        A folder of ``YYYY-MM-DD.tif`` GeoTIFFs (as :func:`kit.raster.read_stack`);
        a folder of SAFE products (``.SAFE`` folders or their ``.zip``); one
        SAFE product; a STAC ItemCollection, Catalog or Item JSON file (or a
        folder holding one); or a ``.nc``/``.zarr`` stack (:func:`kit.raster.open_stack`).
    bands : list of str, optional
        Bands to read (``B02 ... B12``, ``SCL``): SAFE and STAC products
        lacking one are set aside; default the kit's eleven bands that every
        product has. For a GeoTIFF folder, as in ``read_stack`` (names of
        undescribed bands) when the files have no band descriptions, else
        the bands kept.
    chunks : None, "auto" or int
        As in ``read_stack``: a lazy Dask stack when given.

    Returns
    -------
    xarray.DataArray (time, band, y, x)
        Digital numbers as integers, ``spatial_ref``, ``scale`` and
        ``offset`` coordinates ``(time, band)``: reflectance = (DN + offset) ×
        scale (SCL: NaN and 0); ``attrs["nodata"]``, ``attrs["source"]`` and
        ``attrs["products"]``, a pandas DataFrame with one row per product
        found: ``product_id, date, tile, baseline, scale, offset, source,
        resampled_bands, status`` (``read`` or ``set aside``)``, reason, note``.

    Raises
    ------
    kit.errors.InputDataError
        Nothing readable at ``path``; products of several tiles or CRSs; a
        GeoTIFF folder ``read_stack`` refuses.

    Warns
    -----
    kit.raster.sentinel2.ProductSetAsideWarning
        Per product set aside (its reason is in the table).
    kit.raster.sentinel2.ReflectanceScaleWarning
        Per product whose reflectances look wrongly scaled.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> from kit.raster.georef import set_georef
    >>> from kit.raster.stack import write_acquisitions
    >>> dn = xr.DataArray(np.full((1, 3, 4, 4), 4, dtype="uint16"), dims=("time", "band", "y", "x"),
    ...                   coords={"time": [pd.Timestamp("2024-03-05")], "band": ["B04", "B08", "SCL"]})
    >>> folder = write_acquisitions(set_georef(dn * [[[[150]], [[850]], [[1]]]], "EPSG:32629",
    ...                                        (10.0, 0.0, 600_000.0, 0.0, -10.0, 3_700_020.0)), tempfile.mkdtemp())
    >>> stack = read_sentinel2(folder)
    >>> stack["scale"].sel(band="B04").values.tolist(), stack.attrs["products"]["product_id"].tolist()
    ([0.0001], ['2024-03-05'])
    """
    path = Path(path)
    kind = input_kind(path)
    if kind == "stack":
        return open_stack(path, chunks=chunks)
    if kind == "geotiff":
        return _read_geotiffs(path, bands=bands, chunks=chunks)
    if kind == "stac":
        items = read_stac(_stac_file(path))
    else:
        items = [read_safe(path)] if is_safe(path) else safe_products(path)
    return stack_products(items, bands=bands, chunks=chunks, source=str(path))


def _declared(src) -> tuple[np.ndarray, np.ndarray]:
    """Per-band ``(scale, offset in DN)`` from a GeoTIFF's GDAL scale/offset, else DN / 10 000 (integers) or 1."""
    integer = np.issubdtype(np.dtype(src.dtypes[0]), np.integer)
    scale = np.full(src.count, 1.0 / BOA_QUANTIFICATION_VALUE if integer else 1.0)
    offset = np.zeros(src.count)
    for i, (s, o) in enumerate(zip(src.scales, src.offsets)):
        if (s, o) != (1.0, 0.0):  # GDAL: value = DN × scale + offset
            scale[i], offset[i] = s, o / s
    return scale, offset


def _read_geotiffs(folder: Path, *, bands=None, chunks=None):
    """A GeoTIFF folder through ``read_stack``, with the scale/offset its files declare."""
    import rasterio

    described = _has_descriptions(folder)
    stack = read_stack(folder, bands=None if described else bands, chunks=chunks)
    names = [str(b) for b in stack.coords["band"].values]
    files = [p for _, p in _acquisitions(folder)]
    scale, offset = np.empty((len(files), len(names))), np.empty((len(files), len(names)))
    for i, path in enumerate(files):
        with rasterio.open(path) as src:
            scale[i], offset[i] = _declared(src)
    is_scl = np.array([n == "SCL" for n in names])
    scale[:, is_scl], offset[:, is_scl] = np.nan, 0.0
    stack = stack.assign_coords(
        scale=(("time", "band"), scale, {"long_name": "reflectance per digital number", "units": "1"}),
        offset=(("time", "band"), offset, {"long_name": "digital numbers added before scaling", "units": "DN"}))
    if described and bands is not None:
        missing = [b for b in bands if b not in names]
        if missing:
            raise InputDataError(f"{folder}: the GeoTIFFs have no band {', '.join(missing)}; bands are {', '.join(names)}")
        stack = stack.sel(band=list(bands))
        names = list(bands)
        scale, offset = stack["scale"].values, stack["offset"].values
    rows = []
    for i, path in enumerate(files):
        note = "" if chunks is None else "reflectances not checked (read lazily)"
        if chunks is None:
            note = implausible_reflectance(stack.values[i], names, scale[i], offset[i], nodata=stack.attrs["nodata"]) or ""
            if note:
                warnings.warn(f"{path.name}: {note}", ReflectanceScaleWarning, stacklevel=3)
        acquisition = Product(path.stem, stack.time.values[i], str(path), {})
        rows.append(product_row(acquisition, scale=scale[i], offset=offset[i], names=names, note=note))
    stack.attrs["products"] = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    return stack


def _has_descriptions(folder: Path) -> bool:
    import rasterio

    with rasterio.open(_acquisitions(folder)[0][1]) as src:
        return all(src.descriptions)
