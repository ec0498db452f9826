"""Zones in image pixels, parsed from GeoJSON-like descriptions, and the ground points objects stand on.

An object is in a zone when its ground point, the bottom centre of its box,
is inside the zone's polygon: for a camera looking down at a yard that is
where the object stands, whatever its height in the picture.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kit.errors import ParameterError
from kit.i18n import _


@dataclass(frozen=True)
class Zone:
    """A named polygon in image pixels.

    Attributes
    ----------
    name : str
    polygon : numpy.ndarray, (n, 2), px
        Vertices (x, y), not closed.
    restricted : bool
        People inside raise an alert (machine zones: stacking lanes, truck lanes).
    gate : bool
        A truck staying longer than ``max_dwell_s`` raises an alert (gates, weighbridges, docks).
    """

    name: str
    polygon: np.ndarray = field(repr=False)
    restricted: bool = False
    gate: bool = False


def _ring(coords, name):
    try:
        ring = np.asarray(coords, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(_("zone {name!r}: coordinates are not a list of [x, y] pairs; give [[x0, y0], [x1, y1], ...] "
                                "in pixels").format(name=name)) from None
    if ring.ndim == 3 and ring.shape[0] >= 1:  # GeoJSON Polygon: list of rings, first is the outline
        ring = ring[0]
    if ring.ndim != 2 or ring.shape[1] != 2 or len(ring) < 3 or not np.all(np.isfinite(ring)):
        raise ParameterError(_("zone {name!r}: needs at least 3 finite [x, y] vertices in pixels, got shape {shape}").format(
            name=name, shape=ring.shape))
    if np.allclose(ring[0], ring[-1]) and len(ring) > 3:
        ring = ring[:-1]
    return ring


def parse_zones(zones) -> list:
    """Zones from a GeoJSON-like description.

    Parameters
    ----------
    zones : dict or list or None
        A FeatureCollection ``{"type": "FeatureCollection", "features": [...]}``,
        a list of Features ``{"type": "Feature", "properties": {"name", "restricted", "gate"},
        "geometry": {"type": "Polygon", "coordinates": [[[x, y], ...]]}}``, or a
        mapping ``{name: [[x, y], ...]}`` (not restricted). Coordinates in
        pixels of the original image.

    Returns
    -------
    list of Zone

    Raises
    ------
    ParameterError
        A zone without a polygon of at least 3 vertices, a geometry other
        than Polygon, or two zones with the same name.

    Examples
    --------
    >>> z = parse_zones({"type": "FeatureCollection", "features": [{"type": "Feature",
    ...     "properties": {"name": "lane", "restricted": True},
    ...     "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 0]]]}}]})
    >>> z[0].name, z[0].restricted, z[0].polygon.shape
    ('lane', True, (3, 2))
    >>> parse_zones({"dock": [[0, 0], [5, 0], [5, 5]]})[0].restricted
    False
    """
    if zones is None:
        return []
    if isinstance(zones, dict) and zones.get("type") == "FeatureCollection":
        zones = zones.get("features")
        if not isinstance(zones, list):
            raise ParameterError(_("zones: a FeatureCollection needs a 'features' list"))
    if isinstance(zones, dict) and zones.get("type") == "Feature":
        zones = [zones]
    out = []
    if isinstance(zones, dict):
        out = [Zone(str(name), _ring(coords, name)) for name, coords in zones.items()]
    elif isinstance(zones, (list, tuple)):
        for i, f in enumerate(zones):
            if not isinstance(f, dict):
                raise ParameterError(_("zones[{i}] is a {type}; give GeoJSON Features with a Polygon geometry").format(
                    i=i, type=type(f).__name__))
            props = f.get("properties") or {}
            name = str(props.get("name", f"zone {i + 1}"))
            geom = f.get("geometry") or {}
            if geom.get("type") != "Polygon":
                raise ParameterError(_("zone {name!r}: geometry type {type!r}; only 'Polygon' (pixel coordinates) is supported").format(
                    name=name, type=geom.get("type")))
            out.append(Zone(name, _ring(geom.get("coordinates"), name), bool(props.get("restricted", False)),
                            bool(props.get("gate", False))))
    else:
        raise ParameterError(_("zones must be a GeoJSON FeatureCollection, a list of Features or {{name: polygon}}, got {type}").format(
            type=type(zones).__name__))
    names = [z.name for z in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ParameterError(_("zone names must be unique; {name!r} appears twice").format(name=sorted(dup)[0]))
    return out


def points_in_polygon(points, polygon) -> np.ndarray:
    """Whether each point is inside a polygon (even–odd rule, ray casting).

    Parameters
    ----------
    points : array (n, 2), px
    polygon : array (m, 2), px

    Returns
    -------
    numpy.ndarray of bool, (n,)

    Examples
    --------
    >>> square = [[0, 0], [10, 0], [10, 10], [0, 10]]
    >>> points_in_polygon([[5, 5], [15, 5], [-1, 3]], square).tolist()
    [True, False, False]
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    v = np.asarray(polygon, dtype=np.float64)
    x, y = p[:, 0:1], p[:, 1:2]
    x0, y0 = v[:, 0], v[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return (np.sum(crosses & (x < xi), axis=1) % 2) == 1


def ground_points(boxes) -> np.ndarray:
    """Bottom centre of XYXY boxes: where the object stands on the ground, px."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.stack([(b[:, 0] + b[:, 2]) / 2, b[:, 3]], axis=1)
