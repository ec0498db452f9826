"""Stacks from GeoTIFF folders and NetCDF/Zarr, cloud masks, gap filling."""
import numpy as np
import pandas as pd
import pytest
import rasterio

from kit import raster
from kit.errors import InputDataError
from kit.yieldpred.synthetic import BANDS, tiny_stack


def test_folder_roundtrip_keeps_values_bands_and_georef(tmp_path):
    stack = tiny_stack(dates=3)
    raster.write_acquisitions(stack, tmp_path / "tifs")
    back = raster.read_stack(tmp_path / "tifs")
    assert back.dims == ("time", "band", "y", "x") and list(back.band.values) == list(BANDS)
    np.testing.assert_array_equal(back.values, stack.values)
    np.testing.assert_array_equal(back.x.values, stack.x.values)
    assert raster.georef.get_crs(back).to_epsg() == 32629
    assert raster.georef.get_transform(back) == raster.georef.get_transform(stack)
    lazy = raster.read_stack(tmp_path / "tifs", chunks="auto")
    assert hasattr(lazy.data, "dask")
    np.testing.assert_array_equal(lazy.values, stack.values)


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_netcdf_and_zarr_roundtrip(tmp_path, suffix):
    stack = tiny_stack(dates=2)
    path = raster.write_stack(stack, tmp_path / f"stack{suffix}")
    back = raster.open_stack(path).load()
    np.testing.assert_array_equal(back.values, stack.values)
    assert list(back.band.values) == list(BANDS)
    assert raster.georef.get_transform(back) == raster.georef.get_transform(stack)


def test_missing_band_descriptions_is_a_clear_error(tmp_path):
    stack = tiny_stack(dates=1)
    folder = raster.write_acquisitions(stack, tmp_path / "tifs")
    path = next(folder.glob("*.tif"))
    with rasterio.open(path, "r+") as dst:
        for i in range(1, dst.count + 1):
            dst.set_band_description(i, "")
    with pytest.raises(InputDataError, match="no description.*bands="):
        raster.read_stack(folder)
    back = raster.read_stack(folder, bands=list(BANDS))
    assert list(back.band.values) == list(BANDS)


def test_files_on_different_grids_or_crs_are_refused(tmp_path):
    stack = tiny_stack(dates=2)
    folder = raster.write_acquisitions(stack, tmp_path / "tifs")
    other = stack.isel(time=[1])
    other = raster.georef.set_georef(other, "EPSG:32630", raster.georef.get_transform(stack))
    raster.write_acquisitions(other.assign_coords(time=[pd.Timestamp("2024-03-30")]), folder)
    with pytest.raises(InputDataError, match="crs .* differs"):
        raster.read_stack(folder)


def test_bad_file_names_and_empty_folder(tmp_path):
    with pytest.raises(InputDataError, match="no .tif"):
        raster.read_stack(tmp_path)
    (tmp_path / "scene.tif").write_bytes(b"")
    with pytest.raises(InputDataError, match="does not start with a date"):
        raster.read_stack(tmp_path)


def test_scl_mask_rejects_clouds_shadows_and_nodata():
    scl = np.arange(12)
    valid = raster.scl_valid(scl)
    assert [int(c) for c in scl[valid]] == [2, 4, 5, 6, 7]


def test_scl_mask_same_on_torch():
    torch = pytest.importorskip("torch")
    scl = np.random.default_rng(0).integers(0, 12, size=(20, 20))
    np.testing.assert_array_equal(raster.scl_valid(torch.as_tensor(scl)).numpy(), raster.scl_valid(scl))


def test_synthetic_clouds_are_flagged_and_bright():
    stack = tiny_stack(dates=12, size=40, seed=4)
    scl = raster.band(stack, "SCL").values
    blue = raster.band(stack, "B02").values * 1e-4
    cloud = np.isin(scl, (8, 9))
    assert cloud.any()
    assert blue[scl == 9].min() > 0.25 and np.median(blue[np.isin(scl, (4, 5))]) < 0.1


def test_fill_gaps_and_daily_curve():
    obs = pd.DataFrame([[0.2, np.nan, 0.6, 0.4]], index=["F1"], columns=pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-21", "2024-01-31"]))
    curve = raster.daily_curve(obs, "2024-01-01", "2024-01-31", window_days=1)
    assert curve.shape == (1, 31)
    assert curve.loc["F1", pd.Timestamp("2024-01-11")] == pytest.approx(0.4)
    assert curve.loc["F1", pd.Timestamp("2024-01-26")] == pytest.approx(0.5)


def test_cog_yield_map_has_overviews_and_descriptions(tmp_path):
    import xarray as xr

    from kit.raster.synthetic import demo_scene

    scene = demo_scene(600)
    da = xr.concat([scene.nir, scene.red], "band").assign_coords(band=["p10", "p50"])
    out = raster.write_geotiff(da, tmp_path / "m.tif", cog=True)
    with rasterio.open(out) as src:
        assert src.descriptions == ("p10", "p50") and src.overviews(1) and src.profile["tiled"]
