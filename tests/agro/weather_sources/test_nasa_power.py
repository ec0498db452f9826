"""NASA POWER daily CSV and JSON: header site, units as declared, fill values, and ET0 equal to the kit CSV's."""
import warnings

import numpy as np
import pandas as pd
import pytest

from kit.agro import et0, read_weather
from kit.agro.weather_sources import convert_weather
from kit.errors import InputDataError

KIT_COLUMNS = {"T2M_MIN": "tmin_c", "T2M_MAX": "tmax_c", "T2MDEW": "tdew_c", "RH2M": "rh_mean_pct", "WS2M": "wind_ms",
               "ALLSKY_SFC_SW_DWN": "rs_mj_m2", "PRECTOTCORR": "rain_mm"}


def test_header_gives_site_fill_value_and_units(tmp_path, make):
    days = make.power_days()
    table, about = convert_weather(make.power_csv(tmp_path / "POWER_Point_Daily.csv", days))
    assert about["site"] == {"lat_deg": 31.63, "lon_deg": -8.01, "elevation_m": 470.2, "lat_from": "file",
                             "elevation_from": "file (MERRA-2 cell mean)", "days_in": "LST"}
    assert table["lat_deg"].eq(31.63).all() and table["elevation_m"].eq(470.2).all()
    assert list(table["date"]) == list(days.index)
    for power, kit in KIT_COLUMNS.items():
        np.testing.assert_array_equal(table[kit].to_numpy(), days[power].to_numpy())
        assert about["variables"][kit] == power
    assert table["wind_height_m"].eq(2.0).all() and about["units_converted"] == {} and about["days"] == 5


def test_radiation_in_the_declared_unit(tmp_path, make):
    days = make.power_days()
    kwh = days.assign(ALLSKY_SFC_SW_DWN=[7.0, 7.5, 8.0, 6.5, 5.0])
    table, about = convert_weather(make.power_csv(tmp_path / "re.csv", kwh, units={"ALLSKY_SFC_SW_DWN": "kW-hr/m^2/day"}))
    np.testing.assert_allclose(table["rs_mj_m2"], [25.2, 27.0, 28.8, 23.4, 18.0])     # 1 kWh = 3.6 MJ
    assert about["units_converted"]["ALLSKY_SFC_SW_DWN"] == "kW-hr/m^2/day × 3.6 → MJ/m²/day"
    watts = days.assign(ALLSKY_SFC_SW_DWN=[300.0] * 5)
    table, _ = convert_weather(make.power_csv(tmp_path / "sb.csv", watts, units={"ALLSKY_SFC_SW_DWN": "W/m^2"}))
    np.testing.assert_allclose(table["rs_mj_m2"], 300.0 * 86400 / 1e6)               # mean W/m² over a day
    with pytest.raises(InputDataError, match=r"T2M_MAX is in 'F'; expected one of C"):
        convert_weather(make.power_csv(tmp_path / "f.csv", days, units={"T2M_MAX": "F"}))


def test_fill_values_become_missing_and_days_without_temperature_are_dropped(tmp_path, make):
    days = make.power_days()
    days.loc[days.index[3:], "ALLSKY_SFC_SW_DWN"] = np.nan         # CERES lags: the last days have no radiation
    days.loc[days.index[1], "T2M_MAX"] = np.nan
    table, about = convert_weather(make.power_csv(tmp_path / "p.csv", days))
    assert about["fill_values_replaced"] == {"T2M_MAX": 1, "ALLSKY_SFC_SW_DWN": 2}
    assert about["days_dropped"] == ["2024-06-02"] and about["days"] == 4
    assert table["rs_mj_m2"].isna().tolist() == [False, False, True, True]
    assert (table.drop(columns=["rs_mj_m2"]).to_numpy(dtype=float) > -900).all()


