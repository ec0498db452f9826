"""ERA5-Land on a gridded perimeter: every field pixel takes its nearest cell's weather (kit.agro.gridded.reanalysis).

The fixture is an ERA5-Land hourly NetCDF of 3 x 3 cells in the new CDS
layout (running totals since 00 UTC, geopotential ``z``) whose cells differ
in temperature, wind and elevation, and a 300 m perimeter in UTM 29N that
spans four of them. Each pixel's ET0 in a grid run must be the point
conversion of its own cell (at the pixel's latitude).
"""
import json
import warnings

import numpy as np
import pandas as pd
import pytest

import kit.report
from kit.agro import et0, read_weather
from kit.agro import notebook as nbk
from kit.agro.fao56 import wind_speed_2m_ms
from kit.agro.gridded import run_grid
from kit.agro.gridded.reanalysis import pixel_lon_lat, reanalysis_on_grid
from kit.agro.gridded.weather import pixel_daily_weather
from kit.agro.synthetic import perimeter
from kit.agro.weather_sources import convert_weather, convert_weather_grid
from kit.errors import InputDataError, ParameterError
from tests.agro.weather_sources.weather_files import era5_hourly, running_totals, write_new_cds

LATS, LONS = (31.6, 31.7, 31.8), (-8.1, -8.0, -7.9)


def _era5_land(path, *, z=True):
    hourly = era5_hourly(start="2022-03-30 00:00", hours=24 * 8, lats=LATS, lons=LONS, seed=3)
    warmer = 2.0 * np.arange(3)[:, None] + 0.7 * np.arange(3)[None, :]
    hourly["t2m"] = hourly["t2m"] + warmer                                  # a wrong cell shows in tmax
    hourly["u10"] = hourly["u10"] * (1.0 + 0.3 * np.arange(3))[None, None, :]
    if z:
        metres = 400.0 + 50.0 * np.arange(3)[:, None] + 10.0 * np.arange(3)[None, :]
        hourly["z"] = (("time", "latitude", "longitude"), np.broadcast_to(9.80665 * metres, hourly["t2m"].shape).copy())
    for name in ("ssrd", "tp"):
        hourly[name] = running_totals(hourly[name])
    return write_new_cds(path, hourly)


@pytest.fixture(scope="module")
def era5(tmp_path_factory):
    return _era5_land(tmp_path_factory.mktemp("era5") / "era5_land.nc")


@pytest.fixture(scope="module")
def grid():
    """40 x 40 pixels of 300 m north-east of Marrakech (31.69-31.80 °N, 8.04-7.91 °W): four ERA5-Land cells."""
    g = perimeter(size=40, pixel_m=300.0)
    for name in ("lat_deg", "elevation_m"):
        g.attrs.pop(name)                      # latitude and elevation from the weather, pixel by pixel
    return g


@pytest.fixture(scope="module")
def regridded(era5, grid):
    cells, _ = convert_weather_grid(era5, tz="UTC")
    return cells, reanalysis_on_grid(cells, grid, chunk_pixels=400)   # 10 rows per chunk: several blocks


def _point(era5, cells, i, j, lat_deg):
    """The point conversion of cell (i, j), read at the pixel's latitude."""
    table, _ = convert_weather(era5, lat_deg=float(cells["latitude"][i]), lon_deg=float(cells["longitude"][j]), tz="UTC")
    table["lat_deg"] = lat_deg
    return read_weather(table)


def test_each_pixel_is_on_its_nearest_cell(regridded, grid):
    cells, w = regridded
    lon, lat = pixel_lon_lat(grid, slice(None))
    i, j = w["cell_row"].values, w["cell_col"].values
    assert np.all(np.abs(np.asarray(LATS)[i] - lat) <= 0.05 + 1e-9) and np.all(np.abs(np.asarray(LONS)[j] - lon) <= 0.05 + 1e-9)
    assert len(np.unique(i * 3 + j)) == 4
    np.testing.assert_allclose(w["lat_deg"].values, lat)
    np.testing.assert_allclose(w["elevation_m"].values, cells["elevation_m"].values[i, j], rtol=1e-6)
    assert w["tmax_c"].chunks is not None and len(w["tmax_c"].chunks[0]) == 4  # lazy, rows in chunks
    np.testing.assert_array_equal(w["tmax_c"].values, cells["tmax_c"].values[i, j])


def test_each_pixels_et0_is_its_cells_point_conversion(era5, regridded, grid):
    cells, w = regridded
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seasons partly outside the 7 days
        plan = run_grid(grid, w, "mad", daily=("et0_mm",), dtype="float64", chunk_pixels=400)
    e = plan.balance["et0_mm"]
    field = np.asarray(grid["crop"].values) > 0
    checked = set()
    for r, c in zip(*np.nonzero(field)):
        cell = (int(w["cell_row"][r, c]), int(w["cell_col"][r, c]))
        if cell in checked:
            continue
        checked.add(cell)
        got = e[r, c].to_series()
        want = et0(_point(era5, cells, *cell, float(w["lat_deg"][r, c])))["et0_mm"].reindex(got.index)
        np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), atol=1e-6, rtol=0)
    assert len(checked) == 4
    assert len({round(float(e[r, c].sum()), 3) for r, c in zip(*np.nonzero(field))}) > 4  # cells and latitudes differ


