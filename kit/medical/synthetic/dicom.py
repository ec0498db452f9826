"""Wrapping a synthetic radiograph in the DICOM data set a given scanner would export.

Each scanner style (:data:`SCANNERS`) stores the same anatomy its own way:
CR or DX, MONOCHROME1 or MONOCHROME2, 10–15 bits, rescale or not, window or
not, contrast, noise, transfer syntax. The data set carries the identifying
data real exports do (names, IDs, dates, institution, device serials,
operators, comments, a private block, an overlay plane) so the
de-identification can be tested on it.
"""
from __future__ import annotations

import numpy as np

from kit.medical.synthetic.identities import fake_person, fake_uid

__all__ = ["CR_STORAGE", "DX_PRESENTATION", "SCANNERS", "make_dataset"]

# Scanner styles: how each one stores and renders the same anatomy.
SCANNERS = (
    {"manufacturer": "Agfa", "model": "CR 85-X", "modality": "CR", "photometric": "MONOCHROME1", "bits": 12,
     "ts": "1.2.840.10008.1.2.1", "window": True, "gamma": 1.0, "noise": 0.020, "blur": 0.8, "overlay": True},
    {"manufacturer": "Fujifilm", "model": "FCR Capsula XLII", "modality": "CR", "photometric": "MONOCHROME1",
     "bits": 10, "ts": "1.2.840.10008.1.2", "window": False, "gamma": 0.85, "noise": 0.030, "blur": 1.0,
     "overlay": False},
    {"manufacturer": "Siemens", "model": "Ysio Max", "modality": "DX", "photometric": "MONOCHROME2", "bits": 12,
     "ts": "1.2.840.10008.1.2.5", "window": True, "gamma": 1.15, "noise": 0.015, "blur": 0.6, "overlay": False},
    {"manufacturer": "Philips", "model": "DigitalDiagnost C90", "modality": "DX", "photometric": "MONOCHROME2",
     "bits": 14, "ts": "1.2.840.10008.1.2.1.99", "window": True, "gamma": 1.0, "noise": 0.018, "blur": 0.7,
     "overlay": False, "slope": 2.0, "intercept": -1000.0},
    {"manufacturer": "Carestream", "model": "DRX-Evolution Plus", "modality": "DX", "photometric": "MONOCHROME2",
     "bits": 15, "ts": "1.2.840.10008.1.2.1", "window": False, "gamma": 0.9, "noise": 0.012, "blur": 0.5,
     "overlay": False},
)

CR_STORAGE = "1.2.840.10008.5.1.4.1.1.1"
DX_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"
_RLE = "1.2.840.10008.1.2.5"


def _overlay(ds, size):
    # A rectangle marker in overlay plane 6000 (1 bit per pixel, packed little-endian).
    from pydicom.pixels import pack_bits

    plane = np.zeros((size, size), dtype=np.uint8)
    a, b = size // 8, size // 8 + max(size // 10, 3)
    plane[a:b, a] = plane[a:b, b] = plane[a, a:b] = plane[b, a:b] = 1
    ds.add_new(0x60000010, "US", size)
    ds.add_new(0x60000011, "US", size)
    ds.add_new(0x60000022, "LO", "Marker by " + str(ds.OperatorsName))
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", pack_bits(plane.ravel()))
    ds.add_new(0x60004000, "LT", f"Marked for {ds.PatientName}")


def _burn_text(unit, text):
    from PIL import Image, ImageDraw

    img = Image.fromarray((unit * 255).astype(np.uint8), mode="L")
    ImageDraw.Draw(img).text((2, 2), text, fill=255)
    return np.asarray(img, dtype=np.float32) / 255.0


_RLE_PLUGIN = None


def _has_rle_plugin() -> bool:
    global _RLE_PLUGIN
    if _RLE_PLUGIN is None:
        try:
            import rle  # noqa: F401  (pylibjpeg-rle, a fast RLE encoder)

            _RLE_PLUGIN = True
        except ImportError:
            _RLE_PLUGIN = False
    return _RLE_PLUGIN


