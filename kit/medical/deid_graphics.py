"""PS3.15 Annex E Clean Graphics Option (E.3.3) on overlays and graphic annotations.

The option's column of Table E.1-1 says ``C`` for Overlay Data (60xx,3000),
Overlay Comments (60xx,4000), Curve Data (50xx,xxxx) and the Graphic
Annotation Sequence (0070,0001). Cleaned here as follows:

- Overlay Data: the bitmap (PS3.3 C.9.2, one bit a pixel, packed from the
  least significant bit) is unpacked and searched for text with the same
  detector as the pixels (:func:`kit.medical.burned_in.find_burned_in_text`);
  every box found is cleared (a marker in an overlay is text too) and the
  bitmap repacked. An overlay that cannot be unpacked (no Overlay Rows or
  Columns, a length that does not match) is removed as a whole group:
  what cannot be checked is not kept.
- Overlay Comments, Description and Label: free text, kept only when
  :func:`kit.medical.deid_clean.descriptor_verdict` accepts them, else removed.
- The overlay's geometry (rows, columns, origin, type, bit layout) is kept
  with its data.
- Curves (retired since 2004) are removed: there is no text detector for them.
- Graphic Annotation Sequence: Text Object Sequences (0070,0008) are removed,
  graphic objects (lines, polylines, circles: no text) are kept and the items
  walked by the profile.
"""
from __future__ import annotations

import numpy as np

__all__ = ["clean_overlay_groups", "overlay_groups"]

_OVERLAY_TEXT = {0x0022: "OverlayDescription", 0x1500: "OverlayLabel", 0x4000: "OverlayComments"}
_OVERLAY_DATA, _OVERLAY_ROWS, _OVERLAY_COLUMNS = 0x3000, 0x0010, 0x0011


def overlay_groups(ds) -> list[int]:
    """The overlay groups (even groups 6000-601E) present in ``ds``."""
    return sorted({e.tag.group for e in ds if 0x6000 <= e.tag.group <= 0x601E and e.tag.group % 2 == 0})


def clean_overlay_groups(ds, log, identifiers=frozenset(), prefix: str = "") -> set[int]:
    """Apply Clean Graphics to every overlay group of ``ds`` in place; returns the groups kept.

    Parameters
    ----------
    ds : pydicom Dataset
    log : callable
        ``log(tag, keyword, path, action, rule)``, the walk's audit.
    identifiers : frozenset of str
        Words that identify in the header (:func:`kit.medical.deid_clean.header_identifiers`).
    """
    from kit.medical.deid_clean import descriptor_verdict

    kept = set()
    for group in overlay_groups(ds):
        data_tag = (group << 16) | _OVERLAY_DATA
        outcome = _clean_bitmap(ds, group) if data_tag in ds else "no Overlay Data"
        if outcome.startswith(("masked", "no text")):
            action = "mask" if outcome.startswith("masked") else "K"
            log(_tag(data_tag), "OverlayData", f"{prefix}OverlayData", action, f"Table E.1-1 X, clean_graphics C: {outcome}")
        else:
            for elem in [e for e in ds if e.tag.group == group]:
                del ds[elem.tag]
            log(_tag(data_tag), "OverlayData",
                f"{prefix}OverlayData", "X", f"Table E.1-1 X, clean_graphics C: {outcome}, overlay group removed")
            continue
        kept.add(group)
        for element, keyword in _OVERLAY_TEXT.items():
            tag = (group << 16) | element
            if tag not in ds:
                continue
            why = descriptor_verdict(ds[tag].value, identifiers)
            if why is None:
                log(ds[tag].tag, keyword, prefix + keyword, "K", "clean_graphics C: every word in the safe vocabulary")
            else:
                del ds[tag]
                log(_tag(tag), keyword, prefix + keyword, "X", f"clean_graphics C: {why}")
    return kept


def _tag(value: int):
    from pydicom.tag import Tag

    return Tag(value)


def _clean_bitmap(ds, group: int) -> str:
    """Clear the text found in one overlay's bitmap; says what was done, or why it cannot be checked."""
    from pydicom.pixels import pack_bits

    from kit.medical.burned_in import find_burned_in_text

    rows, cols = (ds.get((group << 16) | e) for e in (_OVERLAY_ROWS, _OVERLAY_COLUMNS))
    if rows is None or cols is None or not rows.value or not cols.value:
        return "no Overlay Rows or Columns, cannot be checked"
    try:
        bits = np.asarray(ds.overlay_array(group), dtype=np.uint8)
    except Exception as exc:  # a bitmap pydicom cannot unpack is not checkable
        return f"bitmap not readable ({type(exc).__name__}), cannot be checked"
    frames = bits if bits.ndim == 3 else bits[None]
    n_boxes = 0
    for frame in frames:
        for r0, c0, r1, c1 in find_burned_in_text(frame.astype(np.float32)):
            frame[r0:r1, c0:c1] = 0
            n_boxes += 1
    if n_boxes == 0:
        return "no text found in the bitmap"
    packed = pack_bits(frames.ravel(), pad=True)
    ds[(group << 16) | _OVERLAY_DATA].value = packed
    return f"masked: {n_boxes} text boxes found in the bitmap cleared"
