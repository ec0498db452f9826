"""Thin cloud edges that SCL leaves "clear" are kept out of the field means by a buffer around flagged clouds."""
import numpy as np
import pandas as pd
import xarray as xr

from kit.raster.georef import set_georef
from kit.yieldpred.imagery import index_series_from_stack, near_clouds

X0, Y0 = 600000.0, 3700080.0
#: One field of 4 x 4 pixels (10 m) in the top-left corner of an 8 x 8 scene.
FIELD = (["F1"], [{"type": "Polygon", "coordinates": [[[X0, Y0], [X0 + 40, Y0], [X0 + 40, Y0 - 40], [X0, Y0 - 40], [X0, Y0]]]}],
         "EPSG:32629")
RED, NIR = 600, 3400  # DN of the crop: NDVI 0.7
HAZE_RED, HAZE_NIR = 1500, 3000  # DN of a thin, unflagged cloud edge over the crop: NDVI 0.333


def _stack(scl, red, nir):
    data = np.stack([red, nir, scl]).astype(np.uint16)[None]
    stack = xr.DataArray(data, dims=("time", "band", "y", "x"),
                         coords={"time": pd.to_datetime(["2024-03-01"]), "band": ["B04", "B08", "SCL"],
                                 "y": Y0 - 5 - 10 * np.arange(8), "x": X0 + 5 + 10 * np.arange(8)}, attrs={"nodata": 0})
    return set_georef(stack, "EPSG:32629", (10.0, 0.0, X0, 0.0, -10.0, Y0))


def _cloud_on_the_field_edge():
    """A cloud (SCL 9) on column 4, just outside the field; its thin edge on the field's column 3 is classed vegetation."""
    scl, red, nir = np.full((8, 8), 4), np.full((8, 8), RED), np.full((8, 8), NIR)
    scl[:, 4] = 9
    red[:, 3], nir[:, 3] = HAZE_RED, HAZE_NIR
    return _stack(scl, red, nir)


def test_the_buffer_masks_the_unflagged_cloud_edge():
    stack = _cloud_on_the_field_edge()
    plain = index_series_from_stack(stack, FIELD, indices=("ndvi",), cloud_buffer_px=0)
    buffered = index_series_from_stack(stack, FIELD, indices=("ndvi",), cloud_buffer_px=1)
    edge = (HAZE_NIR - HAZE_RED) / (HAZE_NIR + HAZE_RED)
    crop = (NIR - RED) / (NIR + RED)
    np.testing.assert_allclose(plain["ndvi"], 0.75 * crop + 0.25 * edge, rtol=1e-5)  # 4 of 16 pixels hazy
    np.testing.assert_allclose(buffered["ndvi"], crop, rtol=1e-5)  # 12 clear pixels left, above half the field


def test_a_field_mostly_near_clouds_is_left_out_that_date():
    scl, red, nir = np.full((8, 8), 4), np.full((8, 8), RED), np.full((8, 8), NIR)
    scl[:, 2] = 8  # a cloud across the field: with its buffer, columns 1-3 masked
    scl[4, 0] = 8  # and a cloud pixel just below the field: its buffer takes (3, 0), 3 of 16 pixels left (0.19 < 0.2)
    assert index_series_from_stack(_stack(scl, red, nir), FIELD, indices=("ndvi",)).empty
    assert len(index_series_from_stack(_stack(scl, red, nir), FIELD, indices=("ndvi",), cloud_buffer_px=0)) == 1  # 12 of 16
    scl[4, 0] = 4  # column 0 whole: 4 of 16 (0.25), kept
    np.testing.assert_allclose(index_series_from_stack(_stack(scl, red, nir), FIELD, indices=("ndvi",))["ndvi"],
                               (NIR - RED) / (NIR + RED), rtol=1e-5)


def test_near_clouds_is_a_square_window_and_ignores_clear_and_water_classes():
    scl = np.full((1, 5, 5), 4)
    scl[0, 0, 0] = 3  # shadow
    scl[0, 4, 4] = 6  # water: not a cloud
    near = near_clouds(xr.DataArray(scl, dims=("time", "y", "x")), 1).values[0]
    assert near.sum() == 4 and near[:2, :2].all()
    wide = near_clouds(xr.DataArray(scl, dims=("time", "y", "x")), 2).values[0]
    assert wide.sum() == 9 and wide[:3, :3].all()


def test_the_buffer_gives_the_same_series_with_dask():
    stack = _cloud_on_the_field_edge()
    eager = index_series_from_stack(stack, FIELD, indices=("ndvi",))
    lazy = index_series_from_stack(stack.chunk({"y": 4, "x": 4}), FIELD, indices=("ndvi",))  # the cloud on a chunk edge
    np.testing.assert_allclose(lazy["ndvi"], eager["ndvi"], rtol=1e-6)
    np.testing.assert_allclose(lazy["ndvi"], (NIR - RED) / (NIR + RED), rtol=1e-5)
