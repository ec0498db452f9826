"""Water-deficit index, temperature-weighted light use and monotone quantile trees, checked by hand."""
import numpy as np
import pandas as pd
import pytest

from kit.ml import QuantileGBM, light_use_features, temperature_factor, water_deficit_features


def test_water_deficit_of_a_balance_by_hand():
    import xarray as xr

    etc = np.array([[np.nan, 4.0, 4.0, 4.0, 4.0], [np.nan, np.nan, 2.0, 2.0, 2.0]])
    eta = np.array([[np.nan, 4.0, 2.0, 1.0, 1.0], [np.nan, np.nan, 2.0, 2.0, 2.0]])
    ds = xr.Dataset({"etc_mm": (("field", "time"), etc), "eta_mm": (("field", "time"), eta)})
    out = water_deficit_features(ds, cutoff_index=3, recent_days=2)
    np.testing.assert_allclose(out["wb_relative_et"], [7 / 12, 1.0])
    np.testing.assert_allclose(out["wb_et_deficit_mm"], [5.0, 0.0])
    np.testing.assert_allclose(out["wb_relative_et_recent"], [3 / 8, 1.0])


def test_temperature_weighted_light_use_is_the_day_by_day_sum():
    rng = np.random.default_rng(2)
    ndvi, ks, rs = rng.uniform(0.2, 0.9, (2, 30)), rng.uniform(0.4, 1, (2, 30)), rng.uniform(8, 25, 30)
    tmean, tmax = rng.uniform(-2, 25, 30), rng.uniform(10, 44, 30)
    factor = temperature_factor(tmean, tmax)
    out = light_use_features(ndvi, ks, rs, np.array([0, 12]), growth_factor=factor)
    for i, plant in enumerate((0, 12)):
        expect = sum(np.clip(1.1638 * ndvi[i, d] - 0.1426, 0, 1) * 0.5 * rs[d] * ks[i, d]
                     * min(max(tmean[d] / 15, 0), 1) * min(max(1 - (tmax[d] - 32) / 10, 0), 1) for d in range(plant, 30))
        assert out["lue_apar_ks_temp_mj"][i] == pytest.approx(expect)


@pytest.mark.parametrize("method", ["basic", "intermediate", "advanced"])
def test_monotone_constraint_binds_the_median_model(method):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"ndvi_peak": rng.uniform(0.3, 0.9, 600), "other": rng.normal(size=600)})
    y = 4 * X["ndvi_peak"] - 3 * np.exp(-((X["ndvi_peak"] - 0.6) / 0.04) ** 2) + rng.normal(0, 0.3, 600)  # a dip
    grid = pd.DataFrame({"ndvi_peak": np.linspace(0.3, 0.9, 121), "other": 0.0})
    free = QuantileGBM(quantiles=(0.5,), n_estimators=200, min_child_samples=5).fit(X, y).predict(grid)["yield_p50"].to_numpy()
    tied = QuantileGBM(quantiles=(0.5,), n_estimators=200, min_child_samples=5, monotone={"ndvi_peak": 1},
                       monotone_method=method).fit(X, y).predict(grid)["yield_p50"].to_numpy()
    assert np.diff(free).min() < -0.3  # the free trees learn the dip
    assert np.diff(tied).min() >= -1e-9


def test_looser_monotone_methods_fit_a_rising_yield_closer():
    # A yield that rises with peak NDVI and with a free covariate: every method keeps the rise, the looser
    # bounds of "intermediate" follow the training data at least as closely as "basic".
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"ndvi_peak": rng.uniform(0.3, 0.9, 600), "other": rng.normal(size=600)})
    y = 5 * X["ndvi_peak"] + np.sin(3 * X["other"]) * X["ndvi_peak"] + rng.normal(0, 0.1, 600)
    mse = {}
    for method in ("basic", "intermediate"):
        m = QuantileGBM(quantiles=(0.5,), n_estimators=100, monotone={"ndvi_peak": 1}, monotone_method=method).fit(X, y)
        mse[method] = float(np.mean((m.predict(X)["yield_p50"] - y) ** 2))
        assert m.models_[0.5].get_params()["monotone_constraints_method"] == method
    assert mse["intermediate"] <= mse["basic"] * 1.001
