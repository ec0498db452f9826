"""The raster toolkit's embedded data: the demo scene, and a season of Sentinel-2-like GeoTIFFs of any size.

:mod:`.scene` is the small scene the quickstart and the raster doctests use;
:mod:`.season` writes a folder of per-date COGs and a field label raster,
strip by strip, large enough to measure the chunked paths on.
"""
from kit.raster.synthetic.scene import BANDS, CRS, ORIGIN_XY_M, demo_scene
from kit.raster.synthetic.season import SEASON_BANDS, write_season

__all__ = ["BANDS", "CRS", "ORIGIN_XY_M", "SEASON_BANDS", "demo_scene", "write_season"]
