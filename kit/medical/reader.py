"""Read one DICOM file and decide whether it is a usable image, with a reason if not.

pydicom is lenient on purpose: a file cut inside its header reads
"successfully" as a partial data set, and a header may claim any image size.
:func:`read_image_file` adds the checks a batch ingest needs before it trusts
a file: a walk over the raw element lengths to find truncation, a size limit
applied before any pixel buffer is allocated, and decoding inside a guard so
an unsupported or corrupt codestream becomes a reason, not a crash.
"""
from __future__ import annotations

import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# VRs whose explicit-VR header has 2 reserved bytes and a 4-byte length (PS3.5 7.1.2).
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_PIXEL_DATA = 0x7FE00010

DEFAULT_MAX_DECODED_BYTES = 512 * 1024**2
"""Largest decoded pixel buffer accepted, bytes (512 MiB: a 43 × 43 cm detector at 0.1 mm is ~37 MB)."""


class QuarantineError(Exception):
    """A file is set aside; the message is the one-line reason written to ``quarantine.csv``."""


@dataclass
class ImageFile:
    """A validated, decoded DICOM image."""

    path: Path
    dataset: object
    pixels: np.ndarray
    n_frames: int


def _tag_at(buf: bytes, pos: int) -> int:
    group, elem = struct.unpack_from("<HH", buf, pos)
    return (group << 16) | elem


class _Truncated(Exception):
    pass


def _walk(buf: bytes, pos: int, end: int, explicit: bool, stop_at: int | None = None) -> int:
    """Step over little-endian data elements from ``pos``; raise _Truncated if one runs past ``end``.

    Returns the position after the last element (or of the item/sequence
    delimiter that closed an undefined-length context).
    """
    while pos < end:
        if pos + 8 > end:
            raise _Truncated(f"element header at byte {pos} is cut")
        tag = _tag_at(buf, pos)
        if tag in (_ITEM_END, _SEQ_END):
            return pos + 8
        if tag == _ITEM:
            length = struct.unpack_from("<I", buf, pos + 4)[0]
            pos += 8
            if length == _UNDEFINED:
                pos = _walk(buf, pos, end, explicit, stop_at=_ITEM_END)
            else:
                if pos + length > end:
                    raise _Truncated(f"item at byte {pos - 8} declares {length} bytes, past the end")
                pos += length
            continue
        if explicit:
            vr = buf[pos + 4 : pos + 6]
            if vr in _LONG_VRS:
                if pos + 12 > end:
                    raise _Truncated(f"element header at byte {pos} is cut")
                length = struct.unpack_from("<I", buf, pos + 8)[0]
                pos += 12
            else:
                length = struct.unpack_from("<H", buf, pos + 6)[0]
                pos += 8
        else:
            vr = None
            length = struct.unpack_from("<I", buf, pos + 4)[0]
            pos += 8
        if length == _UNDEFINED:
            # Undefined length: a sequence, or encapsulated pixel data (items of fragments).
            inner_explicit = explicit and tag != _PIXEL_DATA
            pos = _walk(buf, pos, end, inner_explicit, stop_at=_SEQ_END)
            continue
        if pos + length > end:
            raise _Truncated(
                f"element ({tag >> 16:04X},{tag & 0xFFFF:04X}) at byte {pos} declares {length} bytes "
                f"but only {end - pos} remain"
            )
        pos += length
    if stop_at is not None:
        raise _Truncated("an undefined-length sequence or pixel data has no closing delimiter")
    return pos


def check_complete(path, transfer_syntax: str | None) -> str | None:
    """Return why ``path`` looks truncated, or None when every element fits in the file.

    Only little-endian, non-deflated files are walked (the transfer syntaxes
    nearly every PACS exports); others return None and rely on the pixel
    length checks.
    """
    buf = Path(path).read_bytes()
    explicit = transfer_syntax != "1.2.840.10008.1.2"
    if len(buf) < 132 or buf[128:132] != b"DICM":
        if len(buf) >= 2 and struct.unpack_from("<H", buf, 0)[0] == 0x0002:
            return None  # preamble-less with a meta group: mixed encodings, not walked
        start = 0
    else:
        try:
            start = _meta_end(buf)
        except (_Truncated, struct.error) as exc:
            return f"truncated file meta: {exc}"
    if transfer_syntax in ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"):
        return None  # deflated or big endian: not walked here
    try:
        _walk(buf, start, len(buf), explicit)
    except _Truncated as exc:
        return f"truncated: {exc} (file is {len(buf)} bytes)"
    except struct.error as exc:  # a header that cannot even be unpacked
        return f"truncated: {exc}"
    return None