def test_wind_is_brought_to_2m_once(era5, regridded, grid):
    cells, w = regridded
    times = np.asarray(w["time"].values)
    iy, ix = np.array([0, 39]), np.array([0, 39])
    daily, _ = pixel_daily_weather(w.load(), iy, ix, pd.DatetimeIndex(times), w["lat_deg"].values[iy, ix],
                                   w["elevation_m"].values[iy, ix], 0.16, "fao56", np.float64)
    for k, (r, c) in enumerate(zip(iy, ix)):
        wind_10m = cells["wind_ms"].values[int(w["cell_row"][r, c]), int(w["cell_col"][r, c])]
        np.testing.assert_allclose(daily["u2_ms"][k], wind_speed_2m_ms(wind_10m, 10.0), rtol=1e-12)
        assert np.all(daily["u2_ms"][k] < 0.8 * wind_10m)


def test_a_field_pixel_outside_the_file_is_one_line_naming_the_area(tmp_path, grid):
    hourly = era5_hourly(start="2022-03-30 00:00", hours=48, lats=(31.6, 31.7), lons=(-8.1, -8.0))
    cells, _ = convert_weather_grid(write_new_cds(tmp_path / "small.nc", hourly), tz="UTC")
    with pytest.raises(InputDataError, match=r"field pixel \(row \d+, col \d+\) .* outside the ERA5 cells \(latitudes "
                                             r"31.6..31.7, longitudes -8.1..-8.*download ERA5 over the whole perimeter") as err:
        reanalysis_on_grid(cells, grid)
    assert "\n" not in str(err.value)


def _load(out, **values):
    kit.report.bind(out)
    p = nbk.PARAMETERS.validate({"output_dir": str(out), "device": "cpu", "season_start": "2022-03-31",
                                 "season_end": "2022-04-05", **values})
    return (*nbk.load_inputs(p), p)


def test_notebook_glue_uses_every_cell_for_gridded_fields(era5, grid, tmp_path):
    fields = tmp_path / "perimeter.nc"
    grid.to_netcdf(fields)
    weather, loaded, source, p = _load(tmp_path / "out", weather=str(era5), fields=str(fields))
    assert "every ERA5 cell: each field pixel on its nearest cell, 4 cells used" in source
    assert weather["tmin_c"].dims == ("y", "x", "time") and weather.sizes["y"] == loaded.sizes["y"]
    conversion = json.loads((tmp_path / "out" / "inputs.json").read_text())["weather"]["conversion"]
    assert conversion["regridding"]["cells_used"] == 4 and conversion["site"]["elevation_from"] == "z (geopotential), per cell"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plans, _ = nbk.plan_strategies(loaded, weather, p, strategies=("mad",))
    assert nbk.is_grid_plan(plans["mad"]) and float(plans["mad"].balance["et0_mm"].mean()) > 0
    table = nbk.site_weather(weather, loaded)                   # the central pixel, for the ET0 figure
    assert table.attrs["elevation_m"] == pytest.approx(float(weather["elevation_m"][20, 20]))
    assert et0(table)["et0_mm"].notna().all()


def test_notebook_glue_without_elevation_is_the_point_paths_line(tmp_path, grid):
    era5 = _era5_land(tmp_path / "no_z.nc", z=False)
    fields = tmp_path / "perimeter.nc"
    grid.to_netcdf(fields)
    with pytest.raises(ParameterError, match="no site elevation .*: give elevation_m") as err:
        _load(tmp_path / "out", weather=str(era5), fields=str(fields))
    assert "\n" not in str(err.value)
    weather, _, _, _ = _load(tmp_path / "out2", weather=str(era5), fields=str(fields), elevation_m=466.0)
    assert weather.attrs["elevation_m"] == 466.0 and "elevation_m" not in weather


def test_pixels_nearest_a_sea_cell_take_the_nearest_cell_with_data(tmp_path, grid):
    hourly = era5_hourly(start="2022-03-30 00:00", hours=48, lats=LATS, lons=LONS, seed=1)
    for name in hourly.data_vars:
        hourly[name][:, 2, 1] = np.nan                         # (31.8, -8.0): sea in ERA5-Land
    cells, _ = convert_weather_grid(write_new_cds(tmp_path / "coast.nc", hourly), tz="UTC")
    w = reanalysis_on_grid(cells, grid)
    i, j = w["cell_row"].values, w["cell_col"].values
    assert not np.any((i == 2) & (j == 1)) and bool(w["tmin_c"].notnull().all())
    lon, lat = pixel_lon_lat(grid, slice(None))
    moved = (np.abs(lat - 31.8) <= 0.05) & (np.abs(lon + 8.0) <= 0.05)   # those whose nearest cell is the sea one
    assert moved.any()
    wet = [(a, b) for a in range(3) for b in range(3) if (a, b) != (2, 1)]
    for r, c in zip(*np.nonzero(moved)):
        d = [np.hypot(LATS[a] - lat[r, c], (LONS[b] - lon[r, c]) * np.cos(np.radians(lat[r, c]))) for a, b in wet]
        assert (i[r, c], j[r, c]) == wet[int(np.argmin(d))]


def test_point_weather_with_gridded_fields_is_as_before(grid, tmp_path):
    from kit.agro import synthetic

    fields = tmp_path / "perimeter.nc"
    perimeter(size=12).to_netcdf(fields)
    csv = tmp_path / "weather.csv"
    synthetic.weather("marrakech", seasons=1, seed=0, start_year=2021).to_csv(csv, index=False)
    kit.report.bind(tmp_path / "out")
    p = nbk.PARAMETERS.validate({"output_dir": str(tmp_path / "out"), "device": "cpu", "weather": str(csv),
                                 "fields": str(fields)})
    weather, _, source = nbk.load_inputs(p)
    assert "tmin_c" in weather.columns and "every ERA5 cell" not in source and nbk.site_weather(weather) is weather
