"""A PACS without DICOMweb: C-FIND, C-GET and C-STORE through pynetdicom, behind the calls :mod:`kit.medical.pacs` makes.

``pacs`` is then ``dimse://CALLED_AET@host:port``. DIMSE has no login: the
PACS admits a calling AE title (``KIT_PACS_CALLING_AET``, default
``SECTORKIT``) from a host it knows, which its administrator registers.
C-GET brings the instances back on the same association, so no port has to
be opened on the machine running the notebook (C-MOVE would need one).
Results come back as DICOM JSON, as QIDO-RS gives them.
"""
from __future__ import annotations

import os
from urllib.parse import urlsplit

from pydicom.dataset import Dataset

from kit.errors import InputDataError, ParameterError

CALLING_AET_ENV = "KIT_PACS_CALLING_AET"
SCHEME = "dimse"
# The chest radiograph storage classes a C-GET may bring back (pynetdicom needs them negotiated up front).
_IMAGE_CLASSES = ("ComputedRadiographyImageStorage", "DigitalXRayImageStorageForPresentation",
                  "DigitalXRayImageStorageForProcessing", "SecondaryCaptureImageStorage")


def parse_url(url: str) -> tuple[str, str, int]:
    """``(called AE title, host, port)`` of ``dimse://AET@host:port``."""
    parts = urlsplit(url)
    if parts.scheme != SCHEME or not parts.username or not parts.hostname or not parts.port:
        raise ParameterError(f"parameter 'pacs': a DIMSE PACS is given as dimse://AET@host:port, got {url!r}")
    if parts.password:
        raise ParameterError("parameter 'pacs': DIMSE has no password; give dimse://AET@host:port")
    return parts.username, parts.hostname, parts.port


class DimseClient:
    """The few DICOMweb client calls :mod:`kit.medical.pacs` uses, over DIMSE."""

    def __init__(self, url: str):
        self.url = url
        self.called_aet, self.host, self.port = parse_url(url)
        self.calling_aet = os.environ.get(CALLING_AET_ENV, "SECTORKIT")

    def _associate(self, contexts, roles=(), handlers=()):
        from pynetdicom import AE

        ae = AE(ae_title=self.calling_aet)
        for context in contexts:
            ae.add_requested_context(context)
        assoc = ae.associate(self.host, self.port, ae_title=self.called_aet, ext_neg=list(roles),
                             evt_handlers=list(handlers))
        if not assoc.is_established:
            raise InputDataError(f"PACS {self.url}: association refused or no answer; check the address and that "
                                 f"the PACS admits the calling AE title {self.calling_aet} ({CALLING_AET_ENV})")
        return assoc

    def _refused(self, what: str) -> InputDataError:
        # An empty status: the PACS aborted the association (Orthanc does so for an AE title it does not admit).
        return InputDataError(f"PACS {self.url}: {what} refused (association aborted); check that the PACS admits "
                              f"the calling AE title {self.calling_aet} ({CALLING_AET_ENV}) from this host")

    def _find(self, query: Dataset) -> list[dict]:
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind as FIND

        assoc = self._associate([FIND])
        try:
            out = []
            for status, identifier in assoc.send_c_find(query, FIND):
                if status is None or "Status" not in status:
                    raise self._refused("C-FIND")
                if status.Status in (0xFF00, 0xFF01) and identifier is not None:
                    out.append(identifier.to_json_dict())
                elif status.Status not in (0x0000, 0xFF00, 0xFF01):
                    raise InputDataError(f"PACS {self.url}: C-FIND failed with status 0x{status.Status:04X}")
            return out
        finally:
            assoc.release()

    def search_for_studies(self, limit=None, offset=0, search_filters=None, **_):
        if offset:  # C-FIND has no paging: everything comes on the first call
            return []
        q = Dataset()
        q.QueryRetrieveLevel = "STUDY"
        q.StudyInstanceUID = ""
        q.StudyDate = (search_filters or {}).get("StudyDate", "")
        q.ModalitiesInStudy = (search_filters or {}).get("ModalitiesInStudy", "")
        return self._find(q)

    def search_for_series(self, study_instance_uid, fields=None, search_filters=None, **_):
        q = Dataset()
        q.QueryRetrieveLevel = "SERIES"
        q.StudyInstanceUID = study_instance_uid
        q.SeriesInstanceUID = ""
        q.Modality = (search_filters or {}).get("Modality", "")
        q.BodyPartExamined = ""
        return self._find(q)

    def retrieve_series(self, study_instance_uid, series_instance_uid, **_):
        from pynetdicom import build_role, evt, sop_class
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet as GET

        received = []

        def on_store(event):
            ds = event.dataset
            ds.file_meta = event.file_meta
            received.append(ds)
            return 0x0000

        classes = [getattr(sop_class, name) for name in _IMAGE_CLASSES]
        assoc = self._associate([GET, *classes], [build_role(c, scp_role=True) for c in classes],
                                [(evt.EVT_C_STORE, on_store)])
        q = Dataset()
        q.QueryRetrieveLevel = "SERIES"
        q.StudyInstanceUID, q.SeriesInstanceUID = study_instance_uid, series_instance_uid
        try:
            for status, _identifier in assoc.send_c_get(q, GET):
                if status is None or "Status" not in status:
                    raise self._refused("C-GET")
                if status.Status not in (0x0000, 0xFF00, 0xFF01):
                    raise InputDataError(f"PACS {self.url}: C-GET failed with status 0x{status.Status:04X}")
        finally:
            assoc.release()
        return received

    def store_instances(self, datasets, study_instance_uid=None, **_):
        assoc = self._associate(sorted({ds.SOPClassUID for ds in datasets}))
        response = Dataset()
        try:
            for ds in datasets:
                status = assoc.send_c_store(ds)
                if status is None or status.get("Status") != 0x0000:
                    failed = Dataset()
                    failed.FailureReason = getattr(status, "Status", 0xA700)
                    response.FailedSOPSequence = [failed]
        finally:
            assoc.release()
        return response
