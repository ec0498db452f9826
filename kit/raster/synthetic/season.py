"""A season of Sentinel-2-like Level-2A GeoTIFFs over rectangular parcels, written strip by strip.

One file per date, ``YYYY-MM-DD.tif``, bands ``B04, B08, SCL`` as uint16,
deflate-compressed Cloud-Optimized GeoTIFF without overviews (512-pixel
tiles). Reflectances follow processing baseline 04.00 and later: DN =
reflectance × 10 000 + 1000, declared as GDAL scale 1e-4 and offset -0.1
(reflectance = DN × scale + offset), which :func:`kit.raster.read_sentinel2`
honours. Parcels (``fields.tif``, int32 ``field_id`` per pixel, 0 on the
one-pixel tracks between them) are rows of random height cut into parcels of
random width; each has its own green-up, peak and harvest. Clouds are smooth
blobs (SCL 8 and 9) that cover a random share of each date, whole parcels
included, so some field-dates have no clear pixel.

Memory stays at a few strips whatever the size, so a whole 10 m quarter tile
(5490 × 5490) can be written on a small machine.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kit.raster.synthetic.scene import CRS, ORIGIN_XY_M

__all__ = ["SEASON_BANDS", "write_season"]

#: Bands of each date's file, in order.
SEASON_BANDS = ("B04", "B08", "SCL")
_STRIP_ROWS = 512
_CLOUD_CELL_PX = 96  # clouds vary over about this many pixels, more than a parcel


def _grid(n_fields: int, size: int, rng):
    """Row edges and, per row of parcels, column edges: ``rows × cols == n_fields`` parcels."""
    rows = int(np.sqrt(n_fields))
    while n_fields % rows:
        rows -= 1
    cols = n_fields // rows
    if size // rows < 3 or size // cols < 3:
        raise ValueError(f"{n_fields} fields do not fit {size} x {size} pixels: give fewer fields or a larger size")

    def edges(n, count):
        step = n / count
        inner = np.arange(1, count) * step + rng.uniform(-0.3, 0.3, count - 1) * step
        return np.concatenate([[0], np.round(inner).astype(int), [n]])

    return edges(size, rows), np.stack([edges(size, cols) for _ in range(rows)]), cols


def _labels(r0, r1, size, row_edges, col_edges, cols):
    """``field_id`` (1..n) of rows ``r0:r1``, 0 on the tracks (the first row and column of each parcel)."""
    r = np.arange(r0, r1)
    band = np.searchsorted(row_edges, r, side="right") - 1
    c = np.arange(size)
    col = np.stack([np.searchsorted(col_edges[b], c, side="right") - 1 for b in band])
    labels = (band[:, None] * cols + col + 1).astype(np.int32)
    track = np.isin(r, row_edges)[:, None] | (c[None, :] == col_edges[band][np.arange(len(r))[:, None], col])
    return np.where(track, 0, labels)


def _smooth(coarse, r0, r1, size):
    """Bilinear interpolation of a coarse grid (one value per ``_CLOUD_CELL_PX``) onto rows ``r0:r1``."""
    def axis(idx):
        pos = idx / _CLOUD_CELL_PX
        i = np.floor(pos).astype(int)
        return i, pos - i

    (ri, rw), (ci, cw) = axis(np.arange(r0, r1)), axis(np.arange(size))
    top = coarse[ri][:, ci] * (1 - cw) + coarse[ri][:, ci + 1] * cw
    bottom = coarse[ri + 1][:, ci] * (1 - cw) + coarse[ri + 1][:, ci + 1] * cw
    return top * (1 - rw)[:, None] + bottom * rw[:, None]


def _strip(labels, ndvi_field, cloud, cover, rng):
    """``(B04, B08, SCL)`` digital numbers of one strip on one date."""
    inside = labels > 0
    ndvi = np.where(inside, ndvi_field[labels], 0.12)
    nir = np.where(inside, 0.22 + 0.3 * ndvi, 0.26) * rng.normal(1.0, 0.03, labels.shape)
    red = nir * (1 - ndvi) / (1 + ndvi) * rng.normal(1.0, 0.03, labels.shape)
    cloudy = cloud > 1 - cover
    thick = cloud > 1 - cover * 0.6
    scl = np.where(inside, 4, 5)
    scl = np.where(cloudy, np.where(thick, 9, 8), scl)
    red, nir = np.where(cloudy, 0.35, red), np.where(cloudy, 0.4, nir)
    dn = [np.clip(np.round(b * 10_000) + 1000, 1, 65_535) for b in (red, nir)]
    return np.stack(dn + [scl]).astype(np.uint16)


def write_season(folder, *, size: int = 300, dates: int = 3, n_fields: int = 50, seed: int = 0,
                 pixel_m: float = 10.0, start: str = "2024-11-15", every_days: int = 15) -> Path:
    """Write ``dates`` files ``YYYY-MM-DD.tif`` (B04, B08, SCL) and ``fields.tif`` into ``folder``.

    Parameters
    ----------
    folder : path, created if missing
    size : int, pixels per side (5490: a quarter of a Sentinel-2 tile at 10 m)
    dates : int, acquisitions ``every_days`` apart from ``start``
    n_fields : int, parcels (any factorisation ``rows × cols`` whose parcels are at least 3 pixels)
    seed : int, same seed, same files
    pixel_m : float, m

    Returns
    -------
    Path of the folder: the imagery in ``folder/images``, the labels in ``folder/fields.tif``.

    Examples
    --------
    >>> import tempfile, rasterio
    >>> out = write_season(tempfile.mkdtemp(), size=64, dates=2, n_fields=6)
    >>> sorted(p.name for p in (out / "images").iterdir()), rasterio.open(out / "images/2024-11-15.tif").offsets
    (['2024-11-15.tif', '2024-11-30.tif'], (-0.1, -0.1, 0.0))
    """
    import rasterio
    from affine import Affine

    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    row_edges, col_edges, cols = _grid(n_fields, size, rng)
    gain, peak_day = rng.uniform(0.55, 1.0, n_fields + 1), rng.normal(95, 12, n_fields + 1)
    days = np.arange(dates) * every_days
    cover = rng.uniform(0.0, 0.55, dates) * (np.arange(dates) > 0)  # the first date is clear
    n_coarse = size // _CLOUD_CELL_PX + 2
    profile = {"driver": "GTiff", "width": size, "height": size, "crs": CRS, "tiled": True, "blockxsize": 512,
               "blockysize": 512, "compress": "deflate", "transform": Affine(pixel_m, 0.0, ORIGIN_XY_M[0], 0.0, -pixel_m, ORIGIN_XY_M[1])}
    _write_labels(folder / "fields.tif", profile, size, (row_edges, col_edges, cols))
    for i, day in enumerate(days):
        ndvi_field = 0.15 + 0.7 * gain * np.exp(-(((day - peak_day) / 45.0) ** 2))
        coarse = np.random.default_rng([seed, i]).uniform(0, 1, (n_coarse, n_coarse))
        date = pd.Timestamp(start) + pd.Timedelta(days=int(day))
        with _cog(folder / "images" / f"{date:%Y-%m-%d}.tif", {**profile, "count": 3, "dtype": "uint16"}) as dst:
            for r0 in range(0, size, _STRIP_ROWS):
                r1 = min(size, r0 + _STRIP_ROWS)
                labels = _labels(r0, r1, size, row_edges, col_edges, cols)
                cloud = _smooth(coarse, r0, r1, size)
                dst.write(_strip(labels, ndvi_field, cloud, cover[i], np.random.default_rng([seed, i, r0])),
                          window=rasterio.windows.Window(0, r0, size, r1 - r0))
            dst.scales, dst.offsets = (1e-4, 1e-4, 1.0), (-0.1, -0.1, 0.0)
            for b, name in enumerate(SEASON_BANDS, start=1):
                dst.set_band_description(b, name)
    return folder


def _write_labels(path, profile, size, grid):
    import rasterio

    with _cog(path, {**profile, "count": 1, "dtype": "int32"}) as dst:
        for r0 in range(0, size, _STRIP_ROWS):
            r1 = min(size, r0 + _STRIP_ROWS)
            dst.write(_labels(r0, r1, size, *grid)[None], window=rasterio.windows.Window(0, r0, size, r1 - r0))
        dst.set_band_description(1, "field_id")


class _cog:
    """A tiled GeoTIFF written window by window, then copied into a COG (the COG driver writes only by copy)."""

    def __init__(self, path, profile):
        self.path, self.profile = Path(path), profile
        self.tmp = self.path.with_name(f".{self.path.name}.strips.tif")

    def __enter__(self):
        import rasterio

        self.dst = rasterio.open(self.tmp, "w", **self.profile)
        return self.dst

    def __exit__(self, kind, *_):
        import rasterio.shutil

        self.dst.close()
        if kind is None:
            rasterio.shutil.copy(self.tmp, self.path, driver="COG", COMPRESS="DEFLATE", BLOCKSIZE=512, OVERVIEWS="NONE")
        self.tmp.unlink(missing_ok=True)
        return False
