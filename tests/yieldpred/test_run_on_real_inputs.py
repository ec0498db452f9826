"""A whole yield notebook run (``kit run``) on inputs as users have them, not only its ``load_inputs`` glue.

A B04/B08/SCL GeoTIFF export with NASA POWER weather: the run must finish and
write its report, ``predictions.csv`` and ``index_series.csv``.
"""
import json

import pandas as pd
import pytest

from kit.raster import write_acquisitions
from kit.yieldpred.synthetic import cereal_region
from tests.agro.weather_sources.weather_files import power_days_from_weather, write_power_csv

pytestmark = pytest.mark.timeout(600)


def test_yield_notebook_runs_on_b04_b08_scl_geotiffs_and_nasa_power(tmp_path, kit_run):
    region = cereal_region(seasons=4, target_year=2024, scale=0.25, seed=3)  # 3 past seasons: leave-one-year-out
    files = region.write(tmp_path / "region", rasters=False)
    stack = region.stack.isel(time=slice(None, None, 3)).sel(band=["B04", "B08", "SCL"])
    folder = write_acquisitions(stack, tmp_path / "export")
    station = pd.read_csv(files["weather"])
    lat = 31.6
    power = write_power_csv(tmp_path / "POWER_Point_Daily.csv", power_days_from_weather(station, lat, wind="WS10M"),
                            site={"lat": lat, "lon": -8.0, "elevation": 450})
    out = tmp_path / "run"
    assert kit_run("yield_prediction", out, rasters=folder, fields=files["fields"], yields=files["yields"],
                weather=power, target_year=2024, device="cpu") == 0
    series = pd.read_csv(out / "index_series.csv")
    assert list(series.columns[:3]) == ["field_id", "date", "ndvi"] and "ndmi" not in series.columns
    assert series["ndvi"].between(-1, 1).all() and len(series) > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    assert (out / "report.html").exists() and (out / "predictions.csv").exists()
