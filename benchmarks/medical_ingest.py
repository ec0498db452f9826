"""DICOM ingest plus de-identification, files per second, on a generated folder.

Run:  python benchmarks/medical_ingest.py [--studies 1000] [--size 256] [--image-size 128]

Three timings on the same synthetic PACS export (mixed CR/DX, MONOCHROME1/2,
implicit/explicit little endian, deflate and RLE, a few broken files):

- peer: bare pydicom, ``dcmread`` + ``pixel_array`` per file (no validation,
  no display mapping, no resizing, no quarantine): the floor any ingest pays;
- kit ingest: :func:`kit.medical.ingest_folder` (truncation walk, size guard,
  decode, modality/VOI/photometric mapping, resize to ``--image-size``);
- kit de-identification: :meth:`kit.medical.Deidentifier.run` on the good files
  (read, Annex E walk, write).

It also times the generator itself (``--synth-studies`` at 128 px).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=1000)
    parser.add_argument("--size", type=int, default=256, help="stored image side, pixels")
    parser.add_argument("--image-size", type=int, default=128, help="ingest output side, pixels")
    parser.add_argument("--synth-studies", type=int, default=2000, help="studies for the generator timing")
    args = parser.parse_args(argv)

    import pydicom

    from kit.medical import Deidentifier, ingest_folder, synth_chest_xrays

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        synth_chest_xrays(tmp / "synth128", n_studies=args.synth_studies, image_size=128, n_sites=5, seed=0)
        synth_s = time.perf_counter() - t0
        print(f"generator: {args.synth_studies} studies at 128 px in {synth_s:.1f} s "
              f"({args.synth_studies / synth_s:.0f} studies/s)")

        src = tmp / "pacs"
        synth_chest_xrays(src, n_studies=args.studies, image_size=args.size, n_sites=5, n_broken=14,
                          burned_in_fraction=0.02, seed=1)
        files = sorted(p for p in src.rglob("*.dcm"))

        t0 = time.perf_counter()
        n_ok = 0
        for path in files:
            try:
                pydicom.dcmread(path).pixel_array
                n_ok += 1
            except Exception:
                pass
        peer_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        result = ingest_folder(src, image_size=args.image_size)
        ingest_s = time.perf_counter() - t0

        good = [result.root / f for f in result.table["file"]]
        t0 = time.perf_counter()
        deid = Deidentifier(secret=None).run(good, tmp / "deid", root=result.root, audit_csv=tmp / "deid_audit.csv")
        deid_s = time.perf_counter() - t0

    n = len(files)
    print(f"folder: {n} files ({len(result.table)} good, {len(result.quarantine)} quarantined), "
          f"{args.size} px stored, ingest to {args.image_size} px")
    print(f"peer  pydicom dcmread+pixel_array : {n / peer_s:8.1f} files/s  ({n_ok} decoded)")
    print(f"kit   ingest_folder               : {n / ingest_s:8.1f} files/s  "
          f"(ratio to peer {peer_s / ingest_s:.2f}x)")
    print(f"kit   de-identification           : {len(good) / deid_s:8.1f} files/s  "
          f"({len(deid.table)} written, {len(deid.quarantine)} withheld, {len(deid.audit)} audit rows)")
    total = ingest_s + deid_s
    print(f"kit   ingest + de-identification  : {n / total:8.1f} files/s  "
          f"(ratio to bare pydicom read {peer_s / total:.2f}x)")


if __name__ == "__main__":
    main()
