"""PS3.15 Annex E Clean Descriptors Option (E.3.5): which free-text descriptors may stay.

Annex E leaves the cleaning to the implementation ("descriptors ... may
contain identifying information ... cleaned of identifying information").
The rule here is an allow list, not a deny list, because a deny list of
names can never be complete: a descriptor is kept only when

- every word is in :data:`SAFE_WORDS` (modality, view, anatomy, laterality,
  procedure and acquisition terms, units) or is a number of at most three
  digits (``2 VIEWS``, ``120 KV``; four digits and more may be a year or an
  ID), and nothing in it looks like a date (``12/03/2024``, ``2024-03-15``);
- no word matches an identifier of the same header (:func:`header_identifiers`:
  parts of person names, IDs and accession numbers, dates, institution and
  station names), so a patient named ``Hand`` does not keep ``HAND PA``.

Anything else gets the Basic Profile action of its row.
"""
from __future__ import annotations

import re

__all__ = ["SAFE_WORDS", "descriptor_verdict", "header_identifiers"]

_MODALITY = "CR DX DR CT MR MRI US PT PET NM XA RF MG OT SR ES IO PX RG XR XRAY RAY X DXA DEXA SPECT"
_VIEW = ("PA AP LAT LATERAL LL RL OBL OBLIQUE LAO RAO LPO RPO DECUB DECUBITUS SUPINE ERECT UPRIGHT PRONE STANDING "
         "SEMI SITTING PORTABLE FRONTAL AXIAL AX CORONAL COR SAGITTAL SAG VIEW VIEWS APICAL LORDOTIC INSPIRATION "
         "EXPIRATION INSP EXP CC MLO ML LM")
_ANATOMY = ("CHEST THORAX THORACIC LUNG LUNGS PULMONARY HEART CARDIAC RIB RIBS STERNUM CLAVICLE SCAPULA SHOULDER ARM "
            "HUMERUS ELBOW FOREARM WRIST HAND FINGER FINGERS THUMB ABDOMEN ABDOMINAL ABD PELVIS PELVIC HIP FEMUR KNEE "
            "TIBIA FIBULA ANKLE FOOT FEET TOE TOES HEEL LEG SPINE SPINAL CERVICAL LUMBAR SACRUM SACRAL COCCYX "
            "HEAD SKULL BRAIN NECK FACE FACIAL SINUS SINUSES ORBIT ORBITS MANDIBLE DENTAL TEETH BREAST BREASTS "
            "LIVER KIDNEY KIDNEYS RENAL BLADDER BOWEL COLON STOMACH AORTA CAROTID WHOLE BODY EXTREMITY UPPER LOWER "
            "SOFT TISSUE BONE BONES JOINT JOINTS MEDIASTINUM")
_SIDE = "LEFT RIGHT BILATERAL BOTH L R LT RT LEFTRIGHT"
_PROCEDURE = ("RADIOGRAPH RADIOGRAPHY RADIOGRAPHIC SCREENING ROUTINE FOLLOW UP FOLLOWUP SCOUT LOCALIZER TOPOGRAM "
              "SURVIEW PLAIN FILM FILMS STUDY SERIES IMAGE IMAGES PROTOCOL EXAM EXAMINATION STANDARD DEFAULT "
              "CONTRAST NON NONCONTRAST W WO WITH WITHOUT IV ORAL AND OF OR THE ONLY NO PRE POST DELAYED "
              "ARTERIAL VENOUS PORTAL PHASE LOW HIGH DOSE LDCT HRCT ANGIO ANGIOGRAPHY PERFUSION DIFFUSION DWI ADC "
              "T1 T2 FLAIR STIR GRE SE FSE TSE EPI SWI TOF MIP MPR RECON RECONSTRUCTION SOFT SHARP LUNG KERNEL "
              "THIN THICK SLICE SLICES HELICAL SPIRAL DERIVED PRIMARY ORIGINAL SECONDARY PROCESSED FOR "
              "PRESENTATION PROCESSING GRID BUCKY TABLE WALL TRAUMA EMERGENCY ER ICU BEDSIDE MOBILE")
