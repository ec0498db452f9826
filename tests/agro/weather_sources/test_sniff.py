"""Each weather format is told from the file, and a file of none gets one line naming what was expected."""
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from kit.agro.weather_sources import convert_weather, convert_weather_grid, sniff_weather_format
from kit.errors import InputDataError


def test_every_format_is_recognised(tmp_path, make):
    days = make.power_days()
    kit_csv = tmp_path / "station.csv"
    pd.DataFrame({"date": ["2024-06-01"], "tmin_c": [19.0], "tmax_c": [34.0]}).to_csv(kit_csv, index=False)
    kit_nc = tmp_path / "grid.nc"
    xr.Dataset({"tmin_c": (("time",), [19.0]), "tmax_c": (("time",), [34.0])},
               coords={"time": pd.date_range("2024-06-01", periods=1)}).to_netcdf(kit_nc)
    hourly = make.era5_hourly(hours=30)
    expected = {
        kit_csv: "kit_csv", kit_nc: "kit_netcdf",
        make.power_csv(tmp_path / "power.csv", days): "nasa_power_csv",
        make.power_csv(tmp_path / "bare.csv", days, header=False): "nasa_power_csv",
        make.power_csv(tmp_path / "doy.csv", days, dates="DOY"): "nasa_power_csv",
        make.power_json(tmp_path / "power.json", days): "nasa_power_json",
        make.new_cds(tmp_path / "land.nc", hourly): "era5_netcdf",
        make.old_cds(tmp_path / "old.nc", hourly): "era5_netcdf",
        make.new_cds_zip(tmp_path / "era5.zip", hourly): "era5_netcdf",
    }
    for path, fmt in expected.items():
        assert sniff_weather_format(path) == fmt, path.name


@pytest.mark.parametrize("content", [
    "site,temp\nMarrakech,31\n",              # a CSV of something else
    '{"type": "FeatureCollection"}',          # JSON, but no POWER parameters
    "just some notes\n",
])
def test_a_file_of_no_format_gets_one_line_naming_what_was_expected(tmp_path, content):
    path = tmp_path / "weather.txt"
    path.write_text(content)
    with pytest.raises(InputDataError) as err:
        convert_weather(path)
    message = str(err.value)
    assert "\n" not in message and "expected the kit's weather CSV" in message and "ERA5" in message
    assert "NASA POWER" in message


def test_grib_missing_file_and_foreign_netcdf_are_refused(tmp_path):
    grib = tmp_path / "era5.grib"
    grib.write_bytes(b"GRIB\x00\x00\x00\x02" + bytes(64))
    with pytest.raises(InputDataError, match="is GRIB; download the ERA5 data as NetCDF"):
        sniff_weather_format(grib)
    with pytest.raises(InputDataError, match="does not exist"):
        sniff_weather_format(tmp_path / "nowhere.csv")
    other = tmp_path / "sst.nc"
    xr.Dataset({"sst": (("time",), np.ones(2))}).to_netcdf(other)
    with pytest.raises(InputDataError, match=r"NetCDF with variables sst; expected"):
        sniff_weather_format(other)


def test_kit_files_pass_through(tmp_path):
    kit_csv = tmp_path / "station.csv"
    pd.DataFrame({"date": ["2024-06-01", "2024-06-02"], "tmin_c": [19.0, 20.0], "tmax_c": [34.0, 35.0]}).to_csv(kit_csv, index=False)
    table, about = convert_weather(kit_csv)
    assert about["format"] == "kit_csv" and list(table.columns) == ["date", "tmin_c", "tmax_c"] and about["days"] == 2
    kit_nc = tmp_path / "grid.nc"
    xr.Dataset({"tmin_c": (("time",), [19.0]), "tmax_c": (("time",), [34.0])},
               coords={"time": pd.date_range("2024-06-01", periods=1)}).to_netcdf(kit_nc)
    grid, about = convert_weather_grid(kit_nc)
    assert about["format"] == "kit_netcdf" and float(grid["tmax_c"][0]) == 34.0
    grid.close()
    with pytest.raises(InputDataError, match="already holds gridded kit weather"):
        convert_weather(kit_nc)
    with pytest.raises(InputDataError, match=r"is point data \(kit_csv\); read it with convert_weather"):
        convert_weather_grid(kit_csv)
