"""Counting lines: a track crossing a named line segment, once per crossing, per class and direction.

A line is given GeoJSON-like, a LineString in video pixels. Each track's
ground point (the bottom centre of its box, where it stands) is placed on
one side of the line only once it is farther than ``band_px`` from it; a
crossing is counted when the side it is placed on changes, and only where
the path meets the segment itself (not its extension). A point jittering on
the line, inside the band, keeps its side: one crossing, not one per
wobble. (Supervision's ``LineZone`` flips its side at every sign change of
its anchors, which counts jitter on the line; roboflow/supervision#210.)

Direction: ``in`` is from the left of the line to its right, looking from
its first point towards its last in the image (y down). A line drawn top to
bottom counts left-to-right motion ``in``; a line drawn left to right counts
downward motion ``in``; swap the points to swap the directions.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kit.errors import ParameterError
from kit.i18n import _


@dataclass(frozen=True)
class Line:
    """A named counting line in video pixels.

    Attributes
    ----------
    name : str
    points : numpy.ndarray, (2, 2), px
        First and last point (x, y).
    """

    name: str
    points: np.ndarray = field(repr=False)

    def side(self, xy) -> np.ndarray:
        """Signed distance of points from the line, px: positive on the ``in`` side (right of first→last)."""
        p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        (x0, y0), (x1, y1) = self.points
        d = np.array([x1 - x0, y1 - y0])
        # Image y points down, so the right of the direction is the negative z cross product.
        return -(d[0] * (p[:, 1] - y0) - d[1] * (p[:, 0] - x0)) / max(float(np.hypot(*d)), 1e-9)

    def along(self, xy) -> np.ndarray:
        """Position of points along the segment: 0 at the first point, 1 at the last."""
        p = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        a, b = self.points
        d = b - a
        return ((p - a) @ d) / max(float(d @ d), 1e-9)


def _feature_line(f, i):
    if not isinstance(f, dict):
        raise ParameterError(_("lines[{i}] is a {type}; give GeoJSON Features with a LineString geometry").format(
            i=i, type=type(f).__name__))
    props = f.get("properties") or {}
    name = str(props.get("name", f"line {i + 1}"))
    geom = f.get("geometry") or {}
    if geom.get("type") != "LineString":
        raise ParameterError(_("line {name!r}: geometry type {type!r}; only 'LineString' (pixel coordinates) is supported").format(
            name=name, type=geom.get("type")))
    return name, geom.get("coordinates")


def _segment(name, coords):
    try:
        pts = np.asarray(coords, dtype=np.float64)
    except (TypeError, ValueError):
        pts = np.zeros((0,))
    if pts.shape != (2, 2) or not np.all(np.isfinite(pts)) or np.allclose(pts[0], pts[1]):
        raise ParameterError(_("line {name!r}: needs two distinct [x, y] points in pixels, [[x0, y0], [x1, y1]], "
                                "got {coords!r}").format(name=name, coords=coords))
    return pts


def parse_lines(lines) -> list:
    """Counting lines from a GeoJSON-like description.

    Parameters
    ----------
    lines : dict or list or None
        A FeatureCollection of LineString features (``properties.name``;
        two points each, video pixels), a list of such features, or
        ``{name: [[x0, y0], [x1, y1]]}``.

    Returns
    -------
    list of Line

    Raises
    ------
    ParameterError
        A line that is not two distinct points, another geometry, or two lines of one name.

    Examples
    --------
    >>> ls = parse_lines({"type": "FeatureCollection", "features": [{"type": "Feature",
    ...     "properties": {"name": "gate"}, "geometry": {"type": "LineString", "coordinates": [[128, 140], [128, 256]]}}]})
    >>> ls[0].name, ls[0].side([[100, 200], [150, 200]]).round(1).tolist()
    ('gate', [-28.0, 22.0])
    """
    if lines is None:
        return []
    if isinstance(lines, dict) and lines.get("type") == "FeatureCollection":
        lines = lines.get("features")
        if not isinstance(lines, list):
            raise ParameterError(_("lines: a FeatureCollection needs a 'features' list"))
    if isinstance(lines, dict) and lines.get("type") == "Feature":
        lines = [lines]
    if isinstance(lines, dict):
        named = list(lines.items())
    elif isinstance(lines, (list, tuple)):
        named = [_feature_line(f, i) for i, f in enumerate(lines)]
    else:
        raise ParameterError(_("lines must be a GeoJSON FeatureCollection of LineStrings, a list of Features or "
                                "{{name: [[x0, y0], [x1, y1]]}}, got {type}").format(type=type(lines).__name__))
    out = [Line(str(n), _segment(n, c)) for n, c in named]
    names = [ln.name for ln in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ParameterError(_("line names must be unique; {name!r} appears twice").format(name=sorted(dup)[0]))
    return out


class LineCounter:
    """Crossings of counting lines by tracks, with a dead band against jitter.

    Parameters
    ----------
    lines : list of Line
    band_px : float, px
        A ground point nearer the line than this keeps the side it had.
    margin : float
        Share of the segment's length by which a crossing may miss its ends.

    Examples
    --------
    >>> c = LineCounter(parse_lines({"gate": [[50, 0], [50, 100]]}), band_px=3)
    >>> for t, x in enumerate([30, 45, 49, 52, 48, 53, 60, 75]):  # one truck, jittering on the line
    ...     c.update(t * 0.2, t, [7], [2], [[x, 60]])
    >>> [(r["line"], r["direction"]) for r in c.crossings]
    [('gate', 'in')]
    """

    def __init__(self, lines, band_px: float = 4.0, margin: float = 0.05):
        if band_px < 0 or margin < 0:
            raise ParameterError(_("LineCounter: band_px and margin must be >= 0, got {band_px!r}, {margin!r}").format(
                band_px=band_px, margin=margin))
        self.lines, self.band_px, self.margin = list(lines), float(band_px), float(margin)
        self._side = {}  # (line, track) -> (side -1/+1, last ground point outside the band)
        self.crossings = []

    def update(self, time_s, frame, track_ids, labels, points):
        """Add one frame: ``track_ids``, ``labels`` and ground ``points`` (n, 2) px of its tracked objects."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        for line in self.lines:
            dist = line.side(pts)
            for tid, lab, d, p in zip(track_ids, labels, dist, pts):
                if not tid or abs(d) <= self.band_px:
                    continue
                side = 1 if d > 0 else -1
                key = (line.name, int(tid))
                prev = self._side.get(key)
                self._side[key] = (side, p)
                if prev is None or prev[0] == side:
                    continue
                # Where the path from the last point outside the band meets the line: on the segment?
                d0 = float(line.side(prev[1])[0])
                cross = prev[1] + (p - prev[1]) * (d0 / (d0 - d))
                if -self.margin <= float(line.along(cross)[0]) <= 1 + self.margin:
                    self.crossings.append({"time_s": float(time_s), "frame": int(frame), "line": line.name,
                                           "track_id": int(tid), "label": int(lab),
                                           "direction": "in" if side > 0 else "out"})

    def table(self, label_names: dict, keep_tracks=None):
        """``time_s, line, track_id, category, direction`` (one row per crossing), for tracks in ``keep_tracks``."""
        import pandas as pd

        rows = [{"time_s": round(r["time_s"], 3), "line": r["line"], "track_id": r["track_id"],
                 "category": label_names.get(r["label"], str(r["label"])), "direction": r["direction"]}
                for r in self.crossings if keep_tracks is None or r["track_id"] in keep_tracks]
        return pd.DataFrame(rows, columns=["time_s", "line", "track_id", "category", "direction"])
