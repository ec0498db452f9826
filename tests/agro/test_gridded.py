"""Gridded fields: same numbers as the same pixels given as a table, chunked or not, CRS kept."""
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from kit.agro import schedule, synthetic, water_balance
from kit.agro.gridded import CROP_CODES, SOIL_CODES, read_fields_grid
from kit.errors import InputDataError, ParameterError


@pytest.fixture(scope="module")
def grid():
    return synthetic.perimeter("marrakech", size=18, seed=4)


@pytest.fixture(scope="module")
def weather():
    return synthetic.weather("marrakech", seasons=1, seed=4)


def quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def pixels_as_table(grid):
    """The grid's field pixels written out as a fields table, independently of kit.agro.gridded."""
    crop = grid["crop"].values
    iy, ix = np.nonzero(crop > 0)
    planting = grid["planting_date"].values[iy, ix].astype(str)
    return pd.DataFrame({
        "field_id": [f"r{r}c{c}" for r, c in zip(iy, ix)],
        "crop": [CROP_CODES[int(v)] for v in crop[iy, ix]],
        "planting_date": [f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in planting],
        "area_ha": 0.09,  # 30 m pixels
        "soil": [SOIL_CODES[int(v)] for v in grid["soil"].values[iy, ix]],
        "irrigation_efficiency": grid["irrigation_efficiency"].values[iy, ix].astype(float),
        "lat_deg": 31.62, "elevation_m": 466.0,
    })


