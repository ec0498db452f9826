"""Dwell time per track and zone: when each tracked object entered a zone and left it, and long stays at gates.

A visit begins at the first processed frame where the track's ground point
is inside the zone and ends at the first processed frame where it is seen
outside, or, when the track is lost while inside (it drove out of the
picture, the tracker gave it up), at the frame after its last sighting.
Both ends are therefore late by less than one processed frame, so dwell
times are right within one frame. Frames where the track is not seen (a
truck passing in front) do not end a visit.
"""
from __future__ import annotations

import bisect

import numpy as np

from kit.errors import ParameterError
from kit.i18n import _
from kit.vision.operations.zones import points_in_polygon


class ZoneVisits:
    """Visits of tracks to zones, and alerts for long stays at gate zones.

    Parameters
    ----------
    zones : list of Zone
    max_dwell_s : float, s, optional
        A tracked object of ``dwell_classes`` staying longer than this in a
        zone marked ``gate`` raises one alert per visit; None: no dwell alerts.
    dwell_classes : set of int
        Labels whose stays are watched (trucks).

    Examples
    --------
    >>> from kit.vision.operations import parse_zones
    >>> v = ZoneVisits(parse_zones({"dock": [[0, 0], [10, 0], [10, 10], [0, 10]]}))
    >>> for t, x in enumerate([-5, 2, 5, 8, 12]):
    ...     v.update(float(t), t, [3], [2], [[x, 5]])
    >>> v.close()
    >>> [(r["zone"], r["enter_s"], r["exit_s"]) for r in v.visits]
    [('dock', 1.0, 4.0)]
    """

    def __init__(self, zones, max_dwell_s: float | None = None, dwell_classes=frozenset()):
        if max_dwell_s is not None and not max_dwell_s > 0:
            raise ParameterError(_("max_dwell_s must be > 0 s or None, got {max_dwell_s!r}").format(max_dwell_s=max_dwell_s))
        self.zones, self.max_dwell_s, self.dwell_classes = list(zones), max_dwell_s, set(dwell_classes)
        self._open = {}  # (zone, track) -> visit dict
        self._times = []  # processed frame times, s
        self.visits = []
        self.alerts = []

    def update(self, time_s, frame, track_ids, labels, points):
        """Add one frame: ``track_ids``, ``labels`` and ground ``points`` (n, 2) px of its tracked objects."""
        self._times.append(float(time_s))
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        for z in self.zones:
            inside = points_in_polygon(pts, z.polygon) if len(pts) else np.zeros(0, bool)
            for tid, lab, isin in zip(track_ids, labels, inside):
                if not tid:
                    continue
                key = (z.name, int(tid))
                visit = self._open.get(key)
                if isin and visit is None:
                    self._open[key] = {"track_id": int(tid), "label": int(lab), "zone": z.name, "enter_s": float(time_s),
                                       "last_s": float(time_s), "gate": z.gate}
                elif isin:
                    visit["last_s"] = float(time_s)
                    self._check_dwell(visit, time_s, frame)
                elif visit is not None:
                    self._end(key, float(time_s))

    def _check_dwell(self, visit, time_s, frame):
        if (self.max_dwell_s is None or not visit["gate"] or visit["label"] not in self.dwell_classes
                or visit.get("alerted") or time_s - visit["enter_s"] <= self.max_dwell_s):
            return
        visit["alerted"] = True
        self.alerts.append({"time_s": float(time_s), "frame": int(frame), "zone": visit["zone"], "track_id": visit["track_id"],
                            "label": visit["label"], "dwell_s": float(time_s - visit["enter_s"])})

    def _end(self, key, exit_s):
        v = self._open.pop(key)
        self.visits.append({k: v[k] for k in ("track_id", "label", "zone", "enter_s")} | {"exit_s": exit_s})

    def close(self):
        """End the visits still open: at the frame after the track's last sighting (its last sighting at the clip's end)."""
        for key in list(self._open):
            last = self._open[key]["last_s"]
            k = bisect.bisect_right(self._times, last)
            self._end(key, self._times[k] if k < len(self._times) else last)

    def table(self, label_names: dict, keep_tracks=None):
        """``track_id, category, zone, enter_s, exit_s, dwell_s`` (one row per visit, in order of entry)."""
        import pandas as pd

        rows = [{"track_id": v["track_id"], "category": label_names.get(v["label"], str(v["label"])), "zone": v["zone"],
                 "enter_s": round(v["enter_s"], 3), "exit_s": round(v["exit_s"], 3),
                 "dwell_s": round(v["exit_s"] - v["enter_s"], 3)}
                for v in sorted(self.visits, key=lambda v: (v["enter_s"], v["track_id"], v["zone"]))
                if keep_tracks is None or v["track_id"] in keep_tracks]
        return pd.DataFrame(rows, columns=["track_id", "category", "zone", "enter_s", "exit_s", "dwell_s"])