def _exposed(rng, image, scanner, exposure):
    """The film this exposure gives: scatter haze (contrast loss), gain, gamma and quantum noise."""
    from scipy.ndimage import gaussian_filter

    e = {"scatter": 0.0, "gain": 1.0, "gamma": 1.0, "noise": 1.0, **(exposure or {})}
    img = np.clip(image, 0, 1)
    if e["scatter"] > 0:  # no grid at the bedside: scattered photons add a smooth haze
        img = (1 - e["scatter"]) * img + e["scatter"] * gaussian_filter(img, sigma=img.shape[0] / 8)
    shown = np.clip(img * e["gain"], 0, 1) ** (scanner["gamma"] * e["gamma"])
    return np.clip(shown + rng.normal(0, scanner["noise"] * e["noise"], shown.shape), 0, 1)


def _stored_pixels(rng, image, scanner, patient, burned_in, exposure=None):
    """Exposure, scanner noise, burned-in text and the stored integers: ``stored, modality_top, intercept``."""
    top = 2 ** scanner["bits"] - 1
    noisy = _exposed(rng, image, scanner, exposure)
    if burned_in:
        noisy = _burn_text(noisy, f"{patient['name'].replace('^', ' ')} {patient['id']}")
    stored_display = noisy if scanner["photometric"] == "MONOCHROME2" else 1.0 - noisy
    slope, intercept = scanner.get("slope", 1.0), scanner.get("intercept", 0.0)
    # Stored values are chosen so that slope * stored + intercept spans the display range.
    modality_top = top * slope + intercept
    modality = intercept + stored_display * (modality_top - intercept)
    stored = np.round((modality - intercept) / slope).clip(0, top).astype(np.uint16)
    return stored, modality_top, intercept


def _identify(ds, rng, scanner, site):
    """File meta and SOP identity; returns the study and series UIDs."""
    from pydicom.dataset import FileMetaDataset

    meta = FileMetaDataset()
    sop_class = CR_STORAGE if scanner["modality"] == "CR" else DX_PRESENTATION
    sop_uid, study_uid, series_uid = fake_uid(rng), fake_uid(rng), fake_uid(rng)
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    meta.SourceApplicationEntityTitle = f"{site['code']}_PACS"
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop_uid
    return study_uid, series_uid


def _describe_study(ds, rng, scanner, site, study_date):
    """Dates, times, accession, site, station and staff of the study."""
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = study_date.strftime("%Y%m%d")
    ds.InstanceCreationDate = ds.StudyDate
    hhmmss = f"{int(rng.integers(7, 20)):02d}{int(rng.integers(0, 60)):02d}{int(rng.integers(0, 60)):02d}"
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = ds.AcquisitionTime = ds.InstanceCreationTime = hhmmss
    ds.AccessionNumber = f"{site['code']}{int(rng.integers(10**6, 10**7))}"
    ds.Modality = scanner["modality"]
    ds.Manufacturer = scanner["manufacturer"]
    ds.InstitutionName = site["name"]
    ds.InstitutionAddress = site["address"]
    ds.ReferringPhysicianName = "Dr^" + fake_person(rng, "M" if rng.random() < 0.5 else "F").split("^")[0]
    ds.StationName = f"{site['code']}-{scanner['modality']}{int(rng.integers(1, 4)):02d}"
    ds.StudyDescription = "THORAX PA"
    ds.SeriesDescription = "Thorax PA debout"
    ds.InstitutionalDepartmentName = "Radiologie"
    ds.OperatorsName = fake_person(rng, "F" if rng.random() < 0.6 else "M")
    ds.ManufacturerModelName = scanner["model"]


def _describe_patient(ds, patient, site):
    ds.PatientName = patient["name"]
    ds.PatientID = patient["id"]
    ds.IssuerOfPatientID = site["code"]
    ds.PatientBirthDate = patient["birth"].strftime("%Y%m%d")
    ds.PatientSex = patient["sex"]
    ds.OtherPatientIDs = patient["cin"]
    ds.PatientAge = f"{patient['age']:03d}Y"
    ds.PatientAddress = patient["address"]
    ds.PatientTelephoneNumbers = patient["phone"]