def _meta_end(buf: bytes) -> int:
    # The group length (0002,0000) says where the file meta ends; check it fits.
    if len(buf) < 144 or _tag_at(buf, 132) != 0x00020000:
        # No group length: walk group 0002 elements one by one.
        pos = 132
        while pos + 8 <= len(buf) and struct.unpack_from("<H", buf, pos)[0] == 0x0002:
            pos = _walk_one(buf, pos)
        return pos
    meta_len = struct.unpack_from("<I", buf, 140)[0]
    end = 144 + meta_len
    if end > len(buf):
        raise _Truncated(f"group length says {meta_len} bytes but the file has {len(buf) - 144}")
    _walk(buf, 144, end, explicit=True)
    return end


def _walk_one(buf: bytes, pos: int) -> int:
    vr = buf[pos + 4 : pos + 6]
    if vr in _LONG_VRS:
        length = struct.unpack_from("<I", buf, pos + 8)[0]
        pos += 12
    else:
        length = struct.unpack_from("<H", buf, pos + 6)[0]
        pos += 8
    if pos + length > len(buf):
        raise _Truncated(f"file meta element at byte {pos} runs past the end")
    return pos + length


def expected_pixel_bytes(ds) -> int:
    """Bytes the decoded pixel buffer will take, from Rows, Columns, frames, samples and Bits Allocated."""
    rows, cols = int(ds.Rows), int(ds.Columns)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    bits = int(ds.BitsAllocated)
    itemsize = 1 if bits <= 8 else (2 if bits <= 16 else (4 if bits <= 32 else 8))
    if bits == 1:
        return (rows * cols * frames * samples + 7) // 8
    return rows * cols * frames * samples * itemsize


