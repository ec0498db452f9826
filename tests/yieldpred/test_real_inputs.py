"""The yield notebook's glue on imagery and weather as users have them, end to end through ``load_inputs``.

The embedded region's own Sentinel-2-like digital numbers are written as
real products (SAFE folders and zips of baselines 02.14 and 05.10, an Earth
Search ItemCollection over GeoTIFF assets, a GeoTIFF export of B04, B08 and
SCL) and its station weather as NASA POWER and ERA5-Land files; the
notebook must find the same field NDVI and the same weather whatever the
kind. Tolerances are set against what a reading mistake costs: an offset
of -1000 DN left unapplied moves these fields' NDVI by 0.07-0.25, which a test shows.
"""
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import kit.report
from kit import yieldpred
from kit.agro import et0
from kit.errors import InputDataError, ParameterError
from kit.raster import ProductSetAsideWarning
from kit.raster.georef import set_georef
from kit.raster.stack import write_acquisitions
from kit.yieldpred import cereal_region, index_series_from_stack
from kit.yieldpred import notebook as nbk
from kit.yieldpred.season import forecast_date_in_season
from tests.agro.weather_sources.weather_files import (
    era5_hourly_from_weather, power_days_from_weather, running_totals, write_new_cds, write_power_csv, write_power_json,
)
from tests.raster.s2_fixtures import Sentinel2Layouts

EVERY = 6  # every 6th acquisition of the region becomes a product: 13 dates over the 3 seasons
NDVI_TOL = 1e-3  # float32 arithmetic; a missing offset costs 50 times more (see the offset test)
PIXEL_M = 20.0


@pytest.fixture(scope="module")
def region():
    return cereal_region(seasons=3, target_year=2024, scale=0.25, seed=3)


@pytest.fixture(scope="module")
def files(region, tmp_path_factory):
    return region.write(tmp_path_factory.mktemp("region"), rasters=False)


@pytest.fixture(scope="module")
def dates(region):
    """The acquisitions written as products."""
    return region.stack.isel(time=slice(None, None, EVERY))


def _layouts(root, stack) -> Sentinel2Layouts:
    """Products on the region's grid: its upper-left corner, its side."""
    x0, y0 = float(stack.x[0]) - PIXEL_M / 2, float(stack.y[0]) + PIXEL_M / 2
    return Sentinel2Layouts(root, extent_m=stack.sizes["x"] * PIXEL_M, origin=(x0, y0))


def _values(stack, i) -> dict:
    """Band -> 20 m DN array (no offset) of acquisition ``i``."""
    return {str(b): stack.values[i, j] for j, b in enumerate(stack.band.values)}


def _day(stack, i) -> str:
    return pd.Timestamp(stack.time.values[i]).strftime("%Y-%m-%d")


@pytest.fixture(scope="module")
def safe_folder(dates, tmp_path_factory):
    """One SAFE product per date, baselines 02.14 (no offset) and 05.10 (DN + 1000) in turn, every third zipped; and a
    download cut short (a broken zip), which is set aside."""
    root = tmp_path_factory.mktemp("safe")
    layouts = _layouts(root, dates)
    for i in range(dates.sizes["time"]):
        layouts.safe("products", date=_day(dates, i), baseline=("02.14", "05.10")[i % 2], values=_values(dates, i),
                     zipped=i % 3 == 2)
    (root / "products" / "S2A_MSIL2A_20240701T110621_N0510_R137_T29SPR_20240701T141720.SAFE.zip").write_bytes(b"PK\x03\x04cut")
    return root / "products"


@pytest.fixture(scope="module")
def stac_file(dates, tmp_path_factory):
    """An Earth Search ItemCollection: GeoTIFF assets, ``raster:bands`` offset -0.1 over DN + 1000; one item whose
    pixels Earth Search already corrected (``earthsearch:boa_offset_applied``)."""
    root = tmp_path_factory.mktemp("stac")
    layouts = _layouts(root, dates)
    items = [layouts.earth_search_item("search", date=_day(dates, i), baseline="05.10", values=_values(dates, i),
                                       offset_applied=True if i == 3 else None) for i in range(dates.sizes["time"])]
    return layouts.item_collection("search", items)


