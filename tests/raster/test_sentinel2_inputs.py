"""Sentinel-2 as distributed (SAFE folders and zips, STAC items, GeoTIFF exports) read into one stack, offsets right.

The products come from the ``s2`` fixture (tests/raster/conftest.py, writers in s2_fixtures.py), which
lays them out as ESA, Earth Search and Planetary Computer do, with the true
field DNs of ``FIELD_DN`` plus the offset each product's pixels carry.
"""
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr

from kit import raster
from kit.backend import to_numpy
from kit.errors import InputDataError
from kit.raster import ProductSetAsideWarning, ReflectanceScaleWarning, read_sentinel2
from kit.raster.georef import set_georef
from kit.yieldpred.imagery import index_series_from_stack, reflectance

RED, NIR = 600, 3400  # FIELD_DN of B04 and B08 in s2_fixtures: true reflectance × 10 000
NDVI = (NIR - RED) / (NIR + RED)  # by hand: 0.7, whatever offset the pixels carry
X0, Y0 = 600000.0, 3700020.0
FIELD = (["F1"], [{"type": "Polygon", "coordinates": [[[X0, Y0], [X0 + 60, Y0], [X0 + 60, Y0 - 60], [X0, Y0 - 60], [X0, Y0]]]}],
         "EPSG:32629")


def _ndvi(stack):
    return raster.ndvi(reflectance(stack, "B08"), reflectance(stack, "B04"))


def _quiet_read(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReflectanceScaleWarning)  # the fixtures' products are all plausibly scaled
        return read_sentinel2(path, **kwargs)


@pytest.mark.parametrize("zipped", [False, True], ids=["folder", "zip"])
@pytest.mark.parametrize("baseline, offset", [("02.14", 0), ("05.10", -1000)])
def test_one_safe_product_gives_the_hand_computed_ndvi(s2, baseline, offset, zipped):
    product = s2.safe("in", baseline=baseline, zipped=zipped)
    stack = _quiet_read(product)
    assert stack.dims == ("time", "band", "y", "x") and stack.dtype == np.uint16
    assert list(stack.band.values) == ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12", "SCL"]
    assert int(stack.sel(band="B04").values.max()) == RED - offset  # digital numbers kept as they are in the files
    assert stack["offset"].sel(band="B04").item() == offset and stack["scale"].sel(band="B04").item() == 1e-4
    np.testing.assert_allclose(reflectance(stack, "B04").values, RED / 1e4, rtol=1e-6)
    np.testing.assert_allclose(_ndvi(stack).values, NDVI, rtol=1e-6)
    row = stack.attrs["products"].iloc[0]
    assert (row["baseline"], row["offset"], row["status"], row["date"]) == (baseline, offset, "read", "2021-03-05")
    assert row["product_id"].startswith("S2B_MSIL2A_20210305T110859_N" + baseline.replace(".", ""))
    assert raster.georef.get_crs(stack).to_epsg() == 32629


def test_a_folder_mixing_baselines_gives_the_right_ndvi_for_both(s2):
    s2.safe("in", date="2021-12-20", baseline="02.14")
    s2.safe("in", date="2023-03-10", baseline="05.10", zipped=True)
    stack = _quiet_read(s2.root / "in")
    assert [f"{t:%Y-%m-%d}" for t in pd.DatetimeIndex(stack.time.values)] == ["2021-12-20", "2023-03-10"]
    assert stack["offset"].sel(band="B08").values.tolist() == [0.0, -1000.0]
    table = index_series_from_stack(stack, FIELD)
    assert table["date"].tolist() == ["2021-12-20", "2023-03-10"]
    np.testing.assert_allclose(table["ndvi"], NDVI, rtol=1e-6)
    ndmi = (NIR - 2200) / (NIR + 2200)  # B11 (20 m) resampled: a uniform band stays uniform
    np.testing.assert_allclose(table["ndmi"], ndmi, rtol=1e-6)


