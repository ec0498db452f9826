"""Sentinel-2 Level-2A STAC items (Earth Search, Planetary Computer): their band assets, scale and offset.

An ItemCollection (a GeoJSON FeatureCollection, as a STAC API search
returns), a Catalog or Collection linking to items (``rel: item``/``child``,
hrefs relative to the file), or a single Item; read with the standard
library's JSON. Asset hrefs may be relative, local or URLs (GDAL reads
``https://`` and ``s3://``); Planetary Computer URLs must be signed
(``planetary_computer.sign``) before the items are saved, or their files
fail to open and the items are set aside.

An asset is a band by its key (``B04``, ``SCL``; Earth Search ``red``,
``nir``, ``scl``, ``swir16`` ...), else by its one ``eo:bands`` entry
(``name``, then ``common_name`` when it names one band: ``rededge`` names
three). Earth Search's JPEG 2000 copies (``red-jp2``) give a band only
where no GeoTIFF asset does.

Scale and offset of an asset, by the first rule that applies:

1. ``earthsearch:boa_offset_applied: true``: Earth Search removed the offset
   from the pixels (its ``raster:bands`` may still say ``offset: -0.1``), so
   the offset is 0.
2. The asset's ``raster:bands`` ``scale``/``offset`` (``value = DN × scale +
   offset``, so the DN offset is ``offset / scale``).
3. ``s2:processing_baseline``: from 04.00 on, -1000 DN.
4. Nothing said: DN / 10 000, no offset, and a note in the product table.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from kit.errors import InputDataError
from kit.raster.products import BandFile, Product, SetAside, day
from kit.raster.sentinel2 import BOA_QUANTIFICATION_VALUE, band_name, baseline_radiometry, processing_baseline

__all__ = ["is_stac", "read_stac", "stac_items"]

#: Earth Search v1 asset keys and ``eo:bands`` names.
EARTH_SEARCH_NAMES = {
    "coastal": "B01", "blue": "B02", "green": "B03", "red": "B04", "rededge1": "B05", "rededge2": "B06",
    "rededge3": "B07", "nir": "B08", "nir08": "B8A", "nir09": "B09", "cirrus": "B10", "swir16": "B11",
    "swir22": "B12", "scl": "SCL",
}
#: ``eo:bands`` common names that name one Sentinel-2 band (``rededge`` is B05, B06, B07 or B8A).
COMMON_NAMES = {"coastal": "B01", "blue": "B02", "green": "B03", "red": "B04", "nir": "B08", "nir08": "B8A",
                "nir09": "B09", "cirrus": "B10", "swir16": "B11", "swir22": "B12"}
_STAC_TYPES = ("FeatureCollection", "Feature", "Catalog", "Collection")
_PRODUCT_URI = re.compile(r"_N(?P<baseline>\d{4})_R\d{3}_T(?P<tile>\d{2}[A-Z]{3})_")


def is_stac(path) -> bool:
    """True for a JSON file holding a STAC ItemCollection, Catalog, Collection or Item."""
    path = Path(path)
    if not (path.is_file() and path.suffix.lower() == ".json"):
        return False
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("type") in _STAC_TYPES
    except (ValueError, OSError, AttributeError):
        return False


def stac_items(path) -> list:
    """``[(item dict, folder its relative hrefs start from) or SetAside]`` under a STAC file, links followed."""
    out, seen = [], set()

    def visit(file: Path):
        file = file.resolve()
        if file in seen:
            return
        seen.add(file)
        doc = json.loads(file.read_text(encoding="utf-8"))
        kind = doc.get("type")
        if kind == "FeatureCollection":
            out.extend((item, file.parent) for item in doc.get("features", []))
        elif kind == "Feature":
            out.append((doc, file.parent))
        elif kind in ("Catalog", "Collection"):
            for link in doc.get("links", []):
                if link.get("rel") not in ("item", "child"):
                    continue
                href = link.get("href", "")
                target = Path(href) if Path(href).is_absolute() else file.parent / href
                if "://" in href or not target.is_file():
                    out.append(SetAside(href, str(file), f"the linked {link['rel']} {href} is not a local file"))
                else:
                    visit(target)
        else:
            raise InputDataError(f"{file} is not a STAC ItemCollection, Catalog or Item (type {kind!r})")

    visit(Path(path))
    return out


def _asset_band(key: str, asset: dict) -> tuple[str | None, tuple]:
    """The band an asset holds and its rank (lower wins): by key, then eo:bands name, then common name."""
    jp2 = key.lower().endswith("-jp2") or "jp2" in str(asset.get("type", ""))
    stem = key.lower().removesuffix("-jp2")
    by_key = band_name(stem) or EARTH_SEARCH_NAMES.get(stem)
    if by_key:
        return by_key, (0, jp2)
    eo = asset.get("eo:bands") or []
    if len(eo) != 1:
        return None, ()
    name = str(eo[0].get("name", ""))
    by_name = band_name(name) or EARTH_SEARCH_NAMES.get(name.lower())
    if by_name:
        return by_name, (1, jp2)
    common = COMMON_NAMES.get(str(eo[0].get("common_name", "")).lower())
    return (common, (2, jp2)) if common else (None, ())


def _radiometry(asset: dict, props: dict) -> tuple[float, float, str]:
    """``(scale, offset in DN, rule)`` of one reflectance asset (see the module's rules)."""
    rb = (asset.get("raster:bands") or [{}])[0]
    declared_scale = rb.get("scale")
    scale = float(declared_scale) if declared_scale else 1.0 / BOA_QUANTIFICATION_VALUE
    if props.get("earthsearch:boa_offset_applied", props.get("sentinel:boa_offset_applied")) is True:
        return scale, 0.0, "offset already removed (earthsearch:boa_offset_applied)"
    if declared_scale is not None or rb.get("offset") is not None:
        return scale, float(rb.get("offset") or 0.0) / scale, "raster:bands scale and offset"
    baseline = _baseline(props)
    if baseline:
        scale, offset = baseline_radiometry(baseline)
        return scale, offset, f"processing baseline {baseline}"
    return scale, 0.0, "no raster:bands scale/offset and no processing baseline: DN / 10000 assumed, no offset"


def _baseline(props: dict) -> str | None:
    uri = _PRODUCT_URI.search(str(props.get("s2:product_uri", "")))
    return processing_baseline(props.get("s2:processing_baseline") or props.get("sentinel:processing_baseline")
                               or (uri and uri.group("baseline")))


def _tile(props: dict) -> str | None:
    for prefix in ("mgrs", "sentinel"):  # Earth Search v1, then v0
        zone = props.get(f"{prefix}:utm_zone")
        if zone is not None:
            return f"{int(zone):02d}{props.get(f'{prefix}:latitude_band', '')}{props.get(f'{prefix}:grid_square', '')}"
    if props.get("s2:mgrs_tile"):
        return str(props["s2:mgrs_tile"])
    if str(props.get("grid:code", "")).startswith("MGRS-"):
        return props["grid:code"][5:]
    uri = _PRODUCT_URI.search(str(props.get("s2:product_uri", "")))
    return uri.group("tile") if uri else None


def _href(href: str, base: Path) -> str:
    if "://" in href:
        return href[len("file://"):] if href.startswith("file://") else href
    return str(Path(href) if Path(href).is_absolute() else (base / href).resolve())


def _item_product(item: dict, base: Path, source: str) -> Product:
    props = item.get("properties") or {}
    when = props.get("datetime") or props.get("start_datetime")
    if not when:
        raise InputDataError("the item has no properties.datetime")
    chosen = {}
    for key, asset in (item.get("assets") or {}).items():
        band, rank = _asset_band(key, asset)
        if band and "href" in asset and (band not in chosen or rank < chosen[band][0]):
            chosen[band] = (rank, asset)
    if not chosen:
        raise InputDataError("no asset is a Sentinel-2 band (keys B04/red/SCL/scl ..., or eo:bands names)")
    bands, rules = {}, set()
    for band, (_, asset) in chosen.items():
        if band == "SCL":
            bands[band] = BandFile(_href(asset["href"], base), float("nan"), 0.0)
            continue
        scale, offset, rule = _radiometry(asset, props)
        bands[band] = BandFile(_href(asset["href"], base), scale, offset)
        rules.add(rule)
    return Product(str(item.get("id", "")), day(when), source, bands, tile=_tile(props), baseline=_baseline(props),
                   note="; ".join(sorted(rules)))


def read_stac(path) -> list:
    """The Sentinel-2 items of a STAC file as :class:`~kit.raster.products.Product` (or :class:`SetAside`, with why)."""
    out = []
    for entry in stac_items(path):
        if isinstance(entry, SetAside):
            out.append(entry)
            continue
        item, base = entry
        try:
            out.append(_item_product(item, base, str(path)))
        except Exception as exc:  # one malformed item is set aside, not the run
            reason = str(exc) if isinstance(exc, InputDataError) else f"{type(exc).__name__}: {exc}"
            out.append(SetAside(str(item.get("id", "?")), str(path), reason))
    return out