_UNIT = "MM CM M KV KVP MA MAS MS S SEC MIN DEG ML MG"
SAFE_WORDS = frozenset(" ".join((_MODALITY, _VIEW, _ANATOMY, _SIDE, _PROCEDURE, _UNIT)).split())
"""Words a kept descriptor may hold (upper case)."""

_DATE_LIKE = re.compile(r"\d{1,4}\s*[./-]\s*\d{1,2}\s*[./-]\s*\d{1,4}")
_NUMBER = re.compile(r"^\d{1,3}$")
_NUMBER_UNIT = re.compile(r"^(\d{1,3})([A-Z]+)$")
_WORD = re.compile(r"[^A-Z0-9]+")
_ID_KEYWORDS = ("InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "StationName",
                "AccessionNumber", "StudyID", "PatientAddress", "OtherPatientNames", "PatientMotherBirthName")
_ID_VRS = ("PN", "DA", "DT")


def _words(text: str) -> list[str]:
    return [w for w in _WORD.split(text.upper()) if w]


def header_identifiers(ds) -> frozenset:
    """Words (upper case, two characters or more) that identify in ``ds``, nested sequences included.

    Parts of every person name (PN), every date (DA, DT), every ID
    (keywords ending in ``ID``, ``IDs`` or ``Number``: patient, study,
    accession, requested procedure ...) and institution, address and station
    names. Read before the profile changes the header.
    """
    found: set[str] = set()

    def visit(dataset):
        for elem in dataset:
            if elem.VR == "SQ":
                for item in elem.value or []:
                    visit(item)
                continue
            keyword = elem.keyword or ""
            if not (elem.VR in _ID_VRS or keyword in _ID_KEYWORDS or keyword.endswith(("ID", "IDs", "Number"))):
                continue
            if elem.VR in ("US", "SS", "UL", "SL", "FL", "FD", "IS", "DS") or elem.value is None:
                continue
            values = elem.value if elem.VM > 1 else [elem.value]
            for value in values:
                if isinstance(value, (bytes, bytearray)):
                    continue
                found.update(w for w in _words(str(value)) if len(w) >= 2)

    visit(ds)
    return frozenset(found)


def descriptor_verdict(value, identifiers=frozenset()) -> str | None:
    """``None`` when ``value`` (a descriptor's text, or a list of them) may be kept, else why not.

    Examples
    --------
    >>> descriptor_verdict("CHEST PA")
    >>> descriptor_verdict("Chest 2 views, R lat")
    >>> descriptor_verdict("CHEST PA 2024-03-15")
    'looks like a date'
    >>> descriptor_verdict("Chest PA for Martin")
    "words outside the safe vocabulary: 'MARTIN'"
    >>> descriptor_verdict("HAND PA", identifiers=frozenset({"HAND", "JOHN"}))
    "matches an identifier of the header: 'HAND'"
    """
    values = value if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
    for text in values:
        if isinstance(text, (bytes, bytearray)):
            return "binary value"
        text = str(text or "")
        if _DATE_LIKE.search(text):
            return "looks like a date"
        words = _words(text)
        clash = [w for w in words if w in identifiers]
        if clash:
            return "matches an identifier of the header: " + ", ".join(map(repr, sorted(set(clash))))
        unsafe = [w for w in words if not _safe_word(w)]
        if unsafe:
            return "words outside the safe vocabulary: " + ", ".join(map(repr, sorted(set(unsafe))[:5]))
    return None


def _safe_word(word: str) -> bool:
    if word in SAFE_WORDS or _NUMBER.match(word):
        return True
    unit = _NUMBER_UNIT.match(word)  # 5MM, 120KV, 3D
    return bool(unit) and (unit.group(2) in SAFE_WORDS or unit.group(2) == "D")
