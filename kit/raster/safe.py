"""Sentinel-2 Level-2A SAFE products, as folders or as the zips the Copernicus Data Space Browser serves.

A product ``S2B_MSIL2A_<datatake>_N<baseline>_R<orbit>_T<tile>_<discriminator>.SAFE``
holds ``MTD_MSIL2A.xml`` (its start time, processing baseline,
``BOA_QUANTIFICATION_VALUE`` and, from baseline 04.00 on, one
``BOA_ADD_OFFSET`` per ``band_id``) and the JPEG 2000 band files it lists,
``GRANULE/L2A_T<tile>_.../IMG_DATA/R10m/T<tile>_<datetime>_B04_10m.jp2``
(``R20m``, ``R60m`` likewise). Each band is taken from its native resolution
(B04 from R10m, B11 and SCL from R20m) when the product has it there.
"""
from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from kit.errors import InputDataError
from kit.raster.products import BandFile, Product, SetAside, day
from kit.raster.sentinel2 import (
    BAND_IDS, BOA_ADD_OFFSET, BOA_QUANTIFICATION_VALUE, NATIVE_RESOLUTION_M, OFFSET_BASELINE, band_name, processing_baseline,
)

__all__ = ["is_safe", "read_safe", "safe_products"]

PRODUCT_NAME = re.compile(r"S2[A-D]_MSIL2A_(?P<datatake>\d{8}T\d{6})_N(?P<baseline>\d{4})_R\d{3}_T(?P<tile>\d{2}[A-Z]{3})_")
IMAGE_NAME = re.compile(r"T(?P<tile>\d{2}[A-Z]{3})_\d{8}T\d{6}_(?P<band>B\d{2}|B8A|SCL)_(?P<res>\d{2})m$")
#: Metadata elements read, by local name; the pre-2018 names (``L2A_...``, ``..._2A``) are the fallbacks.
_FIELDS = {
    "PRODUCT_START_TIME": "start", "DATATAKE_SENSING_START": "sensing", "PRODUCT_URI": "uri", "PRODUCT_URI_2A": "uri",
    "PROCESSING_BASELINE": "baseline", "BOA_QUANTIFICATION_VALUE": "quantification",
    "L2A_BOA_QUANTIFICATION_VALUE": "quantification",
}


def is_safe(path) -> bool:
    """True for a SAFE folder (``*.SAFE`` or holding ``MTD_MSIL2A.xml``) or a ``.zip`` file."""
    path = Path(path)
    if path.is_dir():
        return path.suffix.upper() == ".SAFE" or (path / "MTD_MSIL2A.xml").is_file() or (path / "MTD_MSIL1C.xml").is_file()
    return path.is_file() and path.suffix.lower() == ".zip"


class _Container:
    """A SAFE folder or zip: the files under the product root, their bytes, and the GDAL path of each."""

    def __init__(self, path: Path):
        self.path = path
        if path.is_dir():
            self.root = path
            self.names = sorted(str(p.relative_to(path)).replace(os.sep, "/") for p in path.rglob("*") if p.is_file())
            return
        with zipfile.ZipFile(path) as z:
            entries = [n for n in z.namelist() if not n.endswith("/")]
        mtd = sorted((n for n in entries if n.rsplit("/", 1)[-1] in ("MTD_MSIL2A.xml", "MTD_MSIL1C.xml")), key=lambda n: n.count("/"))
        prefix = mtd[0].rpartition("/")[0] + "/" if mtd and "/" in mtd[0] else ""
        self.root = prefix
        self.names = sorted(n[len(prefix):] for n in entries if n.startswith(prefix))

    def read(self, name: str) -> bytes:
        if self.path.is_dir():
            return (self.path / name).read_bytes()
        with zipfile.ZipFile(self.path) as z:
            return z.read(self.root + name)

    def gdal_path(self, name: str) -> str:
        if self.path.is_dir():
            return str(self.path / name)
        return f"/vsizip/{self.path.resolve()}/{self.root}{name}"


def _metadata(xml: bytes) -> tuple[dict, dict, list]:
    """``(fields, {band_id: BOA_ADD_OFFSET}, [IMAGE_FILE ...])`` of ``MTD_MSIL2A.xml``, namespaces ignored."""
    fields, offsets, images = {}, {}, []
    for el in ET.fromstring(xml).iter():
        tag = el.tag.rsplit("}", 1)[-1]
        text = (el.text or "").strip()
        if tag in ("IMAGE_FILE", "IMAGE_FILE_2A"):
            images.append(text)
        elif tag == "BOA_ADD_OFFSET":
            offsets[int(el.get("band_id"))] = float(text)
        elif tag in _FIELDS and _FIELDS[tag] not in fields:
            fields[_FIELDS[tag]] = text
    return fields, offsets, images


