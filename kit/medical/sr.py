"""The triage result of one study as a DICOM Structured Report (TID 1500 Measurement Report, built with highdicom).

One Comprehensive 3D SR per study, in a new series of that study, so a PACS
viewer lists it beside the radiographs: a measurement group holding the
calibrated probability of an urgent finding, the decision at the operating
point (priority high or normal), the algorithm (name, version, threshold,
model card) and a reference to every image it scored. The report is marked
complete and unverified: no radiologist has read it.
"""
from __future__ import annotations

from dataclasses import dataclass

from pydicom.sr.codedict import codes

SERIES_NUMBER = 990  # after the acquisition series, where viewers put derived objects
SERIES_DESCRIPTION = "AI triage (sector-kit, not verified)"
MANUFACTURER = "sector-kit"
# A private coding scheme (DICOM PS3.16 8.2: designators starting "99") for what no standard code names.
SCHEME = "99SECTORKIT"


def _code(value: str, scheme: str, meaning: str):
    import highdicom as hd

    return hd.sr.CodedConcept(value=value, scheme_designator=scheme, meaning=meaning)


@dataclass(frozen=True)
class TriageModel:
    """What produced the result: written into every report.

    ``card`` is a reference a reader can follow: the model card's path or URL
    and its SHA-256.
    """

    name: str
    version: str
    threshold: float  # calibrated p_urgent at or above which a study is flagged urgent
    card: str
    device_uid: str


def triage_report(images, p_urgent: float, urgent: bool, model: TriageModel, *, sop_instance_uid=None,
                  series_instance_uid=None):
    """Build the SR for one study.

    Parameters
    ----------
    images : sequence of pydicom.Dataset
        The study's scored images as stored in the PACS (headers suffice):
        they give the patient and study modules and the referenced instances.
    p_urgent : float, 0–1
        Calibrated probability of an urgent finding for the study.
    urgent : bool
        Decision at the operating point.
    model : TriageModel

    Returns
    -------
    highdicom.sr.Comprehensive3DSR
    """
    import highdicom as hd

    if not images:
        raise ValueError("a triage report needs the study's images")
    algorithm = hd.sr.AlgorithmIdentification(
        name=model.name, version=model.version,
        parameters=[f"flagged urgent when p_urgent >= {model.threshold:.4f}", f"model card: {model.card}"],
        manufacturer=MANUFACTURER)
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier="chest radiograph triage"),
        finding_type=_code("URGENT", SCHEME, "Urgent chest radiograph finding"),
        algorithm_id=algorithm,
        finding_sites=[hd.sr.FindingSite(codes.SCT.Thorax)],
        measurements=[hd.sr.Measurement(name=codes.DCM.Probability, value=round(float(p_urgent), 4),
                                        unit=codes.UCUM.NoUnits, algorithm_id=algorithm)],
        qualitative_evaluations=[hd.sr.QualitativeEvaluation(
            name=codes.SCT.Priority,
            value=_code("394849002", "SCT", "High priority") if urgent else _code("394848005", "SCT", "Normal priority"))],
        source_images=[hd.sr.SourceImageForMeasurementGroup.from_source_image(ds) for ds in images],
    )
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=model.device_uid, name=model.name, manufacturer_name=MANUFACTURER, model_name=model.version))
    content = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=_code("399208008", "SCT", "Plain X-ray of chest"),
        imaging_measurements=[group])
    report = hd.sr.Comprehensive3DSR(
        evidence=list(images), content=content,
        series_instance_uid=series_instance_uid or hd.UID(), series_number=SERIES_NUMBER,
        sop_instance_uid=sop_instance_uid or hd.UID(), instance_number=1,
        manufacturer=MANUFACTURER, series_description=SERIES_DESCRIPTION,
        is_complete=True, is_final=False, is_verified=False)
    report.CodingSchemeIdentificationSequence = [_private_scheme()]
    return report


def _private_scheme():
    from pydicom.dataset import Dataset

    item = Dataset()
    item.CodingSchemeDesignator = SCHEME
    item.CodingSchemeName = "sector-kit radiology triage concepts"
    item.CodingSchemeResponsibleOrganization = "sector-kit"
    return item


def read_result(ds) -> dict:
    """``p_urgent``, ``urgent`` and the referenced SOP Instance UIDs of a report :func:`triage_report` wrote."""
    import highdicom as hd

    sr = hd.sr.Comprehensive3DSR.from_dataset(ds)
    groups = sr.content.get_image_measurement_groups()
    if len(groups) != 1:
        raise ValueError(f"expected one measurement group, found {len(groups)}")
    group = groups[0]
    (measurement,) = group.get_measurements(name=codes.DCM.Probability)
    (decision,) = group.get_qualitative_evaluations(name=codes.SCT.Priority)
    return {"p_urgent": float(measurement.value), "urgent": decision.value.value == "394849002",
            "referenced": sorted(img.referenced_sop_instance_uid for img in group.source_images)}
