"""The Dask path chunk by chunk: windowed GeoTIFF reads, zonal means per spatial chunk, fields from a label raster."""
import warnings

import numpy as np
import pytest
import rasterio
import xarray as xr

from kit import raster
from kit.errors import InputDataError
from kit.raster.synthetic import write_season

da = pytest.importorskip("dask.array")

CHUNK = 128


@pytest.fixture(scope="module")
def season(tmp_path_factory):
    """300 x 300 px, 3 dates, 50 parcels, written as the benchmark writes the quarter tile."""
    return write_season(tmp_path_factory.mktemp("season"), size=300, dates=3, n_fields=50, seed=4)


def _clear_ndvi(stack):
    """NDVI of clear (SCL 4/5) pixels from the declared scale and offset, by hand."""
    refl = {}
    for b in ("B04", "B08"):
        dn = stack.sel(band=b)
        refl[b] = ((dn.where(dn != 0) + dn["offset"]) * dn["scale"]).astype(np.float32)
    ndvi = raster.ndvi(refl["B08"], refl["B04"])
    return ndvi.where(_clear(stack))


def _clear(stack):
    return xr.apply_ufunc(raster.scl_clear, stack.sel(band="SCL", drop=True), dask="allowed")


def test_lazy_folder_reads_blocks_of_the_chunk_size_and_equals_the_eager_read(season):
    eager = raster.read_sentinel2(season / "images")
    lazy = raster.read_sentinel2(season / "images", chunks=CHUNK)
    assert lazy.data.chunks[2:] == ((128, 128, 44), (128, 128, 44)) and lazy.data.chunks[:2] == ((1, 1, 1), (3,))
    # One windowed read per block: no task of the graph holds a whole file.
    reads = [k for k in lazy.data.__dask_graph__() if isinstance(k, tuple) and str(k[0]).startswith("geotiff-")]
    assert len(reads) == 3 * 3 * 3
    np.testing.assert_array_equal(lazy.values, eager.values)
    # GDAL scale 1e-4 and offset -0.1 reflectance: -1000 DN before scaling.
    assert lazy["scale"].sel(band="B04").values.tolist() == [1e-4] * 3
    assert lazy["offset"].sel(band="B08").values.tolist() == [-1000.0] * 3


def test_chunked_zonal_mean_equals_in_memory_with_the_same_nan_pattern(season):
    eager_idx = raster.read_field_labels(season / "fields.tif")
    lazy_idx = raster.read_field_labels(season / "fields.tif", chunks=CHUNK)
    assert lazy_idx.field_ids == eager_idx.field_ids and len(eager_idx.field_ids) == 50
    np.testing.assert_array_equal(lazy_idx.pixels, eager_idx.pixels)
    eager = raster.zonal_mean(_clear_ndvi(raster.read_sentinel2(season / "images")), eager_idx)
    values = _clear_ndvi(raster.read_sentinel2(season / "images", chunks=CHUNK))
    assert hasattr(values.data, "dask")  # still lazy: nothing read until the reduction
    lazy = raster.zonal_mean(values, lazy_idx)
    assert lazy.dtype == eager.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(lazy.values), np.isnan(eager.values))
    np.testing.assert_allclose(lazy.values, eager.values, rtol=0, atol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(lazy["valid_fraction"].values, eager["valid_fraction"].values)
    # A reference that never chunks: NumPy's nanmean per field.
    labels, ref = eager_idx.labels.values, _clear_ndvi(raster.read_sentinel2(season / "images")).values
    for k in (1, 17, 50):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of a field-date under cloud
            expected = np.nanmean(ref[:, labels == k].astype(np.float64), axis=1)
        np.testing.assert_allclose(lazy.values[:, k - 1], expected, rtol=0, atol=1e-6, equal_nan=True)


def test_a_field_without_a_clear_pixel_on_a_date_is_nan(season):
    idx = raster.read_field_labels(season / "fields.tif", chunks=CHUNK)
    stack = raster.read_sentinel2(season / "images", chunks=CHUNK)
    means = raster.zonal_mean(_clear_ndvi(stack), idx)
    clear = raster.zonal_mean(_clear(stack).astype(np.float64), idx)
    cloudy = clear.values == 0
    assert cloudy.any() and not cloudy.all(), "the fixture should hide some field-date under cloud entirely"
    assert np.isnan(means.values[cloudy]).all() and not np.isnan(means.values[~cloudy]).any()
    assert (means["valid_fraction"].values[cloudy] == 0).all()


def test_partial_sums_stay_lazy_per_chunk_and_match_a_plain_sum():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 6, (300, 300))
    values = rng.uniform(0, 1, (2, 300, 300))
    values[rng.random(values.shape) < 0.2] = np.nan
    sums, counts = raster.zonal_sums_by_chunk(da.from_array(values, chunks=(1, CHUNK, CHUNK)), labels, 6)
    for k in range(6):
        inside = values[:, labels == k]
        np.testing.assert_allclose(sums[:, k], np.nansum(inside, axis=1), rtol=1e-12)
        np.testing.assert_array_equal(counts[:, k], np.isfinite(inside).sum(axis=1))


def test_field_labels_keep_their_ids_and_refuse_floats(tmp_path):
    ids = xr.DataArray(np.array([[0, 905, 905], [31, 31, 905]], dtype=np.int32), dims=("y", "x"))
    idx = raster.field_index_from_labels(ids.chunk(1))
    assert idx.field_ids == ["31", "905"] and idx.pixels.tolist() == [2, 3]
    assert idx.labels.values.tolist() == [[0, 2, 2], [1, 1, 2]]
    with pytest.raises(InputDataError, match="not integers"):
        raster.field_index_from_labels(ids.astype(float))
    path = raster.write_geotiff(ids.astype(np.uint8), tmp_path / "two_bands.tif", crs="EPSG:32629",
                                transform=(10.0, 0.0, 0.0, 0.0, -10.0, 20.0))
    with rasterio.open(path) as src:
        assert src.count == 1
    assert raster.read_field_labels(path).field_ids == ["31", "137"]  # 905 wraps in uint8: the file's ids, as written
