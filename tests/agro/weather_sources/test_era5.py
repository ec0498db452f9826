"""ERA5 / ERA5-Land: units by hand, de-accumulation, local days across Morocco's clock changes, layouts, cells."""
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from kit.agro import et0, read_weather
from kit.agro.weather_sources import convert_weather, convert_weather_grid
from kit.agro.weather_sources.era5 import hourly_amounts
from kit.errors import InputDataError


def one_cell(start, hours, **fields):
    """Hourly fields (CDS units) at one cell 31.6°N 8.0°W; constants or arrays of ``hours`` values."""
    times = pd.date_range(start, periods=hours, freq="h")
    data = {k: (("time", "latitude", "longitude"), np.broadcast_to(np.asarray(v, float).reshape(-1, 1, 1), (hours, 1, 1)).copy())
            for k, v in fields.items()}
    return xr.Dataset(data, coords={"time": times, "latitude": [31.6], "longitude": [-8.0]})


def test_units_by_hand(tmp_path, make):
    hour = np.arange(25) % 24                       # 2024-06-01 00 UTC .. 2024-06-02 00 UTC
    ds = one_cell("2024-06-01", 25, t2m=np.where(hour == 15, 310.15, 300.15), d2m=290.15, u10=3.0, v10=-4.0,
                  ssrd=np.where((hour >= 8) & (hour < 18), 1.0e6, 0.0),          # J m-2 in each hour
                  tp=np.where((hour >= 1) & (hour <= 4), 5e-4, 0.0))            # m in each hour
    table, about = convert_weather(make.new_cds(tmp_path / "era5.nc", ds), tz="UTC")
    day = table.iloc[0]
    assert len(table) == 1 and day["date"] == pd.Timestamp("2024-06-01") and about["days_dropped"] == ["2024-06-02"]
    assert day["tmin_c"] == pytest.approx(27.0, abs=1e-4) and day["tmax_c"] == pytest.approx(37.0, abs=1e-4)  # K - 273.15
    assert day["tdew_c"] == pytest.approx(17.0, abs=1e-4)
    e = lambda t: 0.6108 * np.exp(17.27 * t / (t + 237.3))                      # FAO-56 eq. 11
    assert day["rh_max_pct"] == pytest.approx(100 * e(17.0) / e(27.0), abs=1e-3)  # eq. 10 with ea = e°(Tdew), eq. 14
    assert day["rh_min_pct"] == pytest.approx(100 * e(17.0) / e(37.0), abs=1e-3)
    assert day["wind_ms"] == pytest.approx(5.0, abs=1e-6) and day["wind_height_m"] == 10.0  # |(3, -4)| at 10 m
    assert day["rs_mj_m2"] == pytest.approx(10.0, abs=1e-5)                     # 10 h × 1e6 J m-2
    assert day["rain_mm"] == pytest.approx(2.0, abs=1e-5)                       # 4 h × 0.5 mm
    assert about["units_converted"]["t2m"] == "K → °C" and about["units_converted"]["ssrd"] == "J m**-2 → MJ m-2"
    assert about["units_converted"]["tp"] == "m → mm" and about["hours_per_day"] == {24: 1}
    assert any("accumulation hourly" in n for n in about["notes"])


def test_running_totals_since_00utc_are_taken_apart():
    times = pd.date_range("2024-06-01 22:00", periods=6, freq="h")              # 22, 23, 00, 01, 02, 03 UTC
    totals = xr.DataArray([7.0, 9.0, 12.0, 1.0, 4.0, 4.0], dims="time", coords={"time": times})
    amounts = hourly_amounts(totals, "since_00utc").values
    # 22 UTC: no hour before it in the record; 00 UTC closes the day (12 - 9); 01 UTC starts a new one.
    np.testing.assert_array_equal(amounts, [np.nan, 2.0, 3.0, 1.0, 3.0, 0.0])
    np.testing.assert_array_equal(hourly_amounts(totals, "hourly").values, totals.values)


def test_era5_land_running_totals_give_the_hourly_sums(tmp_path, make):
    hourly = make.era5_hourly()
    land = hourly.assign(ssrd=make.running_totals(hourly["ssrd"]), tp=make.running_totals(hourly["tp"]))
    from_land, about_land = convert_weather(make.new_cds(tmp_path / "land.nc", land), lat_deg=31.6, lon_deg=-8.0)
    from_era5, about_era5 = convert_weather(make.new_cds(tmp_path / "era5.nc", hourly), lat_deg=31.6, lon_deg=-8.0)
    assert any("accumulation since_00utc: ssrd only rises" in n for n in about_land["notes"])
    assert any("accumulation hourly: ssrd falls" in n for n in about_era5["notes"])
    for column in ("rs_mj_m2", "rain_mm"):
        np.testing.assert_allclose(from_land[column], from_era5[column], rtol=1e-5, atol=1e-5)  # float32 totals
    forced, _ = convert_weather(tmp_path / "land.nc", lat_deg=31.6, lon_deg=-8.0, accumulation="hourly")
    assert (forced["rs_mj_m2"] > 5 * from_land["rs_mj_m2"]).all()   # read as hours, running totals add up many times


