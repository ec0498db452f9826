"""The field pixels of a grid run, one block of rows at a time, each with its kernel inputs.

The valid pixels of each block of rows are flattened onto the vectorized
field axis of :func:`kit.agro.balance.water_balance_kernel`; a Dask-backed
(chunked) grid is read one chunk of rows at a time, so fields and weather
larger than memory stream through.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from kit.agro.gridded.contract import block_fields_table, pixel_area_ha
from kit.agro.gridded.weather import open_weather, pixel_daily_weather
from kit.agro.engine import Inputs, prepare
from kit.errors import InputDataError

__all__ = ["Block", "FieldBlocks", "GridWindow", "row_blocks", "simulation_window"]

_NO_SEASON = "no field's growing season"


@dataclass(frozen=True)
class GridWindow:
    """The simulated days and the site of a grid run, and the weather they come from.

    ``station`` (one station's checked table) or ``weather_grid`` (a
    Dataset on the fields' grid) is set, not both.
    """

    times: pd.DatetimeIndex
    lat_deg: float | None
    elevation_m: float | None
    station: pd.DataFrame | None
    weather_grid: xr.Dataset | None


def _site_value(name, given, grid, weather_grid):
    if given is not None:
        return given
    for ds in (grid, weather_grid):
        if ds is None:
            continue
        if name in ds.attrs:
            return float(ds.attrs[name])
    return None


def simulation_window(grid: xr.Dataset, weather, start, end, lat_deg, elevation_m) -> GridWindow:
    """Open the weather of a grid run and find its days inside ``start..end`` and its site.

    Latitude and elevation come from the arguments, else the attributes of
    the grid or of the gridded weather, else the station's.
    """
    station, wgrid = open_weather(weather, lat_deg, elevation_m)
    lat = _site_value("lat_deg", lat_deg, grid, wgrid)
    elev = _site_value("elevation_m", elevation_m, grid, wgrid)
    if station is not None:
        lat = lat if lat is not None else station.attrs.get("lat_deg")
        elev = elev if elev is not None else station.attrs.get("elevation_m")
        times = station.loc[pd.Timestamp(start) if start else None: pd.Timestamp(end) if end else None].index
    else:
        times = pd.DatetimeIndex(wgrid["time"].values)
        times = times[(times >= pd.Timestamp(start)) if start else slice(None)]
        times = times[(times <= pd.Timestamp(end)) if end else slice(None)]
    if len(times) == 0:
        raise InputDataError(f"no weather between {start} and {end}; choose season dates inside the weather record")
    return GridWindow(times, lat, elev, station, wgrid)


def row_blocks(grid: xr.Dataset, chunk_pixels: int):
    """Slices of rows: the grid's Dask chunks along ``y``, else about ``chunk_pixels`` pixels each."""
    ny, nx = grid.sizes["y"], grid.sizes["x"]
    chunks = grid.chunks.get("y") if grid.chunks else None
    if chunks:
        start = 0
        for size in chunks:
            yield slice(start, start + size)
            start += size
        return
    rows = max(1, chunk_pixels // max(nx, 1))
    for start in range(0, ny, rows):
        yield slice(start, min(start + rows, ny))


@dataclass
class Block:
    """One block of rows with field pixels: its fields table, the pixels' indices and the kernel inputs."""

    rows: slice
    table: pd.DataFrame
    iy: np.ndarray
    ix: np.ndarray
    inputs: Inputs

    @property
    def gy(self) -> np.ndarray:
        """Row of each field pixel on the whole grid."""
        return self.rows.start + self.iy


class FieldBlocks:
    """The field pixels of a grid, block by block, each with its :class:`kit.agro.engine.Inputs`.

    Iterating reads each block, decodes its field pixels and prepares them;
    blocks without field pixels, or whose fields all grow outside the
    window, are skipped. Warnings of :func:`kit.agro.engine.prepare` pass
    through, except its per-block count of seasons partly outside the
    window: one warning at the end adds them up for the whole grid.
    ``stacklevel`` points the warnings at the caller of the function that
    calls the function iterating (:func:`kit.agro.gridded.run_grid`'s caller).
    """

    def __init__(self, grid: xr.Dataset, window: GridWindow, *, crops: pd.DataFrame, prepare_options: dict,
                 station_et0: pd.DataFrame | None, krs: float, et0_method: str, dtype: str, chunk_pixels: int,
                 stacklevel: int = 4):
        self.grid, self.window, self.crops = grid, window, crops
        self.prepare_options, self.station_et0 = prepare_options, station_et0
        self.krs, self.et0_method, self.dtype = krs, et0_method, dtype
        self.chunk_pixels, self.stacklevel = chunk_pixels, stacklevel
        self.area_default = pixel_area_ha(grid)

    def __iter__(self):
        partial = 0
        w = self.window
        for rows in row_blocks(self.grid, self.chunk_pixels):
            blk = self.grid.isel(y=rows).load()
            table, iy, ix = block_fields_table(blk, self.grid, rows, self.area_default, self.crops, w.lat_deg, w.elevation_m)
            if table.empty:
                continue
            table = self._site_from_weather(rows, table, iy, ix)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                inputs = self._prepare(rows, table, iy, ix)
            if inputs is None:
                continue  # a block whose fields all grow outside the window: nothing to simulate, nothing to report
            for message in caught:
                text = str(message.message)
                if "only partly inside" in text:
                    partial += int(text.split()[0])
                elif _NO_SEASON not in text:
                    warnings.warn(message.message, message.category, stacklevel=self.stacklevel)
            yield Block(rows, table, iy, ix, inputs)
        if partial:
            warnings.warn(f"{partial} field pixel(s) have a season only partly inside {w.times[0]:%Y-%m-%d}..{w.times[-1]:%Y-%m-%d}; "
                          "their seasonal totals and yields cover the simulated days only", stacklevel=self.stacklevel)

    def _site_from_weather(self, rows: slice, table: pd.DataFrame, iy, ix) -> pd.DataFrame:
        """Latitude and elevation the fields do not give, from gridded weather that has them per pixel (ERA5 on the grid)."""
        wg = self.window.weather_grid
        if wg is None:
            return table
        for name in ("lat_deg", "elevation_m"):
            if name in wg and set(wg[name].dims) == {"y", "x"} and table[name].isna().any():
                values = np.asarray(wg[name].isel(y=rows).transpose("y", "x").values, float)[iy, ix]
                table[name] = table[name].fillna(pd.Series(values, index=table.index))
        return table

    def _prepare(self, rows: slice, table: pd.DataFrame, iy, ix) -> Inputs | None:
        """Kernel inputs of one block's field pixels; None when none of them grows inside the window."""
        w = self.window
        times = w.times
        if w.station is not None:
            weather, options = w.station.loc[times[0]:times[-1]], {**self.prepare_options, "et0_table": self.station_et0}
        else:
            wblk = w.weather_grid.isel(y=rows) if "y" in w.weather_grid.dims else w.weather_grid
            wblk = wblk.sel(time=times).load()
            arrays, weather = pixel_daily_weather(
                wblk, iy, ix, times, table["lat_deg"].to_numpy() if w.lat_deg is None else w.lat_deg,
                table["elevation_m"].to_numpy() if w.elevation_m is None else w.elevation_m, self.krs, self.et0_method,
                np.float32 if self.dtype == "float32" else np.float64)
            site = {"lat_deg": w.lat_deg if w.lat_deg is not None else float(np.nanmean(table["lat_deg"])),
                    "elevation_m": w.elevation_m if w.elevation_m is not None else float(np.nanmean(table["elevation_m"]))}
            options = {**self.prepare_options, **site, "daily_arrays": arrays}
        try:
            return prepare(table, weather, **options)
        except InputDataError as exc:
            if _NO_SEASON in str(exc):
                return None
            raise
