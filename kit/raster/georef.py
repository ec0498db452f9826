"""CRS and transform on xarray objects, as a ``spatial_ref`` coordinate.

The convention is CF's grid mapping as rioxarray writes it: a scalar
coordinate ``spatial_ref`` whose attributes hold ``crs_wkt`` and
``GeoTransform``. Being a coordinate, it survives arithmetic, so an index
computed from bands keeps the bands' georeferencing.
"""
from __future__ import annotations

import xarray as xr


def set_georef(obj, crs, transform):
    """Return ``obj`` with a ``spatial_ref`` coordinate for ``crs`` and ``transform``.

    Parameters
    ----------
    obj : xarray.DataArray or Dataset
    crs : str or rasterio CRS, e.g. ``"EPSG:32629"``
    transform : sequence of 6 floats or affine.Affine
        GDAL/affine order ``(a, b, c, d, e, f)``: pixel width, row rotation,
        upper-left x, column rotation, pixel height (negative), upper-left y.
    """
    from rasterio.crs import CRS

    crs = CRS.from_user_input(crs)
    a, b, c, d, e, f = tuple(transform)[:6]
    attrs = {"crs_wkt": crs.to_wkt(), "spatial_ref": crs.to_wkt(), "GeoTransform": f"{c} {a} {b} {f} {d} {e}"}
    if crs.to_epsg():
        attrs["epsg"] = crs.to_epsg()
    return obj.assign_coords(spatial_ref=xr.Variable((), 0, attrs))


def get_crs(obj):
    """The rasterio CRS of ``obj``, or None."""
    from rasterio.crs import CRS

    if "spatial_ref" in obj.coords:
        return CRS.from_wkt(obj.coords["spatial_ref"].attrs["crs_wkt"])
    if "crs" in obj.attrs:
        return CRS.from_user_input(obj.attrs["crs"])
    return None


def get_transform(obj):
    """The affine transform of ``obj``, or None."""
    from affine import Affine

    if "spatial_ref" in obj.coords and "GeoTransform" in obj.coords["spatial_ref"].attrs:
        c, a, b, f, d, e = map(float, obj.coords["spatial_ref"].attrs["GeoTransform"].split())
        return Affine(a, b, c, d, e, f)
    if "transform" in obj.attrs:
        return Affine(*obj.attrs["transform"][:6])
    return None
