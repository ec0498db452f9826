"""Broken files of the kinds a real PACS export holds, for the ingest's quarantine to catch.

Truncated headers or pixels, zero-byte files, text saved as ``.dcm``, a data
set without pixels, a header claiming an absurd size, and a JPEG codestream
that cannot be decoded.
"""
from __future__ import annotations

import numpy as np

from kit.errors import ParameterError
from kit.medical.synthetic.dicom import DX_PRESENTATION
from kit.medical.synthetic.identities import fake_uid

__all__ = ["BROKEN_KINDS", "write_broken"]

BROKEN_KINDS = ("truncated_header", "truncated_pixels", "zero_byte", "not_dicom", "no_pixels", "absurd_size",
                "undecodable")


def write_broken(kind: str, path, good_bytes: bytes, rng) -> None:
    """Write one broken file of ``kind`` (one of :data:`BROKEN_KINDS`) to ``path``.

    ``good_bytes`` is a valid file the truncated kinds cut; ``rng`` draws
    the cut, the IDs and the corrupt codestream.
    """
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
    ds.StudyInstanceUID, ds.SOPInstanceUID = fake_uid(rng), fake_uid(rng)
    if kind == "no_pixels":
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.59"  # Key Object Selection Document
        ds.Modality = "KO"
    elif kind == "absurd_size":
        ds.SOPClassUID = DX_PRESENTATION
        ds.Modality = "DX"
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows = ds.Columns = 65535
        ds.NumberOfFrames = 9999
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.PixelData = b"\x00" * 64
    elif kind == "undecodable":
        ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.50"  # JPEG Baseline
        ds.SOPClassUID = DX_PRESENTATION
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
