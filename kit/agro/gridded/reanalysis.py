"""ERA5 / ERA5-Land cells on the fields' grid: each field pixel takes the weather of its nearest reanalysis cell.

:func:`reanalysis_on_grid` turns the daily cells of
:func:`kit.agro.weather_sources.convert_weather_grid` into gridded weather on
the fields' grid (dims ``(y, x, time)``, the fields' ``y``/``x``), which a
grid run (:func:`kit.agro.gridded.run_grid`) reads like any gridded weather.
Pixel centres go to longitude/latitude through the grid's CRS
(``rasterio.warp.transform``); the nearest cell is taken on the regular
reanalysis grid (the nearest cell holding data where that one is sea, as for a
point). The values are not copied onto the grid: each variable is a Dask array
that picks its pixels' cells one block of rows at a time, so the grid's size
costs two small index maps and a latitude map, not days × pixels.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from kit.errors import InputDataError

#: Daily variables carried from the cells to the pixels (those the file has).
CELL_VARIABLES = ("tmin_c", "tmax_c", "tdew_c", "rh_min_pct", "rh_max_pct", "rh_mean_pct", "wind_ms", "rs_mj_m2",
                  "rain_mm")
_ROWS_PIXELS = 262_144  # rows per Dask chunk: about the grid driver's default block (chunk_pixels)

__all__ = ["CELL_VARIABLES", "pixel_lon_lat", "reanalysis_on_grid"]


def pixel_lon_lat(grid: xr.Dataset, rows: slice):
    """Longitude and latitude (degrees, WGS 84) of the pixel centres of ``rows``, arrays ``(rows, x)``.

    Raises
    ------
    kit.errors.InputDataError
        The grid has no CRS (no ``spatial_ref``).
    """
    from rasterio.warp import transform

    from kit.raster.georef import get_crs

    crs = get_crs(grid)
    if crs is None:
        raise InputDataError(f"{grid.attrs.get('source', 'fields grid')} has no CRS (spatial_ref): its pixels cannot be "
                             "placed on ERA5 cells; write the fields grid with its CRS and transform")
    xs, ys = np.meshgrid(np.asarray(grid["x"].values, float), np.asarray(grid["y"].values[rows], float))
    if crs.is_geographic and crs.to_epsg() == 4326:
        return xs, ys
    lon, lat = transform(crs, "EPSG:4326", xs.ravel(), ys.ravel())
    return np.asarray(lon).reshape(xs.shape), np.asarray(lat).reshape(xs.shape)


def _steps(cells: xr.Dataset):
    lats, lons = (np.asarray(cells[n].values, float) for n in ("latitude", "longitude"))
    step = [float(np.median(np.abs(np.diff(a)))) for a in (lats, lons) if a.size > 1]
    default = step[0] if step else 0.1
    return lats, lons, (float(np.median(np.abs(np.diff(lats)))) if lats.size > 1 else default,
                        float(np.median(np.abs(np.diff(lons)))) if lons.size > 1 else default)


def _nearest(axis: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of the nearest value of the increasing ``axis`` for each of ``values``."""
    right = np.clip(np.searchsorted(axis, values), 1, max(axis.size - 1, 1)) if axis.size > 1 else np.zeros(values.shape, int)
    if axis.size == 1:
        return right
    left = right - 1
    return np.where(np.abs(values - axis[left]) <= np.abs(axis[right] - values), left, right)


def _is_field(blk: xr.Dataset) -> np.ndarray:
    crop = np.asarray(blk["crop"].values) if "crop" in blk else None
    if crop is None:
        return np.ones((blk.sizes["y"], blk.sizes["x"]), bool)
    if crop.dtype.kind in "US" or crop.dtype == object:
        return np.char.strip(crop.astype(str)) != ""
    return np.nan_to_num(crop.astype(float)) > 0


def _cell_maps(cells: xr.Dataset, grid: xr.Dataset, source: str, rows_per_block: int):
    """Per pixel: the row and column of its ERA5 cell (int32) and its latitude; refuses field pixels outside the cells."""
    lats, lons, (dlat, dlon) = _steps(cells)
    has_data = np.asarray(cells["tmin_c"].notnull().any("time").transpose("y", "x").values)
    if not has_data.any():
        raise InputDataError(f"{source}: t2m has no value in any cell")
    ny, nx = grid.sizes["y"], grid.sizes["x"]
    cy, cx, lat_map = np.zeros((ny, nx), np.int32), np.zeros((ny, nx), np.int32), np.zeros((ny, nx))
    for start in range(0, ny, rows_per_block):
        rows = slice(start, min(start + rows_per_block, ny))
        lon, lat = pixel_lon_lat(grid, rows)
        outside = ((lat < lats.min() - dlat / 2) | (lat > lats.max() + dlat / 2) | (lon < lons.min() - dlon / 2)
                   | (lon > lons.max() + dlon / 2)) & _is_field(grid.isel(y=rows))
        if outside.any():
            _refuse_outside(outside, lon, lat, rows, grid, lats, lons, source)
        i, j = _nearest(lats, lat), _nearest(lons, lon)
        sea = ~has_data[i, j]
        if sea.any():  # coastal pixels of ERA5-Land: the nearest cell holding data, as for a point
            wet_i, wet_j = np.nonzero(has_data)
            d = np.hypot(lat[sea][:, None] - lats[wet_i], (lon[sea][:, None] - lons[wet_j]) * np.cos(np.radians(lat[sea][:, None])))
            k = np.argmin(d, axis=1)
            i[sea], j[sea] = wet_i[k], wet_j[k]
        cy[rows], cx[rows], lat_map[rows] = i, j, lat
    return cy, cx, lat_map