def test_stac_items_of_earth_search_and_planetary_computer(s2):
    items = [
        s2.earth_search_item("stac", date="2023-04-10", offset_applied=False),  # raster:bands offset -0.1 applies
        s2.earth_search_item("stac", date="2023-04-15", offset_applied=True),  # removed already; raster:bands still says -0.1
        s2.planetary_item("stac", date="2023-04-20", baseline="05.09"),  # baseline only: -1000 DN
        s2.planetary_item("stac", date="2021-04-25", baseline="02.14"),  # baseline only: none
    ]
    stack = _quiet_read(s2.item_collection("stac", items))
    assert stack.sizes["time"] == 4
    np.testing.assert_allclose(reflectance(stack, "B04").values, RED / 1e4, rtol=1e-6)
    np.testing.assert_allclose(_ndvi(stack).values, NDVI, rtol=1e-6)
    table = stack.attrs["products"].set_index("date")
    assert table["offset"].to_dict() == {"2021-04-25": 0.0, "2023-04-10": -1000.0, "2023-04-15": 0.0, "2023-04-20": -1000.0}
    assert table.loc["2023-04-15", "note"] == "offset already removed (earthsearch:boa_offset_applied)"
    assert table.loc["2023-04-10", "note"] == "raster:bands scale and offset"
    assert table.loc["2023-04-20", "note"] == "processing baseline 05.09"
    assert (table["tile"] == "29SPR").all() and (table["status"] == "read").all()


def test_a_stac_catalog_with_relative_hrefs(s2):
    items = [s2.planetary_item("cat", date="2023-05-01"), s2.earth_search_item("cat", date="2023-05-06", offset_applied=True)]
    catalog = s2.catalog("cat", items)
    stack = _quiet_read(catalog, bands=["B04", "B08", "SCL"])
    assert list(stack.band.values) == ["B04", "B08", "SCL"] and stack.sizes["time"] == 2
    np.testing.assert_allclose(_ndvi(stack).values, NDVI, rtol=1e-6)
    assert read_sentinel2(catalog.parent, bands=["B04"]).sizes["time"] == 2  # a folder holding the catalog


def test_geotiff_folder_reads_as_read_stack_and_honours_declared_scale_and_offset(tmp_path):
    stack = _small_stack(("B04", "B08", "SCL"), red=RED + 1000, nir=NIR + 1000)
    folder = raster.write_acquisitions(stack, tmp_path / "tifs")
    plain = raster.read_stack(folder)
    assert "scale" not in plain.coords  # read_stack itself is unchanged
    for path in sorted(folder.glob("*.tif")):
        with rasterio.open(path, "r+") as dst:  # as openEO writes them: value = DN x 1e-4 - 0.1
            dst.scales, dst.offsets = (1e-4, 1e-4, 1.0), (-0.1, -0.1, 0.0)
    read = _quiet_read(folder)
    np.testing.assert_array_equal(read.values, plain.values)
    np.testing.assert_allclose(read["offset"].sel(band="B04").values, -1000.0)
    np.testing.assert_allclose(_ndvi(read).values, NDVI, rtol=1e-5)
    assert read.attrs["products"]["product_id"].tolist() == ["2024-03-01", "2024-03-11"]


def test_geotiff_folder_without_metadata_gives_the_same_index_series_as_read_stack(tmp_path):
    from kit.yieldpred.synthetic import tiny_stack

    folder = raster.write_acquisitions(tiny_stack(dates=3, size=8), tmp_path / "tifs")
    old, new = raster.read_stack(folder), read_sentinel2(folder)
    assert (new["scale"].sel(band="B08").values == 1e-4).all() and (new["offset"].values == 0).all()
    square = {"type": "Polygon", "coordinates": [[[float(old.x[0]), float(old.y[0])], [float(old.x[-1]), float(old.y[0])],
                                                  [float(old.x[-1]), float(old.y[-1])], [float(old.x[0]), float(old.y[0])]]]}
    fields = (["F1"], [square], "EPSG:32629")
    a = index_series_from_stack(old, fields, min_valid_fraction=0.0)
    b = index_series_from_stack(new, fields, min_valid_fraction=0.0)
    pd.testing.assert_frame_equal(a, b)  # bit for bit


def _small_stack(bands, *, red, nir, dates=("2024-03-01", "2024-03-11")):
    """A GeoTIFF-export-like stack on the fixtures' 10 m grid: uniform red and NIR, SCL all vegetation."""
    fill = {"B04": red, "B08": nir, "SCL": 4}
    data = np.stack([np.stack([np.full((6, 6), fill.get(b, 1000), dtype=np.uint16) for b in bands])] * len(dates))
    stack = xr.DataArray(data, dims=("time", "band", "y", "x"),
                         coords={"time": pd.to_datetime(list(dates)), "band": list(bands),
                                 "y": Y0 - 5 - 10 * np.arange(6), "x": X0 + 5 + 10 * np.arange(6)},
                         attrs={"nodata": 0})
    return set_georef(stack, "EPSG:32629", (10.0, 0.0, X0, 0.0, -10.0, Y0))


