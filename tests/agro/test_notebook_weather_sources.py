"""The irrigation notebook's glue on weather files as users download them: NASA POWER CSV and JSON, ERA5-Land NetCDF.

The embedded Marrakech station's season is written as each source would
give it (POWER's parameters and units, ERA5-Land's hourly fields in K, m
and J/m² accumulated from 00 UTC, on a 2 x 2 grid); through
``load_inputs`` every file must give back the station's days, and the plan
on it the station's water use.
"""
import json
import warnings

import numpy as np
import pandas as pd
import pytest

import kit.report
from kit.agro import et0, synthetic
from kit.agro import notebook as nbk
from kit.errors import InputDataError, ParameterError
from tests.agro.weather_sources.weather_files import (
    era5_hourly_from_weather, power_days_from_weather, running_totals, write_new_cds, write_power_csv, write_power_json,
)

SITE = synthetic.site_info("marrakech")  # 31.62 °N, -8.04 °E, 466 m; its ERA5-Land cell is (31.6, -8.0)
ERA5_SITE = {"lat_deg": SITE["lat_deg"], "lon_deg": SITE["lon_deg"], "elevation_m": SITE["elevation_m"]}
FORMATS = {"power_csv": "nasa_power_csv", "power_json": "nasa_power_json", "era5": "era5_netcdf"}


@pytest.fixture(scope="module")
def station():
    """The default planning season (2021-09-01 to 2022-08-31) of the embedded Marrakech station."""
    return synthetic.weather("marrakech", seasons=1, seed=0, start_year=2021)


@pytest.fixture(scope="module")
def files(station, tmp_path_factory):
    """The station's season as a POWER CSV (AG community units, wind at 10 m), a POWER JSON (radiation in
    kW-hr/m^2/day, wind at 2 m) and an ERA5-Land hourly NetCDF of 2 x 2 cells (the new CDS layout)."""
    root = tmp_path_factory.mktemp("weather")
    lat, site = SITE["lat_deg"], {"lat": SITE["lat_deg"], "lon": SITE["lon_deg"], "elevation": SITE["elevation_m"]}
    out = {"power_csv": write_power_csv(root / "POWER_Point_Daily.csv", power_days_from_weather(station, lat, wind="WS10M"),
                                        site=site)}
    days = power_days_from_weather(station, lat)
    days["ALLSKY_SFC_SW_DWN"] /= 3.6
    out["power_json"] = write_power_json(root / "POWER_Point_Daily.json", days, site=site,
                                         units={"ALLSKY_SFC_SW_DWN": "kW-hr/m^2/day"})
    hourly = era5_hourly_from_weather(station, lat, lats=(31.7, 31.6), lons=(-8.1, -8.0), site_cell=(1, 1))
    for name in ("ssrd", "tp"):
        hourly[name] = running_totals(hourly[name])
    out["era5"] = write_new_cds(root / "era5_land.nc", hourly)
    return out


def _load(out, **values):
    kit.report.bind(out)
    p = nbk.PARAMETERS.validate({"output_dir": str(out), "device": "cpu", **values})
    return (*nbk.load_inputs(p), p)


@pytest.fixture(scope="module", params=list(FORMATS))
def loaded(request, files, tmp_path_factory):
    """``(kind, weather, source, inputs.json, p)`` of ``load_inputs`` on each file."""
    out = tmp_path_factory.mktemp(request.param)
    weather, _, source, p = _load(out, weather=str(files[request.param]), **(ERA5_SITE if request.param == "era5" else {}))

    def refuse(constant):
        raise ValueError(f"inputs.json holds {constant}")

    return request.param, weather, source, json.loads((out / "inputs.json").read_text(), parse_constant=refuse), p


def _days(table) -> pd.DataFrame:
    return table.set_index(pd.to_datetime(table["date"])).drop(columns="date")


def test_every_day_of_the_season_comes_back(loaded, station):
    kind, weather, _, _, p = loaded
    truth = _days(station)
    assert truth.index.isin(weather.index).all()  # ERA5: its local days, the UTC download's edges dropped
    got = weather.loc[truth.index]
    for column in ("tmin_c", "tmax_c", "rain_mm"):  # POWER: 2 decimals in JSON; ERA5: float32 K and m
        np.testing.assert_allclose(got[column], truth[column], atol=6e-3, err_msg=column)
    assert weather.attrs["lat_deg"] == pytest.approx(SITE["lat_deg"]) and weather.attrs["elevation_m"] == pytest.approx(466.0)


def test_et0_on_the_converted_weather_is_the_stations(loaded, station):
    # Dew point from the station's vapour pressure, radiation from its sunshine, wind brought to 2 or 10 m:
    # FAO-56 ET0 must come back whatever the source's variables.
    kind, weather, _, _, p = loaded
    truth = et0(_days(station))["et0_mm"]
    got = et0(weather)["et0_mm"].reindex(truth.index)
    np.testing.assert_allclose(got, truth, atol=0.02 if kind == "power_json" else 1e-3)


def test_the_conversion_is_in_inputs_json_and_the_source_line(loaded):
    kind, _, source, manifest, _ = loaded
    conversion = manifest["weather"]["conversion"]
    assert conversion["format"] == FORMATS[kind] and conversion["days"] >= 365
    assert f"({conversion['source']}: {conversion['days']} days" in source
    if kind == "power_json":
        assert conversion["units_converted"] == {"ALLSKY_SFC_SW_DWN": "kW-hr/m^2/day × 3.6 → MJ/m²/day"}
        assert "units converted: ALLSKY_SFC_SW_DWN" in source
    if kind == "era5":
        assert conversion["units_converted"]["tp"] == "m → mm" and conversion["site"]["cell_lat_deg"] == 31.6
        assert "accumulation since_00utc" in conversion["variables"]["rain_mm"]


def test_plan_on_era5_weather_uses_the_stations_water(files, station, tmp_path):
    weather, _, _, p = _load(tmp_path / "era5", weather=str(files["era5"]), **ERA5_SITE)
    reference, _, _, _ = _load(tmp_path / "csv", weather=str(_csv(station, tmp_path)))
    fields = synthetic.fields("marrakech", n=12, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fields partly outside the window
        plans = {name: nbk.plan_strategies(fields, w, p, strategies=("mad",))[0]["mad"]
                 for name, w in (("era5", weather), ("station", reference))}
    assert plans["station"].water_used_m3 > 0
    assert plans["era5"].water_used_m3 == pytest.approx(plans["station"].water_used_m3, rel=1e-3)


def _csv(station, folder):
    path = folder / "weather.csv"
    station.to_csv(path, index=False)
    return path


def test_era5_of_several_cells_without_the_site_is_one_line_naming_the_fix(files, tmp_path):
    with pytest.raises(InputDataError, match="holds 2 x 2 cells; give lat_deg and lon_deg of the site") as err:
        _load(tmp_path, weather=str(files["era5"]))
    assert "\n" not in str(err.value)


def test_era5_without_elevation_is_one_line_naming_the_fix(files, tmp_path):
    with pytest.raises(ParameterError, match="no site elevation .*: give elevation_m") as err:
        _load(tmp_path, weather=str(files["era5"]), lat_deg=SITE["lat_deg"], lon_deg=SITE["lon_deg"])
    assert "\n" not in str(err.value)
