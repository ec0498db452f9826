"""De-identification after DICOM PS3.15 Annex E, Basic Application Level Confidentiality Profile.

The profile's table (:mod:`kit.medical._annex_e`, Table E.1-1) is applied
attribute by attribute over a recursive pydicom walk, sequences included:

- ``X`` remove, ``Z`` empty, ``D`` dummy value, ``K`` keep, ``C`` (clean) is
  treated as remove, since free text cannot be cleaned safely here.
- Combined actions are resolved to the most protective one the image can
  bear: ``X/Z``, ``X/D``, ``X/Z/D`` remove; ``Z/D`` empties; ``X/Z/U*``
  sequences are kept with their UIDs replaced (they link a derived image to
  its source).
- ``U``: every UID that is not a well-known DICOM UID (SOP classes, transfer
  syntaxes, coding schemes stay) is replaced by ``2.25.<integer>`` derived
  from an HMAC-SHA-256 of a run secret, so the same input UID always gets the
  same output UID within a run (series and references stay linked) and
  nobody without the secret can recompute the mapping.
- Dates (DA, and the date part of DT) are shifted by a per-patient number of
  days derived from the secret and the patient ID: intervals between one
  patient's studies survive (PS3.15 Retain Longitudinal Temporal Information
  with Modified Dates Option, code 113107). Patient's Birth Date is emptied.
  Times (TM) follow the table.
- Patient's Name and Patient ID (``Z``) get a pseudonym ``ANON<12 hex>`` (a
  dummy value the standard allows), consistent within a run, so one
  patient's studies stay grouped.
- Private tags, overlays (60xx) and curves (50xx) are removed.
- Safety nets for attributes added to the standard after the transcribed
  edition: any other person name (PN) and any other group 0010 (patient)
  attribute is removed.
- With ``retain_patient_characteristics`` (default, needed for subgroup
  metrics) sex, age, size, weight, ethnic group, smoking and pregnancy status
  are kept (Retain Patient Characteristics Option, code 113108).
- Patient Identity Removed = YES, De-identification Method, and the
  De-identification Method Code Sequence (113100 and the options used) are
  set; Longitudinal Temporal Information Modified = MODIFIED.
- An image with Burned In Annotation = YES (text painted into the pixels, which
  the Basic Profile does not clean) or Recognizable Visual Features = YES is
  withheld and listed in the quarantine.

The audit CSV holds one row per action (output file, tag, keyword, path in
the sequence tree, action, rule) and never the original values. The secret
is held in memory only.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kit.errors import InputDataError, ParameterError
from kit.io import atomic_path
from kit.medical._annex_e import BASIC_PROFILE

AUDIT_COLUMNS = ["file", "tag", "keyword", "path", "action", "rule"]

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
_SOP_INSTANCE_UID = 0x00080018

_CODES = {
    "basic": ("113100", "Basic Application Confidentiality Profile"),
    "dates": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    "patient": ("113108", "Retain Patient Characteristics Option"),
}

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


class Withheld(Exception):
    """A file is not de-identified and not written; the message is the quarantine reason."""


@dataclass
class DeidResult:
    """What :meth:`Deidentifier.run` produced.

    Attributes
    ----------
    table : DataFrame
        ``file, deid_file, study_uid, deid_study_uid, deid_sop_instance_uid``
        for every file written. It links original and new UIDs: keep it on
        the PACS side, never with the de-identified set.
    audit : DataFrame
        :data:`AUDIT_COLUMNS`, one row per action.
    quarantine : DataFrame
        ``file, reason`` for files withheld or unreadable.
    """

    table: pd.DataFrame
    audit: pd.DataFrame
    quarantine: pd.DataFrame


def _well_known(uid: str) -> bool:
    from pydicom._uid_dict import UID_dictionary

    return uid in UID_dictionary


class Deidentifier:
    """Apply the Basic Profile with consistent UID, pseudonym and date mappings.

    Parameters
    ----------
    secret : bytes or str, optional
        Key of the HMAC behind UIDs, pseudonyms and date shifts. Give the same
        secret to de-identify a later batch consistently with an earlier
        one; ``None`` draws a random 32-byte secret for this run only. It is
        never written anywhere.
    retain_patient_characteristics : bool
        Keep sex, age, size, weight, ethnic group, smoking and pregnancy
        status (needed for subgroup metrics); ``False`` applies the Basic
        Profile alone (sex emptied, age removed).
    date_shift_days : (int, int), days
        Range of the per-patient backward shift, inclusive, both > 0.

    Examples
    --------
    >>> from pydicom.dataset import Dataset
    >>> ds = Dataset()
    >>> ds.PatientName, ds.PatientID, ds.StudyDate = "Alaoui^Fatima", "P123", "20240315"
    >>> ds.StudyInstanceUID = "1.2.3.4"
    >>> out, audit = Deidentifier(secret="demo").deidentify(ds)
    >>> str(out.PatientName).startswith("ANON"), out.PatientIdentityRemoved
    (True, 'YES')
    >>> out.StudyInstanceUID.startswith("2.25."), out.StudyDate < "20240315"
    (True, True)
    """

    def __init__(self, secret=None, *, retain_patient_characteristics: bool = True, date_shift_days=(30, 1095)):
        if secret is None:
            secret = os.urandom(32)
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        if not isinstance(secret, bytes) or len(secret) == 0:
            raise ParameterError("secret must be a non-empty str or bytes, or None for a random one")
        lo, hi = date_shift_days
        if not (0 < lo <= hi):
            raise ParameterError(f"date_shift_days must be (low, high) with 0 < low <= high, got {date_shift_days}")
        # Only a keyed HMAC state is kept, not the secret bytes themselves.
        self._mac = hmac.new(secret, digestmod=hashlib.sha256)
        del secret
        self.retain_patient_characteristics = retain_patient_characteristics
        self.date_shift_days = (int(lo), int(hi))

    def __repr__(self) -> str:  # never show the secret
        return f"Deidentifier(retain_patient_characteristics={self.retain_patient_characteristics})"

    def __getstate__(self):
        raise TypeError("a Deidentifier holds a secret and is not picklable; create one per process")

    # Mappings -------------------------------------------------------------

    def _digest(self, kind: str, value: str) -> bytes:
        mac = self._mac.copy()
        mac.update(f"{kind}|{value}".encode("utf-8"))
        return mac.digest()

    def new_uid(self, uid: str) -> str:
        """The replacement for ``uid``: ``2.25.`` and a UUID-shaped integer from the HMAC."""
        uid = str(uid).strip().rstrip("\x00")
        if not uid or _well_known(uid):
            return uid
        return "2.25." + str(uuid.UUID(bytes=self._digest("uid", uid)[:16], version=5).int)

    def pseudonym(self, patient_key: str) -> str:
        """``ANON`` and 12 hex digits, the same for the same patient within a run."""
        return "ANON" + self._digest("patient", patient_key).hex()[:12].upper()

    def date_shift(self, patient_key: str) -> int:
        """Days added to this patient's dates (negative: dates move back)."""
        lo, hi = self.date_shift_days
        h = int.from_bytes(self._digest("date", patient_key)[:8], "big")
        return -(lo + h % (hi - lo + 1))

    # One data set ---------------------------------------------------------

    def deidentify(self, ds, file_label: str = "", *, copy: bool = True):
        """De-identify one pydicom data set (a copy is returned; ``ds`` is untouched unless ``copy=False``).

        Returns
        -------
        (Dataset, list of dict)
            The de-identified data set (with its file meta) and its audit rows.

        Raises
        ------
        Withheld
            The image carries burned-in annotation or recognizable features.
        """
        import copy as copying

        from pydicom.dataset import Dataset

        for keyword in ("BurnedInAnnotation", "RecognizableVisualFeatures"):
            if str(ds.get(keyword, "")).strip().upper() == "YES":
                raise Withheld(
                    f"withheld: {keyword}=YES (identifying text or features in the pixels, "
                    "which the Basic Profile does not clean); review and mask it by hand"
                )
        out = copying.deepcopy(ds) if copy else ds
        patient_key = _patient_key(out)
        ctx = _Context(
            file=file_label,
            shift=self.date_shift(patient_key),
            pseudonym=self.pseudonym(patient_key),
            audit=[],
        )
        old_meta = getattr(ds, "file_meta", None)
        self._clean(out, "", ctx)
        self._fix_meta(out, old_meta, ctx)
        out.PatientIdentityRemoved = "YES"
        methods = ["PS3.15 E.1 Basic Profile", "Retain Modified Dates"]
        codes = [_CODES["basic"], _CODES["dates"]]
        if self.retain_patient_characteristics:
            methods.append("Retain Patient Chars")
            codes.append(_CODES["patient"])
        out.DeidentificationMethod = methods + ["kit.medical.deid"]
        items = []
        for value, meaning in codes:
            item = Dataset()
            item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
            items.append(item)
        out.DeidentificationMethodCodeSequence = items
        out.LongitudinalTemporalInformationModified = "MODIFIED"
        for keyword in ("PatientIdentityRemoved", "DeidentificationMethod", "DeidentificationMethodCodeSequence",
                        "LongitudinalTemporalInformationModified"):
            tag = out.data_element(keyword).tag
            ctx.log(tag, keyword, keyword, "set", "PS3.15 E.1 attributes of a de-identified instance")
        return out, ctx.audit

    def _clean(self, ds, prefix: str, ctx: "_Context") -> None:
        for tag in list(ds.keys()):
            elem = ds[tag]
            keyword = elem.keyword or f"({tag.group:04X},{tag.element:04X})"
            path = f"{prefix}{keyword}"
            group = tag.group
            if tag.is_private:
                del ds[tag]
                ctx.log(tag, keyword, path, "X", "private attribute")
                continue
            if group % 2 == 0 and (0x6000 <= group <= 0x60FF or 0x5000 <= group <= 0x50FF):
                del ds[tag]
                ctx.log(tag, keyword, path, "X", "overlay group 60xx" if group >= 0x6000 else "curve group 50xx")
                continue
            if group == 0x0002:
                continue  # file meta inside a data set: rebuilt by _fix_meta
            action = BASIC_PROFILE.get(int(tag))
            if action is None:
                self._unlisted(ds, elem, path, ctx)
            else:
                self._apply(ds, elem, action, path, ctx)

    def _unlisted(self, ds, elem, path, ctx) -> None:
        tag, vr = elem.tag, elem.VR
        if vr == "SQ":
            self._recurse(elem, path, ctx)
        elif vr == "UI":
            self._remap_uid(elem, path, ctx, "UID not in Table E.1-1 and not a well-known UID")
        elif vr in ("DA", "DT"):
            self._shift(ds, elem, path, ctx, "date not in Table E.1-1: shifted like the others")
        elif vr == "PN":
            del ds[tag]
            ctx.log(tag, elem.keyword, path, "X", "safety net: person name not in Table E.1-1")
        elif tag.group == 0x0010 and int(tag) not in PATIENT_CHARACTERISTICS and int(tag) not in _GROUP_0010_SAFE:
            del ds[tag]
            ctx.log(tag, elem.keyword, path, "X", "safety net: patient attribute not in Table E.1-1")

    def _apply(self, ds, elem, action: str, path: str, ctx) -> None:
        tag, vr = elem.tag, elem.VR
        rule = f"Table E.1-1 {action}"
        if int(tag) in PATIENT_CHARACTERISTICS and self.retain_patient_characteristics:
            ctx.log(tag, elem.keyword, path, "K", f"{rule}; Retain Patient Characteristics Option")
            return
        if int(tag) in (_PATIENT_ID, _PATIENT_NAME):
            elem.value = ctx.pseudonym
            ctx.log(tag, elem.keyword, path, "Z", f"{rule}; consistent pseudonym")
            return
        if "U" in action:
            if vr == "UI":
                self._remap_uid(elem, path, ctx, rule)
            elif vr == "SQ":
                ctx.log(tag, elem.keyword, path, "U*", f"{rule}; kept, UIDs inside replaced")
                self._recurse(elem, path, ctx)
            else:
                del ds[tag]
                ctx.log(tag, elem.keyword, path, "X", f"{rule}; not a UID")
            return
        if vr in ("DA", "DT") and int(tag) != _BIRTH_DATE and action != "K":
            self._shift(ds, elem, path, ctx, f"{rule}; Retain Modified Dates Option")
            return
        if "X" in action or action == "C":
            del ds[tag]
            ctx.log(tag, elem.keyword, path, "X", rule)
        elif "Z" in action:
            elem.value = [] if vr == "SQ" else None
            ctx.log(tag, elem.keyword, path, "Z", rule)
        elif "D" in action:
            if vr == "SQ":
                ctx.log(tag, elem.keyword, path, "D", f"{rule}; items de-identified in place")
                self._recurse(elem, path, ctx)
            else:
                elem.value = _dummy(vr)
                ctx.log(tag, elem.keyword, path, "D", rule)
        else:  # K
            ctx.log(tag, elem.keyword, path, "K", rule)

    def _recurse(self, elem, path, ctx) -> None:
        for i, item in enumerate(elem.value or []):
            self._clean(item, f"{path}[{i}].", ctx)

    def _remap_uid(self, elem, path, ctx, rule) -> None:
        values = elem.value if elem.VM > 1 else [elem.value]
        new = [self.new_uid(v) for v in values if v is not None]
        if [str(v) for v in values] == new:
            return  # well-known UIDs only: nothing to do, nothing to log
        elem.value = new if elem.VM > 1 else (new[0] if new else "")
        ctx.log(elem.tag, elem.keyword, path, "U", rule)

    def _shift(self, ds, elem, path, ctx, rule) -> None:
        values = elem.value if elem.VM > 1 else [elem.value]
        shifted = []
        for v in values:
            s = _shift_text(str(v or ""), ctx.shift)
            if s is None:
                elem.value = ""
                ctx.log(elem.tag, elem.keyword, path, "Z", f"{rule}; unparseable date emptied")
                return
            shifted.append(s)
        if not any(shifted):
            return
        elem.value = shifted if elem.VM > 1 else shifted[0]
        ctx.log(elem.tag, elem.keyword, path, "shift", rule)

    def _fix_meta(self, out, old_meta, ctx) -> None:
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
                ctx.log(elem.tag, elem.keyword, f"file_meta.{elem.keyword}", action, "file meta rebuilt")
        out.file_meta = meta

    # A batch --------------------------------------------------------------

    def run(self, files, out_dir, *, root=None, audit_csv=None, progress: bool = False) -> DeidResult:
        """De-identify files into ``out_dir/<new study UID>/<new SOP instance UID>.dcm``.

        Parameters
        ----------
        files : iterable of paths, or a folder
            Typically the ``file`` column of an ingest table joined to its root.
        out_dir : path
            Created if needed; each file is written atomically.
        root : path, optional
            Folder ``files`` are relative to (for the ``file`` column).
        audit_csv : path, optional
            Where to write the audit table (atomically).
        progress : bool
            Show a tqdm bar.

        Returns
        -------
        DeidResult
        """
        import pydicom

        if isinstance(files, (str, os.PathLike)) and Path(files).is_dir():
            root = Path(files) if root is None else Path(root)
            files = sorted(p for p in Path(files).rglob("*") if p.is_file())
        files = [Path(f) for f in files]
        out_dir = Path(out_dir)
        if root is not None:
            root = Path(root)
        rows, audit, bad = [], [], []
        iterator = files
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(files, desc="de-identify", unit="file")
        for path in iterator:
            rel = path.relative_to(root).as_posix() if root is not None and path.is_relative_to(root) else str(path)
            try:
                ds = pydicom.dcmread(path)
            except Exception as exc:
                bad.append({"file": rel, "reason": f"unreadable DICOM: {type(exc).__name__}: {exc}"[:200]})
                continue
            study = str(ds.get("StudyInstanceUID", "") or "")
            sop = str(ds.get("SOPInstanceUID", "") or "")
            if not sop:
                bad.append({"file": rel, "reason": "no SOP Instance UID: cannot name the de-identified file"})
                continue
            new_study, new_sop = self.new_uid(study) or "no-study", self.new_uid(sop)
            target_rel = f"{new_study}/{new_sop}.dcm"
            try:
                out, file_audit = self.deidentify(ds, target_rel, copy=False)  # ds was read for this only
            except Withheld as exc:
                bad.append({"file": rel, "reason": str(exc)})
                continue
            with atomic_path(out_dir / target_rel) as tmp:
                out.save_as(tmp, enforce_file_format=True)
            audit.extend(file_audit)
            rows.append(
                {"file": rel, "deid_file": target_rel, "study_uid": study, "deid_study_uid": new_study,
                 "deid_sop_instance_uid": new_sop}
            )
        result = DeidResult(
            table=pd.DataFrame(rows, columns=["file", "deid_file", "study_uid", "deid_study_uid",
                                              "deid_sop_instance_uid"]),
            audit=pd.DataFrame(audit, columns=AUDIT_COLUMNS),
            quarantine=pd.DataFrame(bad, columns=["file", "reason"]),
        )
        if audit_csv is not None:
            with atomic_path(audit_csv) as tmp:
                result.audit.to_csv(tmp, index=False)
        return result