def test_bands_at_20_m_are_resampled_to_the_10_m_grid(s2):
    b04 = np.arange(36, dtype=np.uint16).reshape(6, 6) * 10 + 500  # every 10 m pixel its own value
    b11 = np.tile(np.array([1000, 1400, 1800], dtype=np.uint16), (3, 1))  # a ramp across the 20 m columns
    stack = _quiet_read(s2.safe("in", baseline="05.10", values={"B04": b04, "B11": b11}))
    np.testing.assert_array_equal(stack.sel(band="B04").values[0], b04 + 1000)  # from R10m, not R20m's copy
    # SCL by nearest neighbour: each 20 m class covers its 2 x 2 block of 10 m pixels.
    np.testing.assert_array_equal(stack.sel(band="SCL").values[0], np.kron(s2.scl_20m, np.ones((2, 2), dtype=np.uint8)))
    # B11 bilinearly: linear inside (between 20 m pixel centres), the edge pixels' values at the border.
    row = stack.sel(band="B11").values[0, 3] - 1000
    assert row.tolist() == [1000, 1100, 1300, 1500, 1700, 1800]
    assert stack.attrs["products"].loc[0, "resampled_bands"] == "B05,B06,B07,B8A,B11,B12,SCL"


def test_products_of_several_tiles_or_crs_are_refused(s2):
    s2.safe("tiles", tile="29SPR", date="2023-03-10")
    s2.safe("tiles", tile="29SQR", date="2023-03-10")  # the neighbouring tile of the same datatake
    with pytest.raises(InputDataError, match=r"several tiles: 29SPR \(1\), 29SQR \(1\) products"):
        read_sentinel2(s2.root / "tiles")
    items = [s2.earth_search_item("crs", date="2023-04-10", offset_applied=True),
             s2.earth_search_item("crs", date="2023-04-15", offset_applied=True, crs="EPSG:32630")]
    with pytest.raises(InputDataError, match=r"several CRSs \(EPSG:32629, EPSG:32630\)"):
        read_sentinel2(s2.item_collection("crs", items))


def test_an_unreadable_product_is_set_aside_and_the_rest_are_read(s2):
    s2.safe("in", date="2021-03-05", baseline="02.14")
    (s2.root / "in" / "S2A_MSIL2A_20230101T110441_N0509_R094_T29SPR_20230101T140122.SAFE.zip").write_bytes(b"PK\x03\x04 cut short")
    broken = s2.safe("in", date="2023-03-10", baseline="05.10")
    next(broken.rglob("*_B04_10m.jp2")).write_bytes(b"\x00\x00\x00\x0cjP  garbage")
    with pytest.warns(ProductSetAsideWarning) as caught:
        stack = read_sentinel2(s2.root / "in")
    assert stack.sizes["time"] == 1 and len(caught) == 2
    table = stack.attrs["products"]
    assert table["status"].tolist().count("set aside") == 2
    aside = table[table["status"] == "set aside"].set_index("product_id")["reason"]
    assert "BadZipFile" in aside["S2A_MSIL2A_20230101T110441_N0509_R094_T29SPR_20230101T140122"]
    assert "cannot be opened" in aside[broken.stem]
    np.testing.assert_allclose(_ndvi(stack).values, NDVI, rtol=1e-6)


def test_a_duplicate_acquisition_keeps_the_latest_baseline(s2):
    s2.safe("dup", date="2022-02-01", baseline="04.00")
    s2.safe("dup", date="2022-02-01", baseline="05.00", zipped=True)  # the reprocessed copy
    with pytest.warns(ProductSetAsideWarning, match="another product of 2022-02-01"):
        stack = read_sentinel2(s2.root / "dup")
    assert stack.attrs["products"].set_index("status").loc["read", "baseline"] == "05.00"


def test_implausible_reflectances_are_warned_about(s2):
    # Earth Search says the offset is still in the pixels, but it is not (earth-search#71): many negatives.
    wrong_offset = s2.earth_search_item("bad", date="2025-03-02", offset_applied=False, pixels_offset=0)
    with pytest.warns(ReflectanceScaleWarning, match=r"B02: 100 % of clear reflectances are negative"):
        stack = read_sentinel2(s2.item_collection("bad", [wrong_offset]))
    assert "negative" in stack.attrs["products"].loc[0, "note"]
    no_scale = s2.earth_search_item("raw", date="2025-03-02", pixels_offset=0, scale=1.0, offset=0.0)
    with pytest.warns(ReflectanceScaleWarning, match=r"of vegetation reflectances exceed 1 .*not divided by 10 000"):
        read_sentinel2(s2.item_collection("raw", [no_scale]))


