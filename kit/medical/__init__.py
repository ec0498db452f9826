"""Radiology: DICOM ingest with quarantine, PS3.15 Annex E de-identification, synthetic chest radiographs.

- :func:`ingest_folder` validates and decodes a PACS export, setting bad files aside with a reason.
- :class:`Deidentifier` / :func:`deidentify_folder` apply the Basic Application Level Confidentiality Profile
  and the options chosen; :func:`secret_from_env` reads the persistent secret (``KIT_DEID_SECRET``).
- :func:`synth_chest_xrays` writes labelled synthetic chest radiographs as DICOM files.
- :class:`DicomImageDataset` serves ingested images as dicts to a classifier.
"""
from kit.medical.dataset import DicomImageDataset, read_labels
from kit.medical.deid import Deidentifier, DeidResult, Withheld, deidentify_folder, secret_from_env
from kit.medical.ingest import IngestResult, ingest_folder, load_image, write_quarantine_csv
from kit.medical.pixels import display_image, window_to_unit
from kit.medical.reader import QuarantineError, read_image_file
from kit.medical.synthetic import render_chest, synth_chest_xrays

__all__ = [
    "DeidResult",
    "Deidentifier",
    "DicomImageDataset",
    "IngestResult",
    "QuarantineError",
    "Withheld",
    "deidentify_folder",
    "display_image",
    "ingest_folder",
    "load_image",
    "read_image_file",
    "read_labels",
    "render_chest",
    "secret_from_env",
    "synth_chest_xrays",
    "window_to_unit",
    "write_quarantine_csv",

]

# The classifier side needs Torch: imported on first use so the ingest and de-identification
# functions above stay light.
_LAZY = {
    "TriageClassifier": "kit.medical.train",
    "XrvTriageClassifier": "kit.medical.xrv_finetune",
    "simulate_shifts": "kit.medical.worklist",
    "triage_worklist": "kit.medical.worklist",
    "grad_cam": "kit.medical.gradcam",
    "model_card": "kit.medical.card",
}
_SUBMODULES = ("augment", "calibrate", "card", "evaluate", "gradcam", "model", "notebook", "onnx", "train", "worklist",
               "xrv", "xrv_finetune")


def __getattr__(name):
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"kit.medical.{name}")
    raise AttributeError(f"module 'kit.medical' has no attribute {name!r}")
