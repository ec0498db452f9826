"""Boxes through quarter turns of an image: where a box lands when the image is turned by ±90°."""
from __future__ import annotations

__all__ = ["turned_box"]


def turned_box(box, size, rotation_deg: int):
    """The box ``box`` of an image of ``size`` in that image turned by ``rotation_deg`` (±90°, counter-clockwise).

    The turn is PIL's ``image.rotate(rotation_deg, expand=True)``: +90 takes a
    point (x, y) to (y, W - x), -90 to (H - y, x). Mapping a box found in a
    turned image back is the opposite turn of the turned image's size:
    ``turned_box(box, turned.size, -rotation_deg)``.

    Parameters
    ----------
    box : (x0, y0, x1, y1), px
    size : (W, H), px
        Size of the image ``box`` lies in, before the turn.
    rotation_deg : {90, -90}

    Returns
    -------
    tuple (x0, y0, x1, y1), px

    Examples
    --------
    >>> turned_box((30, 10, 70, 20), (100, 60), 90)
    (10, 30, 20, 70)
    >>> turned_box((10, 30, 20, 70), (60, 100), -90)
    (30, 10, 70, 20)
    """
    x0, y0, x1, y1 = box
    W, H = size
    if rotation_deg == 90:
        return (y0, W - x1, y1, W - x0)
    if rotation_deg == -90:
        return (H - y1, x0, H - y0, x1)
    raise ValueError(f"rotation_deg must be 90 or -90, got {rotation_deg}")
