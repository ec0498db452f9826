"""The embedded region, the two input paths (rasters, index_series) and bad inputs (CRS, unknown fields, units, missing imagery)."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from kit import yieldpred
from kit.errors import InputDataError, KitError
from kit.raster import FieldsOutsideRasterWarning, read_stack
from kit.yieldpred import SkippedWarning, UnknownFieldsWarning, cereal_region, index_series_from_stack
from kit.yieldpred import notebook as nbk

YEARS = 4


@pytest.fixture(scope="module")
def region():
    return cereal_region(seasons=YEARS, target_year=2024, scale=0.25, seed=3)


@pytest.fixture(scope="module")
def files(region, tmp_path_factory):
    return region.write(tmp_path_factory.mktemp("region"))


def _params(**values):
    base = {"output_dir": "unused", "device": "cpu", "target_year": 2024, "forecast_date": "2024-06-01"}
    base.update(values)
    return nbk.PARAMETERS.validate(base)


def test_region_is_plausible_and_yields_follow_the_process_model(region):
    y = region.yields
    assert len(region.fields) >= 50 and sorted(y["year"].unique()) == list(range(2021, 2025))
    assert 0.8 < y["yield_t_ha"].mean() < 4.5 and y["yield_t_ha"].min() > 0.1  # rainfed Chaouia range
    t = region.truth.merge(y, on=["field_id", "year"])
    # Yields are the process model's (biomass x harvest index) with a trend and ~8 % noise,
    # not a function of the imagery features.
    ratio = t["yield_t_ha"] / (t["model_yield_t_ha"] * t["trend_factor"])
    assert 0.05 < np.log(ratio).std() < 0.11
    np.testing.assert_allclose(t["model_yield_t_ha"] / (t["biomass_t_ha"] * t["harvest_index"]),
                               np.where(region.fields.set_index("field_id").loc[t["field_id"], "crop"] == "barley", 0.9, 1.0), rtol=1e-9)
    # Wetter field-seasons yield more.
    assert np.corrcoef(t["season_rain_mm"], t["yield_t_ha"])[0, 1] > 0.3
    scl = region.stack.sel(band="SCL").values
    cloudy = np.isin(scl, (8, 9)).mean(axis=(1, 2))
    assert 0.1 < (cloudy > 0.05).mean() < 0.9  # some dates clouded, not all
    gaps = np.diff(pd.DatetimeIndex(region.stack.time.values)).astype("timedelta64[D]").astype(int)
    assert np.median(gaps[gaps < 60]) in (5, 10)


def test_index_series_from_files_equals_in_memory(region, files):
    stack = read_stack(files["rasters"])
    from_files = index_series_from_stack(stack, files["fields"])
    written = pd.read_csv(files["index_series"])
    assert list(written.columns) == ["field_id", "date", "ndvi", "ndmi"]
    np.testing.assert_allclose(from_files["ndvi"].to_numpy(), written["ndvi"].to_numpy(), atol=1e-4)
    assert from_files["ndvi"].between(-1, 1).all()


def test_raster_and_index_series_paths_give_the_same_features(files):
    p_r = _params(rasters=str(files["rasters"]), fields=str(files["fields"]), yields=str(files["yields"]), weather=str(files["weather"]))
    p_i = _params(index_series=str(files["index_series"]), fields=str(files["fields_csv"]), yields=str(files["yields"]), weather=str(files["weather"]))
    a, b = nbk.load_inputs(p_r), nbk.load_inputs(p_i)
    assert a.field_index is not None and b.field_index is None
    years, _ = nbk.seasons(a, 2024, "09-01")
    fa, _ = yieldpred.FeatureBuilder(a.fields, a.observations, a.weather, a.yields, years).features(240)
    fb, _ = yieldpred.FeatureBuilder(b.fields, b.observations, b.weather, b.yields, years).features(240)
    np.testing.assert_allclose(fa["ndvi_integral"].to_numpy(), fb.loc[fa.index, "ndvi_integral"].to_numpy(), rtol=1e-3)


def test_fields_in_another_crs_are_reprojected(files, tmp_path):
    from rasterio.warp import transform_geom

    doc = json.loads(files["fields"].read_text())
    for f in doc["features"]:
        f["geometry"] = transform_geom("EPSG:32629", "EPSG:4326", f["geometry"])
    del doc["crs"]  # RFC 7946: WGS 84
    wgs = tmp_path / "fields_wgs84.geojson"
    wgs.write_text(json.dumps(doc))
    utm = nbk.load_inputs(_params(rasters=str(files["rasters"]), fields=str(files["fields"]), yields=str(files["yields"]), weather=str(files["weather"])))
    lonlat = nbk.load_inputs(_params(rasters=str(files["rasters"]), fields=str(wgs), yields=str(files["yields"]), weather=str(files["weather"])))
    assert lonlat.field_index.field_ids == utm.field_index.field_ids
    assert (lonlat.field_index.labels.values == utm.field_index.labels.values).mean() > 0.98


def test_field_outside_raster_is_counted_and_set_aside(files, tmp_path):
    doc = json.loads(files["fields"].read_text())
    far = json.loads(json.dumps(doc["features"][0]))
    far["properties"]["field_id"] = "FAR-1"
    far["geometry"]["coordinates"] = [[[x + 90_000, y] for x, y in far["geometry"]["coordinates"][0]]]
    doc["features"].append(far)
    path = tmp_path / "fields.geojson"
    path.write_text(json.dumps(doc))
    with pytest.warns(FieldsOutsideRasterWarning, match="1 of"):
        inputs = nbk.load_inputs(_params(rasters=str(files["rasters"]), fields=str(path), yields=str(files["yields"]), weather=str(files["weather"])))
    assert [s["field_id"] for s in inputs.skipped] == ["FAR-1"]
    assert "FAR-1" not in set(inputs.observations["field_id"])


def test_yields_for_unknown_fields_are_counted(files, tmp_path):
    y = pd.read_csv(files["yields"])
    extra = y.iloc[:3].assign(field_id=["GHOST-1", "GHOST-2", "GHOST-2"], year=[2021, 2021, 2022])
    path = tmp_path / "yields.csv"
    pd.concat([y, extra]).to_csv(path, index=False)
    with pytest.warns(UnknownFieldsWarning, match="^3 yield row"):
        inputs = nbk.load_inputs(_params(index_series=str(files["index_series"]), fields=str(files["fields_csv"]), yields=str(path), weather=str(files["weather"])))
    assert not inputs.yields["field_id"].str.startswith("GHOST").any()


def test_yields_in_kg_per_ha_are_refused(files, tmp_path):
    y = pd.read_csv(files["yields"])
    y["yield_t_ha"] *= 1000
    path = tmp_path / "yields.csv"
    y.to_csv(path, index=False)
    with pytest.raises(InputDataError, match="kg/ha"):
        nbk.load_inputs(_params(index_series=str(files["index_series"]), fields=str(files["fields_csv"]), yields=str(path), weather=str(files["weather"])))


def test_season_without_imagery_is_counted_and_target_without_imagery_is_an_error(files, tmp_path):
    s = pd.read_csv(files["index_series"])
    dates = pd.to_datetime(s["date"])
    no_2022 = s[~((dates >= "2021-09-01") & (dates < "2022-09-01"))]
    path = tmp_path / "series.csv"
    no_2022.to_csv(path, index=False)
    inputs = nbk.load_inputs(_params(index_series=str(path), fields=str(files["fields_csv"]), yields=str(files["yields"]), weather=str(files["weather"])))
    with pytest.warns(SkippedWarning, match="1 season"):
        years, without = nbk.seasons(inputs, 2024, "09-01")
    assert without == [2022] and 2022 not in years
    with pytest.raises(InputDataError, match="no imagery in the 2022 season"):
        nbk.seasons(inputs, 2022, "09-01")


def test_index_series_with_bad_values_or_columns(tmp_path):
    from kit.yieldpred import read_index_series

    bad = tmp_path / "s.csv"
    bad.write_text("field_id,date,ndvi\nA,2024-01-01,5400\n")
    with pytest.raises(InputDataError, match="outside -1..1"):
        read_index_series(bad)
    bad.write_text("field,date,ndvi\nA,2024-01-01,0.5\n")
    with pytest.raises(InputDataError, match="missing column.*field_id"):
        read_index_series(bad)


def test_rasters_with_csv_fields_is_refused(files):
    with pytest.raises(KitError, match="GeoJSON"):
        nbk.load_inputs(_params(rasters=str(files["rasters"]), fields=str(files["fields_csv"]), yields=str(files["yields"]), weather=str(files["weather"])))


def test_forecast_uses_no_data_after_the_forecast_date(region):
    from kit.agro import read_weather

    obs = index_series_from_stack(region.stack, region.polygons)
    obs["date"] = pd.to_datetime(obs["date"])
    builder = yieldpred.FeatureBuilder(region.fields.assign(), obs, read_weather(region.weather), region.yields, region.years)
    early, _ = builder.features(180)
    # Changing everything after the cut-off leaves the features unchanged.
    late = obs["date"] > pd.Timestamp("2023-09-01") + pd.Timedelta(days=180)
    tampered = obs.copy()
    tampered.loc[late, ["ndvi", "ndmi"]] = 0.1
    again, _ = yieldpred.FeatureBuilder(region.fields, tampered, read_weather(region.weather), region.yields, region.years).features(180)
    pd.testing.assert_frame_equal(early.loc[(slice(None), 2024), :], again.loc[(slice(None), 2024), :])


def test_cross_validation_and_predictions_have_no_nan(region):
    from kit.agro import read_weather

    obs = index_series_from_stack(region.stack, region.polygons)
    obs["date"] = pd.to_datetime(obs["date"])
    yields = region.yields.assign(yield_t_ha=np.where(region.yields["year"] == 2024, np.nan, region.yields["yield_t_ha"]))
    feats, skipped = yieldpred.FeatureBuilder(region.fields, obs, read_weather(region.weather), yields, region.years).features(270)
    cv, m = yieldpred.cross_validate(feats, yields, exclude_year=2024, n_estimators=60)
    assert set(cv["fold"]) == {"test 2021", "test 2022", "test 2023"}
    for _, part in cv.groupby("fold"):
        assert part["year"].nunique() == 1
    assert np.isfinite(cv.drop(columns=["field_id", "fold"]).to_numpy(float)).all()
    assert set(m) >= {"cv_rmse_p50", "cv_nrmse_p50", "cv_r2_p50", "baseline_nrmse_mean", "baseline_nrmse_trend", "interval_coverage_p10_p90"}
    train = yieldpred.training_table(feats, yields, exclude_year=2024)
    model = yieldpred.YieldModel(n_estimators=60).fit(train, train["yield_t_ha"])
    target = feats[feats["year"] == 2024].reset_index(drop=True)
    pred = nbk.predictions_table(model.predict(target), target)
    assert list(pred.columns) == ["field_id", "year", "yield_p10", "yield_p50", "yield_p90"]
    assert (pred["yield_p10"] <= pred["yield_p50"]).all() and (pred["yield_p50"] <= pred["yield_p90"]).all()


def test_spatial_cross_validation_holds_out_season_and_commune(region):
    from kit.agro import read_weather

    obs = index_series_from_stack(region.stack, region.polygons)
    obs["date"] = pd.to_datetime(obs["date"])
    fields, _ = nbk.read_fields_table(region.fields)
    feats, _ = yieldpred.FeatureBuilder(fields, obs, read_weather(region.weather), region.yields, region.years).features(270)
    out = yieldpred.cross_validate_spatial(feats, region.yields, "field_commune", n_estimators=40)
    n_groups = region.fields["commune"].nunique()
    assert out["folds"] == YEARS * n_groups and np.isfinite(out["cv_nrmse_p50"])
