"""Applying PS3.15 Annex E Table E.1-1 to one DICOM data set, element by element, with an audit row per action.

The profile's table (:mod:`kit.medical._annex_e`, Table E.1-1 of the edition
it names) is applied attribute by attribute over a recursive pydicom walk,
sequences included, for the Basic Profile and the options chosen
(:func:`parse_deid_profile`):

- ``X`` remove, ``Z`` empty, ``D`` a dummy value consistent with the VR
  (dates 19000101, a new UID for a UI), ``K`` keep (a sequence kept is still
  walked), ``U`` replace UIDs through the mapping the walk is given
  (well-known DICOM UIDs stay).
- Combined actions are resolved to the most protective one the image can
  bear: ``X/Z``, ``X/D``, ``X/Z/D`` remove; ``Z/D`` empties; ``X/Z/U*``
  sequences are kept with their UIDs replaced (they link a derived image to
  its source).
- An option's ``K`` keeps the attribute. An option's ``C`` (clean) on a date
  under Retain Longitudinal Temporal Information with Modified Dates shifts it
  by the patient's number of days (a time of day is kept: the shift is in
  whole days); the ``C`` of the clean options is done by
  :mod:`kit.medical.deid_options`; any other ``C`` (Retain Patient
  Characteristics on Allergies, Patient State) falls back to the Basic
  Profile action.
- Patient's Name and Patient ID get the patient's pseudonym.
- Private tags, overlays (60xx) and curves (50xx) are removed (kept or cleaned
  with ``retain_safe_private``, :mod:`kit.medical.deid_private`, and
  ``clean_graphics``, :mod:`kit.medical.deid_graphics`).
- Safety nets for attributes the table does not list: any other person name
  (PN) and any other group 0010 (patient) attribute is removed; any other UID
  is replaced; any other date is shifted (kept with the Full Dates option).

The file meta is rebuilt. Audit rows name the tag, keyword, path in the
sequence tree, action and rule, never the original value.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from kit.errors import ParameterError
from kit.medical._annex_e import BASIC_PROFILE, EDITION, OPTION_ACTIONS, OPTIONS

__all__ = ["OPTION_CODES", "PATIENT_CHARACTERISTICS", "SUPPORTED_OPTIONS", "ProfileWalk", "parse_deid_profile"]

# CID 7050 De-identification Method: the code each choice is declared with.
OPTION_CODES = {
    "basic": ("113100", "Basic Application Confidentiality Profile"),
    "clean_pixel_data": ("113101", "Clean Pixel Data Option"),
    "clean_graphics": ("113103", "Clean Graphics Option"),
    "clean_structured_content": ("113104", "Clean Structured Content Option"),
    "clean_descriptors": ("113105", "Clean Descriptors Option"),
    "retain_longitudinal_full_dates": ("113106", "Retain Longitudinal Temporal Information Full Dates Option"),
    "retain_longitudinal_modified_dates": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    "retain_patient_characteristics": ("113108", "Retain Patient Characteristics Option"),
    "retain_device_identity": ("113109", "Retain Device Identity Option"),
    "retain_uids": ("113110", "Retain UIDs Option"),
    "retain_safe_private": ("113111", "Retain Safe Private Option"),
    "retain_institution_identity": ("113112", "Retain Institution Identity Option"),
}
SUPPORTED_OPTIONS = (
    "retain_patient_characteristics", "retain_longitudinal_modified_dates", "retain_longitudinal_full_dates",
    "retain_device_identity", "retain_institution_identity", "retain_uids", "clean_pixel_data", "clean_descriptors",
    "clean_graphics", "clean_structured_content", "retain_safe_private",
)
# Clean Pixel Data has no column in Table E.1-1 (it acts on the pixels): declared first, as CID 7050 lists it.
_ORDER = ("clean_pixel_data", *OPTIONS)
_NOT_OFFERED: dict[str, str] = {}  # options of Annex E the kit refuses, with the reason (none at present)
# What the text declares in De-identification Method (LO: at most 64 characters a value).
_SHORT = {
    "basic": "PS3.15 E.1 Basic Profile", "retain_patient_characteristics": "Retain Patient Chars",
    "retain_longitudinal_modified_dates": "Retain Modified Dates", "retain_longitudinal_full_dates": "Retain Full Dates",
    "retain_device_identity": "Retain Device Id", "retain_institution_identity": "Retain Institution Id",
    "retain_uids": "Retain UIDs", "clean_pixel_data": "Clean Pixel Data", "clean_descriptors": "Clean Descriptors",
    "clean_graphics": "Clean Graphics", "clean_structured_content": "Clean Structured Content",
    "retain_safe_private": "Retain Safe Private",
}

# Retain Patient Characteristics Option: the rows it keeps (K in its column of Table E.1-1).
PATIENT_CHARACTERISTICS = {t: a for t, opts in OPTION_ACTIONS.items()
                           for o, a in opts.items() if o == "retain_patient_characteristics" and a == "K"}
# Group 0010 attributes that describe a species, a breed or a phantom, not a person.
_GROUP_0010_SAFE = {0x00100200, 0x00102201, 0x00102202, 0x00102292, 0x00102293}
_PATIENT_ID, _PATIENT_NAME = 0x00100020, 0x00100010
_DATES = "retain_longitudinal_modified_dates"
_FREE_TEXT_VRS = ("LT", "ST", "UT", "UC")
_GRAPHICS = "clean_graphics"

_DUMMY = {
    "PN": "ANONYMOUS", "LO": "ANONYMIZED", "SH": "ANONYMIZED", "LT": "ANONYMIZED", "ST": "ANONYMIZED",
    "UT": "ANONYMIZED", "UC": "ANONYMIZED", "CS": "ANONYMIZED", "AE": "ANONYMOUS", "TM": "000000.00",
    "DA": "19000101", "DT": "19000101000000", "DS": "0", "IS": "0", "AS": "000Y", "UR": "urn:anonymized",
}


def parse_deid_profile(text) -> tuple[str, ...]:
    """The options of a ``deid_profile`` value, in the order of Table E.1-1's columns.

    ``"basic"`` is the Basic Profile alone; options are added comma-separated
    (``"basic,retain_patient_characteristics"``; ``basic`` may be left out).

    Examples
    --------
    >>> parse_deid_profile("basic")
    ()
    >>> parse_deid_profile("retain_longitudinal_modified_dates, basic,retain_patient_characteristics")
    ('retain_patient_characteristics', 'retain_longitudinal_modified_dates')
    """
    if not isinstance(text, str):
        text = ",".join(text)
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ParameterError("deid_profile is empty; give 'basic' or basic plus options, e.g. "
                             "'basic,retain_patient_characteristics'")
    chosen = set()
    for name in names:
        if name == "basic":
            continue
        if name in _NOT_OFFERED:
            raise ParameterError(f"deid_profile option {name!r} is not offered: {_NOT_OFFERED[name]}; "
                                 f"choose from {', '.join(SUPPORTED_OPTIONS)}")
        if name not in SUPPORTED_OPTIONS:
            raise ParameterError(f"deid_profile option {name!r} is unknown; use 'basic' or add any of "
                                 f"{', '.join(SUPPORTED_OPTIONS)}")
        chosen.add(name)
    if {"retain_longitudinal_full_dates", _DATES} <= chosen:
        raise ParameterError("deid_profile: retain_longitudinal_full_dates and retain_longitudinal_modified_dates "
                             "exclude each other; choose one")
    return tuple(o for o in _ORDER if o in chosen)


def method_codes(options) -> list[tuple[str, str]]:
    """``(code value, meaning)`` of CID 7050 for the Basic Profile and each option, as declared."""
    return [OPTION_CODES["basic"]] + [OPTION_CODES[o] for o in options]


def method_text(options) -> list[str]:
    """The values of De-identification Method (0012,0063) for the Basic Profile and each option."""
    return [_SHORT["basic"]] + [_SHORT[o] for o in options] + [f"kit.medical.deid, Table E.1-1 {EDITION}"]


@dataclass
class ProfileWalk:
    """One data set's walk through Table E.1-1, with the patient's mappings and the audit it writes.

    Parameters
    ----------
    file : str
        Output file named in the audit rows.
    shift : int, days
        Added to the dates this walk shifts.
    pseudonym : str
        Replaces Patient's Name and Patient ID.
    new_uid : callable
        ``uid -> replacement`` (well-known UIDs map to themselves).
    options : tuple of str
        Options of :data:`SUPPORTED_OPTIONS` applied on top of the Basic Profile.
    audit : list of dict
        Rows appended by :meth:`log`.
    identifiers : frozenset of str
        Words that identify in the original header
        (:func:`kit.medical.deid_clean.header_identifiers`), for ``clean_descriptors``.
    """

    file: str
    shift: int
    pseudonym: str
    new_uid: Callable[[str], str]
    options: tuple = ()
    audit: list = field(default_factory=list)
    identifiers: frozenset = frozenset()

    def log(self, tag, keyword, path, action, rule):
        self.audit.append(
            {"file": self.file, "tag": f"({tag.group:04X},{tag.element:04X})", "keyword": keyword or "",
             "path": path, "action": action, "rule": rule}
        )

    def clean(self, ds, prefix: str = "") -> None:
        """Apply the profile to every element of ``ds`` (in place), sequences included."""
        kept_overlays, safe_private = set(), {}
        if "retain_safe_private" in self.options:
            from kit.medical.deid_private import safe_private_tags

            safe_private = safe_private_tags(ds)
        if _GRAPHICS in self.options:
            from kit.medical.deid_graphics import clean_overlay_groups

            kept_overlays = clean_overlay_groups(ds, self.log, self.identifiers, prefix)
        for tag in list(ds.keys()):
            elem = ds[tag]
            keyword = elem.keyword or f"({tag.group:04X},{tag.element:04X})"
            path = f"{prefix}{keyword}"
            group = tag.group
            if tag.is_private and int(tag) in safe_private:
                self.log(tag, keyword, path, "K", f"Table E.1-1 X, retain_safe_private C: {safe_private[int(tag)]}")
                if elem.VR == "SQ":
                    self._recurse(elem, path)
                continue
            if tag.is_private:
                del ds[tag]
                self.log(tag, keyword, path, "X", "private attribute")
                continue
            if group in kept_overlays:
                continue  # Clean Graphics checked the group as a whole
            if group % 2 == 0 and (0x6000 <= group <= 0x60FF or 0x5000 <= group <= 0x50FF):
                del ds[tag]
                self.log(tag, keyword, path, "X", "overlay group 60xx" if group >= 0x6000 else "curve group 50xx")
                continue
            if group == 0x0002:  # file meta belongs in the file meta, which fix_meta rebuilds
                del ds[tag]
                self.log(tag, keyword, path, "X", "file meta element inside the data set")
                continue
            action = BASIC_PROFILE.get(int(tag))
            if action is None:
                self._unlisted(ds, elem, path)
            else:
                self._apply(ds, elem, action, path)

    def resolve(self, tag: int, basic: str) -> tuple[str, str]:
        """``(action, rule)`` for a row: an option's ``K`` wins, then its ``C``, else the Basic Profile action."""
        chosen = {o: a for o, a in OPTION_ACTIONS.get(tag, {}).items() if o in self.options}
        for want in ("K", "C"):
            for option, action in chosen.items():
                if action == want:
                    return want, f"Table E.1-1 {basic}, {option} {want}"
        return basic, f"Table E.1-1 {basic}"

    def _unlisted(self, ds, elem, path) -> None:
        tag, vr = elem.tag, elem.VR
        if vr == "SQ":
            self._recurse(elem, path)
        elif vr == "UI" and "retain_uids" in self.options:
            self.log(tag, elem.keyword, path, "K", "UID not in Table E.1-1, retain_uids: kept with the others")
        elif vr == "UI":
            self._remap_uid(elem, path, "UID not in Table E.1-1 and not a well-known UID")
        elif vr in ("DA", "DT") and "retain_longitudinal_full_dates" not in self.options:
            self._shift(elem, path, "safety net: date not in Table E.1-1, shifted")
        elif vr == "PN":
            del ds[tag]
            self.log(tag, elem.keyword, path, "X", "safety net: person name not in Table E.1-1")
        elif tag.group == 0x0010 and int(tag) not in _GROUP_0010_SAFE:
            del ds[tag]
            self.log(tag, elem.keyword, path, "X", "safety net: patient attribute not in Table E.1-1")

    def _apply(self, ds, elem, basic: str, path: str) -> None:
        tag, vr = elem.tag, elem.VR
        action, rule = self.resolve(int(tag), basic)
        if action == "K":
            self.log(tag, elem.keyword, path, "K", rule)
            if vr == "SQ":
                self._recurse(elem, path)  # K on a sequence: its items are still de-identified
            return
        if action == "C":
            cleaner = self._cleaner(int(tag))
            if cleaner is not None:
                action, rule = cleaner(self, elem, path, basic)
                if action == "K":
                    return
            elif _DATES in rule and vr in ("DA", "DT"):
                self._shift(elem, path, rule + ": shifted by the patient's days")
                return
            elif _DATES in rule and vr == "TM":
                self.log(tag, elem.keyword, path, "K", rule + ": time of day kept (dates move by whole days)")
                return
            else:
                action, rule = basic, rule + ": not cleaned here, Basic Profile action"
        if int(tag) in (_PATIENT_ID, _PATIENT_NAME):
            elem.value = self.pseudonym
            self.log(tag, elem.keyword, path, "Z", f"{rule}; consistent pseudonym")
        elif "U" in action:
            self._replace_uids(ds, elem, path, rule)
        elif "X" in action:
            del ds[tag]
            self.log(tag, elem.keyword, path, "X", rule)
        elif "Z" in action:
            elem.value = [] if vr == "SQ" else None
            self.log(tag, elem.keyword, path, "Z", rule)
        else:  # D
            self._dummy(elem, path, rule)

    def _cleaner(self, tag: int):
        """The function of :mod:`kit.medical.deid_options` that cleans this row for a chosen option, if any."""
        from kit.medical.deid_options import CLEANERS

        for option, cleaner in CLEANERS.items():
            if option in self.options and OPTION_ACTIONS[tag].get(option) == "C":
                return cleaner
        return None

    def _replace_uids(self, ds, elem, path, rule) -> None:
        tag, vr = elem.tag, elem.VR
        if vr == "UI":
            self._remap_uid(elem, path, rule)
        elif vr == "SQ":
            self.log(tag, elem.keyword, path, "U*", f"{rule}; kept, UIDs inside replaced")
            self._recurse(elem, path)
        else:
            del ds[tag]
            self.log(tag, elem.keyword, path, "X", f"{rule}; not a UID")

    def _dummy(self, elem, path, rule) -> None:
        tag, vr = elem.tag, elem.VR
        if vr == "SQ":
            self.log(tag, elem.keyword, path, "D", f"{rule}; items de-identified in place, their free text removed")
            self._recurse(elem, path)
            for i, item in enumerate(elem.value or []):
                self._drop_free_text(item, f"{path}[{i}].")
        elif vr == "UI":
            self._remap_uid(elem, path, f"{rule}; a new UID as the dummy")
        else:
            elem.value = _dummy(vr)
            self.log(tag, elem.keyword, path, "D", rule)

    def _drop_free_text(self, ds, prefix: str) -> None:
        # A dummied sequence (Content, Graphic Annotation) keeps its items, and their free text (Text Value,
        # Unformatted Text Value) is in no row of Table E.1-1: without a clean option nothing vouches for it.
        for tag in list(ds.keys()):
            elem = ds[tag]
            if elem.VR == "SQ":
                for i, item in enumerate(elem.value or []):
                    self._drop_free_text(item, f"{prefix}{elem.keyword}[{i}].")
            elif elem.VR in _FREE_TEXT_VRS:
                del ds[tag]
                self.log(tag, elem.keyword, f"{prefix}{elem.keyword}", "X",
                         "safety net: free text inside a dummied sequence")

    def _recurse(self, elem, path) -> None:
        for i, item in enumerate(elem.value or []):
            self.clean(item, f"{path}[{i}].")

    def _remap_uid(self, elem, path, rule) -> None:
        values = elem.value if elem.VM > 1 else [elem.value]
        new = [self.new_uid(v) for v in values if v is not None]
        if [str(v) for v in values] == new:
            return  # well-known UIDs only: nothing to do, nothing to log
        elem.value = new if elem.VM > 1 else (new[0] if new else "")
        self.log(elem.tag, elem.keyword, path, "U", rule)

    def _shift(self, elem, path, rule) -> None:
        values = elem.value if elem.VM > 1 else [elem.value]
        shifted = []
        for v in values:
            s = _shift_text(str(v or ""), self.shift)
            if s is None:
                elem.value = ""
                self.log(elem.tag, elem.keyword, path, "Z", f"{rule}; unparseable date emptied")
                return
            shifted.append(s)
        if not any(shifted):
            return
        elem.value = shifted if elem.VM > 1 else shifted[0]
        self.log(elem.tag, elem.keyword, path, "shift", rule)

    def fix_meta(self, out, old_meta) -> None:
        """Rebuild ``out.file_meta`` from the SOP class, the new SOP instance UID and the transfer syntax."""
        from pydicom.dataset import FileMetaDataset
        from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

        old = old_meta if old_meta is not None else FileMetaDataset()
        meta = FileMetaDataset()
        sop_class = out.get("SOPClassUID") or old.get("MediaStorageSOPClassUID")
        if sop_class:
            meta.MediaStorageSOPClassUID = sop_class
        if "SOPInstanceUID" in out:
            meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
        ts = old.get("TransferSyntaxUID")
        if ts:
            meta.TransferSyntaxUID = ts
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        meta.ImplementationVersionName = "KIT_DEID_2"
        for elem in old:
            if elem.keyword not in ("MediaStorageSOPClassUID", "TransferSyntaxUID", "FileMetaInformationGroupLength",
                                    "FileMetaInformationVersion"):
                action = "U" if elem.keyword == "MediaStorageSOPInstanceUID" else "X"
                self.log(elem.tag, elem.keyword, f"file_meta.{elem.keyword}", action, "file meta rebuilt")
        out.file_meta = meta


def _shift_text(text: str, days: int) -> str | None:
    """Shift a DA (YYYYMMDD) or the date part of a DT; '' stays ''; None if unparseable."""
    text = text.strip()
    if not text:
        return ""
    head, tail = text[:8], text[8:]
    if len(head) != 8 or not head.isdigit():
        return None
    try:
        day = dt.date(int(head[:4]), int(head[4:6]), int(head[6:8]))
    except ValueError:
        return None
    return (day + dt.timedelta(days=days)).strftime("%Y%m%d") + tail


def _dummy(vr: str):
    if vr in ("US", "SS", "UL", "SL", "UV", "SV"):
        return 0
    if vr in ("FL", "FD"):
        return 0.0
    if vr in ("OB", "OW", "OD", "OF", "OL", "OV", "UN"):
        return b"\x00\x00"
    if vr == "AT":
        return 0
    return _DUMMY.get(vr, "ANONYMIZED")
