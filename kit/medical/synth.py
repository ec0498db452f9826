"""Synthetic chest radiographs written as real DICOM files, with urgent-finding labels.

Each study is one PA chest radiograph of a fake patient at one of several
simulated Moroccan sites, each site with its own scanners (CR or DX,
MONOCHROME1 or MONOCHROME2, 10–15 bits, different transfer syntaxes, window
or no window, contrast and noise). A chosen fraction of studies carries one
urgent finding: a large opacity, a pneumothorax-like lucency with a pleural
line, or an effusion-like blunted costophrenic angle. The files carry the
kind of identifying data real exports do (names, IDs, dates, institution,
device serials, operators, comments, a private block, overlays) so the
de-identification can be tested on them. See ``datasets/radiology/README.md``.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter

from kit.errors import ParameterError
from kit.io import atomic_path

FINDINGS = ("opacity", "pneumothorax", "effusion")

SITES = (
    ("Clinique Atlas Imagerie", "Bd Zerktouni, Casablanca", "CASA"),
    ("Centre Radiologique Bouregreg", "Av. Mohammed V, Rabat", "RBT"),
    ("Polyclinique du Saiss", "Route d'Imouzzer, Fes", "FES"),
    ("Clinique de la Palmeraie", "Av. Allal El Fassi, Marrakech", "RAK"),
    ("Centre d'Imagerie du Detroit", "Bd Pasteur, Tanger", "TNG"),
)

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

_FIRST_F = ("Fatima", "Khadija", "Aicha", "Meryem", "Salma", "Nadia", "Hanane", "Zineb", "Imane", "Latifa", "Samira",
            "Houda", "Souad", "Rajae", "Naima", "Ghita")
_FIRST_M = ("Mohamed", "Ahmed", "Youssef", "Omar", "Hassan", "Rachid", "Karim", "Mustapha", "Abdelaziz", "Said",
            "Hamza", "Anas", "Driss", "Khalid", "Mehdi", "Ayoub")
_LAST = ("Alaoui", "Benjelloun", "Bennani", "Tazi", "El Idrissi", "Berrada", "Chraibi", "Fassi", "Lahlou", "Amrani",
         "Ouazzani", "Kettani", "Bouzidi", "El Mansouri", "Ziani", "Naciri", "Sqalli", "Benkirane", "Haddad", "Raji")

_CR_STORAGE = "1.2.840.10008.5.1.4.1.1.1"
_DX_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"
_ROOT = "1.2.826.0.1.3680043.8.498."  # pydicom's registered root, used for example UIDs


def _smooth_step(x, width):
    return 0.5 * (1.0 + np.tanh(x / max(width, 1e-6)))


def render_chest(rng: np.random.Generator, size: int = 128, finding: str | None = None):
    """Draw one frontal chest radiograph (white = dense) and the finding's mask.

    Parameters
    ----------
    rng : numpy.random.Generator
    size : int, pixels
    finding : {None, "opacity", "pneumothorax", "effusion"}

    Returns
    -------
    image : ndarray (size, size), float32 in [0, 1]; attenuation, before any scanner noise
    mask : ndarray (size, size), bool; pixels the finding changed (all False when none)

    Examples
    --------
    >>> import numpy as np
    >>> img, mask = render_chest(np.random.default_rng(0), 64, "effusion")
    >>> img.shape, img.dtype, bool(mask.any())
    ((64, 64), dtype('float32'), True)
    """
    if finding not in (None, *FINDINGS):
        raise ParameterError(f"finding must be None or one of {', '.join(FINDINGS)}, got {finding!r}")
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / np.float32(size - 1)
    px = 1.0 / size
    cx = 0.5 + rng.normal(0, 0.015)
    lung_w = rng.uniform(0.15, 0.19)
    lung_h = rng.uniform(0.27, 0.33)
    lung_y = rng.uniform(0.43, 0.48)
    gap = rng.uniform(0.17, 0.21)

    # Torso, neck and shoulders: soft tissue.
    body = ((x - cx) / 0.47) ** 2 + ((y - 0.62) / 0.62) ** 2 < 1.0
    neck = (np.abs(x - cx) < 0.09) & (y < 0.2)
    mu = np.where(body | neck, 0.38, 0.0).astype(np.float32)

    # Diaphragm domes: below them is abdomen (dense).
    dome_r = lung_y + lung_h * 0.92 - 0.05 * np.cos((x - (cx - gap)) * 7.0)
    dome_l = lung_y + lung_h * 0.98 - 0.05 * np.cos((x - (cx + gap)) * 7.0)
    dome = np.where(x < cx, dome_r, dome_l)

    lungs = np.zeros_like(mu, dtype=bool)
    side_masks = {}
    for side, sx in (("right", cx - gap), ("left", cx + gap)):
        ell = ((x - sx) / lung_w) ** 2 + ((y - lung_y) / lung_h) ** 2 < 1.0
        lung = ell & (y < dome) & (np.abs(x - cx) > 0.055)
        side_masks[side] = lung
        lungs |= lung
    # Lung markings (vessels): a smooth random texture inside the lungs only.
    markings = gaussian_filter(rng.normal(0, 1, (size, size)).astype(np.float32), sigma=size / 48)
    markings = markings / (np.abs(markings).max() + 1e-6)
    hilum = np.exp(-(((np.abs(x - cx) - 0.1) / 0.08) ** 2 + ((y - lung_y) / 0.12) ** 2))
    lung_value = 0.10 + 0.05 * markings + 0.12 * hilum
    mu = np.where(lungs, lung_value, mu)
    mu = np.where(body & (y >= dome) & (np.abs(x - cx) < 0.45), 0.62, mu)

    # Mediastinum and heart.
    mediastinum = (np.abs(x - cx) < 0.06 + 0.05 * np.clip((y - 0.2) / 0.5, 0, 1)) & (y > 0.08) & (y < dome + 0.02)
    heart_c = (cx + rng.uniform(0.03, 0.06), lung_y + lung_h * rng.uniform(0.45, 0.6))
    heart_r = (rng.uniform(0.12, 0.16), rng.uniform(0.10, 0.13))
    heart = ((x - heart_c[0]) / heart_r[0]) ** 2 + ((y - heart_c[1]) / heart_r[1]) ** 2 < 1.0
    mu = np.where(mediastinum | heart, 0.64, mu)

    # Spine (vertebrae) and ribs: bone adds attenuation on top of the rest.
    spine = (np.abs(x - cx) < 0.035) & (y > 0.05) & body
    vertebrae = 0.5 + 0.5 * np.cos(2 * np.pi * y * 17.0)
    bone = np.where(spine, 0.12 + 0.06 * vertebrae, 0.0)
    rib_count = rng.uniform(9.0, 10.5)
    dx = np.abs(x - cx)
    rib_phase = (y - 0.55 * (dx - 0.05) ** 2 * 3.0 + 0.25 * dx) * rib_count
    ribs = _smooth_step(np.cos(2 * np.pi * rib_phase) - 0.55, 0.12)
    rib_zone = body & (dx > 0.04) & (dx < 0.43) & (y > 0.12) & (y < dome + 0.04)
    bone = bone + np.where(rib_zone, 0.10 * ribs, 0.0)
    clavicle = np.abs(y - (0.17 + 0.08 * (dx - 0.05))) < 0.012
    bone = bone + np.where(clavicle & (dx > 0.03) & (dx < 0.3), 0.15, 0.0)
    mu = mu + bone

    mask = np.zeros((size, size), dtype=bool)
    side = "right" if rng.random() < 0.5 else "left"
    lung = side_masks[side]
    sx = cx - gap if side == "right" else cx + gap
    if finding == "opacity":
        oy = rng.uniform(lung_y - 0.12, lung_y + 0.15)
        ox = sx + rng.uniform(-0.05, 0.05)
        sigma = rng.uniform(0.06, 0.09)
        blob = np.exp(-(((x - ox) ** 2 + (y - oy) ** 2) / (2 * sigma**2)))
        mu = mu + 0.38 * blob * (lung | heart)
        mask = (blob > 0.3) & lung
    elif finding == "pneumothorax":
        # Air between lung and chest wall: the lateral-apical rim of one lung loses its markings.
        depth = rng.uniform(0.35, 0.55)
        lateral = (x - sx) * (-1.0 if side == "right" else 1.0)
        rim = lung & ((lateral / lung_w) + 0.8 * ((lung_y - y) / lung_h).clip(0, None) > 1.0 - depth)
        mu = np.where(rim, 0.01 + 0.3 * bone, mu)
        edge = rim & ~np.roll(rim, 2 if side == "left" else -2, axis=1)
        mu = np.where(edge, mu + 0.12, mu)
        mask = rim
    elif finding == "effusion":
        # Fluid fills the costophrenic angle with a meniscus rising laterally.
        level = lung_y + lung_h * rng.uniform(0.35, 0.55)
        lateral = np.abs(x - sx) / lung_w
        fluid = lung & (y > level - 0.10 * lateral**2)
        mu = np.where(fluid, 0.55 + 0.5 * bone, mu)
        mask = fluid
    mu = gaussian_filter(mu, sigma=max(0.6 * px * size / 128, 0.4))
    return np.clip(mu, 0.0, 1.0).astype(np.float32), mask


def _person(rng, sex):
    first = rng.choice(_FIRST_F if sex == "F" else _FIRST_M)
    return f"{rng.choice(_LAST)}^{first}"


def _uid(rng) -> str:
    return _ROOT + str(int(rng.integers(10**15, 10**16))) + "." + str(int(rng.integers(10**8, 10**9)))


def _overlay(ds, size, rng):
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


def make_dataset(rng, image, *, scanner, site, study_date, patient, burned_in=False):
    """Wrap a [0, 1] image (white = dense) in a plausible CR or DX data set for ``scanner``."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence

    size = image.shape[0]
    bits = scanner["bits"]
    top = 2**bits - 1
    shown = np.clip(image, 0, 1) ** scanner["gamma"]
    noisy = np.clip(shown + rng.normal(0, scanner["noise"], shown.shape), 0, 1)
    if burned_in:
        noisy = _burn_text(noisy, f"{patient['name'].replace('^', ' ')} {patient['id']}")
    stored_display = noisy if scanner["photometric"] == "MONOCHROME2" else 1.0 - noisy
    slope, intercept = scanner.get("slope", 1.0), scanner.get("intercept", 0.0)
    # Stored values are chosen so that slope * stored + intercept spans the display range.
    modality_top = top * slope + intercept
    modality = intercept + stored_display * (modality_top - intercept)
    stored = np.round((modality - intercept) / slope).clip(0, top).astype(np.uint16)

    ds = Dataset()
    meta = FileMetaDataset()
    sop_class = _CR_STORAGE if scanner["modality"] == "CR" else _DX_PRESENTATION
    sop_uid, study_uid, series_uid = _uid(rng), _uid(rng), _uid(rng)
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    meta.SourceApplicationEntityTitle = f"{site['code']}_PACS"
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop_uid
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = ds.AcquisitionDate = study_date.strftime("%Y%m%d")
    ds.InstanceCreationDate = ds.StudyDate
    hhmmss = f"{int(rng.integers(7, 20)):02d}{int(rng.integers(0, 60)):02d}{int(rng.integers(0, 60)):02d}"
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = ds.AcquisitionTime = hhmmss
    ds.AccessionNumber = f"{site['code']}{int(rng.integers(10**6, 10**7))}"
    ds.Modality = scanner["modality"]
    ds.Manufacturer = scanner["manufacturer"]
    ds.InstitutionName = site["name"]
    ds.InstitutionAddress = site["address"]
    ds.ReferringPhysicianName = "Dr^" + _person(rng, "M" if rng.random() < 0.5 else "F").split("^")[0]
    ds.StationName = f"{site['code']}-{scanner['modality']}{int(rng.integers(1, 4)):02d}"
    ds.StudyDescription = "THORAX PA"
    ds.SeriesDescription = "Thorax PA debout"
    ds.InstitutionalDepartmentName = "Radiologie"
    ds.OperatorsName = _person(rng, "F" if rng.random() < 0.6 else "M")
    ds.ManufacturerModelName = scanner["model"]
    ds.PatientName = patient["name"]
    ds.PatientID = patient["id"]
    ds.IssuerOfPatientID = site["code"]
    ds.PatientBirthDate = patient["birth"].strftime("%Y%m%d")
    ds.PatientSex = patient["sex"]
    ds.OtherPatientIDs = patient["cin"]
    ds.PatientAge = f"{patient['age']:03d}Y"
    ds.PatientAddress = patient["address"]
    ds.PatientTelephoneNumbers = patient["phone"]
    ds.BodyPartExamined = "CHEST"
    ds.DeviceSerialNumber = scanner["serial"]
    ds.SoftwareVersions = "VA20"
    ds.ProtocolName = "THORAX PA"
    ds.ViewPosition = "PA"
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
    block = ds.private_block(0x0029, "KITSYNTH 1.0", create=True)
    block.add_new(0x10, "LO", str(patient["name"]))
    block.add_new(0x11, "LO", f"{site['name']} / {ds.StationName}")
    if scanner["overlay"]:
        _overlay(ds, size, rng)
    ts = scanner["ts"]
    if ts == "1.2.840.10008.1.2.5":
        ds.compress("1.2.840.10008.1.2.5", stored, encoding_plugin="pylibjpeg" if _has_rle_plugin() else "pydicom",
                    generate_instance_uid=False)
    else:
        ds.file_meta.TransferSyntaxUID = ts
    return ds


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


