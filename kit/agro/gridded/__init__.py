"""Gridded fields: every pixel of a perimeter planned at once, chunk by chunk.

The gridded contract (see ``datasets/irrigation/README.md``): a NetCDF
(``.nc``) or multi-band GeoTIFF (``.tif``) or an :class:`xarray.Dataset` with
dims ``(y, x)`` holding, per pixel, ``crop``, ``soil`` and/or
``taw_mm_per_m``, ``planting_date`` and optional ``irrigation_efficiency``,
``value_per_ha``, ``area_ha``, ``lat_deg``, ``elevation_m``
(:mod:`kit.agro.gridded.contract` gives the codes and defaults). CRS and
transform come from the ``spatial_ref`` coordinate (:mod:`kit.raster.georef`)
or the GeoTIFF, and are kept on the results.

Weather is one station's table (shared by all pixels) or an
:class:`xarray.Dataset` / NetCDF with the weather contract's variable names
and dims ``(time,)`` or ``(y, x, time)`` on the fields' grid
(:mod:`kit.agro.gridded.weather`); an ERA5 / ERA5-Land file's cells are put
on the fields' grid, each pixel on its nearest cell, by
:mod:`kit.agro.gridded.reanalysis`.

The valid pixels of each block of rows are flattened onto the vectorized
field axis of :func:`kit.agro.balance.water_balance_kernel` and the results
are put back on the grid (:mod:`kit.agro.gridded.blocks`,
:mod:`kit.agro.gridded.driver`); a Dask-backed (chunked) input is read one
chunk of rows at a time, so fields and weather larger than memory stream
through. Seasonal maps are kept in memory (one value per pixel); daily
variables only when asked for (``daily=``), see
:mod:`kit.agro.gridded.result`.

The modules, lowest first: ``contract`` (the fields file), ``weather``, ``reanalysis``,
``blocks`` (block inputs), ``result`` (maps and :class:`GridPlan`),
``driver`` (:func:`run_grid`).
"""
from kit.agro.gridded.contract import CROP_CODES, SOIL_CODES, is_gridded, read_fields_grid
from kit.agro.gridded.driver import DAILY, GRID_DAILY, run_grid
from kit.agro.gridded.result import MAPS, GridPlan

__all__ = ["CROP_CODES", "SOIL_CODES", "MAPS", "DAILY", "GRID_DAILY", "GridPlan", "is_gridded", "read_fields_grid", "run_grid"]