@pytest.mark.parametrize("strategy", ["mad", "quota"])
def test_grid_equals_the_same_pixels_as_a_table(grid, weather, strategy):
    table = pixels_as_table(grid)
    assert 150 < len(table) < 18 * 18  # tracks are not fields
    kw = {"quota_m3": 30_000.0} if strategy == "quota" else {}
    ref = quiet(schedule, table, weather, strategy, **kw)
    got = quiet(schedule, grid, weather, strategy, dtype="float64", **kw)
    s = got.summary.loc[ref.summary.index]
    np.testing.assert_allclose(s["water_used_mm"], ref.summary["water_used_mm"], rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(s["relative_yield"], ref.summary["relative_yield"], rtol=1e-6)
    np.testing.assert_array_equal(s["days_under_stress"], ref.summary["days_under_stress"])
    assert got.water_used_m3 == pytest.approx(ref.water_used_m3, rel=1e-6)
    # Daily depletion of a few pixels, through the (field, time) view.
    ids = list(ref.summary.index[::40])
    view = got.fields_view(ids)
    np.testing.assert_allclose(view["depletion_mm"].values, ref.balance["depletion_mm"].sel(field=ids).values, atol=1e-3)
    if strategy == "quota":
        assert got.water_used_m3 <= 30_000.0 + 1.0


def test_float32_grid_close_to_float64(grid, weather):
    a = quiet(schedule, grid, weather, "deficit", dtype="float64", daily=())
    b = quiet(schedule, grid, weather, "deficit", daily=())  # float32 by default on grids
    np.testing.assert_allclose(b.balance["seasonal_irrigation_mm"], a.balance["seasonal_irrigation_mm"], rtol=1e-3, atol=0.5)
    np.testing.assert_allclose(b.balance["relative_yield"], a.balance["relative_yield"], atol=1e-3)


def test_dask_chunked_file_equals_in_memory(grid, weather, tmp_path):
    path = synthetic.write_perimeter(tmp_path / "perimeter.nc", site="marrakech", size=18, seed=4)
    lazy = read_fields_grid(path, chunks={"y": 5})
    assert lazy["crop"].chunks is not None  # Dask-backed: read block by block
    for strategy in ("mad", "quota"):
        kw = {"quota_m3": 25_000.0} if strategy == "quota" else {}
        mem = quiet(schedule, grid, weather, strategy, **kw)
        chunked = quiet(schedule, lazy, weather, strategy, **kw)
        for k in ("seasonal_irrigation_mm", "relative_yield", "depletion_mm"):
            xr.testing.assert_allclose(chunked.balance[k], mem.balance[k])


def test_crs_kept_and_geotiff_written(grid, weather, tmp_path):
    import rasterio

    plan = quiet(schedule, grid, weather, "mad", daily=("irrigation_mm",))
    ds = plan.balance
    assert ds["spatial_ref"].attrs["crs_wkt"] == grid["spatial_ref"].attrs["crs_wkt"]
    assert ds["spatial_ref"].attrs["GeoTransform"] == grid["spatial_ref"].attrs["GeoTransform"]
    paths = plan.write(tmp_path / "out")
    with rasterio.open(paths["seasonal_irrigation_mm"]) as src:
        assert src.crs.to_epsg() == 32629
        band = src.read(1)
        assert src.transform.a == 30.0 and src.transform.e == -30.0
    np.testing.assert_allclose(band, ds["seasonal_irrigation_mm"].values, equal_nan=True)
    sched = pd.read_csv(paths["schedule"])
    assert list(sched.columns) == ["field_id", "date", "depth_mm", "volume_m3"]
    assert sched["volume_m3"].sum() == pytest.approx(plan.water_used_m3, rel=1e-4)


def test_geotiff_fields_same_as_netcdf(grid, weather, tmp_path):
    import rasterio
    from kit.raster.georef import get_transform

    path = tmp_path / "fields.tif"
    bands = ["crop", "soil", "planting_date", "irrigation_efficiency"]
    data = np.stack([grid[b].values.astype(np.float64) for b in bands])
    with rasterio.open(path, "w", driver="GTiff", height=18, width=18, count=4, dtype="float64", crs="EPSG:32629",
                       transform=get_transform(grid)) as dst:
        dst.write(data)
        for i, b in enumerate(bands, start=1):
            dst.set_band_description(i, b)
    a = quiet(water_balance, path, weather, lat_deg=31.62, elevation_m=466.0, daily=("depletion_mm",))
    b = quiet(water_balance, grid, weather, daily=("depletion_mm",))
    xr.testing.assert_allclose(a["depletion_mm"], b["depletion_mm"])
    assert a["spatial_ref"].attrs["epsg"] == 32629


def test_gridded_weather_equals_station_weather(grid, weather):
    from kit.agro import read_weather

    w = read_weather(weather)
    cube = xr.Dataset(
        {c: (("y", "x", "time"), np.broadcast_to(w[c].to_numpy(float), (18, 18, len(w))).copy())
         for c in ("tmin_c", "tmax_c", "rh_min_pct", "rh_max_pct", "sunshine_h", "rain_mm")},
        coords={"y": grid["y"].values, "x": grid["x"].values, "time": w.index.values},
    )
    # wind measured at 10 m in the station file: convert to 2 m once so both sides see the same u2
    from kit.agro.fao56 import wind_speed_2m_ms

    u2 = wind_speed_2m_ms(w["wind_ms"].to_numpy(float), 10.0)
    cube["wind_ms"] = (("y", "x", "time"), np.broadcast_to(u2, (18, 18, len(w))).copy())
    station = w.assign(wind_ms=u2, wind_height_m=2.0, rain_forecast_mm=np.nan)
    a = quiet(water_balance, grid, cube, dtype="float64", daily=("et0_mm", "depletion_mm"))
    b = quiet(water_balance, grid, station, dtype="float64", daily=("et0_mm", "depletion_mm"))
    xr.testing.assert_allclose(a["et0_mm"], b["et0_mm"], rtol=1e-9)
    xr.testing.assert_allclose(a["depletion_mm"], b["depletion_mm"], atol=1e-6)


def test_bad_grids(grid, weather, tmp_path):
    bad = grid.copy(deep=True)
    bad["crop"].values[2, 3] = 42
    with pytest.raises(InputDataError, match=r"pixel \(row 2, col 3\): unknown crop 42"):
        quiet(water_balance, bad, weather)
    with pytest.raises(InputDataError, match="missing variable\\(s\\) planting_date"):
        read_fields_grid(grid.drop_vars("planting_date"))
    with pytest.raises(ParameterError, match="capacity_m3_day is not supported"):
        schedule(grid, weather, "mad", capacity_m3_day=100.0)
    with pytest.raises(InputDataError, match="does not exist"):
        read_fields_grid(tmp_path / "nope.nc")