BROKEN_KINDS = ("truncated_header", "truncated_pixels", "zero_byte", "not_dicom", "no_pixels", "absurd_size",
                "undecodable")


def _write_broken(kind, path, good_bytes, rng):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate

    if kind == "truncated_header":
        path.write_bytes(good_bytes[: int(rng.integers(400, 900))])
        return
    if kind == "truncated_pixels":
        path.write_bytes(good_bytes[: len(good_bytes) - int(rng.integers(100, 2000))])
        return
    if kind == "zero_byte":
        path.write_bytes(b"")
        return
    if kind == "not_dicom":
        path.write_text("Compte rendu: radiographie thoracique normale.\n")
        return
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    ds.PatientName, ds.PatientID = "Broken^File", f"BRK{int(rng.integers(10**5, 10**6))}"
    ds.StudyInstanceUID, ds.SOPInstanceUID = _uid(rng), _uid(rng)
    if kind == "no_pixels":
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.59"  # Key Object Selection Document
        ds.Modality = "KO"
    elif kind == "absurd_size":
        ds.SOPClassUID = _DX_PRESENTATION
        ds.Modality = "DX"
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows = ds.Columns = 65535
        ds.NumberOfFrames = 9999
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.PixelData = b"\x00" * 64
    elif kind == "undecodable":
        ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.50"  # JPEG Baseline
        ds.SOPClassUID = _DX_PRESENTATION
        ds.Modality = "DX"
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows = ds.Columns = 64
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.PixelData = encapsulate([b"\xff\xd8" + rng.integers(0, 256, 300, dtype=np.uint8).tobytes()])
        ds["PixelData"].VR = "OB"
    else:
        raise ParameterError(f"unknown broken-file kind {kind!r}")
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(path, enforce_file_format=True)


