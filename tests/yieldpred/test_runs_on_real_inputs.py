"""Whole notebook runs (``kit run``) on inputs as users have them, not only their ``load_inputs`` glue.

The yield notebook on a B04/B08/SCL GeoTIFF export with NASA POWER weather; the
irrigation notebook on an ERA5-Land hourly NetCDF. Each run must finish, write
its report and its documented outputs.
"""
import json
import warnings

import pandas as pd
import pytest

from kit.agro import synthetic as agro_synthetic
from kit.cli import main
from kit.raster import write_acquisitions
from kit.yieldpred.synthetic import cereal_region
from tests.agro.weather_sources.weather_files import (era5_hourly_from_weather, power_days_from_weather,
                                                      running_totals, write_new_cds, write_power_csv)

pytestmark = pytest.mark.timeout(600)


def _run(name, out, **params):
    args = ["run", name, "--out", str(out), "--no-progress"]
    for key, value in params.items():
        args += ["-p", key, str(value)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return main(args)


def test_yield_notebook_runs_on_b04_b08_scl_geotiffs_and_nasa_power(tmp_path):
    region = cereal_region(seasons=4, target_year=2024, scale=0.25, seed=3)  # 3 past seasons: leave-one-year-out
    files = region.write(tmp_path / "region", rasters=False)
    stack = region.stack.isel(time=slice(None, None, 3)).sel(band=["B04", "B08", "SCL"])
    folder = write_acquisitions(stack, tmp_path / "export")
    station = pd.read_csv(files["weather"])
    lat = 31.6
    power = write_power_csv(tmp_path / "POWER_Point_Daily.csv", power_days_from_weather(station, lat, wind="WS10M"),
                            site={"lat": lat, "lon": -8.0, "elevation": 450})
    out = tmp_path / "run"
    assert _run("yield_prediction", out, rasters=folder, fields=files["fields"], yields=files["yields"],
                weather=power, target_year=2024, device="cpu") == 0
    series = pd.read_csv(out / "index_series.csv")
    assert list(series.columns[:3]) == ["field_id", "date", "ndvi"] and "ndmi" not in series.columns
    assert series["ndvi"].between(-1, 1).all() and len(series) > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    assert (out / "report.html").exists() and (out / "predictions.csv").exists()


def test_irrigation_notebook_runs_on_era5_land(tmp_path):
    site = agro_synthetic.site_info("marrakech")
    station = agro_synthetic.weather("marrakech", seasons=1, seed=0, start_year=2021)
    hourly = era5_hourly_from_weather(station, site["lat_deg"], lats=(31.7, 31.6), lons=(-8.1, -8.0), site_cell=(1, 1))
    for name in ("ssrd", "tp"):
        hourly[name] = running_totals(hourly[name])
    era5 = write_new_cds(tmp_path / "era5_land.nc", hourly)
    out = tmp_path / "run"
    assert _run("irrigation_planning", out, weather=era5, lat_deg=site["lat_deg"], lon_deg=site["lon_deg"],
                elevation_m=site["elevation_m"], device="cpu") == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok" and (out / "report.html").exists()
    conversion = manifest["inputs"]["weather"]["conversion"]  # what was converted, recorded with the inputs
    assert conversion["format"] == "era5_netcdf"
    assert (conversion["site"]["cell_lat_deg"], conversion["site"]["cell_lon_deg"]) == (31.6, -8.0)
