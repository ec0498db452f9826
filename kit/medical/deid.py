"""De-identification after DICOM PS3.15 Annex E, Basic Application Level Confidentiality Profile: the run.

:class:`Deidentifier` holds one run's keyed mappings and applies the
profile (element by element in :mod:`kit.medical.deid_profile`, Table E.1-1
in :mod:`kit.medical._annex_e`) to data sets and folders:

- ``profile``: ``"basic"`` (default) is the Basic Profile alone, data
  minimization: sex emptied, age removed, study dates and times emptied,
  every other identifying attribute of Table E.1-1 removed, emptied or
  replaced. Options of PS3.15 E.3 are added comma-separated
  (``"basic,retain_patient_characteristics,retain_longitudinal_modified_dates"``,
  :data:`~kit.medical.deid_profile.SUPPORTED_OPTIONS`).
- ``U``: every UID that is not a well-known DICOM UID (SOP classes, transfer
  syntaxes, coding schemes stay) is replaced by ``2.25.<integer>`` derived
  from an HMAC-SHA-256 of the secret, so the same input UID always gets the
  same output UID (series and references stay linked) and nobody without the
  secret can recompute the mapping.
- Patient's Name and Patient ID get a pseudonym ``ANON<12 hex>`` (a dummy
  value the standard allows) from the same HMAC, so one patient's studies
  stay grouped.
- Dates the profile shifts (with ``retain_longitudinal_modified_dates``, and
  dates Table E.1-1 does not list) move by a per-patient number of days
  derived from the secret and the patient ID: intervals between one
  patient's studies survive.
- The secret: given, or read from ``KIT_DEID_SECRET`` (the secret itself) or
  ``KIT_DEID_SECRET_FILE`` (a file holding it) by
  :func:`~kit.medical.deid_secret.secret_from_env`.
  With the same secret, pseudonyms, UIDs and date shifts are the same from
  run to run (longitudinal follow-up); without one a random secret is drawn
  and the run's pseudonyms are single-use. The secret is held in memory
  only, as a keyed HMAC state, and never written.
- Patient Identity Removed = YES, De-identification Method, and the
  De-identification Method Code Sequence (CID 7050: 113100 and the options
  used) are set; Longitudinal Temporal Information Modified says whether
  dates were kept, shifted or removed.
- An image with Burned In Annotation = YES or Recognizable Visual Features = YES,
  or with text found in its pixels (:mod:`kit.medical.burned_in`), is withheld
  and listed in the quarantine. The Clean Pixel Data Option
  (``clean_pixel_data``, E.3.1; ``mask_burned_in=True`` is the same switch)
  masks the text found instead and then sets Burned In Annotation to NO; an
  image whose header says YES but where the detector finds nothing to mask
  is still withheld (the text cannot be located, so it cannot be cleaned).

The audit CSV holds one row per action (output file, tag, keyword, path in
the sequence tree, action, rule) and never the original values.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kit.errors import InputDataError, ParameterError
from kit.i18n import N_, _
from kit.io import atomic_path
from kit.medical.burned_in import mask_dataset, screen_dataset
from kit.medical.deid_clean import header_identifiers
from kit.medical.deid_secret import (  # noqa: F401 (re-exported: kit.medical.deid is where callers look)
    MIN_SECRET_BYTES, SECRET_ENV, SECRET_FILE_ENV, SINGLE_USE_NOTICE, secret_from_env)
from kit.medical.deid_profile import ProfileWalk, method_codes, method_text, parse_deid_profile

AUDIT_COLUMNS = ["file", "tag", "keyword", "path", "action", "rule"]
# Options that judge free text against the header's identifiers (kit.medical.deid_clean).
_TEXT_RULE = {"clean_descriptors", "clean_graphics", "clean_structured_content"}


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
    profile : str
        ``basic`` and the options applied, as ``deid_profile`` spells them.
    single_use : bool
        True when the secret was drawn at random for this run: its pseudonyms,
        UIDs and date shifts will not be given again.
    """

    table: pd.DataFrame
    audit: pd.DataFrame
    quarantine: pd.DataFrame
    profile: str = "basic"
    single_use: bool = True

    @property
    def notice(self) -> str:
        """One line on how lasting the pseudonyms are (never the secret)."""
        if self.single_use:
            return SINGLE_USE_NOTICE
        return N_("pseudonyms, UIDs and date shifts come from the persistent secret: the same patient gets the same "
                  "ones in every run with that secret")


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
        one; ``None`` draws a random 32-byte secret for this run only
        (``single_use`` is then True). It is never written anywhere.
    profile : str or sequence of str
        ``"basic"`` or basic plus options, comma-separated
        (:func:`~kit.medical.deid_profile.parse_deid_profile`).
    date_shift_days : (int, int), days
        Range of the per-patient backward shift, inclusive, both > 0.
    check_pixels : bool
        Look for text in the pixels (:mod:`kit.medical.burned_in`); an image
        with text beyond one laterality marker is withheld.
    mask_burned_in : bool
        The Clean Pixel Data Option, as a switch: True adds
        ``clean_pixel_data`` to ``profile`` (either way of asking is the one
        mechanism). The text found is filled with the image minimum (an audit
        row ``PixelData, mask``), Burned In Annotation is set to NO, and the
        image is written. Needs ``check_pixels``.

    Examples
    --------
    >>> from pydicom.dataset import Dataset
    >>> ds = Dataset()
    >>> ds.PatientName, ds.PatientID, ds.StudyDate = "Alaoui^Fatima", "P123", "20240315"
    >>> ds.StudyInstanceUID = "1.2.3.4"
    >>> out, audit = Deidentifier(secret="demo").deidentify(ds)
    >>> str(out.PatientName).startswith("ANON"), out.PatientIdentityRemoved
    (True, 'YES')
    >>> out.StudyInstanceUID.startswith("2.25."), out.StudyDate in ("", None)  # Basic Profile: Z
    (True, True)
    >>> kept = Deidentifier(secret="demo", profile="basic,retain_longitudinal_modified_dates").deidentify(ds)[0]
    >>> kept.StudyDate < "20240315", kept.PatientID == out.PatientID
    (True, True)
    """

    def __init__(self, secret=None, *, profile="basic", date_shift_days=(30, 1095), check_pixels=True,
                 mask_burned_in=False):
        if mask_burned_in:
            profile = [profile, "clean_pixel_data"] if isinstance(profile, str) else [*profile, "clean_pixel_data"]
        self.options = parse_deid_profile(profile)
        self.check_pixels = bool(check_pixels)
        if "clean_pixel_data" in self.options and not self.check_pixels:
            raise ParameterError("clean_pixel_data (mask_burned_in) needs check_pixels=True: text that is not "
                                 "searched for cannot be masked")
        self.single_use = secret is None
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
        self.date_shift_days = (int(lo), int(hi))

    @property
    def mask_burned_in(self) -> bool:
        """Whether burned-in text is masked: the Clean Pixel Data Option is in the profile."""
        return "clean_pixel_data" in self.options

    def __repr__(self) -> str:  # never show the secret
        return f"Deidentifier(profile={self.profile!r}, single_use={self.single_use})"

    @property
    def profile(self) -> str:
        """The profile as ``deid_profile`` spells it: ``basic`` and the options applied."""
        return ",".join(("basic", *self.options))

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

        boxes = self._screen(ds)
        out = copying.deepcopy(ds) if copy else ds
        patient_key = _patient_key(out)
        walk = ProfileWalk(
            file=file_label,
            shift=self.date_shift(patient_key),
            pseudonym=self.pseudonym(patient_key),
            new_uid=self.new_uid,
            options=self.options,
            identifiers=header_identifiers(out) if _TEXT_RULE & set(self.options) else frozenset(),
        )
        old_meta = getattr(ds, "file_meta", None)
        walk.clean(out, "")
        walk.fix_meta(out, old_meta)
        if boxes:
            n_masked = mask_dataset(out, boxes)
            walk.log(out.data_element("PixelData").tag, "PixelData", "", "mask",
                     f"clean_pixel_data: {n_masked} text boxes found in the pixels filled with the image minimum")
            out.BurnedInAnnotation = "NO"  # only now: the text the detector found is gone
            walk.log(out.data_element("BurnedInAnnotation").tag, "BurnedInAnnotation", "BurnedInAnnotation", "set",
                     "clean_pixel_data: NO after masking")
        out.PatientIdentityRemoved = "YES"
        out.DeidentificationMethod = method_text(self.options)
        items = []
        for value, meaning in method_codes(self.options):
            item = Dataset()
            item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
            items.append(item)
        out.DeidentificationMethodCodeSequence = items
        out.LongitudinalTemporalInformationModified = self._temporal(walk.audit)
        for keyword in ("PatientIdentityRemoved", "DeidentificationMethod", "DeidentificationMethodCodeSequence",
                        "LongitudinalTemporalInformationModified"):
            tag = out.data_element(keyword).tag
            walk.log(tag, keyword, keyword, "set", "PS3.15 E.1 attributes of a de-identified instance")
        return out, walk.audit

    def _screen(self, ds) -> list:
        """Text boxes to mask per frame (``[]``: none), or :class:`Withheld` when the image cannot be written."""
        if str(ds.get("RecognizableVisualFeatures", "")).strip().upper() == "YES":
            raise Withheld("withheld: RecognizableVisualFeatures=YES (identifying features in the pixels, which "
                           "no option offered here cleans); review it by hand")
        header_yes = str(ds.get("BurnedInAnnotation", "")).strip().upper() == "YES"
        if header_yes and not self.mask_burned_in:
            raise Withheld("withheld: BurnedInAnnotation=YES (identifying text in the pixels, which the Basic "
                           "Profile does not clean); review and mask it by hand, or add clean_pixel_data")
        boxes = screen_dataset(ds) if self.check_pixels else []
        if boxes and not self.mask_burned_in:
            raise Withheld(f"burned_in_text_pixels: {sum(map(len, boxes))} text boxes found in the pixels; "
                           "review and mask them, or add clean_pixel_data (mask_burned_in)")
        if header_yes and not boxes:
            raise Withheld("withheld: BurnedInAnnotation=YES but the text detector found no text to mask, so "
                           "clean_pixel_data cannot clean it; review and mask it by hand")
        return boxes

    def _temporal(self, audit) -> str:
        """Longitudinal Temporal Information Modified (0028,0303): what happened to this instance's dates."""
        if any(row["action"] == "shift" for row in audit):
            return "MODIFIED"
        return "UNMODIFIED" if "retain_longitudinal_full_dates" in self.options else "REMOVED"

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

            iterator = tqdm(files, desc=_("de-identify"), unit="file")
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
            final = (lambda u: u) if "retain_uids" in self.options else self.new_uid
            new_study, new_sop = final(study) or "no-study", final(sop)
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
            profile=self.profile,
            single_use=self.single_use,
        )
        if audit_csv is not None:
            with atomic_path(audit_csv) as tmp:
                result.audit.to_csv(tmp, index=False)
        return result


def _patient_key(ds) -> str:
    pid = str(ds.get("PatientID", "") or "").strip()
    if pid:
        return "id:" + pid
    name = str(ds.get("PatientName", "") or "").strip()
    birth = str(ds.get("PatientBirthDate", "") or "").strip()
    if name or birth:
        return f"name:{name}|{birth}"
    return "study:" + str(ds.get("StudyInstanceUID", "") or "")


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
    >>> len(result.table), {"X", "Z", "U"} <= set(result.audit.action)
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