@dataclass
class _Context:
    file: str
    shift: int
    pseudonym: str
    audit: list

    def log(self, tag, keyword, path, action, rule):
        self.audit.append(
            {"file": self.file, "tag": f"({tag.group:04X},{tag.element:04X})", "keyword": keyword or "",
             "path": path, "action": action, "rule": rule}
        )


def _patient_key(ds) -> str:
    pid = str(ds.get("PatientID", "") or "").strip()
    if pid:
        return "id:" + pid
    name = str(ds.get("PatientName", "") or "").strip()
    birth = str(ds.get("PatientBirthDate", "") or "").strip()
    if name or birth:
        return f"name:{name}|{birth}"
    return "study:" + str(ds.get("StudyInstanceUID", "") or "")


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


def deidentify_folder(src, out_dir, *, secret=None, audit_csv=None, **kwargs) -> DeidResult:
    """Validate (as :func:`~kit.medical.ingest.ingest_folder` does) and de-identify every image under ``src``.

    Files that ingest sets aside and images withheld for burned-in
    annotation are listed in ``result.quarantine``; see :class:`Deidentifier`
    for the actions.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from kit.medical.synthetic import synth_chest_xrays
    >>> src, dst = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> labels = synth_chest_xrays(src, n_studies=3, image_size=64, seed=2)
    >>> result = deidentify_folder(src, dst, secret="s3cret", audit_csv=pathlib.Path(dst, "audit.csv"))
    >>> len(result.table), {"X", "Z", "U", "shift"} <= set(result.audit.action)
    (3, True)
    """
    from kit.medical.ingest import ingest_folder

    src = Path(src)
    if not src.exists():
        raise InputDataError(f"DICOM folder {src} does not exist; give the folder to de-identify")
    # Only files that ingest validates (complete, decodable images) are de-identified.
    ingested = ingest_folder(src, image_size=None)
    files = [ingested.root / f for f in ingested.table["file"]]
    result = Deidentifier(secret, **kwargs).run(files, out_dir, root=ingested.root, audit_csv=audit_csv)
    result.quarantine = pd.concat([ingested.quarantine, result.quarantine], ignore_index=True)
    return result