def _band_images(images, names) -> dict:
    """``{band: image path without extension}``, each band at its native resolution when the product has it."""
    if not images:  # the product lists no IMAGE_FILE: take the JPEG 2000 files it holds
        images = [n[:-4] for n in names if n.startswith("GRANULE/") and "/IMG_DATA/" in n and n.endswith(".jp2")]
    found = {}
    for image in images:
        match = IMAGE_NAME.search(image)
        if match is None:
            continue
        band, res = band_name(match.group("band")), int(match.group("res"))
        rank = (res != NATIVE_RESOLUTION_M.get(band), res)  # native first, else the finest
        if band not in found or rank < found[band][0]:
            found[band] = (rank, image)
    return {band: image for band, (_, image) in found.items()}


def _radiometry(fields, offsets, baseline) -> tuple[float, dict, str]:
    """``(scale, {band: offset in DN}, note)`` from the quantification value and the offsets list."""
    scale = 1.0 / float(fields.get("quantification") or BOA_QUANTIFICATION_VALUE)
    if offsets:
        return scale, {b: offsets.get(i, 0.0) for b, i in BAND_IDS.items()}, ""
    if baseline and baseline >= OFFSET_BASELINE:
        note = f"no BOA_ADD_OFFSET list in a baseline {baseline} product: {BOA_ADD_OFFSET} DN assumed"
        return scale, dict.fromkeys(BAND_IDS, float(BOA_ADD_OFFSET)), note
    return scale, dict.fromkeys(BAND_IDS, 0.0), ""


def _product(path: Path) -> Product:
    box = _Container(path)
    if "MTD_MSIL2A.xml" not in box.names:
        if "MTD_MSIL1C.xml" in box.names:
            raise InputDataError("a Level-1C product (top-of-atmosphere reflectance); give Level-2A products (MSIL2A)")
        raise InputDataError("no MTD_MSIL2A.xml at the product's root: not a Sentinel-2 Level-2A SAFE product")
    fields, offsets, images = _metadata(box.read("MTD_MSIL2A.xml"))
    product_id = re.sub(r"(\.SAFE)?(\.zip)?$", "", fields.get("uri") or path.name, flags=re.IGNORECASE)
    named = PRODUCT_NAME.search(product_id) or PRODUCT_NAME.search(path.name)
    baseline = processing_baseline(fields.get("baseline") or (named and named.group("baseline")))
    when = fields.get("start") or fields.get("sensing") or (named and named.group("datatake"))
    if not when:
        raise InputDataError("MTD_MSIL2A.xml has no PRODUCT_START_TIME and the name no datatake time")
    band_images = _band_images(images, box.names)
    if not band_images:
        raise InputDataError("the product lists no band image (IMAGE_FILE) and holds no GRANULE/*/IMG_DATA/*.jp2")
    tile = named.group("tile") if named else IMAGE_NAME.search(next(iter(band_images.values()))).group("tile")
    scale, offset, note = _radiometry(fields, offsets, baseline)
    bands = {b: BandFile(box.gdal_path(image + ".jp2"), float("nan") if b == "SCL" else scale, offset.get(b, 0.0))
             for b, image in band_images.items()}
    return Product(product_id, day(when), str(path), bands, tile=tile, baseline=baseline, note=note)


def read_safe(path) -> Product | SetAside:
    """One SAFE folder or zip as a :class:`~kit.raster.products.Product`, or a :class:`SetAside` saying why not.

    Only the metadata is read here; the band files are opened when the stack is built.
    """
    path = Path(path)
    try:
        return _product(path)
    except Exception as exc:  # any failure (bad zip, bad XML, missing element) sets this product aside, not the run
        reason = str(exc) if isinstance(exc, InputDataError) else f"{type(exc).__name__}: {exc}"
        name = re.sub(r"(\.SAFE)?(\.zip)?$", "", path.name, flags=re.IGNORECASE)
        return SetAside(name, str(path), reason)


def safe_products(folder) -> list:
    """Every SAFE folder and zip directly in ``folder``, read with :func:`read_safe` (sorted by name)."""
    folder = Path(folder)
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith(".") and is_safe(p))
    return [read_safe(p) for p in entries]
