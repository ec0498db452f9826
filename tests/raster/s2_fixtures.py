"""Sentinel-2 L2A products written as ESA, Earth Search and Planetary Computer lay them out, for tests.

:class:`Sentinel2Layouts` writes SAFE products (folders or zips) and STAC
items over GeoTIFF assets on any grid: by default the raster tests' few
pixels (6 x 6 at 10 m at :data:`ORIGIN`), or a whole stack's grid
(``Sentinel2Layouts(root, extent_m=2000, origin=...)``) with per-band arrays
at any of the product's resolutions. Importable from every test folder
(``from tests.raster.s2_fixtures import Sentinel2Layouts``);
``tests/raster/conftest.py`` wraps it in the ``s2`` fixture.
"""
import json
import math
import shutil
import zipfile
from pathlib import Path

import numpy as np

#: Digital numbers of a clear wheat field (reflectance × 10 000, no offset), per band.
FIELD_DN = {"B01": 300, "B02": 450, "B03": 700, "B04": 600, "B05": 1200, "B06": 2600, "B07": 3000, "B08": 3400,
            "B8A": 3300, "B09": 3100, "B11": 2200, "B12": 1300}
#: The 20 m SCL of every product: vegetation, one cloud (9) and one not-vegetated (5) pixel.
SCL_20M = np.array([[4, 4, 9], [4, 5, 4], [4, 4, 4]], dtype=np.uint8)
_RES = {"B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20, "B08": 10, "B8A": 20,
        "B09": 60, "B11": 20, "B12": 20, "SCL": 20}
_EARTH_SEARCH = {"B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1", "B06": "rededge2",
                 "B07": "rededge3", "B08": "nir", "B8A": "nir08", "B09": "nir09", "B11": "swir16", "B12": "swir22"}
_COMMON = {"B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge", "B06": "rededge",
           "B07": "rededge", "B08": "nir", "B8A": "rededge", "B09": "nir09", "B11": "swir16", "B12": "swir22"}
_PHYSICAL_RES = {"B1": 60, "B9": 60, "B10": 60, "B2": 10, "B3": 10, "B4": 10, "B8": 10}
SIZE_10M = 6  # pixels of the 10 m grid: 6 x 6 at 10 m, 3 x 3 at 20 m, 1 x 1 at 60 m
ORIGIN = (600000.0, 3700020.0)  # upper-left corner, EPSG:32629 (29SPR-like)


def _band_dn(band, res, value, offset_dn, extent_m):
    """A band's DN array at ``res`` over a square of ``extent_m``: ``value`` (a scalar, or an array at any of the
    resolutions: a finer one subsampled, every k-th pixel; a coarser one each pixel repeated) plus the offset."""
    n = math.ceil(extent_m / res)
    arr = np.full((n, n), value) if np.ndim(value) == 0 else np.asarray(value)
    ratio = res / (extent_m / arr.shape[0])  # this file's pixel over the array's
    if ratio > 1:
        k = int(round(ratio))
        arr = arr[::k, ::k]
    elif ratio < 1:
        arr = np.kron(arr, np.ones((int(round(1 / ratio)),) * 2, dtype=arr.dtype))
    assert arr.shape == (n, n), f"{band}: a {np.shape(value)} array does not fit {n} x {n} pixels of {res} m"
    if band == "SCL":
        return arr.astype(np.uint8)
    return (arr + offset_dn).astype(np.uint16)


def write_band(path, arr, res, *, driver="JP2OpenJPEG", crs="EPSG:32629", origin=ORIGIN, scale_offset=None):
    """One band file: lossless JPEG 2000 as in a SAFE product, or a GeoTIFF as a STAC COG asset."""
    import rasterio
    from rasterio.transform import from_origin

    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"QUALITY": 100, "REVERSIBLE": "YES"} if driver == "JP2OpenJPEG" else {}
    with rasterio.open(path, "w", driver=driver, width=arr.shape[1], height=arr.shape[0], count=1, dtype=arr.dtype.name,
                       crs=crs, transform=from_origin(*origin, res, res), **options) as dst:
        dst.write(arr, 1)
        if scale_offset:
            dst.scales, dst.offsets = (scale_offset[0],), (scale_offset[1],)
    return path


