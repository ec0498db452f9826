"""Raster building blocks: spectral indices and GeoTIFF I/O."""
from kit.raster.indices import evi, ndmi, ndvi, ndwi, normalized_difference, savi
from kit.raster.io import write_geotiff

__all__ = ["evi", "ndmi", "ndvi", "ndwi", "normalized_difference", "savi", "write_geotiff"]
