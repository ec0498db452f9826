"""Stress around flowering placed by the canopy curve (kit.yieldpred.stress_timing), and the one field water capacity."""
import numpy as np
import pandas as pd
import pytest

from kit import yieldpred
from kit.agro.crops import SOILS
from kit.yieldpred.stress_timing import (FLOWERING_WINDOW_DAYS, HEAT_STRESS_C, flowering_day, flowering_features,
                                         thermal_time_from_sowing)


def _bell(n_days, peak, width=25.0, low=0.2, high=0.8):
    return low + (high - low) * np.exp(-0.5 * ((np.arange(n_days) - peak) / width) ** 2)


def test_flowering_is_the_curve_peak_after_sowing_and_thermal_time_without_one():
    n = 120
    curves = np.vstack([_bell(n, 70), _bell(n, 90), np.full(n, 0.2), np.full(n, np.nan)])
    curves[1, 80:100] = np.nan  # a cloud gap over the peak: the peak of what is left, next to it
    day = flowering_day(curves, np.full(n, 20.0), np.array([10, 10, 10, 30]), gdd_c_days=1000)
    assert day[0] == 70 and day[1] == 100  # day 100 is a day nearer the true peak (90) than day 79
    # 50 days of 20 °C from sowing on day 10 reach 1000 °C·d on day 59; from day 30, on day 79
    assert day[2] == 59 and day[3] == 79
    assert np.isnan(flowering_day(np.full((1, 20), 0.2), np.full(20, 5.0), np.array([0]), gdd_c_days=1000)[0])


def test_a_peak_before_sowing_is_not_flowering():
    # last season's stubble greenness at day 5; the crop sown on day 20 peaks on day 90
    curve = np.maximum(_bell(150, 5, 5, 0.2, 0.9), _bell(150, 90, 20, 0.2, 0.7))[None, :]
    assert flowering_day(curve, np.full(150, 15.0), np.array([20]))[0] == 90


def test_thermal_time_from_sowing_counts_days_through_the_given_one():
    tmean = np.array([5.0, -2.0, 10.0, 12.0, 8.0, np.nan, 6.0])
    got = thermal_time_from_sowing(np.array([3.0, 6.0, 0.0, 2.0, 40.0]), tmean, np.array([1.0, 1.0, 0.0, 3.0, 6.0]))
    # 0 (-2 °C) + 10 + 12; 0 + 10 + 12 + 8 + 0 (NaN) + 6; day 0 alone; a day before sowing; past the end: the last day
    assert got.tolist() == [22.0, 36.0, 5.0, 0.0, 6.0]


def test_heat_counts_only_inside_the_flowering_window_and_water_is_its_mean():
    n = 200
    curve = np.tile(_bell(n, 100), (2, 1))
    tmax = np.full(n, 25.0)
    before, after = FLOWERING_WINDOW_DAYS
    tmax[100 - before] = HEAT_STRESS_C + 4.0  # first day of the window
    tmax[100 + after + 1] = HEAT_STRESS_C + 10.0  # the day after it, in the grain fill (from day +10)
    tmax[50] = 40.0  # a hot day in winter does not count
    water = np.ones((2, n))
    water[1, 100 - before: 100 + after + 1] = 0.5
    f = flowering_features(curve, np.full((2, n), 0.5), np.full(n, 10.0), tmax, np.array([20, 20]), water_factor_daily=water)
    assert f["flowering_day"].tolist() == [100.0, 100.0]
    assert f["flowering_heat_c_days"] == pytest.approx([4.0, 4.0])
    assert f["grain_fill_heat_c_days"] == pytest.approx([10.0, 10.0])
    assert f["grain_fill_green_days"] == pytest.approx([15.5, 15.5])  # 31 days (+10..+40) x fAPAR 0.5
    assert f["flowering_water_factor"] == pytest.approx([1.0, 0.5])
    assert f["grain_fill_water_factor"] == pytest.approx([1.0, (0.5 + 30) / 31])  # day +10 is in both windows
    assert "flowering_water_factor" not in flowering_features(curve, curve, np.full(n, 10.0), tmax, np.array([20, 20]))


def test_soil_capacity_column_takes_the_soil_class_where_the_field_value_is_missing(region):
    r, obs, weather, yields = region
    fields = r.fields.copy()
    own = np.where(np.arange(len(fields)) % 2 == 0, 111.0, np.nan)
    table = yieldpred.FeatureBuilder(fields.assign(taw_mm_per_m=own), obs, weather, yields, r.years,
                                     water_stress=False).features(274)[0]
    by_field = table.reset_index(drop=True).groupby("field_id")["soil_taw_mm_per_m"].first()
    soil_class = fields.set_index("field_id")["soil"].map(SOILS["taw_mm_per_m"])
    expect = pd.Series(np.where(np.isnan(own), soil_class.reindex(fields["field_id"]).to_numpy(), own), index=fields["field_id"])
    assert by_field.notna().all()
    np.testing.assert_allclose(by_field.to_numpy(), expect.reindex(by_field.index).to_numpy())


def test_feature_table_senescence_thermal_time_is_the_degree_days_from_sowing_to_senescence(region):
    r, obs, weather, yields = region
    builder = yieldpred.FeatureBuilder(r.fields, obs, weather, yields, r.years)
    table = builder.features(274)[0].reset_index(drop=True)
    assert table["thermal_ndvi_senescence_c_days"].between(500, 3500).all()
    row = table.iloc[len(table) // 2]
    start = yieldpred.season_start_date(int(row["year"]), "09-01")
    days = pd.date_range(start + pd.Timedelta(days=int(row["planting_day"])), start + pd.Timedelta(days=int(row["ndvi_senescence_day"])))
    w = builder.season_weather(int(row["year"]), 274).reindex(days)  # observed to the forecast day, climatology after
    by_hand = np.maximum((w["tmin_c"] + w["tmax_c"]) / 2, 0).sum()
    assert row["thermal_ndvi_senescence_c_days"] == pytest.approx(by_hand, rel=1e-9)
