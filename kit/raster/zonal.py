"""Zonal statistics: rasterize field polygons once, then reduce pixels by label.

The array API has no ``bincount``/scatter, so the reductions rest on one
small primitive, :func:`kit.backend.sum_by_label`, whose per-backend choice
(NumPy/CuPy ``bincount``, Torch ``index_add_``, anything else through NumPy
on the host) lives in :mod:`kit.backend` like every other backend choice.
Everything here (mean, std, counts, time stacks) is written once on top of it.

Labels are integers ``0..n_labels-1`` where 0 means "no field"; a
:class:`FieldIndex` maps them to the users' ``field_id`` strings.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from kit.backend import array_namespace, sum_by_label, to_numpy
from kit.errors import InputDataError
from kit.raster.georef import get_crs, get_transform

__all__ = [
    "FieldIndex", "FieldsOutsideRasterWarning", "rasterize_fields", "read_field_polygons",
    "zonal_mean", "zonal_stats", "zonal_sums_by_chunk",
]


class FieldsOutsideRasterWarning(UserWarning):
    """Some field polygons cover no pixel of the raster; the message counts and names them."""


# ---------------------------------------------------------------- reductions
def zonal_stats(labels, values, n_labels: int, stats=("mean", "count")) -> dict:
    """Per-label statistics of ``values``, ignoring NaN pixels.

    Parameters
    ----------
    labels : integer array (..., y, x)
        Label per pixel, 0..n_labels-1 (0 is usually "outside fields").
    values : float array (..., y, x)
        Same shape as ``labels`` or broadcastable from it over leading
        dims, e.g. labels ``(y, x)`` and values ``(time, y, x)``: then each
        statistic is ``(time, n_labels)``.
    n_labels : int
    stats : tuple of {"count", "sum", "mean", "std", "var"}

    Returns
    -------
    dict of name -> array (..., n_labels), on the values' namespace.
        ``count`` is the number of valid (non-NaN) pixels; mean/std/var are
        NaN where the count is 0 (a field fully clouded that date).

    Examples
    --------
    >>> import numpy as np
    >>> lab = np.array([[1, 1], [2, 0]])
    >>> val = np.array([[0.2, np.nan], [0.6, 9.0]])
    >>> out = zonal_stats(lab, val, 3, ("mean", "count"))
    >>> out["mean"].tolist(), out["count"].tolist()
    ([9.0, 0.2, 0.6], [1.0, 1.0, 1.0])
    """
    xp = array_namespace(labels, values)
    unknown = set(stats) - {"count", "sum", "mean", "std", "var"}
    if unknown:
        raise ValueError(f"unknown statistic(s) {sorted(unknown)}; use count, sum, mean, std, var")
    if not xp.isdtype(values.dtype, "real floating"):
        values = xp.astype(values, xp.float64)
    lead = values.shape[: values.ndim - labels.ndim]
    n_lead = int(np.prod(lead)) if lead else 1
    # One call for a whole stack: label k of layer i becomes i * n_labels + k.
    offsets = xp.reshape(xp.arange(n_lead, dtype=labels.dtype, device=labels.device) * n_labels, (n_lead,) + (1,) * labels.ndim)
    flat_labels = xp.reshape(labels, (1,) + tuple(labels.shape)) + offsets
    flat_values = xp.reshape(values, (n_lead,) + tuple(labels.shape))
    valid = ~xp.isnan(flat_values)
    clean = xp.where(valid, flat_values, xp.zeros_like(flat_values))
    total = n_lead * n_labels
    count = sum_by_label(xp.astype(valid, values.dtype), flat_labels, total)
    out = {}
    need_sum = {"sum", "mean", "std", "var"} & set(stats)
    if need_sum:
        s = sum_by_label(clean, flat_labels, total)
    safe = xp.where(count > 0, count, xp.ones_like(count))
    nan = xp.full_like(count, float("nan"))
    if "count" in stats:
        out["count"] = count
    if "sum" in stats:
        out["sum"] = s
    if {"mean", "std", "var"} & set(stats):
        mean = xp.where(count > 0, s / safe, nan)
        if "mean" in stats:
            out["mean"] = mean
        if {"std", "var"} & set(stats):
            # Two-pass (centred) variance: the one-pass formula loses digits on reflectances near 0.3.
            mean0 = xp.where(count > 0, mean, xp.zeros_like(mean))
            at_pixel = xp.reshape(xp.take(mean0, xp.reshape(flat_labels, (-1,)), axis=0), flat_values.shape)
            centred = xp.where(valid, flat_values - at_pixel, xp.zeros_like(flat_values))
            var = xp.where(count > 0, sum_by_label(centred * centred, flat_labels, total) / safe, nan)
            if "var" in stats:
                out["var"] = var
            if "std" in stats:
                out["std"] = xp.sqrt(var)
    return {k: xp.reshape(v, tuple(lead) + (n_labels,)) for k, v in out.items()}


# ---------------------------------------------------------------- polygons
@dataclass
class FieldIndex:
    """Labels of a rasterized field layer.

    Attributes
    ----------
    labels : xarray.DataArray (y, x), int32
        0 outside fields, ``k`` for ``field_ids[k - 1]``.
    field_ids : list of str
        Fields that got at least one pixel, in label order.
    pixels : numpy array of int
        Pixels per field (same order).
    outside : list of str
        Fields whose polygon covers no pixel centre of the raster.
    """

    labels: xr.DataArray
    field_ids: list
    pixels: np.ndarray
    outside: list

    @property
    def n_labels(self) -> int:
        return len(self.field_ids) + 1


def read_field_polygons(path_or_doc, id_column: str = "field_id") -> tuple[list, list, str | None, list]:
    """Read a GeoJSON FeatureCollection of field polygons.

    Returns
    -------
    (field_ids, geometries, crs, properties)
        ``crs`` is the legacy ``crs`` member's name (e.g.
        ``"urn:ogc:def:crs:EPSG::32629"``) or None (RFC 7946: WGS 84).
    """
    if isinstance(path_or_doc, dict):
        doc, source = path_or_doc, "fields GeoJSON"
    else:
        source = str(path_or_doc)
        try:
            doc = json.loads(Path(path_or_doc).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputDataError(f"fields file {source} does not exist; give a GeoJSON of field polygons") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputDataError(f"{source} is not valid GeoJSON ({exc}); export the layer as GeoJSON") from None
    feats = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(feats, list) or not feats:
        raise InputDataError(f"{source} has no features; give a GeoJSON FeatureCollection of field polygons")
    ids, geoms, props = [], [], []
    for i, f in enumerate(feats):
        prop = dict(f.get("properties") or {})
        if id_column not in prop:
            raise InputDataError(f"{source} feature {i + 1} has no {id_column!r} property; give every polygon a {id_column}")
        geom = f.get("geometry")
        if not geom or geom.get("type") not in ("Polygon", "MultiPolygon"):
            raise InputDataError(f"{source} feature {i + 1} ({prop[id_column]!r}) is not a Polygon or MultiPolygon")
        ids.append(str(prop[id_column]))
        geoms.append(geom)
        props.append(prop)
    if len(set(ids)) != len(ids):
        dup = next(x for x in ids if ids.count(x) > 1)
        raise InputDataError(f"{source}: {id_column} {dup!r} appears more than once; field ids must be unique")
    crs = (((doc.get("crs") or {}).get("properties") or {}).get("name")) if isinstance(doc.get("crs"), dict) else None
    return ids, geoms, crs, props


def rasterize_fields(fields, like: xr.DataArray, *, id_column: str = "field_id", all_touched: bool = False) -> FieldIndex:
    """Burn field polygons into a label raster on the grid of ``like``, once.

    Polygons in another CRS than the raster are reprojected to it (GeoJSON
    without a ``crs`` member is WGS 84, RFC 7946). A pixel belongs to the
    field whose polygon contains its centre (later features win overlaps).

    Parameters
    ----------
    fields : path, GeoJSON dict, or (field_ids, geometries, crs)
    like : xarray.DataArray with ``y, x`` dims and a ``spatial_ref`` coordinate
    id_column : str

    Returns
    -------
    FieldIndex
        Fields that cover no pixel are listed in ``outside`` and announced
        with one :class:`FieldsOutsideRasterWarning` that counts them.

    Examples
    --------
    >>> from kit.raster.synthetic import demo_scene
    >>> scene = demo_scene(16)
    >>> x0, y0 = float(scene.x[0]) - 10, float(scene.y[0]) + 10
    >>> square = {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + 80, y0], [x0 + 80, y0 - 80], [x0, y0 - 80], [x0, y0]]]}
    >>> idx = rasterize_fields((["F1"], [square], "EPSG:32629"), scene.nir)
    >>> idx.field_ids, idx.pixels.tolist()
    (['F1'], [16])
    """
    from rasterio.crs import CRS
    from rasterio.features import rasterize
    from rasterio.warp import transform_geom

    if isinstance(fields, tuple):
        ids, geoms, crs = fields[:3]
    else:
        ids, geoms, crs, _ = read_field_polygons(fields, id_column)
    raster_crs, transform = get_crs(like), get_transform(like)
    if raster_crs is None or transform is None:
        raise InputDataError("the raster has no CRS or transform (spatial_ref coordinate); read it with kit.raster.read_stack")
    src_crs = CRS.from_user_input(crs) if crs else CRS.from_epsg(4326)
    if src_crs != raster_crs:
        geoms = [transform_geom(src_crs, raster_crs, g) for g in geoms]
    shape = (like.sizes["y"], like.sizes["x"])
    burned = rasterize(
        ((g, i + 1) for i, g in enumerate(geoms)), out_shape=shape, transform=transform, fill=0, dtype="int32",
        all_touched=all_touched,
    )
    pixels = np.bincount(burned.ravel(), minlength=len(ids) + 1)[1:]
    present = pixels > 0
    outside = [f for f, ok in zip(ids, present) if not ok]
    if outside:
        warnings.warn(
            f"{len(outside)} of {len(ids)} field(s) cover no pixel of the raster (e.g. {outside[0]!r}); "
            "they are left out of the zonal statistics and listed as skipped",
            FieldsOutsideRasterWarning, stacklevel=2,
        )
    # Renumber so labels are contiguous over the fields that are present.
    remap = np.zeros(len(ids) + 1, dtype=np.int32)
    remap[1:][present] = np.arange(1, int(present.sum()) + 1, dtype=np.int32)
    labels = remap[burned]
    da = xr.DataArray(labels, dims=("y", "x"), coords={k: like.coords[k] for k in ("y", "x", "spatial_ref") if k in like.coords},
                      name="field_label", attrs={"long_name": "field label, 0 outside fields"})
    return FieldIndex(da, [f for f, ok in zip(ids, present) if ok], pixels[present], outside)


def zonal_mean(values: xr.DataArray, index: FieldIndex, *, backend=None, min_valid_fraction: float = 0.0) -> xr.DataArray:
    """Mean of ``values`` per field, ignoring NaN (masked) pixels.

    Parameters
    ----------
    values : xarray.DataArray (..., y, x), NumPy- or Dask-backed
        A Dask-backed stack is reduced chunk by chunk, over its leading dims
        and ``y, x`` alike (:func:`zonal_sums_by_chunk`), so memory is bounded
        by its chunks, not by the stack or the tile.
    index : FieldIndex
        Its labels may be Dask-backed too (:func:`kit.raster.read_field_labels`).
    backend : kit.backend.Backend, optional
        Where the reduction runs (default: NumPy on the host).
    min_valid_fraction : float, 0-1
        A field-date whose share of valid pixels is at or below this gives NaN
        (e.g. 0.5: half-clouded fields are not trusted).

    Returns
    -------
    xarray.DataArray (..., field), with ``valid_fraction`` as a coordinate.
        The same values (to float rounding) and NaN whether ``values`` is in
        memory or Dask-backed.

    Examples
    --------
    >>> import dask.array as da
    >>> idx = FieldIndex(xr.DataArray(np.array([[1, 1], [2, 0]]), dims=("y", "x")), ["A", "B"], np.array([2, 1]), [])
    >>> values = xr.DataArray(np.array([[0.2, np.nan], [0.6, 9.0]]), dims=("y", "x"))
    >>> zonal_mean(values, idx).values.tolist(), zonal_mean(values.chunk(1), idx).values.tolist()
    ([0.2, 0.6], [0.2, 0.6])
    """
    lead_dims = values.dims[:-2]
    n = index.n_labels
    data = values.data
    if hasattr(data, "chunks") and hasattr(data, "map_blocks"):
        sums, count = zonal_sums_by_chunk(data, index.labels.data, n)
        dtype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.float64
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, sums / count, np.nan).astype(dtype)
    else:
        lab, val = np.asarray(index.labels.data), np.asarray(data)
        if backend is not None:
            lab, val = backend.asarray(lab), backend.asarray(val)
        out = zonal_stats(lab, val, n, ("mean", "count"))
        mean, count = to_numpy(out["mean"]), to_numpy(out["count"])
    mean, count = mean[..., 1:], count[..., 1:]
    frac = count / np.asarray(index.pixels)
    mean = np.where(frac > min_valid_fraction, mean, np.nan)
    coords = {d: values.coords[d] for d in lead_dims if d in values.coords}
    out = xr.DataArray(mean, dims=lead_dims + ("field",), coords={**coords, "field": index.field_ids}, name=values.name)
    return out.assign_coords(valid_fraction=(lead_dims + ("field",), frac))


def zonal_sums_by_chunk(values, labels, n_labels: int):
    """Per-label sum and count of the non-NaN pixels of a Dask array, one :func:`zonal_stats` call per chunk.

    Each chunk gives its partial sums in float64; Dask adds them up in a
    tree, so no step holds more than a few chunks and ``(..., n_labels)``
    partials: the tile never has to fit in memory.

    Parameters
    ----------
    values : dask.array (..., y, x), float (NaN: masked)
    labels : array (y, x), NumPy or Dask, integers 0..n_labels-1 (rechunked to the values' ``y, x`` chunks)
    n_labels : int

    Returns
    -------
    (sums, counts) : numpy float64 arrays (..., n_labels)

    Examples
    --------
    >>> import dask.array as da
    >>> values = da.from_array(np.array([[0.2, np.nan, 0.4], [0.6, 9.0, 0.5]]), chunks=2)
    >>> sums, counts = zonal_sums_by_chunk(values, np.array([[1, 1, 1], [2, 0, 2]]), 3)
    >>> sums.round(6).tolist(), counts.tolist()
    ([9.0, 0.6, 1.1], [1.0, 2.0, 2.0])
    """
    import dask.array as da

    labels = da.asarray(labels).rechunk(values.chunks[-2:])
    nd = values.ndim

    def partial(block, lab):
        xp = array_namespace(block, lab)
        out = zonal_stats(lab, xp.astype(block, xp.float64), n_labels, ("sum", "count"))
        both = xp.stack([out["sum"], out["count"]], axis=-2)
        return xp.reshape(both, tuple(both.shape[:-2]) + (1, 1, 2, n_labels))

    ones = tuple((1,) * len(c) for c in values.chunks[-2:])
    parts = da.map_blocks(partial, values, labels, new_axis=[nd, nd + 1], dtype=np.float64,
                          chunks=values.chunks[:-2] + ones + ((2,), (n_labels,)))
    total = np.asarray(parts.sum(axis=(nd - 2, nd - 1)).compute())
    return total[..., 0, :], total[..., 1, :]