def test_local_days_across_the_ramadan_clock_changes(tmp_path, make):
    # Morocco 2024: back to UTC+0 on 10 March at 03:00, forward to UTC+1 on 14 April at 02:00 (tz database).
    for start, day, hours in (("2024-03-09", "2024-03-10", 25), ("2024-04-13", "2024-04-14", 23)):
        n = 72
        k = np.arange(n, dtype=float)                                            # hours since `start` 00 UTC
        ds = one_cell(start, n, t2m=273.15 + k / 4, d2m=270.0, u10=1.0, v10=0.0, ssrd=np.where(k % 24 == 12, 1e6, 0.0),
                      tp=np.full(n, 1e-3))
        table, about = convert_weather(make.new_cds(tmp_path / f"{day}.nc", ds))
        row = table.set_index("date").loc[day]
        local_midnight = pd.Timestamp(day).tz_localize("Africa/Casablanca").tz_convert("UTC").tz_localize(None)
        first = (local_midnight - pd.Timestamp(start)) / pd.Timedelta(hours=1)   # index of the day's first hour
        assert row["tmin_c"] == pytest.approx(first / 4, abs=1e-4)
        assert row["tmax_c"] == pytest.approx((first + hours - 1) / 4, abs=1e-4)
        assert row["rain_mm"] == pytest.approx(hours, abs=1e-4)                  # 1 mm in each of its hours
        assert about["clock_change_days"] == {day: hours} and about["hours_per_day"][hours] == 1
    utc, about = convert_weather(tmp_path / "2024-03-10.nc", tz="UTC")
    assert about["hours_per_day"] == {24: len(utc)}
    np.testing.assert_allclose(utc["rain_mm"], 24.0, atol=1e-4)
    with pytest.raises(InputDataError, match="not a time zone"):
        convert_weather(tmp_path / "2024-03-10.nc", tz="Morocco/Marrakech")


def test_old_cds_layout_with_expver_and_the_zip_of_streams_read_the_same(tmp_path, make):
    hourly = make.era5_hourly()
    reference, _ = convert_weather(make.new_cds(tmp_path / "era5.nc", hourly), lat_deg=31.6, lon_deg=-8.0)
    old, about_old = convert_weather(make.old_cds(tmp_path / "old.nc", hourly, split_expver_at="2024-03-10T07:00"),
                                     lat_deg=31.6, lon_deg=-8.0)
    zipped, about_zip = convert_weather(make.new_cds_zip(tmp_path / "era5.zip", hourly), lat_deg=31.6, lon_deg=-8.0)
    assert about_old["time_dim"] == "time" and any("expver dimension" in n for n in about_old["notes"])
    assert about_zip["time_dim"] == "valid_time" and any("zip of 2 NetCDF" in n for n in about_zip["notes"])
    values = reference.drop(columns="date")
    np.testing.assert_allclose(old.drop(columns="date"), values, atol=2e-3)     # int16 packing
    np.testing.assert_allclose(zipped.drop(columns="date"), values, atol=0)
    assert about_old["fill_values_replaced"]["t2m"] == 0


def test_the_cell_nearest_the_site(tmp_path, make):
    hourly = make.era5_hourly(lats=(31.5, 31.6, 31.7), lons=(-8.1, -8.0, -7.9))
    hourly["t2m"][:, 2, 2] = np.nan                    # ERA5-Land: no value over the sea
    for name in ("d2m", "u10", "v10", "ssrd", "tp"):
        hourly[name][:, 2, 2] = np.nan
    path = make.new_cds(tmp_path / "land.nc", make.era5_hourly(lats=(31.5, 31.6, 31.7), lons=(-8.1, -8.0, -7.9)))
    _, about = convert_weather(path, lat_deg=31.58, lon_deg=-7.97)
    assert (about["site"]["cell_lat_deg"], about["site"]["cell_lon_deg"]) == (31.6, -8.0)
    assert about["site"]["lat_deg"] == 31.58
    sea = make.new_cds(tmp_path / "coast.nc", hourly)
    table, about = convert_weather(sea, lat_deg=31.71, lon_deg=-7.89)
    assert (about["site"]["cell_lat_deg"], about["site"]["cell_lon_deg"]) in {(31.6, -7.9), (31.7, -8.0)}
    assert any("nearest cell has no data" in n for n in about["notes"]) and table["tmin_c"].notna().all()
    with pytest.raises(InputDataError, match="holds 3 x 3 cells; give lat_deg and lon_deg"):
        convert_weather(path)
    with pytest.raises(InputDataError, match="outside the file's area"):
        convert_weather(path, lat_deg=33.6, lon_deg=-7.6)