def _mtd_msil2a(uri, baseline, start, datatake_id, granule_id, images):
    """``MTD_MSIL2A.xml`` with the element structure of ESA's products, trimmed (PSD 14, as baselines 02.14 and 05.10 write it)."""
    files = "\n".join(f"                        <IMAGE_FILE>{f}</IMAGE_FILE>" for f in images)
    offsets = "" if baseline < "04.00" else (
        "            <BOA_ADD_OFFSET_VALUES_LIST>\n" + "\n".join(
            f'        <BOA_ADD_OFFSET band_id="{i}">-1000</BOA_ADD_OFFSET>' for i in range(13))
        + "\n      </BOA_ADD_OFFSET_VALUES_LIST>\n")
    bands = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12"]
    spectral = "\n".join(f'        <Spectral_Information bandId="{i}" physicalBand="{b}">\n          <RESOLUTION>'
                         f"{_PHYSICAL_RES.get(b, 20)}</RESOLUTION>\n        </Spectral_Information>" for i, b in enumerate(bands))
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:Level-2A_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd">
    <n1:General_Info>
        <Product_Info>
            <PRODUCT_START_TIME>{start}</PRODUCT_START_TIME>
            <PRODUCT_STOP_TIME>{start}</PRODUCT_STOP_TIME>
            <PRODUCT_URI>{uri}</PRODUCT_URI>
            <PROCESSING_LEVEL>Level-2A</PROCESSING_LEVEL>
            <PRODUCT_TYPE>S2MSI2A</PRODUCT_TYPE>
            <PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>
            <GENERATION_TIME>{start[:10]}T13:45:41.000000Z</GENERATION_TIME>
            <PREVIEW_IMAGE_URL>Not applicable</PREVIEW_IMAGE_URL>
            <PREVIEW_GEO_INFO>Not applicable</PREVIEW_GEO_INFO>
            <Datatake datatakeIdentifier="{datatake_id}">
      <SPACECRAFT_NAME>Sentinel-2B</SPACECRAFT_NAME>
      <DATATAKE_TYPE>INS-NOBS</DATATAKE_TYPE>
      <DATATAKE_SENSING_START>{start}</DATATAKE_SENSING_START>
      <SENSING_ORBIT_NUMBER>137</SENSING_ORBIT_NUMBER>
      <SENSING_ORBIT_DIRECTION>DESCENDING</SENSING_ORBIT_DIRECTION>
    </Datatake>
<Query_Options completeSingleTile="true">
<PRODUCT_FORMAT>SAFE_COMPACT</PRODUCT_FORMAT>
</Query_Options>
<Product_Organisation>
                <Granule_List>
                    <Granule datastripIdentifier="{granule_id.replace('_TL_', '_DS_')}" granuleIdentifier="{granule_id}" imageFormat="JPEG2000">
{files}
                    </Granule>
                </Granule_List>
</Product_Organisation>
        </Product_Info>
        <Product_Image_Characteristics>
            <Special_Values>
                <SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT>
                <SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX>
            </Special_Values>
            <Special_Values>
                <SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT>
                <SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX>
            </Special_Values>
            <QUANTIFICATION_VALUES_LIST>
                <BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>
                <AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE>
                <WVP_QUANTIFICATION_VALUE unit="cm">1000.0</WVP_QUANTIFICATION_VALUE>
            </QUANTIFICATION_VALUES_LIST>
{offsets}            <Spectral_Information_List>
{spectral}
      </Spectral_Information_List>
        </Product_Image_Characteristics>
    </n1:General_Info>
