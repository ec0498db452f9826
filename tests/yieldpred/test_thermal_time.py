"""Thermal time from sowing (kit.yieldpred.thermal_time), the senescence column built on it, and the one field water capacity."""
import numpy as np
import pandas as pd
import pytest

from kit import yieldpred
from kit.agro.crops import SOILS
from kit.yieldpred.thermal_time import thermal_time_from_sowing


def test_thermal_time_from_sowing_counts_days_through_the_given_one():
    tmean = np.array([5.0, -2.0, 10.0, 12.0, 8.0, np.nan, 6.0])
    got = thermal_time_from_sowing(np.array([3.0, 6.0, 0.0, 2.0, 40.0]), tmean, np.array([1.0, 1.0, 0.0, 3.0, 6.0]))
    # 0 (-2 °C) + 10 + 12; 0 + 10 + 12 + 8 + 0 (NaN) + 6; day 0 alone; a day before sowing; past the end: the last day
    assert got.tolist() == [22.0, 36.0, 5.0, 0.0, 6.0]


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
