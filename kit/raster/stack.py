"""Image time stacks: a folder of ``YYYY-MM-DD.tif`` acquisitions, or a NetCDF/Zarr stack.

A stack is an ``xarray.DataArray`` with dims ``(time, band, y, x)``: ``band``
holds the band names (from the GeoTIFF band descriptions, e.g. ``B02 ...
B12 SCL``), ``y, x`` the pixel-centre coordinates, and the ``spatial_ref``
coordinate the CRS and transform (:mod:`kit.raster.georef`). Values keep
the files' dtype (Sentinel-2 L2A: uint16 digital numbers, reflectance ×
10 000).
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from kit.errors import InputDataError
from kit.raster.georef import get_crs, get_transform, set_georef

__all__ = ["band", "lazy_geotiffs", "open_stack", "read_stack", "write_acquisitions", "write_stack"]

_SUFFIXES = (".tif", ".tiff")


def _acquisitions(folder: Path) -> list[tuple[pd.Timestamp, Path]]:
    if not folder.is_dir():
        raise InputDataError(f"raster folder {folder} does not exist or is not a folder; give a folder of YYYY-MM-DD.tif files")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _SUFFIXES and not p.name.startswith("."))
    if not files:
        raise InputDataError(f"raster folder {folder} has no .tif files; give one multi-band GeoTIFF per date, named YYYY-MM-DD.tif")
    out = []
    for p in files:
        try:
            out.append((pd.Timestamp(dt.date.fromisoformat(p.stem[:10])), p))
        except ValueError:
            raise InputDataError(f"{p}: the file name does not start with a date; name acquisitions YYYY-MM-DD.tif") from None
    dates = [d for d, _ in out]
    if len(set(dates)) != len(dates):
        dup = next(d for d in dates if dates.count(d) > 1)
        raise InputDataError(f"raster folder {folder} has two files for {dup:%Y-%m-%d}; keep one acquisition per date")
    return out


def _grid(src) -> dict:
    return {"crs": src.crs, "transform": src.transform, "shape": (src.height, src.width), "count": src.count, "dtype": src.dtypes[0]}


def read_stack(folder, *, bands=None, chunks=None) -> xr.DataArray:
    """Read a folder of multi-band GeoTIFFs, one per acquisition date, into a stack.

    Parameters
    ----------
    folder : str or Path
        Files named ``YYYY-MM-DD.tif`` (anything after the date is ignored,
        e.g. ``2024-03-05_T29SPR.tif``), all on the same grid (CRS,
        transform, size) with the same bands.
    bands : list of str, optional
        Band names when the files carry no band descriptions (else the
        descriptions are used and must agree with ``bands`` if both are given).
    chunks : None, "auto" or int
        None reads everything into memory. Otherwise a Dask-backed stack with
        one chunk per file (``int``: also split ``y`` and ``x`` in blocks of
        that many rows/columns), read lazily: stacks larger than memory go
        through the same code. Each chunk is a windowed read of its file
        (:func:`lazy_geotiffs`): with an int, memory is bounded by chunks,
        not by the tile.

    Returns
    -------
    xarray.DataArray (time, band, y, x)
        With ``spatial_ref`` (CRS, transform), ``attrs["nodata"]`` and
        ``attrs["source"]``.

    Raises
    ------
    kit.errors.InputDataError
        Folder missing or empty, a name without a date, files on different
        grids (the message names the first differing file), missing band
        descriptions without ``bands=``.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> from kit.raster.georef import set_georef
    >>> two_dates = xr.DataArray(np.ones((2, 4, 8, 8), dtype="uint16"), dims=("time", "band", "y", "x"),
    ...                          coords={"time": pd.date_range("2024-02-01", periods=2, freq="10D"),
    ...                                  "band": ["B02", "B03", "B04", "B08"]})
    >>> two_dates = set_georef(two_dates, "EPSG:32629", (20.0, 0.0, 300_000.0, 0.0, -20.0, 3_660_000.0))
    >>> folder = write_acquisitions(two_dates, tempfile.mkdtemp())
    >>> stack = read_stack(folder)
    >>> stack.dims, [str(b) for b in stack.band.values[:3]]
    (('time', 'band', 'y', 'x'), ['B02', 'B03', 'B04'])
    """
    import rasterio

    folder = Path(folder)
    items = _acquisitions(folder)
    with rasterio.open(items[0][1]) as first:
        ref = _grid(first)
        names = list(first.descriptions)
        nodata = first.nodata
    if any(not d for d in names):
        if bands is None:
            missing = [i + 1 for i, d in enumerate(names) if not d]
            raise InputDataError(
                f"{items[0][1]}: band(s) {missing} have no description; set the band names (B02 ... SCL) in the files "
                f"or pass bands=[...] ({ref['count']} names)"
            )
        names = list(bands)
    elif bands is not None and list(bands) != names:
        raise InputDataError(f"{items[0][1]}: band descriptions {names} differ from bands={list(bands)}; drop bands= or fix the files")
    if len(names) != ref["count"]:
        raise InputDataError(f"{items[0][1]} has {ref['count']} bands but {len(names)} names were given; give one name per band")
    for _, path in items[1:]:
        with rasterio.open(path) as src:
            grid = _grid(src)
            for key in ("crs", "transform", "shape", "count", "dtype"):
                if grid[key] != ref[key]:
                    raise InputDataError(
                        f"{path}: {key} {grid[key]} differs from {items[0][1].name} ({ref[key]}); "
                        "resample all acquisitions to one grid (e.g. gdalwarp -tr 20 20 -t_srs EPSG:...)"
                    )
            desc = list(src.descriptions)
            if any(desc) and desc != names:
                raise InputDataError(
                    f"{path}: band descriptions {desc} differ from {items[0][1].name} ({names}); "
                    "give every file the same bands in the same order"
                )

    height, width = ref["shape"]
    t = ref["transform"]
    x = t.c + (np.arange(width) + 0.5) * t.a
    y = t.f + (np.arange(height) + 0.5) * t.e
    times = [d for d, _ in items]

    if chunks is None:
        data = np.empty((len(items), ref["count"], height, width), dtype=ref["dtype"])
        for i, (_, path) in enumerate(items):
            with rasterio.open(path) as src:
                data[i] = src.read()
    else:
        data = lazy_geotiffs([p for _, p in items], (ref["count"], height, width), ref["dtype"], chunks)
    stack = xr.DataArray(
        data, dims=("time", "band", "y", "x"),
        coords={"time": times, "band": names, "y": ("y", y, {"units": "m"}), "x": ("x", x, {"units": "m"})},
        name="reflectance", attrs={"nodata": nodata if nodata is not None else 0, "source": str(folder)},
    )
    return set_georef(stack, ref["crs"], t)


class _GeoTIFFWindows:
    """One GeoTIFF as an array Dask slices: each chunk is a windowed read, so a chunk's pixels are all that is decoded.

    Every read opens its own handle: GDAL dataset handles are not shared between threads.
    """

    def __init__(self, path, shape, dtype):
        self.path, self.shape, self.dtype, self.ndim = str(path), tuple(shape), np.dtype(dtype), len(shape)

    def __getitem__(self, key):
        import rasterio
        from rasterio.windows import Window

        (b0, b1, _), (r0, r1, _), (c0, c1, _) = (k.indices(n) for k, n in zip(key, self.shape))
        with rasterio.open(self.path) as src:
            return src.read(list(range(b0 + 1, b1 + 1)), window=Window(c0, r0, c1 - c0, r1 - r0))


def lazy_geotiffs(paths, shape, dtype, chunks):
    """A Dask ``(time, band, y, x)`` array over same-grid GeoTIFFs of ``shape`` ``(band, y, x)``, read window by window.

    ``chunks``: ``"auto"`` one chunk per file, an int blocks of that many
    rows and columns (all bands of a block in one chunk, so bands of one
    pixel block are decoded together).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np, xarray as xr
    >>> from kit.raster.io import write_geotiff
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "2024-03-05.tif"
    >>> _ = write_geotiff(xr.DataArray(np.arange(48, dtype="uint16").reshape(3, 4, 4), dims=("band", "y", "x")), path,
    ...                   crs="EPSG:32629", transform=(10.0, 0.0, 0.0, 0.0, -10.0, 40.0))
    >>> lazy = lazy_geotiffs([path], (3, 4, 4), "uint16", 2)
    >>> lazy.chunks, int(lazy[0, 2, 3, 1].compute())
    (((1,), (3,), (2, 2), (2, 2)), 45)
    """
    import dask.array as da
    from dask.base import tokenize

    block = (-1, -1, -1) if not isinstance(chunks, int) else (-1, chunks, chunks)
    parts = []
    for path in paths:
        path = Path(path)
        token = tokenize(str(path), path.stat().st_mtime_ns, path.stat().st_size, shape, str(dtype), block)
        parts.append(da.from_array(_GeoTIFFWindows(path, shape, dtype), chunks=block, name=f"geotiff-{token}",
                                   lock=False, meta=np.empty((0,) * len(shape), dtype=dtype)))
    return da.stack(parts)


def band(stack: xr.DataArray, name: str) -> xr.DataArray:
    """One band of a stack by name, with an error that lists the bands there are.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> stack = xr.DataArray(np.zeros((2, 4, 8, 8)), dims=("time", "band", "y", "x"),
    ...                      coords={"band": ["B02", "B03", "B04", "B08"]})
    >>> band(stack, "B08").dims
    ('time', 'y', 'x')
    """
    names = [str(b) for b in stack.coords["band"].values]
    if name not in names:
        raise InputDataError(f"the stack has no band {name!r}; bands are {', '.join(names)} (check the band descriptions)")
    return stack.sel(band=name, drop=True)


def open_stack(path, *, chunks=None) -> xr.DataArray:
    """Open a stack written by :func:`write_stack` (``.nc`` NetCDF or ``.zarr``), or a GeoTIFF folder.

    ``chunks`` (e.g. ``{"time": 1}``) opens it lazily with Dask.
    """
    path = Path(path)
    if path.is_dir() and path.suffix != ".zarr":
        return read_stack(path, chunks=chunks)
    if not path.exists():
        raise InputDataError(f"stack {path} does not exist; give a .nc, .zarr or a folder of YYYY-MM-DD.tif")
    try:
        if path.suffix == ".zarr":
            ds = xr.open_zarr(path, chunks=chunks)
        else:
            ds = xr.open_dataset(path, chunks=chunks)
    except Exception as exc:  # netCDF4/zarr raise many types on corrupt files
        raise InputDataError(f"{path} is not a readable NetCDF/Zarr stack ({type(exc).__name__}: {exc})") from None
    var = next((v for v in ds.data_vars if ds[v].dims == ("time", "band", "y", "x")), None)
    if var is None:
        raise InputDataError(f"{path} has no variable with dims (time, band, y, x); write it with kit.raster.write_stack")
    da = ds[var]
    if get_crs(da) is None or get_transform(da) is None:
        raise InputDataError(f"{path}: no spatial_ref coordinate with crs_wkt and GeoTransform; write it with kit.raster.write_stack")
    return da


def write_stack(stack: xr.DataArray, path) -> Path:
    """Write a stack to NetCDF (``.nc``, zlib-compressed) or Zarr (``.zarr``), atomically."""
    from kit.io import atomic_path

    path = Path(path)
    stack = stack.copy(deep=False)
    stack.attrs.pop("products", None)  # read_sentinel2's product table is for the run's manifest, not the file
    ds = stack.rename(stack.name or "reflectance").to_dataset()
    ds["band"] = ds["band"].astype(str)
    if path.suffix == ".zarr":
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            ds.to_zarr(tmp / "z.zarr", mode="w", zarr_format=2)  # v2: fixed-length band names are specified there
            if path.exists():
                shutil.rmtree(path)
            os.replace(tmp / "z.zarr", path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return path
    encoding = {ds_var: {"zlib": True, "complevel": 4} for ds_var in ds.data_vars}
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, encoding=encoding)
    return path


def write_acquisitions(stack: xr.DataArray, folder, *, cog: bool = False) -> Path:
    """Write each date of a ``(time, band, y, x)`` stack as ``folder/YYYY-MM-DD.tif`` with band descriptions."""
    from kit.raster.io import write_geotiff

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for t in stack.coords["time"].values:
        layer = stack.sel(time=t)
        write_geotiff(layer, folder / f"{pd.Timestamp(t):%Y-%m-%d}.tif", nodata=stack.attrs.get("nodata", 0), cog=cog,
                      descriptions=[str(b) for b in stack.coords["band"].values])
    return folder
