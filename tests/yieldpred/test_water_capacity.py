"""Each field's water capacity from how early it senesces in dry seasons (kit.yieldpred.water_capacity)."""
import numpy as np
import pytest

from kit import yieldpred
from kit.yieldpred.water_capacity import imagery_water_capacity, senescence_history


def test_history_leaves_the_season_out_and_weights_dry_seasons():
    sen = {2001: np.array([1500.0, 1700.0, 1600.0]), 2002: np.array([1800.0, 1800.0, 1900.0]),
           2003: np.array([1400.0, 1600.0, np.nan])}
    h = senescence_history(sen, {2001: 0.6, 2002: 0.2, 2003: 0.0})
    # 2003 (no weight, wet) reads 2001 (-100, 100, 0) and 2002 (0, 0, 100) at 3:1
    np.testing.assert_allclose(h[2003], [-75.0, 75.0, 25.0])
    # 2001 reads 2002 alone (2003 weighs nothing); the third field's NaN in 2003 does not count
    np.testing.assert_allclose(h[2001], [0.0, 0.0, 100.0])
    assert np.isnan(senescence_history({2001: np.array([1.0, 2.0])}, {2001: 1.0})[2001]).all()
    # the season to forecast (2003, no yields) is read by none; it reads the others
    only = senescence_history(sen, {2001: 0.6, 2002: 0.2, 2003: 0.5}, sources=[2001, 2002])
    np.testing.assert_allclose(only[2001], [0.0, 0.0, 100.0])
    np.testing.assert_allclose(only[2003], [-75.0, 75.0, 25.0])


def test_capacity_moves_towards_what_the_canopy_says():
    taw_map = np.array([100.0, 100.0, 150.0, 150.0, 200.0])
    # the first field senesces early like the shallow ones and the second late like the deep one
    history = np.array([-80.0, 80.0, -20.0, 20.0, 100.0])
    got = imagery_water_capacity(taw_map, history)
    slope, intercept = np.polyfit(history, taw_map, 1)
    np.testing.assert_allclose(got, 0.5 * taw_map + 0.5 * (intercept + slope * history))
    assert got[0] < got[1] - 20  # one map value, two canopies: the early one holds less
    assert imagery_water_capacity(taw_map, history, map_weight=1.0) == pytest.approx(taw_map)
    # no spread or too few fields: the map
    assert imagery_water_capacity(taw_map, np.zeros(5)).tolist() == taw_map.tolist()
    assert imagery_water_capacity(taw_map[:2], history[:2]).tolist() == [100.0, 100.0]


def test_feature_table_capacity_from_imagery_changes_only_the_arid_columns(region):
    r, obs, weather, yields = region
    fields = r.fields.assign(taw_mm_per_m=np.linspace(60, 200, len(r.fields)))
    on_map = yieldpred.FeatureBuilder(fields, obs, weather, yields, r.years, imagery_capacity=False).features(274)[0]
    imagery = yieldpred.FeatureBuilder(fields, obs, weather, yields, r.years).features(274)[0]
    arid = ["arid_apar_temp_mj", "arid_water_factor"]
    assert list(on_map.columns) == list(imagery.columns)
    assert on_map.drop(columns=arid).equals(imagery.drop(columns=arid))
    assert imagery["arid_water_factor"].between(0, 1).all()
    assert not np.allclose(on_map["arid_apar_temp_mj"], imagery["arid_apar_temp_mj"])
