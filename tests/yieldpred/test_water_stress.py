"""The canopy-driven ARID water stress (kit.yieldpred.water_stress) and its features in the feature table."""
import numpy as np
import pandas as pd
import pytest

from kit import yieldpred
from kit.yieldpred.water_stress import ARID_UPTAKE_PER_DAY, arid_features, arid_water_factor, field_taw_mm_per_m


def test_water_factor_is_uptake_over_demand_of_a_filled_bucket():
    # 100 mm of rain on day 0 fill a 50 mm bucket (0.9 x 100 capped); a full canopy then asks 5 mm/day.
    rain = np.r_[100.0, np.zeros(4)]
    f = arid_water_factor(np.ones((1, 5)), np.full(5, 5.0), rain, np.array([50.0]), np.array([0]))
    assert f[0, 0] == 0.0  # the rain of the day comes after the day's uptake from an empty soil
    assert f[0, 1] == pytest.approx(ARID_UPTAKE_PER_DAY * 50 / 5)
    assert np.all(np.diff(f[0, 1:]) < 0)  # the bucket drains without rain


def test_water_factor_is_one_before_sowing_and_higher_on_deeper_soil():
    rng = np.random.default_rng(0)
    rain = np.where(rng.random(120) < 0.2, rng.gamma(1.0, 10.0, 120), 0.0)
    cover = np.tile(np.clip(np.linspace(0, 1.2, 120), 0, 0.9), (2, 1))
    f = arid_water_factor(cover, np.full(120, 4.0), rain, np.array([40.0, 160.0]), np.array([30, 30]))
    assert np.all(f[:, :30] == 1.0)
    assert np.all(f[1] >= f[0] - 1e-12) and f[1, 30:].mean() > f[0, 30:].mean() + 0.05


def test_arid_features_weight_absorbed_radiation_by_cool_days_and_stress_without_compounding():
    n = 11
    wet = dict(et0_mm=np.full(n, 5.0), rain_mm=np.full(n, 50.0), taw_mm=np.array([200.0]), planting_day=np.array([1]))
    cool = arid_features(np.full((1, n), 0.5), np.full(n, 20.0), np.full(n, 5.0), np.full(n, 10.0), **wet)
    # 10 sown days x 10 MJ PAR x fAPAR 0.5 x f_temp 0.5 (mean 7.5 °C), no water stress once the bucket holds rain
    assert cool["arid_apar_temp_mj"][0] == pytest.approx(25.0)
    assert cool["arid_water_factor"][0] == pytest.approx(1.0)
    hot = arid_features(np.full((1, n), 0.5), np.full(n, 20.0), np.full(n, 27.0), np.full(n, 37.0), **wet)
    assert hot["arid_apar_temp_mj"][0] == pytest.approx(25.0)  # f_heat 0.5 at 37 °C, f_temp 1
    dry = arid_features(np.full((1, n), 0.5), np.full(n, 20.0), np.full(n, 27.0), np.full(n, 37.0),
                        **{**wet, "rain_mm": np.zeros(n)})
    assert dry["arid_apar_temp_mj"][0] == 0.0 and dry["arid_water_factor"][0] == 0.0


def test_field_water_capacity_falls_back_on_the_soil_class():
    fields = pd.DataFrame({"soil": ["loam", "sand", "clay"], "taw_mm_per_m": [100.0, np.nan, np.nan]})
    assert field_taw_mm_per_m(fields).tolist() == [100.0, 80.0, 160.0]
    assert field_taw_mm_per_m(fields[["soil"]]).tolist() == [155.0, 80.0, 160.0]


def test_feature_table_water_factor_falls_with_a_shallower_soil(region):
    r, obs, weather, yields = region
    fields = r.fields.copy()
    def build(taw):
        return yieldpred.FeatureBuilder(fields.assign(taw_mm_per_m=taw), obs, weather, yields, r.years).features(274)[0]

    deep, shallow = build(200.0), build(50.0)  # on by default: the fields carry their own water capacity
    assert "taw_mm_per_m" not in fields  # soil classes only: off unless asked for
    assert "arid_water_factor" not in yieldpred.FeatureBuilder(fields, obs, weather, yields, r.years).features(274)[0]
    asked = yieldpred.FeatureBuilder(fields, obs, weather, yields, r.years, water_stress=True).features(274)[0]
    assert asked["arid_water_factor"].notna().all()
    assert deep["arid_water_factor"].between(0, 1).all()
    assert (shallow["arid_water_factor"] <= deep["arid_water_factor"] + 1e-12).all()
    assert shallow["arid_apar_temp_mj"].mean() < deep["arid_apar_temp_mj"].mean()