def test_doy_columns_ws10m_and_dew_point_from_specific_humidity(tmp_path, make):
    days = make.power_days().drop(columns=["T2MDEW", "WS2M"])
    days["WS10M"] = 3.1
    days["QV2M"], days["PS"] = 8.0, 96.5
    table, about = convert_weather(make.power_csv(tmp_path / "doy.csv", days, dates="DOY"))
    assert list(table["date"]) == list(days.index)
    assert table["wind_height_m"].eq(10.0).all() and about["variables"]["wind_ms"] == "WS10M"
    q, p = 8.0 / 1000, 96.5
    ea = q * p / (0.622 + 0.378 * q)                                   # kPa
    e_dew = 0.6108 * np.exp(17.27 * table["tdew_c"] / (table["tdew_c"] + 237.3))   # FAO-56 eq. 11 at Tdew
    np.testing.assert_allclose(e_dew, ea, rtol=1e-12)


def test_file_without_header_needs_the_latitude_and_leaves_radiation_out(tmp_path, make):
    path = make.power_csv(tmp_path / "bare.csv", make.power_days(), header=False)
    with pytest.warns(UserWarning, match="no declared unit"):
        table, about = convert_weather(path, lat_deg=31.6)
    assert "rs_mj_m2" not in table and table["lat_deg"].eq(31.6).all() and "elevation_m" not in table
    assert about["site"]["lat_from"] == "argument"


def test_non_daily_power_files_are_refused(tmp_path, make):
    path = make.power_csv(tmp_path / "hourly.csv", make.power_days(),
                          title="NASA/POWER Source Native Resolution Hourly Data")
    with pytest.raises(InputDataError, match="is not daily data; download from the daily temporal API"):
        convert_weather(path)
    from kit.i18n import using

    with using("fr"), pytest.raises(InputDataError, match="n’est pas une donnée journalière.*API temporelle journalière"):
        convert_weather(path)  # a French run's reader speaks French


def test_json_geometry_fill_value_and_units(tmp_path, make):
    days = make.power_days()
    days.loc[days.index[4], "PRECTOTCORR"] = np.nan
    table, about = convert_weather(make.power_json(tmp_path / "power.json", days, units={"ALLSKY_SFC_SW_DWN": "kW-hr/m^2/day"}))
    assert about["format"] == "nasa_power_json"
    assert (about["site"]["lat_deg"], about["site"]["lon_deg"], about["site"]["elevation_m"]) == (31.63, -8.01, 470.2)
    assert about["fill_values_replaced"] == {"PRECTOTCORR": 1} and np.isnan(table["rain_mm"].iloc[4])
    np.testing.assert_allclose(table["rs_mj_m2"], days["ALLSKY_SFC_SW_DWN"].round(2) * 3.6)


def _kit_csv(tmp_path, days, site):
    table = days.rename(columns=KIT_COLUMNS)[list(KIT_COLUMNS.values())].rename_axis("date").reset_index()
    table["lat_deg"], table["elevation_m"] = site["lat"], site["elevation"]
    path = tmp_path / "station.csv"
    table.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path


@pytest.mark.parametrize("layout", ["csv", "csv_kwh", "json"])
def test_et0_from_converted_power_equals_et0_from_the_kit_csv(tmp_path, make, layout):
    days = make.power_days(n=5).round(2)
    reference = et0(read_weather(_kit_csv(tmp_path, days, make.site)))
    if layout == "csv":
        path = make.power_csv(tmp_path / "power.csv", days)
    elif layout == "csv_kwh":
        path = make.power_csv(tmp_path / "power.csv", days.assign(ALLSKY_SFC_SW_DWN=days["ALLSKY_SFC_SW_DWN"] / 3.6),
                              units={"ALLSKY_SFC_SW_DWN": "kW-hr/m^2/day"})
    else:
        path = make.power_json(tmp_path / "power.json", days)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # nothing to gap-fill, no ignored column
        converted = et0(read_weather(convert_weather(path)[0]))
    assert converted["method"].eq("penman-monteith").all()
    np.testing.assert_allclose(converted["et0_mm"], reference["et0_mm"], rtol=1e-12)
    pd.testing.assert_index_equal(converted.index, reference.index)
