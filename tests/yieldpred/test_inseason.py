"""In-season forecasts: climatology after the forecast date, nothing later used; shrinkage; absorbed radiation."""
import numpy as np
import pandas as pd
import pytest

from kit import yieldpred
from kit.ml import fapar_from_ndvi, light_use_features
from kit.yieldpred.features import ANOMALY_MEMORY_DAYS

TARGET = 2024
CUTOFF_DAY = 150  # 29 January: tillering, long before heading


def _builder(region, obs=None, weather=None):
    r, obs0, weather0, yields = region
    return yieldpred.FeatureBuilder(r.fields, obs0 if obs is None else obs, weather0 if weather is None else weather, yields, r.years)


def _after_cutoff(index, year=TARGET, day=CUTOFF_DAY):
    return index > yieldpred.season_start_date(year) + pd.Timedelta(days=day)


def test_every_stage_has_features_at_an_early_forecast_date(region):
    feats, _ = _builder(region).features(CUTOFF_DAY)
    target = feats[feats["year"] == TARGET]
    for col in ("late_ks_mean", "late_gdd_c_days", "ndvi_senescence_day", "ndvi_mean_may", "lue_apar_ks_mj"):
        assert target[col].notna().all(), col


def test_forecast_ignores_weather_and_imagery_after_the_forecast_date(region):
    r, obs, weather, yields = region
    feats, _ = _builder(region).features(CUTOFF_DAY)
    # A different future: a heat wave with no rain and a bare-soil index after the cut-off.
    w2 = weather.copy()
    late = _after_cutoff(w2.index)
    w2.loc[late, ["tmax_c", "tmin_c"]] += 8.0
    w2.loc[late, "rain_mm"] = 0.0
    o2 = obs.copy()
    o2.loc[_after_cutoff(o2["date"]), ["ndvi", "ndmi"]] = 0.12
    feats2, _ = _builder(region, obs=o2, weather=w2).features(CUTOFF_DAY)
    target, target2 = feats.loc[(slice(None), TARGET), :], feats2.loc[(slice(None), TARGET), :]
    pd.testing.assert_frame_equal(target, target2)
    train = yieldpred.training_table(feats, yields, exclude_year=TARGET)
    model = yieldpred.YieldModel(n_estimators=40).fit(train, train["yield_t_ha"])
    pd.testing.assert_frame_equal(model.predict(target.reset_index(drop=True)), model.predict(target2.reset_index(drop=True)))
    # ...while the same change before the cut-off does change the forecast's features.
    w3 = weather.copy()
    w3.loc[(w3.index > yieldpred.season_start_date(TARGET) + pd.Timedelta(days=60)) & ~late, "rain_mm"] = 0.0
    feats3, _ = _builder(region, weather=w3).features(CUTOFF_DAY)
    assert not np.allclose(feats3.loc[(slice(None), TARGET), "ini_ks_mean"], target["ini_ks_mean"])


def test_weather_ending_at_the_forecast_date_is_enough(region):
    r, obs, weather, yields = region
    cut = weather[~_after_cutoff(weather.index)]
    full, _ = _builder(region).features(CUTOFF_DAY)
    short, _ = _builder(region, weather=cut).features(CUTOFF_DAY)
    pd.testing.assert_frame_equal(full.loc[(slice(None), TARGET), :], short.loc[(slice(None), TARGET), :])


def test_climatology_is_the_mean_of_the_other_seasons_with_yields(region):
    r, obs, weather, yields = region
    b = _builder(region)
    w = b.season_weather(TARGET, CUTOFF_DAY)
    day = 200  # a day after the cut-off
    others = [y for y in r.years if y != TARGET]
    expected = np.mean([weather.loc[yieldpred.season_start_date(y) + pd.Timedelta(days=day), "tmax_c"] for y in others])
    assert w["tmax_c"].iloc[day] == pytest.approx(expected, rel=1e-12)
    assert w["tmax_c"].iloc[CUTOFF_DAY] == weather.loc[yieldpred.season_start_date(TARGET) + pd.Timedelta(days=CUTOFF_DAY), "tmax_c"]
    # A training season's climatology leaves that season out.
    w21 = b.season_weather(others[0], CUTOFF_DAY)
    rest = [y for y in others[1:]]
    expected21 = np.mean([weather.loc[yieldpred.season_start_date(y) + pd.Timedelta(days=day), "tmax_c"] for y in rest])
    assert w21["tmax_c"].iloc[day] == pytest.approx(expected21, rel=1e-12)


