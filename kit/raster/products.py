"""Sentinel-2 products onto one stack: the grid they share, their bands resampled to it, the product table.

A reader (:mod:`kit.raster.safe`, :mod:`kit.raster.stac`) describes each
product as a :class:`Product` (its band files, each with its reflectance
scale and offset) or as a :class:`SetAside` (why it cannot be read).
:func:`stack_products` reads the products into the ``(time, band, y, x)``
stack :func:`kit.raster.read_stack` returns, digital numbers kept as
integers, with ``scale`` and ``offset`` coordinates ``(time, band)`` and the
product table in ``attrs["products"]``. Bands coarser than the finest are
resampled to its grid: SCL by nearest neighbour (classes must stay
classes), reflectance bands bilinearly (a 20 m band on a 10 m grid is
interpolated, not invented). Nothing is reprojected.
"""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import xarray as xr

from kit.errors import InputDataError
from kit.raster.georef import set_georef
from kit.raster.sentinel2 import (
    DEFAULT_BANDS, ProductSetAsideWarning, ReflectanceScaleWarning, implausible_reflectance,
)

__all__ = ["BandFile", "Product", "SetAside", "day", "product_row", "read_product", "stack_products"]

#: Columns of the product table (``attrs["products"]``), one row per product found.
TABLE_COLUMNS = ("product_id", "date", "tile", "baseline", "scale", "offset", "source", "resampled_bands",
                 "status", "reason", "note")


@dataclasses.dataclass
class BandFile:
    """One band of a product: where rasterio opens it, and its reflectance = (DN + offset) × scale."""

    path: str
    scale: float
    offset: float


@dataclasses.dataclass
class Product:
    """A readable product: its date, tile, processing baseline and band files (name -> :class:`BandFile`)."""

    product_id: str
    date: pd.Timestamp
    source: str
    bands: dict
    tile: str | None = None
    baseline: str | None = None
    note: str = ""


@dataclasses.dataclass
class SetAside:
    """A product that is left out, and why."""

    product_id: str
    source: str
    reason: str
    date: pd.Timestamp | None = None
    tile: str | None = None
    baseline: str | None = None


def day(when) -> pd.Timestamp:
    """The UTC date of a time, as a naive midnight timestamp (the stacks' ``time`` coordinate)."""
    when = pd.Timestamp(when)
    if when.tzinfo is not None:
        when = when.tz_convert("UTC").tz_localize(None)
    return when.normalize()


def _summary(values, names):
    """One number when the reflectance bands agree, else ``B04=...; B11=...``."""
    pairs = [(n, float(v)) for n, v in zip(names, values) if n != "SCL"]
    distinct = {v for _, v in pairs}
    if len(distinct) <= 1:
        return distinct.pop() if distinct else float("nan")
    return "; ".join(f"{n}={v:g}" for n, v in pairs)


def product_row(item, *, scale=(), offset=(), names=(), resampled=(), status="read", note="") -> dict:
    """The product table's row of a :class:`Product` or :class:`SetAside`."""
    date = getattr(item, "date", None)
    return {
        "product_id": item.product_id, "date": None if date is None else f"{pd.Timestamp(date):%Y-%m-%d}",
        "tile": item.tile, "baseline": item.baseline, "scale": _summary(scale, names), "offset": _summary(offset, names),
        "source": item.source, "resampled_bands": ",".join(resampled), "status": status,
        "reason": getattr(item, "reason", ""), "note": note,
    }


class _Table:
    """The product table being built; setting a product aside warns once with its reason."""

    def __init__(self):
        self.rows = []

    def set_aside(self, item, reason=None):
        if isinstance(item, Product):
            item = SetAside(item.product_id, item.source, reason, item.date, item.tile, item.baseline)
        warnings.warn(f"{item.product_id} ({item.source}) is set aside: {item.reason}", ProductSetAsideWarning, stacklevel=4)
        self.rows.append(product_row(item, status="set aside"))

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows, columns=list(TABLE_COLUMNS))
        return frame.sort_values(["date", "product_id"], na_position="last", ignore_index=True)


def _one_per_date(products, table):
    """Keep one product per date (the highest baseline: the latest processing); set the others aside."""
    kept = {}
    for p in sorted(products, key=lambda p: (p.baseline or "", p.product_id), reverse=True):
        d = day(p.date)
        if d in kept:
            table.set_aside(p, f"another product of {d:%Y-%m-%d} was read ({kept[d].product_id})")
        else:
            kept[d] = p
    return [kept[d] for d in sorted(kept)]


