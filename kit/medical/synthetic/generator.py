"""Writing a synthetic PACS export: studies of fake patients at several sites, their labels and broken files.

Every draw comes from one generator seeded by ``seed``, in a fixed order
(scanner serials, patients, then study by study, then the broken files), so
the same arguments give byte-identical files.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from kit.errors import ParameterError
from kit.io import atomic_path
from kit.medical.synthetic.anatomy import FINDINGS, render_chest
from kit.medical.synthetic.broken import BROKEN_KINDS, write_broken
from kit.medical.synthetic.dicom import SCANNERS, make_dataset
from kit.medical.synthetic.identities import FAMILY_NAMES, SITES, fake_person

__all__ = ["LABEL_NOISE", "PORTABLE_SHARE", "synth_chest_xrays"]

# Share of each site's films taken at the bedside (AP, portable) for a 50-year-old; the third site
# admits inpatients. Older patients are more often imaged in bed.
PORTABLE_SHARE = (0.06, 0.10, 0.35, 0.12, 0.08)
# Reference labels that disagree with what the film shows (a missed or over-called finding), as
# single-reader labels do; declared in the dataset card.
LABEL_NOISE = 0.02


def _check_arguments(n_studies, image_size, prevalence, n_sites, burned_in_fraction, n_broken, label_noise) -> None:
    if not 0.0 <= label_noise <= 0.5:
        raise ParameterError(f"label_noise must be between 0 and 0.5, got {label_noise}")
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


def _site_scanners(rng, n_sites: int) -> list:
    """Two scanners per site (each scanner with its serial number)."""
    scanners = []
    for k in range(len(SCANNERS)):
        s = dict(SCANNERS[k])
        s["serial"] = f"SN{int(rng.integers(10**6, 10**7))}"
        scanners.append(s)
    return [(scanners[k % len(scanners)], scanners[(k + 2) % len(scanners)]) for k in range(n_sites)]


def _patients(rng, n_studies: int, n_sites: int, start: dt.date) -> list:
    """A pool of patients, some with several studies, so date shifts and pseudonyms can be checked per patient."""
    n_patients = max(1, int(round(n_studies * 0.8)))
    patients = []
    for i in range(n_patients):
        sex = "F" if rng.random() < 0.5 else "M"
        age = int(rng.integers(18, 91))
        birth = start - dt.timedelta(days=int(age * 365.25 + rng.integers(0, 365)))
        patients.append({
            "name": fake_person(rng, sex), "id": f"P{int(rng.integers(10**6, 10**7))}", "sex": sex, "age": age,
            "birth": birth, "cin": f"{'ABCDEFGHJK'[int(rng.integers(0, 10))]}{int(rng.integers(10**5, 10**6))}",
            "address": f"{int(rng.integers(1, 200))} Rue {rng.choice(FAMILY_NAMES)}",
            "phone": f"06{int(rng.integers(10**7, 10**8))}", "site": int(rng.integers(0, n_sites)),
        })
    return patients


def _draw_film(rng, patient, positive: bool, severity_beta, min_severity: float = 0.0):
    """View, finding, severity and exposure of one film: ``view, finding, severity, exposure``."""
    p_ap = min(0.9, PORTABLE_SHARE[patient["site"] % len(PORTABLE_SHARE)] * (0.4 + patient["age"] / 75))
    view = "AP" if rng.random() < p_ap else "PA"
    finding = FINDINGS[int(rng.integers(0, 3))] if positive else None
    severity = min_severity + (1 - min_severity) * float(rng.beta(*severity_beta)) if positive else 0.0
    exposure = {"gain": rng.uniform(0.9, 1.1), "gamma": rng.uniform(0.85, 1.15), "noise": rng.uniform(0.8, 1.15)}
    if view == "AP":  # no grid, a lower dose: haze and noise
        exposure.update(scatter=rng.uniform(0.1, 0.3), noise=exposure["noise"] * 1.6)
    return view, finding, severity, exposure


def _write_studies(out_dir: Path, rng, n_studies, patients, sites, site_scanners, *, image_size, prevalence,
                   burned_in_fraction, start, label_noise=LABEL_NOISE, severity_beta=(3.0, 1.0), min_severity=0.0):
    """Draw, render and write every good study; returns the label rows and the first file's bytes."""
    n_patients = len(patients)
    rows = []
    first_good = None
    for i in range(n_studies):
        patient = patients[i % n_patients] if i < n_patients else patients[int(rng.integers(0, n_patients))]
        site_idx = patient["site"]
        site = sites[site_idx]
        scanner = site_scanners[site_idx][int(rng.integers(0, 2))]
        positive = bool(rng.random() < prevalence)
        flipped = bool(rng.random() < label_noise)
        view, finding, severity, exposure = _draw_film(rng, patient, positive, severity_beta, min_severity)
        image, _ = render_chest(rng, image_size, finding, severity=severity, age_years=patient["age"],
                                sex=patient["sex"], view=view)
        burned = bool(rng.random() < burned_in_fraction)
        study_date = start + dt.timedelta(days=int(rng.integers(0, 365)))
        ds = make_dataset(rng, image, scanner=scanner, site=site, study_date=study_date, patient=patient,
                          burned_in=burned, view=view, exposure=exposure)
        rel = f"{site['code']}/{ds.AccessionNumber}.dcm"
        with atomic_path(out_dir / rel) as tmp:
            ds.save_as(tmp, enforce_file_format=True)
        if first_good is None:
            first_good = (out_dir / rel).read_bytes()
        rows.append({
            "StudyInstanceUID": str(ds.StudyInstanceUID), "label": int(positive != flipped),
            "finding": finding or "none", "severity": round(severity, 3), "label_flipped": flipped, "view": view,
            "site": site["name"], "scanner": f"{scanner['manufacturer']} {scanner['model']}",
            "sex": patient["sex"], "age_years": patient["age"], "photometric": scanner["photometric"],
            "modality": scanner["modality"], "burned_in": burned, "file": rel,
        })
    return rows, first_good