def test_refusals_name_the_fix(tmp_path, make):
    daily = one_cell("2024-06-01", 3, t2m=300.0)
    daily = daily.assign_coords(time=pd.date_range("2024-06-01", periods=3, freq="D"))
    with pytest.raises(InputDataError, match="one value per day .* download hourly"):
        convert_weather(make.new_cds(tmp_path / "daily.nc", daily))
    from kit.i18n import using

    with using("fr"), pytest.raises(InputDataError, match="une valeur par jour .* téléchargez des données horaires"):
        convert_weather(tmp_path / "daily.nc")
    fahrenheit = make.new_cds(tmp_path / "f.nc", one_cell("2024-06-01", 25, t2m=80.0))
    with xr.open_dataset(fahrenheit) as ds:
        ds = ds.load()
    ds["t2m"].attrs["units"] = "degF"
    ds.to_netcdf(tmp_path / "f2.nc")
    with pytest.raises(InputDataError, match=r"t2m is in 'degF'; expected K"):
        convert_weather(tmp_path / "f2.nc")
    dry = one_cell("2024-06-01", 25, t2m=300.0, ssrd=0.0, tp=0.0)
    path = make.new_cds(tmp_path / "dark.nc", dry)
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    for name in ds.data_vars:                         # neither ERA5's 0.25° nor ERA5-Land's 0.1°
        ds[name].attrs["GRIB_iDirectionIncrementInDegrees"] = 0.3
    ds.to_netcdf(tmp_path / "dark2.nc")
    with pytest.raises(InputDataError, match="pass accumulation='hourly' or 'since_00utc'"):
        convert_weather(tmp_path / "dark2.nc", tz="UTC")
    table, _ = convert_weather(tmp_path / "dark2.nc", tz="UTC", accumulation="since_00utc")
    assert table["rain_mm"].eq(0.0).all()


def test_converted_era5_runs_through_read_weather_and_et0(tmp_path, make):
    table, _ = convert_weather(make.new_cds(tmp_path / "land.nc", make.era5_hourly()), lat_deg=31.63, lon_deg=-8.01)
    weather = read_weather(table, elevation_m=466.0)
    assert weather.attrs["lat_deg"] == 31.63 and weather["wind_height_m"].eq(10.0).all()
    out = et0(weather)
    assert out["method"].eq("penman-monteith").all() and out["rs_source"].eq("measured").all()
    assert out["ea_source"].eq("tdew").all() and out["et0_mm"].between(1.0, 8.0).all()


def test_grid_keeps_every_cell_in_the_contracts_names(tmp_path, make):
    hourly = make.era5_hourly(lats=(31.5, 31.6, 31.7), lons=(-8.1, -8.0))
    for name in hourly.data_vars:
        hourly[name][:, 0, 1] = np.nan                 # one sea cell
    path = make.new_cds(tmp_path / "land.nc", hourly)
    grid, about = convert_weather_grid(path)
    assert grid["tmin_c"].dims == ("y", "x", "time") and grid.sizes == {"y": 3, "x": 2, "time": 2}
    assert list(grid["latitude"].values) == [31.5, 31.6, 31.7] and list(grid["longitude"].values) == [-8.1, -8.0]
    assert grid.attrs["wind_height_m"] == 10.0 and float(grid["wind_height_m"]) == 10.0
    assert {"tmin_c", "tmax_c", "tdew_c", "rh_min_pct", "rh_max_pct", "rh_mean_pct", "wind_ms", "rs_mj_m2",
            "rain_mm"} <= set(grid.data_vars)
    assert bool(grid["tmin_c"][0, 1].isnull().all()) and about["site"]["cells"] == 6
    point, _ = convert_weather(path, lat_deg=31.7, lon_deg=-8.0)
    for name in ("tmin_c", "rh_min_pct", "wind_ms", "rs_mj_m2", "rain_mm"):
        np.testing.assert_allclose(grid[name][2, 1].values, point[name].to_numpy(), rtol=1e-12)
    out = et0(grid, elevation_m=466.0)                 # the kit's gridded ET0 takes it as it is
    assert bool(out["et0_mm"][2, 1].notnull().all()) and bool(out["et0_mm"][0, 1].isnull().all())