def _check_one_tile(products):
    tiles = sorted({p.tile for p in products if p.tile})
    if len(tiles) > 1:
        counts = ", ".join(f"{t} ({sum(p.tile == t for p in products)})" for t in tiles)
        raise InputDataError(f"the products cover several tiles: {counts} products; give the products of one tile per run "
                             "(kit does not mosaic tiles)")


def _choose_bands(products, bands, table):
    """The bands to read, and the products that have them (a product lacking an asked-for band is set aside)."""
    if bands is not None:
        names = list(bands)
        keep = []
        for p in products:
            missing = [b for b in names if b not in p.bands]
            if missing:
                table.set_aside(p, f"it has no band {', '.join(missing)}")
            else:
                keep.append(p)
        return names, keep
    held = [b for b in DEFAULT_BANDS if all(b in p.bands for p in products)]
    dropped = [b for b in DEFAULT_BANDS if b not in held and any(b in p.bands for p in products)]
    if dropped:
        lacking = next(p.product_id for p in products if any(b not in p.bands for b in dropped))
        warnings.warn(f"band(s) {', '.join(dropped)} left out: some products lack them (e.g. {lacking}); "
                      "pass bands=[...] to require them (products without them are then set aside)", stacklevel=3)
    return held, products


def _band_grids(product, names):
    """``{band: (crs, transform, shape)}`` of a product's band files (headers only)."""
    import rasterio

    grids = {}
    for name in names:
        with rasterio.open(product.bands[name].path) as src:
            grids[name] = (src.crs, src.transform, (src.height, src.width))
    return grids


def _grids(products, names, table):
    """Each readable product's target grid (its finest band) and the bands that need resampling to it."""
    out = []
    for p in products:
        try:
            grids = _band_grids(p, names)
        except Exception as exc:  # rasterio raises many types on a missing or corrupt file
            table.set_aside(p, f"a band file cannot be opened ({type(exc).__name__}: {exc})".replace("\n", " "))
            continue
        finest = min(grids.values(), key=lambda g: abs(g[1].a))
        resampled = [n for n, g in grids.items() if g != finest]
        out.append((p, finest, resampled))
    return out


def _check_one_grid(gridded):
    crss = sorted({g[0].to_string() for _, g, _ in gridded})
    if len(crss) > 1:
        raise InputDataError(f"the products are in several CRSs ({', '.join(crss)}); give products of one tile and "
                             "UTM zone (kit does not reproject)")
    ref_product, ref, _ = gridded[0]
    for p, grid, _ in gridded[1:]:
        if grid[1:] != ref[1:]:
            raise InputDataError(f"{p.product_id}: its grid ({grid[2][1]}x{grid[2][0]} px at {grid[1].c:.0f}, {grid[1].f:.0f}) "
                                 f"differs from {ref_product.product_id}'s ({ref[2][1]}x{ref[2][0]} px at {ref[1].c:.0f}, "
                                 f"{ref[1].f:.0f}); give products on one grid")
    return ref


def read_product(product, names, grid) -> np.ndarray:
    """A product's bands on ``grid`` ``(crs, transform, (height, width))``: uint16 ``(band, y, x)``."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    crs, transform, (height, width) = grid
    out = np.zeros((len(names), height, width), dtype=np.uint16)
    for i, name in enumerate(names):
        with rasterio.open(product.bands[name].path) as src:
            if src.crs == crs and src.transform == transform and (src.height, src.width) == (height, width):
                out[i] = src.read(1)
                continue
            resampling = Resampling.nearest if name == "SCL" else Resampling.bilinear
            with WarpedVRT(src, crs=crs, transform=transform, width=width, height=height, resampling=resampling,
                           src_nodata=0, nodata=0) as vrt:
                out[i] = vrt.read(1)
    return out


def _read_all(gridded, names, grid, chunks, table):
    """The products' pixels: in memory with a plausibility check each, or lazily with Dask."""
    from tqdm.auto import tqdm

    height, width = grid[2]
    if chunks is not None:
        import dask
        import dask.array as da

        parts = [da.from_delayed(dask.delayed(read_product)(p, names, grid), shape=(len(names), height, width),
                                 dtype=np.uint16) for p, _, _ in gridded]
        data = da.stack(parts)
        if isinstance(chunks, int):
            data = data.rechunk((1, -1, chunks, chunks))
        return data, [(p, resampled, "reflectances not checked (read lazily)") for p, _, resampled in gridded]
    arrays, read = [], []
    for p, _, resampled in tqdm(gridded, desc="Sentinel-2 products", unit="product"):
        try:
            values = read_product(p, names, grid)
        except Exception as exc:  # a file that opened but does not decode
            table.set_aside(p, f"its pixels cannot be read ({type(exc).__name__}: {exc})".replace("\n", " "))
            continue
        problem = implausible_reflectance(values, names, [p.bands[n].scale for n in names], [p.bands[n].offset for n in names])
        if problem:
            warnings.warn(f"{p.product_id}: {problem}", ReflectanceScaleWarning, stacklevel=4)
        arrays.append(values)
        read.append((p, resampled, problem or ""))
    if not arrays:
        raise InputDataError(f"no product could be read; the first was set aside because {table.rows[0]['reason']}")
    return np.stack(arrays), read