def test_auto_indices_on_a_b04_b08_scl_stack(tmp_path):
    folder = raster.write_acquisitions(_small_stack(("B04", "B08", "SCL"), red=RED, nir=NIR), tmp_path / "tifs")
    stack = read_sentinel2(folder)
    with pytest.warns(UserWarning, match=r"indices='auto' skipped .*ndmi \(needs B11, absent from the stack\)"):
        table = index_series_from_stack(stack, FIELD, indices="auto")
    assert list(table.columns) == ["field_id", "date", "ndvi", "savi"]
    assert sorted(table.attrs["skipped_indices"]) == ["evi", "ndmi", "ndwi"]
    np.testing.assert_allclose(table["ndvi"], NDVI, rtol=1e-6)
    np.testing.assert_allclose(table["savi"], 1.5 * (NIR - RED) / (NIR + RED + 5000), rtol=1e-5)
    with pytest.raises(InputDataError, match=r"^index ndmi needs band B11, which the stack lacks \(bands: B04, B08, SCL\)"):
        index_series_from_stack(stack, FIELD, indices=("ndvi", "ndmi"))
    assert index_series_from_stack(stack, FIELD, indices=("ndvi",)).attrs["skipped_indices"] == {}


def test_clear_pixels_are_scl_4_and_5_only(namespace):
    _, convert = namespace
    scl = convert(np.arange(12))
    clear = raster.scl_clear(scl)
    assert np.flatnonzero(to_numpy(clear)).tolist() == [4, 5]
    assert getattr(clear, "device", None) == getattr(scl, "device", None)


def test_lazy_read_and_netcdf_roundtrip_keep_scale_and_offset(s2, tmp_path):
    s2.safe("in", date="2021-12-20", baseline="02.14")
    s2.safe("in", date="2023-03-10", baseline="05.10", zipped=True)
    eager = _quiet_read(s2.root / "in")
    lazy = read_sentinel2(s2.root / "in", chunks="auto")
    assert hasattr(lazy.data, "dask")
    np.testing.assert_array_equal(lazy.values, eager.values)
    np.testing.assert_allclose(index_series_from_stack(lazy, FIELD)["ndvi"], NDVI, rtol=1e-6)  # Dask all the way
    back = raster.open_stack(raster.write_stack(eager, tmp_path / "s.nc")).load()
    assert "products" in eager.attrs and "products" not in back.attrs
    np.testing.assert_array_equal(back["offset"].values, eager["offset"].values)
    np.testing.assert_allclose(_ndvi(back).values, NDVI, rtol=1e-6)


def test_what_is_not_sentinel2_imagery_is_a_clear_error(tmp_path, s2):
    with pytest.raises(InputDataError, match="holds no Sentinel-2 imagery"):
        read_sentinel2(tmp_path)
    with pytest.raises(InputDataError, match="does not exist"):
        read_sentinel2(tmp_path / "nowhere")
    (tmp_path / "notes.json").write_text(json.dumps({"type": "Feature", "id": "x", "properties": {"datetime": "2024-01-01T00:00:00Z"},
                                                     "assets": {"thumbnail": {"href": "t.jpg"}}}))
    with pytest.warns(ProductSetAsideWarning), pytest.raises(InputDataError, match="no Sentinel-2 product could be read.*"
                                                                                      "no asset is a Sentinel-2 band"):
        read_sentinel2(tmp_path / "notes.json")


def test_the_pre_2018_metadata_names_are_read(s2):
    """PSD 14.2 products (baselines 02.04-02.07) name the same elements L2A_Product_Info, IMAGE_FILE_2A ..."""
    safe = s2.safe("old", baseline="02.06")
    mtd = safe / "MTD_MSIL2A.xml"
    text = mtd.read_text()
    for new, old in [("Product_Info>", "L2A_Product_Info>"), ("IMAGE_FILE>", "IMAGE_FILE_2A>"), ("PRODUCT_URI>", "PRODUCT_URI_2A>"),
                     ("QUANTIFICATION_VALUES_LIST>", "L1C_L2A_Quantification_Values_List>"),
                     ("<BOA_QUANTIFICATION_VALUE", "<L2A_BOA_QUANTIFICATION_VALUE"), ("</BOA_QUANTIFICATION_VALUE", "</L2A_BOA_QUANTIFICATION_VALUE")]:
        text = text.replace(new, old)
    mtd.write_text(text)
    stack = _quiet_read(safe)
    row = stack.attrs["products"].iloc[0]
    assert (row["baseline"], row["offset"], row["product_id"][:10]) == ("02.06", 0.0, "S2B_MSIL2A")
    np.testing.assert_allclose(_ndvi(stack).values, NDVI, rtol=1e-6)
