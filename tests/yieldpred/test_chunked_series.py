"""The yield notebook's index series through Dask blocks equals the in-memory series, scale and offset honoured."""
import numpy as np
import pandas as pd
import pytest

from kit import raster
from kit.raster.synthetic import write_season
from kit.yieldpred.imagery import index_series_from_stack
from kit.yieldpred.notebook import LAZY_CHUNK_PX

pytest.importorskip("dask.array")


@pytest.fixture(scope="module")
def season(tmp_path_factory):
    return write_season(tmp_path_factory.mktemp("season"), size=300, dates=3, n_fields=50, seed=7)


def _series(season, chunks):
    stack = raster.read_sentinel2(season / "images", chunks=chunks)
    fields = raster.read_field_labels(season / "fields.tif", chunks=chunks)
    return index_series_from_stack(stack, None, indices=("ndvi",), field_index=fields, min_valid_fraction=0.0)


def test_dask_blocks_give_the_in_memory_series(season):
    eager, lazy = _series(season, None), _series(season, 128)
    assert 0 < len(lazy) < 3 * 50  # some field-dates are under cloud and absent, as in an Earth Engine export
    pd.testing.assert_frame_equal(lazy[["field_id", "date"]], eager[["field_id", "date"]])
    np.testing.assert_allclose(lazy["ndvi"], eager["ndvi"], rtol=0, atol=1e-6)
    assert 128 < LAZY_CHUNK_PX <= 4096  # the notebook's blocks: bounded, and not so small the graph swamps the work


def test_the_declared_offset_is_applied_before_the_ratio(season):
    import rasterio

    table = _series(season, 128)
    with rasterio.open(season / "fields.tif") as src:
        labels = src.read(1)
    first = table[table["date"] == "2024-11-15"].set_index("field_id")["ndvi"]
    with rasterio.open(season / "images" / "2024-11-15.tif") as src:
        red, nir, scl = src.read().astype(np.float64)
    for field in ("3", "42"):
        inside = (labels == int(field)) & np.isin(scl, (4, 5))
        with_offset = np.mean(((nir - 1000) - (red - 1000))[inside] / ((nir - 1000) + (red - 1000))[inside])
        without = np.mean((nir - red)[inside] / (nir + red)[inside])
        assert first[field] == pytest.approx(with_offset, abs=1e-5)
        assert abs(first[field] - without) > 0.01
