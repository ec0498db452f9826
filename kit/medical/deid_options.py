"""The ``C`` (clean) actions of PS3.15 Annex E options on one element, called by the profile's walk.

Each cleaner takes the walk (:class:`kit.medical.deid_profile.ProfileWalk`),
the element, its path and the row's Basic Profile action, and returns
``("K", rule)`` when it kept (and logged) the element, or ``(basic action,
why)`` for the walk to apply the Basic Profile action instead.

- Clean Descriptors (E.3.5, 113105): :func:`clean_descriptor`, the allow-list
  rule of :mod:`kit.medical.deid_clean`.
- Clean Graphics (E.3.3, 113103): :func:`clean_annotations` on the Graphic
  Annotation Sequence (overlays: :mod:`kit.medical.deid_graphics`).
- Clean Structured Content (E.3.6, 113104): :func:`clean_content` on the
  Content Sequence, Acquisition Context Sequence and Specimen Preparation
  Sequence: the tree is kept and walked by the profile, which replaces each
  PNAME item's Person Name by a dummy, DATE / TIME / DATETIME values by a
  dummy (or shifts or keeps them with the longitudinal options) and UIDREF
  values by the run's consistent UIDs (their rows of Table E.1-1); a TEXT
  item, whose Text Value no row covers, is kept only when every word is in
  the safe vocabulary and none matches the header's identifiers, and is
  removed otherwise (with the items nested under it).
"""
from __future__ import annotations

__all__ = ["CLEANERS", "clean_annotations", "clean_content", "clean_descriptor"]

TEXT_VRS = ("LO", "SH", "LT", "ST", "UT", "UC", "CS")
# Code values and scheme designators are not free text: a coded item is judged on its meanings.
_CODE_KEYWORDS = {"CodeValue", "LongCodeValue", "CodingSchemeDesignator", "CodingSchemeVersion", "ContextIdentifier",
                  "MappingResource", "ContextGroupExtensionFlag"}
_TEXT_OBJECTS = 0x00700008
_TEXT_VALUE = 0x0040A160


def clean_descriptor(walk, elem, path, basic) -> tuple[str, str]:
    """Clean Descriptors: keep a descriptor of safe words only, else ``(basic action, why)``."""
    from kit.medical.deid_clean import descriptor_verdict

    rule = f"Table E.1-1 {basic}, clean_descriptors C"
    if elem.VR == "SQ":  # coded descriptors: items de-identified as any other, then their text judged
        walk._recurse(elem, path)
        why = next(filter(None, (descriptor_verdict(e.value, walk.identifiers) for item in elem.value or []
                                 for e in free_texts(item))), None)
        if why is None:
            walk.log(elem.tag, elem.keyword, path, "K", rule + ": items de-identified, their text all safe words")
            return "K", rule
        return basic, f"{rule}: text in its items {why}, Basic Profile action"
    why = "not text" if elem.VR not in TEXT_VRS else descriptor_verdict(elem.value, walk.identifiers)
    if why is None:
        walk.log(elem.tag, elem.keyword, path, "K", rule + ": every word in the safe vocabulary")
        return "K", rule
    return basic, f"{rule}: {why}, Basic Profile action"


def clean_annotations(walk, elem, path, basic) -> tuple[str, str]:
    """Clean Graphics on a Graphic Annotation Sequence: text objects removed, graphic objects kept."""
    from pydicom.tag import Tag

    if elem.VR != "SQ":
        return basic, f"Table E.1-1 {basic}, clean_graphics C: not a sequence, Basic Profile action"
    for i, item in enumerate(elem.value or []):
        if _TEXT_OBJECTS in item:
            n = len(item[_TEXT_OBJECTS].value or [])
            del item[_TEXT_OBJECTS]
            walk.log(Tag(_TEXT_OBJECTS), "TextObjectSequence", f"{path}[{i}].TextObjectSequence", "X",
                     f"clean_graphics C: {n} text objects removed")
    rule = f"Table E.1-1 {basic}, clean_graphics C: graphic objects kept, de-identified inside"
    walk.log(elem.tag, elem.keyword, path, "K", rule)
    walk._recurse(elem, path)
    return "K", rule


def clean_content(walk, elem, path, basic) -> tuple[str, str]:
    """Clean Structured Content on a content tree: TEXT items judged, the others walked by the profile."""
    from kit.medical.deid_clean import descriptor_verdict

    if elem.VR != "SQ":
        return basic, f"Table E.1-1 {basic}, clean_structured_content C: not a sequence, Basic Profile action"
    kept = []
    for i, item in enumerate(elem.value or []):
        if str(item.get("ValueType", "")).upper() == "TEXT":
            why = descriptor_verdict(item.get(_TEXT_VALUE).value if _TEXT_VALUE in item else "", walk.identifiers)
            if why is not None:
                walk.log(elem.tag, elem.keyword, f"{path}[{i}]", "X",
                         f"clean_structured_content C: TEXT item removed, {why}")
                continue
        kept.append(item)
    elem.value = kept
    rule = f"Table E.1-1 {basic}, clean_structured_content C: content kept, its items de-identified"
    walk.log(elem.tag, elem.keyword, path, "K", rule)
    walk._recurse(elem, path)
    return "K", rule


def free_texts(ds):
    """The free-text elements of ``ds`` and of its nested items."""
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value or []:
                yield from free_texts(item)
        elif elem.VR in TEXT_VRS and elem.keyword not in _CODE_KEYWORDS:
            yield elem


CLEANERS = {
    "clean_descriptors": clean_descriptor,
    "clean_graphics": clean_annotations,
    "clean_structured_content": clean_content,
}
"""Option -> the cleaner of its ``C`` rows, in the order the walk tries them."""
