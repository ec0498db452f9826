"""The embedded demo scene: a small synthetic multispectral scene of fields around a reservoir (Saïs plain).

Generated deterministically from a seed, georeferenced with :mod:`kit.raster.georef`; the quickstart
notebook and the raster doctests run on it.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from kit.raster.georef import set_georef

# Typical surface reflectances (Sentinel-2 B02, B03, B04, B08), unitless.
_SPECTRA = {
    "green_vegetation": (0.030, 0.060, 0.035, 0.420),
    "bare_soil": (0.090, 0.130, 0.180, 0.250),
    "water": (0.060, 0.050, 0.030, 0.010),
    "built": (0.120, 0.130, 0.140, 0.180),
}
BANDS = ("blue", "green", "red", "nir")
CRS = "EPSG:32629"  # WGS 84 / UTM zone 29N, which covers the Saïs plain near Meknès
ORIGIN_XY_M = (330_000.0, 3_760_000.0)  # upper-left corner


def demo_scene(size: int = 128, seed: int = 0, pixel_m: float = 20.0) -> xr.Dataset:
    """Generate a ``size`` × ``size`` scene of crop fields, a reservoir and a village.

    Parameters
    ----------
    size : int
        Pixels per side.
    seed : int
        Random seed; the same seed gives the same scene on every machine.
    pixel_m : float, m
        Pixel size.

    Returns
    -------
    xarray.Dataset
        Variables ``blue, green, red, nir`` (surface reflectance, unitless,
        float32), ``field_id`` (int32, 0 outside fields) and ``cover``
        (vegetation fraction, 0–1), on dims ``y, x`` with UTM coordinates
        (pixel centres, m) and a ``spatial_ref`` coordinate (CRS, transform).

    Examples
    --------
    >>> ds = demo_scene(32, seed=1)
    >>> sorted(ds.data_vars)
    ['blue', 'cover', 'field_id', 'green', 'nir', 'red']
    >>> from kit.raster.georef import get_crs
    >>> get_crs(ds).to_epsg()
    32629
    """
    rng = np.random.default_rng(seed)
    n_fields = max(4, size * size // 400)
    # Fields are the Voronoi cells of random seeds: irregular parcels like a cadastre.
    centres = rng.uniform(0, size, size=(n_fields, 2))
    yy, xx = np.mgrid[0:size, 0:size]
    d2 = (yy[..., None] - centres[:, 0]) ** 2 + (xx[..., None] - centres[:, 1]) ** 2
    field = np.argmin(d2, axis=-1).astype(np.int32) + 1
    cover_by_field = rng.beta(2.0, 1.6, size=n_fields + 1)
    cover = cover_by_field[field] * rng.uniform(0.85, 1.0, size=(size, size))

    # A reservoir in one corner and a village along one edge replace some fields.
    ry, rx, rr = size * 0.75, size * 0.2, size * 0.14
    water = (yy - ry) ** 2 / rr**2 + (xx - rx) ** 2 / (1.6 * rr) ** 2 < 1
    built = (xx > size * 0.82) & (yy < size * 0.3)
    fractions = {
        "green_vegetation": np.where(water | built, 0.0, cover),
        "bare_soil": np.where(water | built, 0.0, 1 - cover),
        "water": water.astype(float),
        "built": built.astype(float),
    }
    field[water | built] = 0

    data = {}
    for i, band in enumerate(BANDS):
        refl = sum(frac * _SPECTRA[k][i] for k, frac in fractions.items())
        refl = refl * rng.normal(1.0, 0.03, size=refl.shape)  # sensor and surface noise
        data[band] = (("y", "x"), np.clip(refl, 0.0, 1.0).astype(np.float32), {"units": "1", "long_name": f"{band} reflectance"})
    data["field_id"] = (("y", "x"), field, {"long_name": "field id, 0 outside fields"})
    data["cover"] = (("y", "x"), np.where(water | built, 0.0, cover).astype(np.float32), {"units": "1"})

    x0, y0 = ORIGIN_XY_M
    x = x0 + (np.arange(size) + 0.5) * pixel_m
    y = y0 - (np.arange(size) + 0.5) * pixel_m
    transform = (pixel_m, 0.0, x0, 0.0, -pixel_m, y0)
    ds = xr.Dataset(
        data,
        coords={"y": ("y", y, {"units": "m"}), "x": ("x", x, {"units": "m"})},
        attrs={"title": f"demo scene, seed {seed}", "generator": "kit.raster.synthetic.demo_scene"},
    )
    return set_georef(ds, CRS, transform)
