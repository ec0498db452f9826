"""The gridded fields contract: opening a NetCDF/GeoTIFF (or checking a Dataset) and decoding its pixels.

A fields grid has dims ``(y, x)`` and holds, per pixel,

- ``crop``: crop names (NetCDF strings, ``""`` = not a field) or integer
  codes, 0 = not a field, else :data:`CROP_CODES` (or the file's CF
  ``flag_values``/``flag_meanings`` attributes);
- ``soil`` (names or :data:`SOIL_CODES`) and/or ``taw_mm_per_m`` (the number wins);
- ``planting_date``: datetime64 or an integer ``YYYYMMDD``;
- optional ``irrigation_efficiency`` (0-1, default 1), ``value_per_ha``
  (default 1), ``area_ha`` (default: the pixel area from the transform),
  ``lat_deg``, ``elevation_m`` (variables or Dataset attributes).

A GeoTIFF names its bands by their descriptions (``crop``, ``soil``,
``planting_date``, ...). CRS and transform come from the ``spatial_ref``
coordinate (:mod:`kit.raster.georef`) or the GeoTIFF, and are kept on the
results. :func:`block_fields_table` turns a block of rows into the fields
table of :func:`kit.agro.read_fields`, one row per field pixel.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from kit.agro.crops import CROPS, SOILS
from kit.errors import InputDataError

#: Integer crop codes of gridded files (0 = not a field).
CROP_CODES = {i + 1: name for i, name in enumerate(CROPS.index)}
#: Integer soil codes of gridded files (0 = unknown).
SOIL_CODES = {i + 1: name for i, name in enumerate(SOILS.index)}

__all__ = ["CROP_CODES", "SOIL_CODES", "block_fields_table", "is_gridded", "pixel_area_ha", "read_fields_grid"]


def is_gridded(obj) -> bool:
    """True for an xarray Dataset with ``y``/``x`` dims or a ``.nc``/``.tif``/``.tiff`` path."""
    if isinstance(obj, xr.Dataset):
        return "y" in obj.dims and "x" in obj.dims
    if isinstance(obj, (str, Path)):
        return Path(obj).suffix.lower() in (".nc", ".tif", ".tiff")
    return False


class _Band:
    """One GeoTIFF band as a lazy array: Dask reads only the windows it needs."""

    def __init__(self, path, index, shape, dtype):
        self.path, self.index, self.shape, self.dtype, self.ndim = str(path), index, shape, np.dtype(dtype), 2

    def __getitem__(self, key):
        import rasterio
        from rasterio.windows import Window

        rows, cols = key if isinstance(key, tuple) else (key, slice(None))
        r0, r1, _ = rows.indices(self.shape[0])
        c0, c1, _ = cols.indices(self.shape[1])
        with rasterio.open(self.path) as src:
            return src.read(self.index, window=Window(c0, r0, max(c1 - c0, 0), max(r1 - r0, 0)))


def _read_geotiff(path: Path, chunks) -> xr.Dataset:
    import dask.array as da
    import rasterio

    from kit.raster.georef import set_georef

    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputDataError(f"{path} is not a readable GeoTIFF ({exc}); export the fields raster as GeoTIFF") from None
    with src:
        names = [d or f"band{i + 1}" for i, d in enumerate(src.descriptions)]
        t = src.transform
        x = t.c + t.a * (np.arange(src.width) + 0.5)
        y = t.f + t.e * (np.arange(src.height) + 0.5)
        ds = xr.Dataset(coords={"y": y, "x": x})
        rows = chunks.get("y", src.height) if isinstance(chunks, dict) else src.height
        for i, (name, dtype) in enumerate(zip(names, src.dtypes), start=1):
            band = _Band(path, i, (src.height, src.width), dtype)
            data = da.from_array(band, chunks=(rows, src.width)) if chunks else band[:, :]
            ds[name] = (("y", "x"), data)
        ds.attrs.update({k: float(v) for k, v in src.tags().items() if k in ("lat_deg", "elevation_m")})
        if src.crs is not None:
            ds = set_georef(ds, src.crs, t)
    return ds


def read_fields_grid(path_or_ds, *, chunks=None) -> xr.Dataset:
    """Open a gridded fields file (or check a Dataset) against the gridded contract.

    Parameters
    ----------
    path_or_ds : str, path or xarray.Dataset
        ``.nc`` (NetCDF) or ``.tif``/``.tiff`` (bands named by description).
    chunks : dict, optional
        Dask chunks, e.g. ``{"y": 512}``: the file is read lazily, block by
        block, by :func:`kit.agro.gridded.run_grid`.

    Returns
    -------
    xarray.Dataset
        Dims ``(y, x)``, the file's variables, ``spatial_ref`` when known.

    Raises
    ------
    kit.errors.InputDataError
        Missing file or variable, wrong dims.

    Examples
    --------
    >>> from kit.agro.synthetic import perimeter
    >>> grid = read_fields_grid(perimeter(size=20))
    >>> dict(grid.sizes)
    {'y': 20, 'x': 20}
    """
    if isinstance(path_or_ds, xr.Dataset):
        ds, source = path_or_ds, "fields grid"
    else:
        path = Path(path_or_ds)
        source = str(path)
        if not path.exists():
            raise InputDataError(f"fields file {path} does not exist; give a NetCDF or GeoTIFF with crop, soil, planting_date per pixel")
        if path.suffix.lower() == ".nc":
            try:
                ds = xr.open_dataset(path, chunks=chunks)
            except (OSError, ValueError) as exc:
                raise InputDataError(f"{path} is not a readable NetCDF ({str(exc).splitlines()[0]})") from None
        else:
            ds = _read_geotiff(path, chunks)
    if "y" not in ds.dims or "x" not in ds.dims:
        raise InputDataError(f"{source}: dims are {tuple(ds.dims)}; a fields grid has dims (y, x)")
    missing = [v for v in ("crop", "planting_date") if v not in ds]
    if "soil" not in ds and "taw_mm_per_m" not in ds:
        missing.append("soil (or taw_mm_per_m)")
    if missing:
        raise InputDataError(f"{source}: missing variable(s) {', '.join(missing)}; variables are {', '.join(map(str, ds.data_vars))}")
    for name in ds.data_vars:
        if set(ds[name].dims) - {"y", "x"}:
            raise InputDataError(f"{source}, variable {name}: dims {ds[name].dims}; fields variables have dims (y, x)")
    ds.attrs.setdefault("source", source)
    return ds


def _codes_to_names(values: np.ndarray, var: xr.DataArray, default: dict, table_index, what: str, source: str):
    """Names per pixel ('' where not a field) from strings or integer codes."""
    if values.dtype.kind in "US" or values.dtype == object:
        names = np.char.lower(np.char.strip(values.astype(str)))
        names = np.char.replace(np.char.replace(names, "-", "_"), " ", "_")
        names = np.where(np.isin(names, ["", "nan", "none"]), "", names)
    else:
        codes = default
        if "flag_values" in var.attrs and "flag_meanings" in var.attrs:
            codes = dict(zip(np.atleast_1d(var.attrs["flag_values"]).tolist(), str(var.attrs["flag_meanings"]).split()))
        v = np.nan_to_num(values.astype(float), nan=0.0).astype(np.int64)
        lookup = np.full(max(max(codes, default=0), int(v.max(initial=0))) + 1, "?", dtype=object)
        lookup[0] = ""
        for code, name in codes.items():
            lookup[int(code)] = "" if str(name).lower() in ("none", "nodata", "no_field") else name
        names = lookup[np.clip(v, 0, None)].astype(str)
    bad = (names != "") & ~np.isin(names, list(table_index))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputDataError(
            f"{source}, variable {what}, pixel (row {r}, col {c}): unknown {what} {np.asarray(values[r, c]).item()!r}; "
            f"codes are {', '.join(f'{k} {n}' for k, n in default.items())} (0 = not a field)"
        )
    return names


def _planting(values: np.ndarray, source: str) -> np.ndarray:
    if np.issubdtype(values.dtype, np.datetime64):
        return values.astype("datetime64[D]")
    v = np.nan_to_num(values.astype(float), nan=0.0).astype(np.int64)
    out = np.full(v.shape, np.datetime64("NaT"), dtype="datetime64[D]")
    ok = v > 0
    if ok.any():
        parsed = pd.to_datetime(pd.Series(v[ok].astype(str)), format="%Y%m%d", errors="coerce")
        if parsed.isna().any():
            i = int(np.flatnonzero(parsed.isna())[0])
            raise InputDataError(f"{source}, variable planting_date: {v[ok][i]} is not a date; write YYYYMMDD integers or datetime64")
        out[ok] = parsed.to_numpy().astype("datetime64[D]")
    return out


def pixel_area_ha(grid: xr.Dataset) -> float | None:
    """Area of one pixel (ha) from the grid's transform; None without a transform."""
    from kit.raster.georef import get_transform

    t = get_transform(grid)
    if t is None:
        return None
    return abs(t.a * t.e - t.b * t.d) / 1e4