def test_index_curve_continues_along_climatology_with_a_fading_departure(region):
    r, obs, weather, yields = region
    b = _builder(region)
    curve = b.season_curves(TARGET, 240)["ndvi"].to_numpy()
    _, clim = b.climatology(TARGET)
    from kit.raster import daily_curve

    start = yieldpred.season_start_date(TARGET)
    upto = obs[(obs["date"] >= start) & (obs["date"] <= start + pd.Timedelta(days=240))]
    wide = upto.pivot_table(index="field_id", columns="date", values="ndvi").reindex(r.fields["field_id"])
    seen = daily_curve(wide, start, start + pd.Timedelta(days=240)).to_numpy()
    np.testing.assert_array_equal(curve[:, :241], seen)  # up to the cut-off: the observations, nothing else
    departure_at_cutoff = np.abs(curve[:, 241] - clim["ndvi"][:, 241])
    departure_later = np.abs(curve[:, 290] - clim["ndvi"][:, 290])
    ok = np.isfinite(departure_at_cutoff) & np.isfinite(departure_later) & (departure_at_cutoff > 1e-3)
    assert ok.sum() > 10
    np.testing.assert_allclose(departure_later[ok] / departure_at_cutoff[ok], np.exp(-49 / ANOMALY_MEMORY_DAYS), rtol=1e-6)


def test_shrinkage_falls_back_on_the_baseline_when_features_are_noise():
    rng = np.random.default_rng(0)
    fields, years = [f"F{i}" for i in range(60)], list(range(2015, 2023))
    X = pd.DataFrame([(f, y) for y in years for f in fields], columns=["field_id", "year"])
    level = dict(zip(fields, rng.uniform(2.0, 4.0, len(fields))))
    season = dict(zip(years, rng.normal(0.0, 0.6, len(years))))
    y = X["field_id"].map(level) + X["year"].map(season) + rng.normal(0, 0.2, len(X))
    noise = X.assign(noise_a=rng.normal(size=len(X)), noise_b=rng.normal(size=len(X)))
    signal = noise.assign(season_signal=X["year"].map(season) + rng.normal(0, 0.05, len(X)), field_signal=X["field_id"].map(level))
    m_noise = yieldpred.YieldModel(n_estimators=60, calibrate=False, quantiles=(0.5,)).fit(noise, y)
    m_signal = yieldpred.YieldModel(n_estimators=60, calibrate=False, quantiles=(0.5,)).fit(signal, y)
    assert m_noise.shrink_weight_ <= 0.3 and m_signal.shrink_weight_ >= 0.8
    p = m_noise.predict(noise)
    base = p["baseline_mean"] if m_noise.shrink_to_ == "mean" else p["baseline_trend"]
    assert np.abs(p["yield_p50"] - base).mean() < 0.3 * np.abs(m_noise.gbm_.predict(noise[m_noise.columns_])["yield_p50"] - base).mean() + 1e-9


def test_absorbed_radiation_matches_a_day_by_day_sum():
    rng = np.random.default_rng(1)
    ndvi = rng.uniform(0.1, 0.9, (3, 40))
    ndvi[1, 5:9] = np.nan
    ks = rng.uniform(0.3, 1.0, (3, 40))
    ks[2, :4] = np.nan
    rs = rng.uniform(8, 28, 40)
    plant = np.array([0, 10, 25])
    out = light_use_features(ndvi, ks, rs, plant)
    for i in range(3):
        apar = apar_ks = 0.0
        for d in range(plant[i], 40):
            if np.isnan(ndvi[i, d]):
                continue
            fapar = min(max(1.1638 * ndvi[i, d] - 0.1426, 0.0), 1.0)
            apar += fapar * 0.5 * rs[d]
            apar_ks += fapar * 0.5 * rs[d] * (1.0 if np.isnan(ks[i, d]) else ks[i, d])
        assert out["lue_apar_mj"][i] == pytest.approx(apar, rel=1e-12)
        assert out["lue_apar_ks_mj"][i] == pytest.approx(apar_ks, rel=1e-12)
    assert fapar_from_ndvi(np.array([np.nan]))[0] != fapar_from_ndvi(np.array([np.nan]))[0]  # NaN stays NaN