def _describe_exposure(ds, rng, scanner, patient, study_uid, series_uid, burned_in, view="PA"):
    """Body part, device, exposure, study and series numbering, comments, requests and references."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    ds.BodyPartExamined = "CHEST"
    ds.DeviceSerialNumber = scanner["serial"]
    ds.SoftwareVersions = "VA20"
    ds.ProtocolName = "THORAX PA" if view == "PA" else "THORAX AP LIT"
    ds.ViewPosition = view
    if view == "AP":
        ds.StudyDescription, ds.SeriesDescription = "THORAX AP", "Thorax AP au lit"
    ds.KVP = f"{rng.uniform(110, 130):.0f}"
    ds.ExposureTime = int(rng.integers(4, 20))
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.StudyID = str(int(rng.integers(1000, 99999)))
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.PatientOrientation = ["L", "F"]
    ds.ImageComments = f"Controle {patient['name'].split('^')[0]}, demande Dr {ds.ReferringPhysicianName}"
    ds.BurnedInAnnotation = "YES" if burned_in else "NO"
    req = Dataset()
    req.RequestedProcedureID = f"RP{int(rng.integers(10**5, 10**6))}"
    req.ScheduledProcedureStepID = f"SPS{int(rng.integers(10**5, 10**6))}"
    ds.RequestAttributesSequence = Sequence([req])
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"  # Detached Study Management
    ref.ReferencedSOPInstanceUID = study_uid
    ds.ReferencedStudySequence = Sequence([ref])


def _describe_pixels(ds, scanner, size, stored, modality_top, intercept):
    """Image pixel module, rescale, window and the pixel data."""
    bits = scanner["bits"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = scanner["photometric"]
    ds.Rows = ds.Columns = size
    spacing = f"{430.0 / size:.4f}"
    ds.ImagerPixelSpacing = [spacing, spacing]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits, bits - 1
    ds.PixelRepresentation = 0
    if scanner["modality"] == "DX":
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.ImageLaterality = "U"
    if "slope" in scanner:
        ds.RescaleSlope, ds.RescaleIntercept, ds.RescaleType = scanner["slope"], scanner["intercept"], "US"
    if scanner["window"]:
        ds.WindowCenter = f"{(modality_top + intercept) / 2:.1f}"
        ds.WindowWidth = f"{modality_top - intercept + 1:.1f}"
    ds.LossyImageCompression = "00"
    ds.PixelData = stored.tobytes()


def _private_overlay_and_syntax(ds, scanner, site, patient, size, stored):
    """The vendor's private block, the overlay plane when the scanner draws one, and the transfer syntax."""
    block = ds.private_block(0x0029, "KITSYNTH 1.0", create=True)
    block.add_new(0x10, "LO", str(patient["name"]))
    block.add_new(0x11, "LO", f"{site['name']} / {ds.StationName}")
    if scanner["overlay"]:
        _overlay(ds, size)
    ts = scanner["ts"]
    if ts == _RLE:
        ds.compress(_RLE, stored, encoding_plugin="pylibjpeg" if _has_rle_plugin() else "pydicom",
                    generate_instance_uid=False)
    else:
        ds.file_meta.TransferSyntaxUID = ts


def make_dataset(rng, image, *, scanner, site, study_date, patient, burned_in=False, view="PA", exposure=None):
    """Wrap a [0, 1] image (white = dense) in a plausible CR or DX data set for ``scanner``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws noise, UIDs, times, staff and numbers, in a fixed order.
    image : ndarray (size, size), float in [0, 1]
        Attenuation from :func:`~kit.medical.synthetic.anatomy.render_chest`.
    scanner : dict
        One of :data:`SCANNERS` plus its ``serial``.
    site : dict
        ``name, address, code``.
    study_date : datetime.date
    patient : dict
        ``name, id, sex, age, birth, cin, address, phone``.
    burned_in : bool
        Paint the patient's name and ID into the pixels (Burned In Annotation YES).
    view : {"PA", "AP"}
        View Position; AP films are described as bedside (portable) films.
    exposure : dict, optional
        This film's ``scatter`` (0–1 haze fraction), ``gain``, ``gamma`` and ``noise``
        (multipliers of the scanner's own); None for the scanner's nominal exposure.

    Returns
    -------
    pydicom.dataset.Dataset
        With its file meta, ready for ``save_as(..., enforce_file_format=True)``.
    """
    from pydicom.dataset import Dataset

    stored, modality_top, intercept = _stored_pixels(rng, image, scanner, patient, burned_in, exposure)
    ds = Dataset()
    study_uid, series_uid = _identify(ds, rng, scanner, site)
    _describe_study(ds, rng, scanner, site, study_date)
    _describe_patient(ds, patient, site)
    _describe_exposure(ds, rng, scanner, patient, study_uid, series_uid, burned_in, view)
    _describe_pixels(ds, scanner, image.shape[0], stored, modality_top, intercept)
    _private_overlay_and_syntax(ds, scanner, site, patient, image.shape[0], stored)
    return ds