def block_fields_table(blk: xr.Dataset, grid: xr.Dataset, rows: slice, area_default, crops, lat, elev):
    """Validated fields table (the contract of read_fields) for the valid pixels of one block, and their indices.

    ``blk`` is the loaded block of rows ``rows`` of ``grid``; ``area_default``
    (ha), ``lat`` and ``elev`` fill the pixels without ``area_ha``,
    ``lat_deg``, ``elevation_m``. Returns ``(table, iy, ix)``: ``field_id``
    ``r<row>c<col>`` on the whole grid, ``iy, ix`` the pixels in the block.
    """
    source = grid.attrs.get("source", "fields grid")
    crop = _codes_to_names(np.asarray(blk["crop"].values), blk["crop"], CROP_CODES, crops.index, "crop", source)
    planting = _planting(np.asarray(blk["planting_date"].values), source)
    valid = (crop != "") & ~np.isnat(planting)
    soil = (_codes_to_names(np.asarray(blk["soil"].values), blk["soil"], SOIL_CODES, SOILS.index, "soil", source)
            if "soil" in blk else np.full(crop.shape, "", dtype=str))
    taw = np.asarray(blk["taw_mm_per_m"].values, float) if "taw_mm_per_m" in blk else np.full(crop.shape, np.nan)
    from_soil = SOILS["taw_mm_per_m"].reindex(pd.Index(soil.ravel())).to_numpy(float).reshape(soil.shape)
    taw = np.where(np.isnan(taw), from_soil, taw)
    no_taw = valid & np.isnan(taw)
    if no_taw.any():
        r, c = np.argwhere(no_taw)[0]
        raise InputDataError(f"{source}, pixel (row {rows.start + r}, col {c}): no soil and no taw_mm_per_m; give one of them for every field pixel")
    bad = valid & ~((taw >= 20) & (taw <= 400))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputDataError(f"{source}, variable taw_mm_per_m, pixel (row {rows.start + r}, col {c}): {taw[r, c]:g} mm/m is outside 20-400")

    def var(name, default):
        if name in blk:
            return np.asarray(blk[name].values, float)
        return np.full(crop.shape, np.nan if default is None else default, dtype=float)

    area = var("area_ha", area_default)
    eff = var("irrigation_efficiency", 1.0)
    eff = np.where(np.isnan(eff), 1.0, eff)
    for name, values, ok in (("area_ha", area, area > 0), ("irrigation_efficiency", eff, (eff > 0) & (eff <= 1))):
        bad = valid & ~ok
        if bad.any():
            r, c = np.argwhere(bad)[0]
            hint = "give area_ha or a projected CRS with a transform" if name == "area_ha" else "a fraction in (0, 1]"
            raise InputDataError(f"{source}, variable {name}, pixel (row {rows.start + r}, col {c}): {values[r, c]:g} is invalid; {hint}")
    value = var("value_per_ha", 1.0)
    iy, ix = np.nonzero(valid)
    gy = iy + rows.start
    table = pd.DataFrame({
        "field_id": [f"r{r}c{c}" for r, c in zip(gy, ix)],
        "crop": crop[iy, ix],
        "planting_date": pd.DatetimeIndex(planting[iy, ix]),
        "area_ha": area[iy, ix],
        "soil": pd.Series(soil[iy, ix]).replace("", None).to_numpy(dtype=object),
        "taw_mm_per_m": taw[iy, ix],
        "lat_deg": var("lat_deg", lat)[iy, ix],
        "elevation_m": var("elevation_m", elev)[iy, ix],
        "irrigation_efficiency": eff[iy, ix],
        "value_per_ha": np.where(np.isnan(value[iy, ix]), 1.0, value[iy, ix]),
    })
    return table, iy, ix