def read_image_file(path, max_decoded_bytes: int = DEFAULT_MAX_DECODED_BYTES) -> ImageFile:
    """Read, validate and decode one DICOM image, or raise QuarantineError with the reason.

    Parameters
    ----------
    path : str or Path
    max_decoded_bytes : int, bytes
        Refuse headers whose decoded pixels would exceed this, before decoding.

    Returns
    -------
    ImageFile
        ``pixels`` is the first frame (rows × columns, or × 3 for colour).

    Raises
    ------
    QuarantineError
        Zero-byte, not DICOM, truncated, no Pixel Data, absurd size,
        inconsistent header or undecodable pixels; the message says which.
    """
    path = Path(path)
    size = _file_size(path)
    ds = _read_dataset(path)
    ts = str(ds.file_meta.get("TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else ""
    why = check_complete(path, ts or None)
    if why:
        raise QuarantineError(why)
    _require_pixel_data(ds, size)
    rows, cols, need = _check_pixel_header(ds, max_decoded_bytes)
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    pixels = _decode_first_frame(ds, n_frames, need, ts)
    if pixels.shape[:2] != (rows, cols):
        raise QuarantineError(f"undecodable: decoded shape {pixels.shape} does not match {rows} × {cols}")
    return ImageFile(path=path, dataset=ds, pixels=pixels, n_frames=n_frames)


def _file_size(path: Path) -> int:
    """Size in bytes; an unreadable or zero-byte file is quarantined."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise QuarantineError(f"unreadable: {exc.strerror}") from None
    if size == 0:
        raise QuarantineError("zero-byte file")
    return size


def _read_dataset(path: Path):
    """pydicom's read, with its end-of-file warnings and every parse error turned into a reason."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = pydicom.dcmread(path)
        for w in caught:
            text = str(w.message)
            if "End of file" in text or "before delimiter" in text:
                raise QuarantineError(f"truncated: {_short(Exception(text.split(' in file ')[0]))}")
    except QuarantineError:
        raise
    except InvalidDicomError:
        ds = _read_without_preamble(path)
    except (OSError, EOFError, ValueError, KeyError, struct.error, NotImplementedError) as exc:
        raise QuarantineError(f"unreadable DICOM: {type(exc).__name__}: {_short(exc)}") from None
    except Exception as exc:  # pydicom raises many types on corrupt input; a batch must go on
        raise QuarantineError(f"unreadable DICOM: {type(exc).__name__}: {_short(exc)}") from None
    return ds


def _require_pixel_data(ds, size: int) -> None:
    """Quarantine a data set without integer Pixel Data (cut before it, not an image, or a parametric map)."""
    if len(ds) == 0:
        raise QuarantineError(f"truncated: no data elements after the file meta (file is {size} bytes)")
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        sop = ds.get("SOPClassUID")
        name = getattr(sop, "name", None) or str(sop or "unknown SOP class")
        if "Image Storage" in name or "Rows" in ds:
            # A file cut exactly between two elements parses cleanly: only the missing pixels tell.
            raise QuarantineError(
                f"truncated: an image header ({name}) that ends at byte {size} before any Pixel Data"
            )
        raise QuarantineError(f"no pixel data (not an image: {name})")
    if "PixelData" not in ds:
        raise QuarantineError("float pixel data (parametric map), not a radiograph")


def _check_pixel_header(ds, max_decoded_bytes: int) -> tuple[int, int, int]:
    """Check the image header against itself and the size limit before decoding: ``rows, cols, bytes needed``."""
    for keyword in ("Rows", "Columns", "BitsAllocated", "PhotometricInterpretation"):
        if ds.get(keyword) in (None, ""):
            raise QuarantineError(f"inconsistent header: Pixel Data present but {keyword} missing")
    rows, cols = int(ds.Rows), int(ds.Columns)
    if rows < 1 or cols < 1:
        raise QuarantineError(f"inconsistent header: Rows × Columns = {rows} × {cols}")
    if int(ds.BitsAllocated) not in (1, 8, 16, 32, 64):
        raise QuarantineError(f"inconsistent header: Bits Allocated = {ds.BitsAllocated}")
    need = expected_pixel_bytes(ds)
    if need > max_decoded_bytes:
        raise QuarantineError(
            f"refused: header claims {rows} × {cols} × {int(ds.get('NumberOfFrames', 1) or 1)} frames "
            f"= {need / 1024**2:.0f} MiB of pixels, over the {max_decoded_bytes / 1024**2:.0f} MiB limit"
        )
    try:
        compressed = ds.file_meta.TransferSyntaxUID.is_compressed
    except AttributeError:
        compressed = False
    if not compressed:
        have = len(ds.PixelData)
        if have < need:
            raise QuarantineError(f"truncated: Pixel Data has {have} bytes, header needs {need}")
    return rows, cols, need


def _decode_first_frame(ds, n_frames: int, need: int, ts: str) -> np.ndarray:
    """Decode the first frame; a codec failure or a lack of memory becomes a reason."""
    try:
        return ds.pixel_array if n_frames == 1 else _first_frame(ds)
    except MemoryError:
        raise QuarantineError(f"refused: decoding needs more memory than is free ({need / 1024**2:.0f} MiB)") from None
    except Exception as exc:
        name = getattr(ds.file_meta.get("TransferSyntaxUID"), "name", ts) if hasattr(ds, "file_meta") else ts
        raise QuarantineError(f"undecodable ({name}): {type(exc).__name__}: {_short(exc)}") from None


def _first_frame(ds) -> np.ndarray:
    from pydicom.pixels import pixel_array

    return pixel_array(ds, index=0)


def _read_without_preamble(path: Path):
    """Accept DICOM written without the 128-byte preamble (old exports), refuse anything else."""
    import pydicom

    head = path.read_bytes()[:8]
    # A preamble-less data set starts with a group 0002 or 0008 element (either byte order).
    if len(head) < 8 or struct.unpack_from("<H", head, 0)[0] not in (0x0002, 0x0008, 0x0200, 0x0800):
        raise QuarantineError("not a DICOM file (no 'DICM' prefix and no data element at the start)")
    try:
        ds = pydicom.dcmread(path, force=True)
    except Exception as exc:
        raise QuarantineError(f"not a DICOM file: {type(exc).__name__}: {_short(exc)}") from None
    if "SOPClassUID" not in ds:
        raise QuarantineError("not a DICOM file (no 'DICM' prefix and no SOP Class UID)")
    if not hasattr(ds, "file_meta") or "TransferSyntaxUID" not in ds.file_meta:
        from pydicom.dataset import FileMetaDataset
        from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

        meta = getattr(ds, "file_meta", None) or FileMetaDataset()
        if not ds.original_encoding[1]:
            meta.TransferSyntaxUID = ExplicitVRBigEndian
        else:
            meta.TransferSyntaxUID = ImplicitVRLittleEndian if ds.original_encoding[0] else ExplicitVRLittleEndian
        ds.file_meta = meta
    return ds


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:160] + ("…" if len(text) > 160 else "")