@pytest.fixture(scope="module")
def truth_10m(region, dates):
    """The field NDVI and NDMI of the region's own digital numbers on the products' 10 m grid (each 20 m pixel 2 x 2):
    the polygons cover slightly other pixels at 10 m than at 20 m, so this, not the 20 m series, is what a right
    reading of the products gives."""
    fine = np.kron(dates.values, np.ones((1, 1, 2, 2), dtype=dates.dtype))
    x0, y0 = float(dates.x[0]) - PIXEL_M / 2, float(dates.y[0]) + PIXEL_M / 2
    stack = xr.DataArray(fine, dims=dates.dims, coords={"time": dates.time, "band": dates.band,
                                                       "y": y0 - 5 - 10 * np.arange(fine.shape[2]),
                                                       "x": x0 + 5 + 10 * np.arange(fine.shape[3])}, attrs={"nodata": 0})
    stack = set_georef(stack, "EPSG:32629", (10.0, 0.0, x0, 0.0, -10.0, y0))
    return _plain(index_series_from_stack(stack, region.polygons))


def _plain(table) -> pd.DataFrame:
    table = table.copy()
    table.attrs = {}
    table["date"] = pd.to_datetime(table["date"])
    return table


def _params(**values):
    base = {"output_dir": "unused", "device": "cpu", "target_year": 2024}
    base.update(values)
    return nbk.PARAMETERS.validate(base)


