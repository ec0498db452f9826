"""What is in each zone: objects per image, class and zone, and people inside restricted zones."""
from __future__ import annotations

import numpy as np

from kit.vision.operations.detections import above_threshold, detection_arrays
from kit.vision.operations.zones import ground_points, points_in_polygon


def counts_per_zone(detections, image_ids, zones, label_names: dict, threshold=0.5):
    """Objects per image, class and zone (plus the whole image as zone ``"all"``).

    Parameters
    ----------
    detections : list of dict
        Per image ``boxes`` XYXY px, ``scores``, ``labels`` 1..K.
    image_ids : list
        Image id or frame index of each entry.
    zones : list of Zone
    label_names : dict
        ``{label: class name}``.
    threshold : float or dict
        Score threshold for counting (``TrainResult.score_threshold``), or ``{label: threshold}``.

    Returns
    -------
    pandas.DataFrame
        Long table: ``image_id, zone, class, count`` with a row for every
        image, zone and class (zeros included, so occupancy plots have no gaps).

    Examples
    --------
    >>> import numpy as np
    >>> from kit.vision.operations import parse_zones
    >>> det = {"boxes": np.array([[0, 0, 4, 8], [20, 0, 30, 9]]), "scores": np.array([0.9, 0.8]), "labels": np.array([1, 1])}
    >>> t = counts_per_zone([det], [7], parse_zones({"left": [[0, 0], [10, 0], [10, 10], [0, 10]]}), {1: "container"})
    >>> t[["zone", "count"]].values.tolist()
    [['all', 2], ['left', 1]]
    """
    import pandas as pd

    rows = []
    names = sorted(label_names)
    for det, iid in zip(detections, image_ids):
        boxes, scores, labels = detection_arrays(det)
        keep = above_threshold(scores, labels, threshold)
        boxes, labels = boxes[keep], labels[keep]
        pts = ground_points(boxes)
        masks = [("all", np.ones(len(boxes), bool))] + [(z.name, points_in_polygon(pts, z.polygon)) for z in zones]
        for zname, inside in masks:
            for lab in names:
                rows.append({"image_id": iid, "zone": zname, "class": label_names[lab], "count": int(np.sum(inside & (labels == lab)))})
    return pd.DataFrame(rows, columns=["image_id", "zone", "class", "count"])


def restricted_alerts(detections, image_ids, zones, label_names: dict, threshold=0.5, classes=("person",), track_ids=None):
    """People (or other classes) inside restricted zones, one row per object and frame.

    Parameters
    ----------
    detections, image_ids, zones, label_names, threshold
        As for :func:`counts_per_zone`.
    classes : tuple of str
        Classes that raise an alert.
    track_ids : list of arrays, optional
        Track id of each kept detection (from :func:`kit.vision.operations.track_sequence`), written in the table.

    Returns
    -------
    pandas.DataFrame
        ``image_id, zone, class, track_id, score, x0, y0, x1, y1`` (px); empty with these columns if nothing.

    Examples
    --------
    >>> import numpy as np
    >>> from kit.vision.operations import parse_zones
    >>> z = parse_zones([{"type": "Feature", "properties": {"name": "crane lane", "restricted": True},
    ...                   "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [50, 0], [50, 50], [0, 50]]]}}])
    >>> det = {"boxes": np.array([[10, 10, 14, 30], [60, 10, 64, 30]]), "scores": np.array([0.9, 0.9]),
    ...        "labels": np.array([4, 4])}
    >>> restricted_alerts([det], [3], z, {4: "person"})[["image_id", "zone", "class"]].values.tolist()
    [[3, 'crane lane', 'person']]
    """
    import pandas as pd

    cols = ["image_id", "zone", "class", "track_id", "score", "x0", "y0", "x1", "y1"]
    watched = {lab for lab, n in label_names.items() if n in classes}
    rows = []
    for i, (det, iid) in enumerate(zip(detections, image_ids)):
        boxes, scores, labels = detection_arrays(det)
        keep = above_threshold(scores, labels, threshold)
        tids = np.asarray(track_ids[i]) if track_ids is not None else np.full(int(keep.sum()), -1)
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        pts = ground_points(boxes)
        for z in zones:
            if not z.restricted:
                continue
            inside = points_in_polygon(pts, z.polygon) & np.isin(labels, list(watched))
            for j in np.flatnonzero(inside):
                x0, y0, x1, y1 = (round(float(v), 1) for v in boxes[j])
                rows.append({"image_id": iid, "zone": z.name, "class": label_names[int(labels[j])], "track_id": int(tids[j]),
                             "score": round(float(scores[j]), 3), "x0": x0, "y0": y0, "x1": x1, "y1": y1})
    return pd.DataFrame(rows, columns=cols)
