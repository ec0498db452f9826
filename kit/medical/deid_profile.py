"""Applying PS3.15 Annex E Table E.1-1 to one DICOM data set, element by element, with an audit row per action.

The profile's table (:mod:`kit.medical._annex_e`, Table E.1-1) is applied
attribute by attribute over a recursive pydicom walk, sequences included:

- ``X`` remove, ``Z`` empty, ``D`` dummy value, ``K`` keep, ``C`` (clean) is
  treated as remove, since free text cannot be cleaned safely here.
- Combined actions are resolved to the most protective one the image can
  bear: ``X/Z``, ``X/D``, ``X/Z/D`` remove; ``Z/D`` empties; ``X/Z/U*``
  sequences are kept with their UIDs replaced (they link a derived image to
  its source).
- ``U``: UIDs are replaced by the mapping the walk is given (well-known DICOM
  UIDs stay).
- Dates (DA, and the date part of DT) are shifted by the patient's number of
  days; Patient's Birth Date is emptied. Times (TM) follow the table.
- Patient's Name and Patient ID (``Z``) get the patient's pseudonym.
- Private tags, overlays (60xx) and curves (50xx) are removed.
- Safety nets for attributes added to the standard after the transcribed
  edition: any other person name (PN) and any other group 0010 (patient)
  attribute is removed.
- With ``retain_patient_characteristics`` sex, age, size, weight, ethnic
  group, smoking and pregnancy status are kept (Retain Patient
  Characteristics Option, code 113108).

The file meta is rebuilt. Audit rows name the tag, keyword, path in the
sequence tree, action and rule, never the original value.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from kit.medical._annex_e import BASIC_PROFILE

__all__ = ["PATIENT_CHARACTERISTICS", "ProfileWalk"]

# Retain Patient Characteristics Option (PS3.15 E.3.6): attributes it keeps.
PATIENT_CHARACTERISTICS = {
    0x00100040: "PatientSex",
    0x00101010: "PatientAge",
    0x00101020: "PatientSize",
    0x00101030: "PatientWeight",
    0x00102160: "EthnicGroup",
    0x001021A0: "SmokingStatus",
    0x001021C0: "PregnancyStatus",
    0x00102203: "PatientSexNeutered",
}
# Group 0010 attributes that describe a species, a breed or a phantom, not a person.
_GROUP_0010_SAFE = {0x00100200, 0x00102201, 0x00102202, 0x00102292, 0x00102293}

_PATIENT_ID, _PATIENT_NAME, _BIRTH_DATE = 0x00100020, 0x00100010, 0x00100030

_DUMMY = {
    "PN": "ANONYMOUS",
    "LO": "ANONYMIZED",
    "SH": "ANONYMIZED",
    "LT": "ANONYMIZED",
    "ST": "ANONYMIZED",
    "UT": "ANONYMIZED",
    "UC": "ANONYMIZED",
    "CS": "ANONYMIZED",
    "AE": "ANONYMOUS",
    "TM": "000000.00",
    "DS": "0",
    "IS": "0",
    "AS": "000Y",
    "UR": "",
}


@dataclass
class ProfileWalk:
    """One data set's walk through Table E.1-1, with the patient's mappings and the audit it writes.

    Parameters
    ----------
    file : str
        Output file named in the audit rows.
    shift : int, days
        Added to every date of this patient.
    pseudonym : str
        Replaces Patient's Name and Patient ID.
    new_uid : callable
        ``uid -> replacement`` (well-known UIDs map to themselves).
    retain_patient_characteristics : bool
        Keep the attributes of :data:`PATIENT_CHARACTERISTICS`.
    audit : list of dict
        Rows appended by :meth:`log`.
    """

    file: str
    shift: int
    pseudonym: str
    new_uid: Callable[[str], str]
    retain_patient_characteristics: bool
    audit: list = field(default_factory=list)

    def log(self, tag, keyword, path, action, rule):
        self.audit.append(
            {"file": self.file, "tag": f"({tag.group:04X},{tag.element:04X})", "keyword": keyword or "",
             "path": path, "action": action, "rule": rule}
        )

    def clean(self, ds, prefix: str = "") -> None:
        """Apply the profile to every element of ``ds`` (in place), sequences included."""
        for tag in list(ds.keys()):
            elem = ds[tag]
            keyword = elem.keyword or f"({tag.group:04X},{tag.element:04X})"
            path = f"{prefix}{keyword}"
            group = tag.group
            if tag.is_private:
                del ds[tag]
                self.log(tag, keyword, path, "X", "private attribute")
                continue
            if group % 2 == 0 and (0x6000 <= group <= 0x60FF or 0x5000 <= group <= 0x50FF):
                del ds[tag]
                self.log(tag, keyword, path, "X", "overlay group 60xx" if group >= 0x6000 else "curve group 50xx")
                continue
            if group == 0x0002:
                continue  # file meta inside a data set: rebuilt by fix_meta
            action = BASIC_PROFILE.get(int(tag))
            if action is None:
                self._unlisted(ds, elem, path)
            else:
                self._apply(ds, elem, action, path)

    def _unlisted(self, ds, elem, path) -> None:
        tag, vr = elem.tag, elem.VR
        if vr == "SQ":
            self._recurse(elem, path)
        elif vr == "UI":
            self._remap_uid(elem, path, "UID not in Table E.1-1 and not a well-known UID")
        elif vr in ("DA", "DT"):
            self._shift(elem, path, "date not in Table E.1-1: shifted like the others")
        elif vr == "PN":
            del ds[tag]
            self.log(tag, elem.keyword, path, "X", "safety net: person name not in Table E.1-1")
        elif tag.group == 0x0010 and int(tag) not in PATIENT_CHARACTERISTICS and int(tag) not in _GROUP_0010_SAFE:
            del ds[tag]
            self.log(tag, elem.keyword, path, "X", "safety net: patient attribute not in Table E.1-1")

    def _apply(self, ds, elem, action: str, path: str) -> None:
        tag, vr = elem.tag, elem.VR
        rule = f"Table E.1-1 {action}"
        if int(tag) in PATIENT_CHARACTERISTICS and self.retain_patient_characteristics:
            self.log(tag, elem.keyword, path, "K", f"{rule}; Retain Patient Characteristics Option")
            return
        if int(tag) in (_PATIENT_ID, _PATIENT_NAME):
            elem.value = self.pseudonym
            self.log(tag, elem.keyword, path, "Z", f"{rule}; consistent pseudonym")
            return
        if "U" in action:
            if vr == "UI":
                self._remap_uid(elem, path, rule)
            elif vr == "SQ":
                self.log(tag, elem.keyword, path, "U*", f"{rule}; kept, UIDs inside replaced")
                self._recurse(elem, path)
            else:
                del ds[tag]
                self.log(tag, elem.keyword, path, "X", f"{rule}; not a UID")
            return
        if vr in ("DA", "DT") and int(tag) != _BIRTH_DATE and action != "K":
            self._shift(elem, path, f"{rule}; Retain Modified Dates Option")
            return
        if "X" in action or action == "C":
            del ds[tag]
            self.log(tag, elem.keyword, path, "X", rule)
        elif "Z" in action:
            elem.value = [] if vr == "SQ" else None
            self.log(tag, elem.keyword, path, "Z", rule)
        elif "D" in action:
            if vr == "SQ":
                self.log(tag, elem.keyword, path, "D", f"{rule}; items de-identified in place")
                self._recurse(elem, path)
            else:
                elem.value = _dummy(vr)
                self.log(tag, elem.keyword, path, "D", rule)
        else:  # K
            self.log(tag, elem.keyword, path, "K", rule)

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
        meta.ImplementationVersionName = "KIT_DEID_1"
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
    if vr in ("US", "SS", "UL", "SL"):
        return 0
    if vr in ("FL", "FD"):
        return 0.0
    if vr in ("OB", "OW", "UN"):
        return b"\x00\x00"
    return _DUMMY.get(vr, "ANONYMIZED")