def stack_products(items, *, bands=None, chunks=None, source="") -> xr.DataArray:
    """Read products (:class:`Product` or :class:`SetAside`) into one ``(time, band, y, x)`` stack.

    Parameters
    ----------
    items : iterable of Product or SetAside
    bands : list of str, optional
        Bands to read (``B02 ... B12, SCL``); a product lacking one is set
        aside. Default: those of :data:`kit.raster.sentinel2.DEFAULT_BANDS`
        that every product has.
    chunks : None, "auto" or int
        As in :func:`kit.raster.read_stack`: None reads into memory, else a
        Dask stack with one chunk per product (read lazily, so reflectances
        are not checked and a file that fails to decode fails at compute time).
    source : str
        The input path, for ``attrs["source"]``.

    Returns
    -------
    xarray.DataArray (time, band, y, x), uint16
        With ``spatial_ref``, ``scale`` (reflectance per DN) and ``offset``
        (DN) coordinates ``(time, band)`` (NaN and 0 for SCL),
        ``attrs["nodata"]`` (0), ``attrs["source"]`` and ``attrs["products"]``
        (a pandas DataFrame, columns :data:`TABLE_COLUMNS`, the set-aside
        products included with their reason).

    Raises
    ------
    kit.errors.InputDataError
        No readable product; products of several tiles or CRSs, or on different grids.
    """
    table = _Table()
    products = []
    for item in items:
        if isinstance(item, SetAside):
            table.set_aside(item)
        else:
            products.append(item)
    if not products:
        raise InputDataError(f"no Sentinel-2 product could be read in {source}"
                             + (f"; the first was set aside because {table.rows[0]['reason']}" if table.rows else ""))
    _check_one_tile(products)  # before duplicates: two tiles of one datatake share a date
    products = _one_per_date(products, table)
    names, products = _choose_bands(products, bands, table)
    gridded = _grids(products, names, table)
    if not gridded:
        raise InputDataError(f"no Sentinel-2 product could be read in {source}; the first was set aside because "
                             f"{table.rows[0]['reason']}")
    grid = _check_one_grid(gridded)
    data, read = _read_all(gridded, names, grid, chunks, table)
    return _assemble(data, read, names, grid, table, source)


def _assemble(data, read, names, grid, table, source):
    crs, t, (height, width) = grid
    scale = np.array([[np.nan if n == "SCL" else p.bands[n].scale for n in names] for p, _, _ in read])
    offset = np.array([[0.0 if n == "SCL" else p.bands[n].offset for n in names] for p, _, _ in read])
    for (p, resampled, problem), s, o in zip(read, scale, offset):
        note = "; ".join(x for x in (p.note, problem) if x)
        table.rows.append(product_row(p, scale=s, offset=o, names=names, resampled=resampled, note=note))
    x = t.c + (np.arange(width) + 0.5) * t.a
    y = t.f + (np.arange(height) + 0.5) * t.e
    coords = {
        "time": [day(p.date) for p, _, _ in read],
        "band": names, "y": ("y", y, {"units": "m"}), "x": ("x", x, {"units": "m"}),
        "scale": (("time", "band"), scale, {"long_name": "reflectance per digital number", "units": "1"}),
        "offset": (("time", "band"), offset, {"long_name": "digital numbers added before scaling", "units": "DN"}),
    }
    stack = xr.DataArray(data, dims=("time", "band", "y", "x"), coords=coords, name="reflectance",
                         attrs={"nodata": 0, "source": str(source), "products": table.frame()})
    return set_georef(stack, crs, t)
