"""Yard operations from detections: counts per zone, occupancy, alerts, tracking.

Zones are polygons in image pixels, given GeoJSON-like (a FeatureCollection
of Polygon features with ``properties.name`` and ``properties.restricted``,
a list of such features, or ``{name: [[x, y], ...]}``). An object is in a
zone when its ground point, the bottom centre of its box, is inside: for a
camera looking down at a yard that is where the object stands, whatever its
height in the picture.

A tracker links detections across frames (IoU, with a centre-distance
fallback for fast objects), so a truck that crosses the picture in twenty
frames is counted once.

Counting lines (GeoJSON-like LineStrings) count each crossing of a track
once, per class and direction, with a dead band against jitter on the line;
visits give each track's dwell time per zone.

Modules: ``zones`` (zone polygons, ground points), ``counting`` (counts per
zone and restricted-zone alerts), ``tracking`` (the tracker and
:func:`track_sequence`), ``lines`` (counting lines and crossings),
``dwell`` (visits and dwell alerts), ``detections`` (detections as NumPy
arrays, kept by score).
"""
from kit.vision.operations.counting import counts_per_zone, restricted_alerts
from kit.vision.operations.dwell import ZoneVisits
from kit.vision.operations.lines import Line, LineCounter, parse_lines
from kit.vision.operations.tracking import IoUTracker, track_sequence
from kit.vision.operations.zones import Zone, ground_points, parse_zones, points_in_polygon

__all__ = [
    "IoUTracker",
    "Line",
    "LineCounter",
    "ZoneVisits",
    "Zone",
    "counts_per_zone",
    "ground_points",
    "parse_lines",
    "parse_zones",
    "points_in_polygon",
    "restricted_alerts",
    "track_sequence",
]