def synth_chest_xrays(
    out_dir,
    n_studies: int = 2000,
    image_size: int = 128,
    prevalence: float = 0.3,
    *,
    n_sites: int = 3,
    burned_in_fraction: float = 0.0,
    n_broken: int = 0,
    start_date: str = "2024-01-01",
    seed: int = 0,
) -> pd.DataFrame:
    """Write ``n_studies`` synthetic chest radiographs as DICOM files and return their labels.

    Parameters
    ----------
    out_dir : path
        Folder; files go to ``out_dir/<site code>/<accession>.dcm``, labels to
        ``out_dir/labels.csv`` and the broken-file list to
        ``out_dir/broken_files.csv``.
    n_studies : int
        Number of good studies (one PA image each).
    image_size : int, pixels
        Side of the square images, 32–1024.
    prevalence : float, 0–1
        Expected fraction of studies with an urgent finding (each study is
        positive with this probability; the three findings equally likely).
    n_sites : int, 1–5
        Simulated sites; each has two scanners, and scanners differ in
        modality, photometric interpretation, bit depth, transfer syntax,
        contrast and noise.
    burned_in_fraction : float, 0–1
        Fraction of studies whose pixels carry the patient's name and ID and
        whose Burned In Annotation is YES (they are withheld by de-identification).
    n_broken : int
        Extra broken files mixed in (truncated, zero-byte, not DICOM, no
        pixels, absurd size, undecodable, in turn).
    start_date : str, YYYY-MM-DD
        First possible study date; studies span one year from it.
    seed : int
        The same seed gives byte-identical files.

    Returns
    -------
    DataFrame
        One row per good study: ``StudyInstanceUID, label (1 = urgent), finding,
        site, scanner, sex, age_years, photometric, modality, burned_in, file``.

    Examples
    --------
    >>> import tempfile
    >>> labels = synth_chest_xrays(tempfile.mkdtemp(), n_studies=6, image_size=64, prevalence=0.5, seed=3)
    >>> sorted(labels.columns)[:4], len(labels)
    (['StudyInstanceUID', 'age_years', 'burned_in', 'file'], 6)
    """
    if not 1 <= n_studies <= 1_000_000:
        raise ParameterError(f"n_studies must be between 1 and 1,000,000, got {n_studies}")
    if not 32 <= image_size <= 1024:
        raise ParameterError(f"image_size must be between 32 and 1024 pixels, got {image_size}")
    if not 0.0 <= prevalence <= 1.0:
        raise ParameterError(f"prevalence must be between 0 and 1, got {prevalence}")
    if not 1 <= n_sites <= len(SITES):
        raise ParameterError(f"n_sites must be between 1 and {len(SITES)}, got {n_sites}")
    if not 0.0 <= burned_in_fraction <= 1.0:
        raise ParameterError(f"burned_in_fraction must be between 0 and 1, got {burned_in_fraction}")
    if n_broken < 0:
        raise ParameterError(f"n_broken must be >= 0, got {n_broken}")
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    start = dt.date.fromisoformat(start_date)
    sites = [{"name": n, "address": a, "code": c} for n, a, c in SITES[:n_sites]]
    scanners = []
    for k in range(len(SCANNERS)):
        s = dict(SCANNERS[k])
        s["serial"] = f"SN{int(rng.integers(10**6, 10**7))}"
        scanners.append(s)
    site_scanners = [(scanners[k % len(scanners)], scanners[(k + 2) % len(scanners)]) for k in range(n_sites)]
    # A pool of patients, some with several studies, so date shifts and pseudonyms can be checked per patient.
    n_patients = max(1, int(round(n_studies * 0.8)))
    patients = []
    for i in range(n_patients):
        sex = "F" if rng.random() < 0.5 else "M"
        age = int(rng.integers(18, 91))
        birth = start - dt.timedelta(days=int(age * 365.25 + rng.integers(0, 365)))
        patients.append({
            "name": _person(rng, sex), "id": f"P{int(rng.integers(10**6, 10**7))}", "sex": sex, "age": age,
            "birth": birth, "cin": f"{'ABCDEFGHJK'[int(rng.integers(0, 10))]}{int(rng.integers(10**5, 10**6))}",
            "address": f"{int(rng.integers(1, 200))} Rue {rng.choice(_LAST)}",
            "phone": f"06{int(rng.integers(10**7, 10**8))}", "site": int(rng.integers(0, n_sites)),
        })
    rows = []
    first_good = None
    for i in range(n_studies):
        patient = patients[i % n_patients] if i < n_patients else patients[int(rng.integers(0, n_patients))]
        site_idx = patient["site"]
        site = sites[site_idx]
        scanner = site_scanners[site_idx][int(rng.integers(0, 2))]
        positive = rng.random() < prevalence
        finding = FINDINGS[int(rng.integers(0, 3))] if positive else None
        image, _ = render_chest(rng, image_size, finding)
        burned = bool(rng.random() < burned_in_fraction)
        study_date = start + dt.timedelta(days=int(rng.integers(0, 365)))
        ds = make_dataset(rng, image, scanner=scanner, site=site, study_date=study_date, patient=patient,
                          burned_in=burned)
        rel = f"{site['code']}/{ds.AccessionNumber}.dcm"
        with atomic_path(out_dir / rel) as tmp:
            ds.save_as(tmp, enforce_file_format=True)
        if first_good is None:
            first_good = (out_dir / rel).read_bytes()
        rows.append({
            "StudyInstanceUID": str(ds.StudyInstanceUID), "label": int(positive), "finding": finding or "none",
            "site": site["name"], "scanner": f"{scanner['manufacturer']} {scanner['model']}",
            "sex": patient["sex"], "age_years": patient["age"], "photometric": scanner["photometric"],
            "modality": scanner["modality"], "burned_in": burned, "file": rel,
        })
    broken = []
    for j in range(n_broken):
        kind = BROKEN_KINDS[j % len(BROKEN_KINDS)]
        site = sites[j % n_sites]
        rel = f"{site['code']}/{site['code']}{int(rng.integers(10**6, 10**7))}.dcm"
        with atomic_path(out_dir / rel) as tmp:
            _write_broken(kind, tmp, first_good, rng)
        broken.append({"file": rel, "kind": kind})
    labels = pd.DataFrame(rows)
    with atomic_path(out_dir / "labels.csv") as tmp:
        labels.to_csv(tmp, index=False)
    broken_frame = pd.DataFrame(broken, columns=["file", "kind"])
    with atomic_path(out_dir / "broken_files.csv") as tmp:
        broken_frame.to_csv(tmp, index=False)
    labels.attrs["broken"] = broken_frame
    return labels