</n1:Level-2A_User_Product>
"""


def _mtd_tl(granule_id, sensing, crs):
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:Level-2A_Tile_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Tile_Metadata.xsd">
    <n1:General_Info>
        <TILE_ID metadataLevel="Brief">{granule_id}</TILE_ID>
        <SENSING_TIME metadataLevel="Standard">{sensing}</SENSING_TIME>
    </n1:General_Info>
    <n1:Geometric_Info>
        <Tile_Geocoding metadataLevel="Brief">
            <HORIZONTAL_CS_NAME>WGS84 / UTM zone 29N</HORIZONTAL_CS_NAME>
            <HORIZONTAL_CS_CODE>{crs}</HORIZONTAL_CS_CODE>
        </Tile_Geocoding>
    </n1:Geometric_Info>
</n1:Level-2A_Tile_ID>
"""


class Sentinel2Layouts:
    """Writes Sentinel-2 L2A products under ``root`` as ESA, Earth Search and Planetary Computer lay them out.

    Each product covers the square of ``extent_m`` at ``origin`` (by default
    a few pixels, 6 x 6 at 10 m); band values are the true field DNs of
    :data:`FIELD_DN` (or ``values``), plus the offset the product's
    processing baseline or catalogue says its pixels carry.
    """

    field_dn = FIELD_DN
    scl_20m = SCL_20M

    def __init__(self, root: Path, *, extent_m: float = SIZE_10M * 10, origin=ORIGIN):
        """``extent_m``: side of the square every product covers (m); ``origin``: its upper-left corner, EPSG:32629 metres."""
        self.root = Path(root)
        self.extent_m, self.origin = float(extent_m), tuple(origin)
        # The default SCL (one cloud, one bare pixel) fits the default grid only; elsewhere all vegetation.
        self.defaults = {**FIELD_DN, "SCL": SCL_20M if self.extent_m == SIZE_10M * 10 else 4}

    def _dn(self, band, res, values, offset_dn):
        return _band_dn(band, res, values.get(band, self.defaults.get(band, 1000)), offset_dn, self.extent_m)

    def safe(self, folder, *, date="2021-03-05", baseline="02.14", tile="29SPR", values=None, zipped=False,
             crs="EPSG:32629", origin=None) -> Path:
        """A SAFE product (folder, or ``<name>.SAFE.zip`` as the Copernicus Data Space Browser serves) in ``root/folder``.

        ``values``: band -> DN without offset (a scalar, or an array at any of
        the product's resolutions); each band file gets it at its resolution.
        """
        values, origin = values or {}, origin or self.origin
        stamp = date.replace("-", "") + "T110859"
        uri = f"S2B_MSIL2A_{stamp}_N{baseline.replace('.', '')}_R137_T{tile}_{date.replace('-', '')}T134541.SAFE"
        granule = f"L2A_T{tile}_A020912_{date.replace('-', '')}T111359"
        granule_id = f"S2B_OPER_MSI_L2A_TL_2BPS_{date.replace('-', '')}T134541_A020912_T{tile}_N{baseline}"
        layout = {10: ("B02", "B03", "B04", "B08"), 20: ("B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B11", "B12", "SCL"),
                  60: ("B01", "B09", "SCL")}
        safe = self.root / folder / uri
        offset_dn = 1000 if baseline >= "04.00" else 0
        images = []
        for res, bands in layout.items():
            for band in bands:
                rel = f"GRANULE/{granule}/IMG_DATA/R{res}m/T{tile}_{stamp}_{band}_{res}m"
                images.append(rel)
                write_band(safe / f"{rel}.jp2", self._dn(band, res, values, offset_dn), res, crs=crs, origin=origin)
        start = f"{date}T11:08:59.024Z"
        (safe / "MTD_MSIL2A.xml").write_text(_mtd_msil2a(uri, baseline, start, f"GS2B_{stamp}_020912_N{baseline}",
                                                         granule_id, images), encoding="utf-8")
        (safe / "GRANULE" / granule / "MTD_TL.xml").write_text(_mtd_tl(granule_id, start, crs), encoding="utf-8")
        (safe / "GRANULE" / granule / "QI_DATA").mkdir()
        (safe / "manifest.safe").write_text('<?xml version="1.0" encoding="UTF-8"?>\n<xfdu:XFDU xmlns:xfdu='
                                            '"urn:ccsds:schema:xfdu:1" version="esa/safe/sentinel/1.1/sentinel-2/msi/archive_l2a_user_product"/>\n')
        if not zipped:
            return safe
        archive = safe.parent / f"{uri}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted(safe.rglob("*")):
                z.write(f, f.relative_to(safe.parent).as_posix())
        shutil.rmtree(safe)
        return archive

    def _asset_files(self, folder, values, offset_dn, crs, origin, bands):
        out = {}
        for band in bands:
            res = _RES[band]
            out[band] = write_band(folder / f"{band}.tif", self._dn(band, res, values, offset_dn), res, driver="GTiff",
                                   crs=crs, origin=origin)
        return out

    def earth_search_item(self, folder, *, date="2023-04-15", baseline="05.09", offset_applied=None, values=None,
                          pixels_offset=None, raster_bands=True, crs="EPSG:32629", origin=None,
                          bands=("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12", "SCL"),
                          scale=0.0001, offset=-0.1) -> dict:
        """An Earth Search v1 ``sentinel-2-l2a`` item (its COGs in ``root/folder/<id>/``), hrefs relative to ``root/folder``.

        ``offset_applied`` sets ``earthsearch:boa_offset_applied``; the pixels carry
        +1000 DN unless it is True (or ``pixels_offset`` says otherwise).
        """
        item_id = f"S2B_29SPR_{date.replace('-', '')}_0_L2A"
        origin = origin or self.origin
        if pixels_offset is None:
            pixels_offset = 0 if offset_applied or baseline < "04.00" else 1000
        files = self._asset_files(self.root / folder / item_id, values or {}, pixels_offset, crs, origin, bands)
        assets = {}
        for band, path in files.items():
            key = "scl" if band == "SCL" else _EARTH_SEARCH[band]
            res = _RES[band]
            rb = {"nodata": 0, "data_type": "uint8" if band == "SCL" else "uint16", "spatial_resolution": res}
            if band != "SCL":
                rb.update(bits_per_sample=15, scale=scale, offset=offset)
                assets[f"{key}-jp2"] = {"href": f"s3://sentinel-s2-l2a/tiles/29/S/PR/{date[:4]}/{int(date[5:7])}/"
                                                f"{int(date[8:])}/0/{band}.jp2", "type": "image/jp2", "roles": ["data", "reflectance"],
                                        "eo:bands": [{"name": key, "common_name": _COMMON[band]}], "raster:bands": [rb]}
            asset = {"href": f"./{item_id}/{path.name}", "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                     "title": f"{band} - {res}m", "proj:shape": [math.ceil(self.extent_m / res)] * 2,
                     "proj:transform": [res, 0, origin[0], 0, -res, origin[1]], "roles": ["data", "reflectance"]}
            if band != "SCL":
                asset["eo:bands"] = [{"name": key, "common_name": _COMMON[band], "description": f"{band}"}]
                asset["gsd"] = res
            if raster_bands:
                asset["raster:bands"] = [rb]
            assets[key] = asset
        assets["thumbnail"] = {"href": f"./{item_id}/thumbnail.jpg", "type": "image/jpeg", "roles": ["thumbnail"]}
        props = {"datetime": f"{date}T11:18:41.632000Z", "platform": "sentinel-2b", "constellation": "sentinel-2",
                 "instruments": ["msi"], "eo:cloud_cover": 4.0, "proj:epsg": int(crs.split(":")[1]), "mgrs:utm_zone": 29,
                 "mgrs:latitude_band": "S", "mgrs:grid_square": "PR", "grid:code": "MGRS-29SPR",
                 "s2:product_type": "S2MSI2A", "s2:processing_baseline": baseline,
                 "s2:product_uri": f"S2B_MSIL2A_{date.replace('-', '')}T110619_N{baseline.replace('.', '')}_R137_T29SPR_"
                                   f"{date.replace('-', '')}T141720.SAFE"}
        if offset_applied is not None:
            props["earthsearch:boa_offset_applied"] = offset_applied
        return {"type": "Feature", "stac_version": "1.0.0", "id": item_id,
                "stac_extensions": ["https://stac-extensions.github.io/eo/v1.1.0/schema.json",
                                    "https://stac-extensions.github.io/raster/v1.1.0/schema.json"],
                "properties": props, "geometry": None, "assets": assets, "collection": "sentinel-2-l2a",
                "links": [{"rel": "self", "href": f"https://earth-search.aws.element84.com/v1/collections/sentinel-2-l2a/items/{item_id}"}]}

    def planetary_item(self, folder, *, date="2023-04-25", baseline="05.09", values=None, crs="EPSG:32629", origin=None,
                       bands=("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12", "SCL")) -> dict:
        """A Planetary Computer ``sentinel-2-l2a`` item: assets ``B04 ... SCL``, ``s2:processing_baseline``, no ``raster:bands``."""
        stamp = date.replace("-", "")
        item_id = f"S2B_MSIL2A_{stamp}T110619_R137_T29SPR_{stamp}T141720"
        origin = origin or self.origin
        files = self._asset_files(self.root / folder / item_id, values or {}, 1000 if baseline >= "04.00" else 0, crs,
                                  origin, bands)
        assets = {}
        for band, path in files.items():
            res = _RES[band]
            asset = {"href": f"./{item_id}/{path.name}", "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                     "roles": ["data"], "gsd": res, "proj:shape": [math.ceil(self.extent_m / res)] * 2,
                     "proj:transform": [res, 0, origin[0], 0, -res, origin[1]]}
            if band == "SCL":
                asset["title"] = "Scene classfication map (SCL)"
            else:
                asset["title"] = f"Band {band[1:].lstrip('0')} - {res}m"
                asset["eo:bands"] = [{"name": band, "common_name": _COMMON[band], "description": f"Band {band[1:].lstrip('0')}"}]
            assets[band] = asset
        props = {"datetime": f"{date}T11:06:19.024000Z", "platform": "Sentinel-2B", "proj:epsg": int(crs.split(":")[1]),
                 "s2:mgrs_tile": "29SPR", "s2:processing_baseline": baseline, "s2:product_type": "S2MSI2A",
                 "s2:product_uri": f"S2B_MSIL2A_{stamp}T110619_N{baseline.replace('.', '')}_R137_T29SPR_{stamp}T141720.SAFE",
                 "eo:cloud_cover": 4.0}
        return {"type": "Feature", "stac_version": "1.0.0", "id": item_id, "properties": props, "geometry": None,
                "assets": assets, "collection": "sentinel-2-l2a",
                "stac_extensions": ["https://stac-extensions.github.io/eo/v1.0.0/schema.json"], "links": []}

    def item_collection(self, folder, items) -> Path:
        """``root/folder/search.json``: the items as a STAC API search returns them (a FeatureCollection)."""
        path = self.root / folder / "search.json"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": items, "links": []}, indent=1))
        return path

    def catalog(self, folder, items) -> Path:
        """``root/folder/catalog.json`` linking to one ``<id>/<id>.json`` per item (relative hrefs, as stac-browser exports)."""
        links = []
        for item in items:
            item = json.loads(json.dumps(item).replace(f'"./{item["id"]}/', '"./'))  # hrefs relative to the item file
            (self.root / folder / item["id"] / f"{item['id']}.json").write_text(json.dumps(item, indent=1))
            links.append({"rel": "item", "href": f"./{item['id']}/{item['id']}.json", "type": "application/json"})
        path = self.root / folder / "catalog.json"
        path.write_text(json.dumps({"type": "Catalog", "stac_version": "1.0.0", "id": "fields", "description": "export",
                                    "links": links}, indent=1))
        return path


