"""Raster building blocks: spectral indices, stacks, masks, temporal filling, zonal statistics, GeoTIFF I/O,
Sentinel-2 readers, the demo scene."""
from kit.raster.field_labels import field_index_from_labels, read_field_labels
from kit.raster.indices import evi, ndmi, ndvi, ndwi, normalized_difference, savi
from kit.raster.inputs import read_sentinel2
from kit.raster.io import write_geotiff
from kit.raster.mask import SCL_CLASSES, SCL_INVALID, apply_mask, scl_valid, threshold_valid
from kit.raster.sentinel2 import SCL_CLEAR, ProductSetAsideWarning, ReflectanceScaleWarning, scl_clear
from kit.raster.stack import band, lazy_geotiffs, open_stack, read_stack, write_acquisitions, write_stack
from kit.raster.synthetic import demo_scene
from kit.raster.temporal import daily_curve, fill_gaps, smooth
from kit.raster.zonal import (
    FieldIndex, FieldsOutsideRasterWarning, rasterize_fields, read_field_polygons, zonal_mean, zonal_stats, zonal_sums_by_chunk,
)

__all__ = [
    "FieldIndex", "FieldsOutsideRasterWarning", "SCL_CLASSES", "SCL_INVALID", "apply_mask", "band", "daily_curve",
    "demo_scene", "evi", "fill_gaps", "ndmi", "ndvi", "ndwi", "normalized_difference", "open_stack",
    "rasterize_fields", "read_field_polygons", "read_stack", "savi", "scl_valid", "smooth", "threshold_valid",
    "write_acquisitions", "write_geotiff", "write_stack", "zonal_mean", "zonal_stats",
    "ProductSetAsideWarning", "ReflectanceScaleWarning", "SCL_CLEAR", "read_sentinel2", "scl_clear",
    "field_index_from_labels", "lazy_geotiffs", "read_field_labels", "zonal_sums_by_chunk",
]