def _load(out, files, **values):
    """``load_inputs`` on the region's fields, yields and weather (unless given), the report bound to ``out``."""
    kit.report.bind(out)
    given = {"fields": str(files["fields"]), "yields": str(files["yields"]), "weather": str(files["weather"])}
    given.update({k: v if isinstance(v, (int, float)) else str(v) for k, v in values.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProductSetAsideWarning)
        return nbk.load_inputs(_params(output_dir=str(out), **given))


def _compare(observations, truth, index="ndvi") -> pd.Series:
    """|observed - true| per field and date; every true field-date observed and no other."""
    both = _plain(observations).merge(truth, on=["field_id", "date"], how="outer", suffixes=("", "_true"), indicator=True)
    assert (both["_merge"] == "both").all(), both["_merge"].value_counts().to_dict()
    return (both[index] - both[f"{index}_true"]).abs().set_axis(pd.MultiIndex.from_frame(both[["field_id", "date"]]))


def _manifest(out) -> dict:
    """``inputs.json``, parsed strictly: a NaN in it is an error, as for any JSON reader but Python's."""
    def refuse(constant):
        raise ValueError(f"inputs.json holds {constant}")

    return json.loads((out / "inputs.json").read_text(), parse_constant=refuse)


# --------------------------------------------------------------------------- rasters


def test_safe_products_of_both_baselines_give_the_true_field_ndvi(safe_folder, files, truth_10m, tmp_path):
    inputs = _load(tmp_path / "out", files, rasters=safe_folder)
    table = nbk.products_table(inputs.stack)
    read = table[table["status"] == "read"].set_index("date")
    assert len(read) == 13 and set(read["baseline"]) == {"02.14", "05.10"}
    np.testing.assert_array_equal(read["offset"], np.where(read["baseline"] == "05.10", -1000.0, 0.0))
    error = _compare(inputs.observations, truth_10m)
    baseline = read.loc[error.index.get_level_values("date").strftime("%Y-%m-%d"), "baseline"].to_numpy()
    assert error[baseline == "02.14"].max() < NDVI_TOL and error[baseline == "05.10"].max() < NDVI_TOL
    # B11 is at 20 m and is resampled bilinearly onto the 10 m grid: NDMI agrees within field edges' blur.
    ndmi = _compare(inputs.observations, truth_10m, "ndmi")
    assert ndmi.median() < 0.005 and ndmi.quantile(0.95) < 0.03


def test_an_offset_left_unapplied_would_break_that_tolerance(safe_folder, files, truth_10m, tmp_path):
    inputs = _load(tmp_path / "out", files, rasters=safe_folder)
    stack = inputs.stack.assign_coords(offset=xr.zeros_like(inputs.stack["offset"]))  # 05.10 read as if 02.14
    wrong = index_series_from_stack(stack, None, indices=["ndvi"], field_index=inputs.field_index)
    shift = _compare(wrong, truth_10m)
    with_offset = pd.DatetimeIndex(inputs.stack.time.values)[(inputs.stack["offset"] != 0).any("band").values]
    on_05_10 = shift.index.get_level_values("date").isin(with_offset)
    assert shift[~on_05_10].max() < NDVI_TOL  # 02.14 has no offset to forget
    assert shift[on_05_10].min() > 50 * NDVI_TOL and shift[on_05_10].median() > 0.1


def test_stac_item_collection_gives_the_true_field_ndvi(stac_file, files, truth_10m, tmp_path):
    inputs = _load(tmp_path / "out", files, rasters=stac_file)
    table = nbk.products_table(inputs.stack)
    assert (table["status"] == "read").all() and len(table) == 13
    assert sorted(table["offset"].unique()) == [-1000.0, 0.0]  # the raster:bands offset, and the one already applied
    assert table.loc[table["offset"] == 0, "note"].str.contains("boa_offset_applied").all()
    assert _compare(inputs.observations, truth_10m).max() < NDVI_TOL


def test_geotiffs_of_b04_b08_scl_give_ndvi_and_say_ndmi_needs_b11(region, dates, files, tmp_path):
    folder = write_acquisitions(dates.sel(band=["B04", "B08", "SCL"]), tmp_path / "export")
    with pytest.warns(nbk.SkippedIndexWarning, match=r"skipped ndmi \(needs B11\)"):
        inputs = _load(tmp_path / "out", files, rasters=folder)
    assert list(inputs.observations.columns) == ["field_id", "date", "ndvi"]
    # Same 20 m grid as the region: its own index_series.csv (4 decimals) is the truth.
    written = pd.read_csv(files["index_series"])
    truth = _plain(written[pd.to_datetime(written["date"]).isin(pd.DatetimeIndex(dates.time.values))])
    assert _compare(inputs.observations, truth).max() < 1e-4
    years, _ = nbk.seasons(inputs, 2024, "09-01")
    features, _ = yieldpred.FeatureBuilder(inputs.fields, inputs.observations, inputs.weather, inputs.yields, years).features(274)
    assert any(c.startswith("ndvi_") for c in features) and not any(c.startswith("ndmi_") for c in features)


def test_a_geotiff_folder_over_4_gb_goes_through_dask_blocks_to_the_same_series(dates, files, tmp_path, monkeypatch):
    folder = write_acquisitions(dates.sel(band=["B04", "B08", "SCL"]), tmp_path / "export")
    with pytest.warns(nbk.SkippedIndexWarning):
        eager = _load(tmp_path / "eager", files, rasters=folder)
    monkeypatch.setattr(nbk, "_large", lambda f: True)  # as if the folder held more than 4 GB
    monkeypatch.setattr(nbk, "LAZY_CHUNK_PX", 16)  # several blocks on the region's small grid
    with pytest.warns(nbk.SkippedIndexWarning):
        lazy = _load(tmp_path / "lazy", files, rasters=folder)
    assert hasattr(lazy.stack.data, "dask") and len(lazy.stack.chunks[2]) > 1
    pd.testing.assert_frame_equal(lazy.observations[["field_id", "date"]], eager.observations[["field_id", "date"]])
    np.testing.assert_allclose(lazy.observations["ndvi"], eager.observations["ndvi"], rtol=0, atol=1e-6)


def test_geotiffs_without_a_cloud_mask_band_name_the_band_to_export(dates, files, tmp_path):
    folder = write_acquisitions(dates.sel(band=["B04", "B08"]), tmp_path / "ndvi_bands")
    with pytest.raises(InputDataError, match="no SCL to mask clouds with.*export SCL") as err, warnings.catch_warnings():
        warnings.simplefilter("ignore", nbk.SkippedIndexWarning)  # NDMI's B11 is missing too
        _load(tmp_path / "out", files, rasters=folder)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("kind", ["safe", "stac"])
def test_index_series_csv_and_products_reach_the_outputs(kind, safe_folder, stac_file, files, tmp_path):
    out = tmp_path / "out"
    inputs = _load(out, files, rasters=safe_folder if kind == "safe" else stac_file)
    path = nbk.write_index_series(inputs, out)
    written = pd.read_csv(path)
    assert list(written.columns) == ["field_id", "date", "ndvi", "ndmi"] and len(written) == len(inputs.observations)
    np.testing.assert_allclose(written["ndvi"], inputs.observations["ndvi"], atol=1e-5)
    products = _manifest(out)["rasters"]["products"]
    table = nbk.products_table(inputs.stack)
    assert [p["product_id"] for p in products] == table["product_id"].tolist()
    for p in products:
        assert {"scale", "offset", "baseline", "status"} <= set(p)
        if p["status"] == "read":
            assert p["scale"] == 1e-4 and p["offset"] in (0.0, -1000.0) and p["baseline"] in ("02.14", "05.10")
        else:  # the cut download: no scale or offset known, null rather than NaN
            assert kind == "safe" and p["scale"] is None and p["offset"] is None and "zip" in p["reason"].lower()


# --------------------------------------------------------------------------- weather

SITE_LAT, SITE_LON = 33.88, -7.62  # the region's station; its ERA5-Land cell is (33.9, -7.6)


@pytest.fixture(scope="module")
def weather_files(region, tmp_path_factory):
    """The region's station weather as NASA POWER CSV (AG community units) and JSON (radiation in kW-hr/m^2/day, as
    the RE community downloads it), and the target season as an ERA5-Land hourly NetCDF of 2 x 2 cells."""
    root = tmp_path_factory.mktemp("weather")
    site = {"lat": SITE_LAT, "lon": SITE_LON, "elevation": 560.0}
    days = power_days_from_weather(region.weather, SITE_LAT, wind="WS10M")
    out = {"power_csv": write_power_csv(root / "POWER_Point_Daily.csv", days, site=site)}
    days = power_days_from_weather(region.weather, SITE_LAT)
    days["ALLSKY_SFC_SW_DWN"] /= 3.6
    out["power_json"] = write_power_json(root / "POWER_Point_Daily.json", days, site=site,
                                         units={"ALLSKY_SFC_SW_DWN": "kW-hr/m^2/day"})
    season = region.weather[pd.to_datetime(region.weather["date"]) >= "2023-09-01"]
    hourly = era5_hourly_from_weather(season, SITE_LAT, lats=(33.9, 33.8), lons=(-7.7, -7.6), site_cell=(0, 1))
    for name in ("ssrd", "tp"):
        hourly[name] = running_totals(hourly[name])  # ERA5-Land accumulates from 00 UTC
    out["era5"] = write_new_cds(root / "era5_land.nc", hourly)
    return out


@pytest.mark.parametrize("kind", ["power_csv", "power_json", "era5"])
def test_weather_sources_give_the_station_weather(kind, weather_files, files, region, tmp_path):
    site = {"lat_deg": SITE_LAT, "lon_deg": SITE_LON, "elevation_m": 560.0} if kind == "era5" else {}
    out = tmp_path / "out"
    inputs = _load(out, files, index_series=files["index_series"], fields=files["fields_csv"], weather=weather_files[kind],
                   **site)
    station = region.weather.set_index(pd.to_datetime(region.weather["date"]))
    got = inputs.weather.loc[inputs.weather.index.intersection(station.index)]
    assert len(got) >= 366
    for column, tol in (("tmin_c", 1e-3), ("tmax_c", 1e-3), ("rain_mm", 1e-3)):
        np.testing.assert_allclose(got[column], station.loc[got.index, column], atol=tol, err_msg=column)
    rs = et0(inputs.weather.loc[got.index])["rs_mj_m2"].to_numpy()
    # POWER JSON values have 2 decimals: 0.005 kW-hr/m^2/day is 0.018 MJ/m^2.
    np.testing.assert_allclose(rs, et0(station.loc[got.index].drop(columns="date"))["rs_mj_m2"], atol=0.02)
    conversion = _manifest(out)["weather"]["conversion"]
    assert conversion["format"] == {"power_csv": "nasa_power_csv", "power_json": "nasa_power_json", "era5": "era5_netcdf"}[kind]
    assert conversion["variables"]["tmin_c"].startswith("T2M_MIN" if kind != "era5" else "t2m")
    if kind == "power_json":
        assert "kW-hr/m^2/day × 3.6" in conversion["units_converted"]["ALLSKY_SFC_SW_DWN"]
    if kind == "era5":
        assert conversion["units_converted"]["t2m"] == "K → °C" and conversion["site"]["cell_lat_deg"] == 33.9


def test_era5_of_several_cells_without_the_site_is_one_line_naming_the_fix(weather_files, files, tmp_path):
    with pytest.raises(InputDataError, match="2 x 2 cells; give lat_deg and lon_deg") as err:
        _load(tmp_path / "out", files, index_series=files["index_series"], fields=files["fields_csv"],
              weather=weather_files["era5"])
    assert "\n" not in str(err.value)


def test_era5_without_elevation_is_one_line_naming_the_fix(weather_files, files, tmp_path):
    with pytest.raises(ParameterError, match="no site elevation .*: give elevation_m") as err:
        _load(tmp_path / "out", files, index_series=files["index_series"], fields=files["fields_csv"],
              weather=weather_files["era5"], lat_deg=SITE_LAT, lon_deg=SITE_LON)
    assert "\n" not in str(err.value)


# --------------------------------------------------------------------------- forecast date


def test_any_target_year_runs_with_the_default_forecast_date(monkeypatch):
    monkeypatch.setattr(nbk, "SEASONS_EMBEDDED", 3)  # the embedded region's first three seasons are enough here
    p = _params(target_year=2001, scale=0.25)
    assert p.forecast_date == "06-01"
    inputs = nbk.load_inputs(p)
    years, _ = nbk.seasons(inputs, p.target_year, p.season_start)
    assert years == [1999, 2000, 2001]
    assert yieldpred.forecast_day(p.forecast_date, 2001, p.season_start) == (pd.Timestamp("2001-06-01") - pd.Timestamp("2000-09-01")).days


@pytest.mark.parametrize("given, year, season_start, day", [
    ("11-15", 2001, "09-01", "2000-11-15"),  # before New Year: the autumn of sowing
    ("03-20", 2001, "09-01", "2001-03-20"),  # after: the harvest year
    ("09-01", 2001, "09-01", "2000-09-01"),  # the first day of the season
    ("08-31", 2001, "09-01", "2001-08-31"),  # its last
    ("09-30", 2025, "10-01", "2025-09-30"),  # a season from October
    ("02-29", 2024, "09-01", "2024-02-29"),  # a leap season
    ("2024-06-01", 2024, "09-01", "2024-06-01"),
    (None, 2024, "09-01", "2024-08-31"),
])
def test_mm_dd_falls_in_the_right_calendar_year(given, year, season_start, day):
    assert forecast_date_in_season(given, year, season_start) == pd.Timestamp(day)


@pytest.mark.parametrize("given, names", [
    ("13-40", "is not a day of the 2024 season"),
    ("02-29", None),  # 2023 has no 29 February
    ("2024-13-01", "is not a date"),
    ("2023-06-01", "is outside the 2024 season"),
])
def test_bad_forecast_date_is_one_line_naming_the_fix_before_any_work(given, names):
    year = 2023 if given == "02-29" else 2024
    with pytest.raises(ParameterError, match="MM-DD") as err:
        nbk.load_inputs(_params(forecast_date=given, target_year=year))  # the embedded region is never generated
    message = str(err.value)
    assert "\n" not in message and (names is None or names in message) and given in message


def test_bad_forecast_date_in_french():
    from kit.i18n import using

    with using("fr"), pytest.raises(ParameterError, match=r"^forecast_date '13-40' n’est pas un jour de la campagne 2024 "
                                                           r"\(2023-09-01 au 2024-08-31\)\u202f; écrivez MM-JJ \(p\. ex\. 06-01\) ou AAAA-MM-JJ$"):
        forecast_date_in_season("13-40", 2024, "09-01")