def _refuse_outside(outside, lon, lat, rows, grid, lats, lons, source):
    r, c = np.argwhere(outside)[0]
    every_lon, every_lat = pixel_lon_lat(grid, slice(None))
    area = (f"N {np.ceil(every_lat.max() * 10) / 10:g}, W {np.floor(every_lon.min() * 10) / 10:g}, "
            f"S {np.floor(every_lat.min() * 10) / 10:g}, E {np.ceil(every_lon.max() * 10) / 10:g}")
    raise InputDataError(
        f"{source}: field pixel (row {rows.start + r}, col {c}) at {lat[r, c]:.3f}°N {lon[r, c]:.3f}°E is outside the "
        f"ERA5 cells (latitudes {lats.min():g}..{lats.max():g}, longitudes {lons.min():g}..{lons.max():g}, half a cell "
        f"beyond); download ERA5 over the whole perimeter (CDS area {area})")


def _on_pixels(values: np.ndarray, iy, ix):
    """A lazy ``(y, x, ...)`` array: ``values[iy, ix]`` (``iy``, ``ix`` Dask index maps) one chunk of rows at a time."""
    import dask.array as da

    extra = values.shape[2:]
    return da.map_blocks(lambda a, b, v: v[a, b], iy, ix, v=values, dtype=values.dtype,
                         new_axis=list(range(2, 2 + len(extra))) if extra else None,
                         chunks=iy.chunks + tuple((n,) for n in extra))


def reanalysis_on_grid(cells: xr.Dataset, grid: xr.Dataset, *, elevation_m=None, chunk_pixels: int = _ROWS_PIXELS):
    """Daily reanalysis cells as gridded weather on the fields' grid, each pixel on its nearest cell.

    Parameters
    ----------
    cells : xarray.Dataset
        From :func:`kit.agro.weather_sources.convert_weather_grid`: dims
        ``(y, x, time)`` of the reanalysis, ``latitude(y)``,
        ``longitude(x)``, the contract's variables, ``wind_height_m`` (10 m
        for ERA5), optionally ``elevation_m(y, x)`` (from ``z``).
    grid : xarray.Dataset
        The fields grid (:func:`kit.agro.gridded.read_fields_grid`), with its
        CRS (``spatial_ref``); projected (UTM) or geographic.
    elevation_m : float, optional, m
        Elevation of every pixel; overrides the cells' ``z`` (as the argument
        overrides a point file's elevation). Without it and without ``z``
        the result has no ``elevation_m``.
    chunk_pixels : int
        About this many pixels per Dask chunk of rows.

    Returns
    -------
    xarray.Dataset
        Dims ``(y, x, time)`` with the fields' ``y``, ``x`` and
        ``spatial_ref``; the cells' daily variables (lazy, Dask),
        ``lat_deg(y, x)`` (the pixel's own latitude), ``elevation_m(y, x)``
        (the cell's, lazy) or the ``elevation_m`` attribute,
        ``wind_height_m`` as the cells have it (the 2 m conversion is left to
        ET0, done once), ``cell_row(y, x)`` and ``cell_col(y, x)`` (the
        cell of each pixel, into ``cells``).

    Raises
    ------
    kit.errors.InputDataError
        A field pixel farther than half a cell outside the cells (naming
        the CDS area to download), a grid without CRS.
    """
    source = cells.attrs.get("source", "the ERA5 file")
    nx = max(grid.sizes["x"], 1)
    chunk_rows = max(1, min(grid.sizes["y"], chunk_pixels // nx))
    cy, cx, lat_map = _cell_maps(cells, grid, source, chunk_rows)
    import dask.array as da

    # One pair of index maps shared by every variable; name=False spares hashing them (the graph is built once).
    iy, ix = (da.from_array(m, chunks=(chunk_rows, m.shape[1]), name=False) for m in (cy, cx))
    out = xr.Dataset(coords={"y": grid["y"], "x": grid["x"], "time": cells["time"]})
    if "spatial_ref" in grid.coords:
        out = out.assign_coords(spatial_ref=grid["spatial_ref"])
    for name in CELL_VARIABLES:
        if name in cells:
            values = np.ascontiguousarray(cells[name].transpose("y", "x", "time").values)
            out[name] = (("y", "x", "time"), _on_pixels(values, iy, ix), cells[name].attrs)
    out["lat_deg"] = (("y", "x"), lat_map, {"units": "degrees_north", "long_name": "latitude of the pixel centre"})
    if elevation_m is not None:
        out.attrs["elevation_m"] = float(elevation_m)
    elif "elevation_m" in cells:
        elev = np.asarray(cells["elevation_m"].transpose("y", "x").values, float)
        out["elevation_m"] = (("y", "x"), _on_pixels(elev, iy, ix), {"units": "m", "long_name": "ERA5 cell elevation (z / g)"})
    if "wind_height_m" in cells:
        out["wind_height_m"] = cells["wind_height_m"]
    out["cell_row"], out["cell_col"] = (("y", "x"), cy), (("y", "x"), cx)
    used = np.unique(cy.astype(np.int64) * cells.sizes["x"] + cx)
    out.attrs.update({k: v for k, v in cells.attrs.items() if k in ("wind_height_m", "source", "tz")})
    out.attrs["regridding"] = f"nearest ERA5 cell of each pixel: {used.size} of {cells.sizes['y'] * cells.sizes['x']} cells used"
    return out
