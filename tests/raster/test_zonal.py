"""Zonal statistics: the label-sum primitive on every namespace, and agreement with xarray-spatial."""
import numpy as np
import pytest
import xarray as xr

from kit import raster
from kit.backend import to_numpy
from kit.raster.synthetic import demo_scene

RNG = np.random.default_rng(3)
LABELS = RNG.integers(0, 9, size=(41, 37)).astype(np.int64)
VALUES = RNG.normal(0.4, 0.2, size=(41, 37))
VALUES[RNG.random(VALUES.shape) < 0.1] = np.nan  # masked (cloudy) pixels



def _reference(labels, values, n):
    """Loop per label with NumPy's nan-aware reductions: slow and obviously right."""
    out = {"mean": [], "count": [], "std": [], "sum": []}
    for k in range(n):
        v = values[labels == k]
        v = v[np.isfinite(v)]
        out["count"].append(v.size)
        out["sum"].append(v.sum())
        out["mean"].append(v.mean() if v.size else np.nan)
        out["std"].append(v.std() if v.size else np.nan)
    return {k: np.array(v, float) for k, v in out.items()}


def test_zonal_stats_match_loop_reference_on_every_namespace(namespace):
    name, convert = namespace
    ref = _reference(LABELS, VALUES, 10)
    lab, val = convert(LABELS), convert(VALUES)
    out = raster.zonal_stats(lab, val, 10, ("mean", "count", "std", "sum"))
    if name.startswith("array_api_strict"):
        assert out["mean"].device == val.device
    for key in ref:
        np.testing.assert_allclose(to_numpy(out[key]), ref[key], rtol=1e-12, atol=1e-12, equal_nan=True)


def test_stack_reduction_equals_per_layer():
    stack = np.stack([VALUES, VALUES * 2, np.full_like(VALUES, np.nan)])
    out = raster.zonal_stats(LABELS, stack, 10, ("mean", "count"))
    assert out["mean"].shape == (3, 10)
    for t in range(3):
        single = raster.zonal_stats(LABELS, stack[t], 10, ("mean", "count"))
        np.testing.assert_array_equal(out["mean"][t], single["mean"])
    assert np.isnan(out["mean"][2]).all() and (out["count"][2] == 0).all()  # fully masked: NaN, counted 0


def test_matches_xarray_spatial_zonal_stats():
    xrspatial = pytest.importorskip("xrspatial")
    scene = demo_scene(64, seed=5)
    ndvi = raster.ndvi(scene.nir, scene.red).astype(np.float64)
    zones = scene.field_id.astype(np.int64)
    theirs = xrspatial.zonal_stats(zones, ndvi, stats_funcs=["mean", "count", "std", "sum"]).set_index("zone")
    n = int(zones.max()) + 1
    ours = raster.zonal_stats(zones.values, ndvi.values, n, ("mean", "count", "std", "sum"))
    ids = theirs.index.to_numpy().astype(int)
    np.testing.assert_allclose(ours["mean"][ids], theirs["mean"], rtol=1e-10)
    np.testing.assert_allclose(ours["sum"][ids], theirs["sum"], rtol=1e-10)
    np.testing.assert_allclose(ours["std"][ids], theirs["std"], rtol=1e-8)
    np.testing.assert_array_equal(ours["count"][ids], theirs["count"])


def _square(x0, y0, size_m):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + size_m, y0], [x0 + size_m, y0 - size_m], [x0, y0 - size_m], [x0, y0]]]}


def test_rasterize_reprojects_fields_given_in_wgs84():
    from rasterio.warp import transform_geom

    scene = demo_scene(32)
    x0, y0 = float(scene.x[4]) - 10, float(scene.y[4]) + 10
    utm = _square(x0, y0, 200.0)  # 10 x 10 pixels
    in_utm = raster.rasterize_fields((["A"], [utm], "EPSG:32629"), scene.nir)
    lonlat = transform_geom("EPSG:32629", "EPSG:4326", utm)
    in_wgs84 = raster.rasterize_fields({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"field_id": "A"}, "geometry": lonlat}]}, scene.nir)
    assert in_utm.pixels.tolist() == [100]
    # Reprojection bends the edges slightly: the same pixels up to the boundary row/column.
    assert abs(int(in_wgs84.pixels[0]) - 100) <= 10
    assert (in_wgs84.labels.values == in_utm.labels.values).mean() > 0.99


def test_field_outside_raster_is_counted_not_silent():
    scene = demo_scene(16)
    inside = _square(float(scene.x[2]) - 10, float(scene.y[2]) + 10, 60)
    far = _square(float(scene.x[0]) + 50_000, float(scene.y[0]), 60)
    with pytest.warns(raster.FieldsOutsideRasterWarning, match="1 of 2 field"):
        idx = raster.rasterize_fields((["in", "far"], [inside, far], "EPSG:32629"), scene.nir)
    assert idx.field_ids == ["in"] and idx.outside == ["far"]
    means = raster.zonal_mean(raster.ndvi(scene.nir, scene.red), idx)
    assert list(means.field.values) == ["in"] and np.isfinite(means.values).all()


def test_zonal_mean_dask_stack_equals_eager():
    dask_array = pytest.importorskip("dask.array")
    scene = demo_scene(32, seed=2)
    ids = [f"F{i}" for i in range(1, int(scene.field_id.max()) + 1)]
    labels = scene.field_id.where(scene.field_id > 0, 0).values
    idx = raster.FieldIndex(xr.DataArray(labels, dims=("y", "x")), ids, np.bincount(labels.ravel(), minlength=len(ids) + 1)[1:], [])
    stack = xr.concat([scene.nir, scene.red, scene.green], "time").assign_coords(time=[0, 1, 2])
    lazy = stack.copy(data=dask_array.from_array(stack.values, chunks=(1, 16, 16)))
    np.testing.assert_allclose(raster.zonal_mean(lazy, idx).values, raster.zonal_mean(stack, idx).values, equal_nan=True)
