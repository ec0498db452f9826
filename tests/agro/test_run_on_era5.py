"""A whole irrigation notebook run (``kit run``) on an ERA5-Land hourly NetCDF as the CDS delivers it."""
import json

import pytest

from kit.agro import synthetic
from tests.agro.weather_sources.weather_files import era5_hourly_from_weather, running_totals, write_new_cds

pytestmark = pytest.mark.timeout(600)


def test_irrigation_notebook_runs_on_era5_land(tmp_path, kit_run):
    site = synthetic.site_info("marrakech")
    station = synthetic.weather("marrakech", seasons=1, seed=0, start_year=2021)
    hourly = era5_hourly_from_weather(station, site["lat_deg"], lats=(31.7, 31.6), lons=(-8.1, -8.0), site_cell=(1, 1))
    for name in ("ssrd", "tp"):
        hourly[name] = running_totals(hourly[name])
    era5 = write_new_cds(tmp_path / "era5_land.nc", hourly)
    out = tmp_path / "run"
    assert kit_run("irrigation_planning", out, weather=era5, lat_deg=site["lat_deg"], lon_deg=site["lon_deg"],
                elevation_m=site["elevation_m"], device="cpu") == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok" and (out / "report.html").exists()
    conversion = manifest["inputs"]["weather"]["conversion"]  # what was converted, recorded with the inputs
    assert conversion["format"] == "era5_netcdf"
    assert (conversion["site"]["cell_lat_deg"], conversion["site"]["cell_lon_deg"]) == (31.6, -8.0)