def _write_broken_files(out_dir: Path, rng, n_broken: int, sites, good_bytes: bytes) -> list:
    """``n_broken`` broken files, the kinds in turn, spread over the sites; returns their rows."""
    broken = []
    for j in range(n_broken):
        kind = BROKEN_KINDS[j % len(BROKEN_KINDS)]
        site = sites[j % len(sites)]
        rel = f"{site['code']}/{site['code']}{int(rng.integers(10**6, 10**7))}.dcm"
        with atomic_path(out_dir / rel) as tmp:
            write_broken(kind, tmp, good_bytes, rng)
        broken.append({"file": rel, "kind": kind})
    return broken


def synth_chest_xrays(
    out_dir,
    n_studies: int = 2000,
    image_size: int = 128,
    prevalence: float = 0.3,
    *,
    n_sites: int = 3,
    burned_in_fraction: float = 0.0,
    n_broken: int = 0,
    label_noise: float = LABEL_NOISE,
    min_severity: float = 0.0,
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
        positive with this probability; the three findings equally likely,
        their severity drawn from Beta(3, 1): most clear, a tail of subtle ones).
    n_sites : int, 1–5
        Simulated sites; each has two scanners, and scanners differ in
        modality, photometric interpretation, bit depth, transfer syntax,
        contrast and noise. Sites differ in their share of bedside AP films
        (:data:`PORTABLE_SHARE`, more for older patients), which are hazier,
        noisier and cluttered with leads and lines.
    burned_in_fraction : float, 0–1
        Fraction of studies whose pixels carry the patient's name and ID and
        whose Burned In Annotation is YES (they are withheld by de-identification).
    label_noise : float, 0–0.5
        Probability that a study's ``label`` disagrees with its film (a missed or
        over-called finding, as single-reader labels have); ``finding`` and
        ``severity`` always describe the film, ``label_flipped`` marks these studies.
    min_severity : float, 0–1
        Floor of the findings' severity (drawn in ``[min_severity, 1]``): 0 for
        the full range, higher for an easier set (a pipeline test, a first look).
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
        One row per good study: ``StudyInstanceUID, label (1 = urgent, the reference
        reader's), finding, severity, label_flipped, view, site, scanner, sex,
        age_years, photometric, modality, burned_in, file``.

    Examples
    --------
    >>> import tempfile
    >>> labels = synth_chest_xrays(tempfile.mkdtemp(), n_studies=6, image_size=64, prevalence=0.5, seed=3)
    >>> sorted(labels.columns)[:4], len(labels)
    (['StudyInstanceUID', 'age_years', 'burned_in', 'file'], 6)
    """
    _check_arguments(n_studies, image_size, prevalence, n_sites, burned_in_fraction, n_broken, label_noise)
    if not 0.0 <= min_severity <= 1.0:
        raise ParameterError(f"min_severity must be between 0 and 1, got {min_severity}")
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    start = dt.date.fromisoformat(start_date)
    sites = [{"name": n, "address": a, "code": c} for n, a, c in SITES[:n_sites]]
    site_scanners = _site_scanners(rng, n_sites)
    patients = _patients(rng, n_studies, n_sites, start)
    rows, first_good = _write_studies(out_dir, rng, n_studies, patients, sites, site_scanners,
                                      image_size=image_size, prevalence=prevalence,
                                      burned_in_fraction=burned_in_fraction, start=start, label_noise=label_noise,
                                      min_severity=min_severity)
    broken = _write_broken_files(out_dir, rng, n_broken, sites, first_good)
    labels = pd.DataFrame(rows)
    with atomic_path(out_dir / "labels.csv") as tmp:
        labels.to_csv(tmp, index=False)
    broken_frame = pd.DataFrame(broken, columns=["file", "kind"])
    with atomic_path(out_dir / "broken_files.csv") as tmp:
        broken_frame.to_csv(tmp, index=False)
    labels.attrs["broken"] = broken_frame
    return labels
