"""Glue of the radiology triage notebook: parameters, inputs, splits (figures in :mod:`kit.medical.report_figures`).

The work itself lives in the modules (ingest, deid, train, evaluate,
worklist, onnx, gradcam); this file keeps each notebook cell a few lines.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kit.errors import InputDataError, ParameterError
from kit.medical.report_figures import (gradcam_examples, plot_calibration, plot_gradcam,  # noqa: F401
                                        plot_roc, plot_subgroups, plot_training, plot_waits)
from kit.i18n import N_, _
from kit.medical.wording import (SOURCE_EMBEDDED, SOURCE_USER, card_preview, data_lines,  # noqa: F401 (the notebook's)
                                  deid_summary, device_line, ece_line, fit_summary, gradcam_titles, int8_line,
                                  pacs_line, shown_quarantine, shown_subgroups, shown_waits, test_summary,
                                  waits_line, worklist_line)
from kit.params import LANG, Param, Spec

with warnings.catch_warnings():
    # Without ipywidgets tqdm.auto falls back to text bars (fine) but warns once, into the report.
    warnings.simplefilter("ignore")
    import tqdm.auto  # noqa: F401

EMBEDDED_STUDIES = 2000  # at scale 1; AUROC per seed: benchmarks/medical_synthetic_difficulty.py
EMBEDDED_IMAGE_SIZE = 128  # pixels stored in the embedded DICOM files
# Enriched in urgent studies (as reader-study test sets are): the operating point is chosen and
# checked on the urgent studies of the validation and test splits, whose count sets its precision.
EMBEDDED_PREVALENCE = 0.4
CACHE_ENV = "KIT_CACHE_DIR"
# Part of the cache folder's name: a set drawn by an earlier generator is not reused.
EMBEDDED_VERSION = "v2"
# Subgroup counts below this are shown as "<10", with no metric (aggregates only).
SUBGROUP_MIN_CELL = 10

PARAMETERS = Spec(
    (
        Param("dicom_dir", "path", None, N_("folder of DICOM files to triage; None for the embedded synthetic set")),
        Param("labels", "path", None, N_("CSV StudyInstanceUID,label (1 urgent) for dicom_dir: train and evaluate on it")),
        Param("target_sensitivity", "float", 0.9, N_("sensitivity of the operating point, chosen on validation data"),
              min=0.5, max=0.995),
        Param("operating_rule", "str", "lower_bound", N_("how the threshold meets target_sensitivity on validation: "
              "lower_bound (its 95 % Wilson lower bound does, a margin for sampling error) or quantile (its "
              "point estimate does)"), choices=("lower_bound", "quantile")),
        Param("image_size", "int", 64, N_("side the images are resized to for the classifier, pixels"), min=32, max=512),
        Param("epochs", "int", 8, N_("training epochs"), min=1, max=200),
        Param("device", "device", "auto", N_("auto, cpu or cuda (env KIT_DEVICE overrides)"), choices=("auto", "cpu", "cuda")),
        Param("output_dir", "output_dir", "outputs/radiology_triage", N_("folder for deid/, CSVs, model card, metrics")),
        Param("scale", "float", 1.0, N_("embedded set size: 1 is 2,000 studies (about 3 min on 2 cores)"),
              min=0.05, max=20.0),
        Param("model", "path", None, N_("checkpoint from an earlier run (model.pt), or torchxrayvision weights (a file "
              "as its cache names it, or that folder) to fine-tune here; None to train from scratch")),
        Param("deid_profile", "str", "basic", N_("PS3.15 Annex E: basic (Basic Profile alone), or basic plus options, "
              "comma-separated, e.g. basic,retain_patient_characteristics,retain_longitudinal_modified_dates; "
              "clean options: clean_pixel_data, clean_descriptors, clean_graphics, clean_structured_content; "
              "retain_safe_private keeps the private attributes of PS3.15 Table E.3.10-1")),
        Param("mask_burned_in", "bool", False, N_("the Clean Pixel Data option as a switch (True adds clean_pixel_data "
              "to deid_profile): text found in the pixels is masked (audited), BurnedInAnnotation set to NO, "
              "instead of the image being withheld")),
        Param("seed", "int", 0, N_("random seed (data, split, training, simulation)"), min=0),
        Param("pacs", "source", None, N_("PACS to triage instead of dicom_dir: DICOMweb root URL (login from ~/.netrc) or dimse://AET@host:port")),
        Param("pacs_query", "dict", {"date": "since_last_run", "modality": "CR,DX", "body_part": "CHEST"},
              N_("studies to fetch from pacs: date (since_last_run, all, YYYY-MM-DD[/YYYY-MM-DD]), modality, body_part")),
        Param("push_results", "bool", True, N_("store one DICOM SR per triaged study back into the pacs")),
        LANG,
    ),
    purpose="Triage chest radiographs: DICOM ingest, de-identification, an urgent-finding classifier and a "
            "prioritized worklist.",
)


def cache_root() -> Path:
    """Where embedded data sets are generated once (``$KIT_CACHE_DIR`` or ``~/.cache/sector-kit``)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "sector-kit")


def embedded_dicom_dir(scale: float = 1.0, seed: int = 0, cache_dir=None) -> Path:
    """The embedded synthetic PACS export, generated on first use and reused.

    ``round(2000 * scale)`` studies at 128 px over three sites, 40 % urgent, 1 % with
    burned-in names and one broken file of each kind, so the quarantine and
    the burned-in rule are exercised too. Generated into a temporary folder
    and renamed into place, so an interrupted run never leaves half a set.
    """
    from kit.medical.synthetic import BROKEN_KINDS, synth_chest_xrays

    n = max(20, int(round(EMBEDDED_STUDIES * scale)))
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    target = root / (f"radiology-synth-{EMBEDDED_VERSION}-n{n}-s{EMBEDDED_IMAGE_SIZE}-p{round(100 * EMBEDDED_PREVALENCE)}"
                     f"-seed{seed}")
    if (target / "labels.csv").exists():
        return target
    import shutil
    import tempfile

    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".radiology-synth-", dir=root))
    try:
        synth_chest_xrays(tmp, n_studies=n, image_size=EMBEDDED_IMAGE_SIZE, prevalence=EMBEDDED_PREVALENCE, n_sites=3,
                          burned_in_fraction=0.01, n_broken=len(BROKEN_KINDS), seed=seed)
        os.replace(tmp, target)
    except OSError:
        if not (target / "labels.csv").exists():  # another run finished first: use theirs
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


@dataclass
class Inputs:
    """The folders and labels a run works on.

    ``train_dir`` / ``train_labels``: studies the classifier is trained and
    evaluated on; ``triage_dir``: the folder de-identified and put on the worklist.
    """

    train_dir: Path | None
    train_labels: pd.Series | None
    triage_dir: Path
    source_message: tuple  # (msgid, fields): the data source, shown in the report's language
    fetched: object = None  # kit.medical.pacs.Fetched when the studies come from a PACS

    @property
    def source(self) -> str:
        """The data source in English, as the model card names it."""
        msgid, fields = self.source_message
        return msgid.format(**fields)

    @property
    def same_folder(self) -> bool:
        return self.train_dir is not None and Path(self.train_dir).resolve() == Path(self.triage_dir).resolve()


def resolve_inputs(p) -> Inputs:
    """Decide what to train on and what to triage from the parameters (reads the labels; writes nothing).

    - no ``dicom_dir``: the embedded set, for both;
    - ``dicom_dir`` and ``labels``: the user's studies, for both;
    - ``dicom_dir`` alone: triage it; train on the embedded set (or use ``model``);
    - ``pacs``: as ``dicom_dir`` alone, on the studies fetched from it (written to a temporary folder).
    """
    from kit.medical.dataset import read_labels
    from kit.medical.deid import secret_from_env
    from kit.medical.deid_profile import parse_deid_profile

    parse_deid_profile(p.deid_profile)  # a bad option stops the run before anything is written
    secret_from_env()  # so does a bad KIT_DEID_SECRET / KIT_DEID_SECRET_FILE
    if p.pacs is not None and (p.dicom_dir is not None or p.labels is not None):
        raise ParameterError(_("parameter 'pacs' replaces 'dicom_dir' and 'labels'; give either pacs or dicom_dir"))
    if p.labels is not None and p.dicom_dir is None:
        raise ParameterError(_("parameter 'labels' needs 'dicom_dir' (the folder the labels describe); give both"))
    if p.dicom_dir is not None and p.labels is not None:
        labels = read_labels(p.labels)
        return Inputs(Path(p.dicom_dir), labels, Path(p.dicom_dir), (SOURCE_USER, {}))
    embedded = embedded_dicom_dir(p.scale, p.seed)
    source = (SOURCE_EMBEDDED, {"n": int(round(EMBEDDED_STUDIES * p.scale)), "seed": p.seed})
    labels = read_labels(embedded / "labels.csv")
    if p.pacs is not None:
        from kit.medical.pacs_triage import fetch_for_run

        fetched = fetch_for_run(p)
        return Inputs(embedded, labels, fetched.root, source, fetched)
    return Inputs(embedded, labels, Path(p.dicom_dir) if p.dicom_dir is not None else embedded, source)


def attach_labels(table: pd.DataFrame, labels: pd.Series, what: str = "dicom_dir") -> np.ndarray:
    """Per-image 0/1 labels (−1 when the study has none); refuse a labels file that matches nothing."""
    y = table["study_uid"].astype(str).map(labels).fillna(-1).astype(int).to_numpy()
    if len(table) and (y >= 0).sum() == 0:
        raise InputDataError(_(
            "the labels match none of the {n} studies in {what}: key them by the original "
            "StudyInstanceUID (before de-identification)").format(n=len(table), what=what))
    if (y >= 0).sum() and len(np.unique(y[y >= 0])) < 2:
        raise InputDataError(_("the labels have only one class; training needs urgent (1) and non-urgent (0) studies"))
    return y


def split_by_patient(table: pd.DataFrame, fractions=(0.4, 0.3, 0.3), seed: int = 0) -> np.ndarray:
    """``"train"``, ``"val"`` or ``"test"`` per row, whole patients at a time (no leakage through repeat studies).

    Examples
    --------
    >>> t = pd.DataFrame({"patient_id": ["a", "a", "b", "c", "d", "e"]})
    >>> s = split_by_patient(t, seed=1)
    >>> bool(s[0] == s[1]), sorted(set(s)) == ["test", "train", "val"]
    (True, True)
    """
    if abs(sum(fractions) - 1) > 1e-9 or min(fractions) <= 0:
        raise ParameterError(f"split fractions must be positive and sum to 1, got {fractions}")
    key = table["patient_id"].astype(str)
    key = key.where(key != "", table.get("study_uid", key).astype(str))  # no patient id: each study alone
    patients = np.array(sorted(key.unique()))
    rng = np.random.default_rng(seed)
    rng.shuffle(patients)
    cut = np.cumsum(np.asarray(fractions[:2]) * len(patients)).round().astype(int)
    cut = np.clip(cut, 1, max(len(patients) - 1, 1))
    which = np.empty(len(patients), dtype=object)
    which[:cut[0]], which[cut[0]:cut[1]], which[cut[1]:] = "train", "val", "test"
    return key.map(dict(zip(patients, which))).to_numpy().astype(str)


def study_scores(table: pd.DataFrame, logits, temperature: float) -> pd.DataFrame:
    """One row per study: the highest-scoring image decides (``study_uid, logit, p_urgent``)."""
    from kit.medical.calibrate import apply_temperature

    frame = pd.DataFrame({"study_uid": table["study_uid"].astype(str).to_numpy(), "logit": np.asarray(logits)})
    out = frame.groupby("study_uid", sort=True, as_index=False)["logit"].max()
    out["p_urgent"] = apply_temperature(out["logit"], temperature)
    return out


def threads_for_torch() -> int:
    """Torch intra-op threads: one.

    The CNN is small: on a shared 2-core machine a second thread gains little
    when the machine is idle and costs several-fold when it is busy.
    """
    return 1




def load_model(path, backend, seed: int = 0):
    """The classifier ``model`` names, before any image is read.

    - ``None``: ``None`` (a network is trained here from scratch);
    - a checkpoint of an earlier run (``model.pt``): that classifier, fitted;
    - torchxrayvision weights (a file as its cache names it, or a folder laid
      out like ``~/.torchxrayvision/models_data/``): a
      :class:`kit.medical.xrv_finetune.XrvTriageClassifier` to fine-tune here,
      the weights checked now (read offline, every key into its network).
    """
    if path is None:
        return None
    from kit.medical import xrv, xrv_finetune
    from kit.medical.train import TriageClassifier

    if xrv.is_weights_path(path):
        xrv.load_xrv_model(path)  # a bad file stops the run before anything is written
        return xrv_finetune.XrvTriageClassifier(weights=str(path), backend=backend, seed=seed)
    from kit.io import read_torch_file

    state = read_torch_file(path, "model", "model.pt from an earlier run, or torchxrayvision weights (a file as "
                                          "its cache ~/.torchxrayvision/models_data/ names it, or that folder)")
    if isinstance(state, dict) and state.get("format") == xrv_finetune.CHECKPOINT_FORMAT:
        return xrv_finetune.XrvTriageClassifier.load(path, backend=backend)
    return TriageClassifier.load(path, backend=backend)


def is_fitted(clf) -> bool:
    """Whether ``clf`` is trained for urgent against routine (a loaded checkpoint is; torchxrayvision weights are not)."""
    return clf is not None and hasattr(clf, "model_")


def card_extras(clf) -> dict:
    """What the model card adds for open weights: what was trained and where the weights came from."""
    found = getattr(clf, "weights_file_", None)
    if found is None:
        return {}
    from kit.medical.xrv import weights_card

    return {"trainable": clf.trainable, "pretrained": weights_card(found)}


def onnx_images(clf) -> tuple[int, int]:
    """Validation images calibrating the int8 model, and test images timing throughput.

    Fewer for a DenseNet-121 or ResNet-50: each image costs a second of CPU,
    and the int8 calibration holds every intermediate activation of its batch.
    """
    return (16, 32) if hasattr(clf, "weights_file_") else (256, 512)


def pathology_table(clf, images, table: pd.DataFrame, studies: pd.DataFrame, new_id: pd.Series,
                    csv_path=None, top: int = 3) -> pd.DataFrame | None:
    """torchxrayvision's pathology outputs beside ours, one row per study (None for a kit-trained network).

    Per study (de-identified id), the image the urgent score comes from, our
    ``p_urgent``, then the ``top`` pathologies by torchxrayvision's
    probability (``op_threshs``-calibrated: 0.5 is its operating point); the
    CSV holds every pathology column.
    """
    if not hasattr(clf, "pathology_probabilities"):
        return None
    probs = clf.pathology_probabilities(images)
    frame = pd.concat([table[["study_uid"]].reset_index(drop=True).astype(str),
                       pd.Series(np.asarray(clf.decision_function(images)), name="logit"), probs], axis=1)
    frame = frame.sort_values("logit", ascending=False, kind="stable").drop_duplicates("study_uid")
    frame = studies[["study_uid", "p_urgent"]].merge(frame.drop(columns="logit"), on="study_uid")
    frame.insert(0, "deid_study_uid", frame.pop("study_uid").map(new_id))
    if csv_path is not None:
        from kit.io import atomic_path

        with atomic_path(csv_path) as tmp:
            frame.round(4).to_csv(tmp, index=False)
    names = list(probs.columns)
    ranked = np.argsort(-frame[names].to_numpy(), axis=1, kind="stable")[:, :top]
    view = frame[["deid_study_uid", "p_urgent"]].copy()
    for k in range(min(top, len(names))):
        view[f"xrv_{k + 1}"] = [f"{names[j]} {frame[names[j]].iloc[i]:.2f}" for i, j in enumerate(ranked[:, k])]
    return view.sort_values("p_urgent", ascending=False, kind="stable").reset_index(drop=True)


# -- steps -----------------------------------------------------------------------------------------
def require_images(result, what: str) -> None:
    """Refuse a folder with no usable image, naming the commonest reason."""
    if len(result.table) == 0:
        reason = result.quarantine.reason.iloc[0] if len(result.quarantine) else "no files"
        raise InputDataError(_("{what} holds no usable DICOM image ({n} files set aside, e.g. {reason}); give the "
                               "folder exported from the PACS").format(what=what, n=len(result.quarantine), reason=reason))


def deidentify_into(files, root, out_dir, audit_csv, profile: str = "basic", mask_burned_in: bool = False):
    """De-identify ``files`` into a fresh ``out_dir`` (an earlier run's ``deid/`` is replaced, not mixed in).

    The secret comes from ``KIT_DEID_SECRET`` or ``KIT_DEID_SECRET_FILE``
    (the same pseudonyms and UIDs in every run: follow-up over time); without
    either a random one is drawn and the run's pseudonyms are single-use
    (``result.notice`` says which). It is never written; the returned table
    (original <-> new UIDs) stays in memory and is never written here. Text
    found in the pixels withholds the image, or is masked with ``mask_burned_in``
    (the same as ``clean_pixel_data`` in ``profile``).
    """
    import shutil
    import tempfile

    from kit.medical.deid import Deidentifier, secret_from_env

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".deid-", dir=out_dir.parent))
    try:
        deid = Deidentifier(secret=secret_from_env(), profile=profile, mask_burned_in=mask_burned_in)
        result = deid.run(files, work, root=root, audit_csv=audit_csv, progress=True)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(work, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def quarantine_summary(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Files set aside per reason (the text before the first colon)."""
    kind = quarantine.reason.astype(str).str.split(":").str[0].str.strip()
    return kind.value_counts().rename_axis("reason").reset_index(name="files")


def finding_kinds(folder, study_uids):
    """Finding kind per study from the folder's ``labels.csv`` when it has a ``finding`` column, else None."""
    path = Path(folder) / "labels.csv" if folder is not None else None
    if path is None or not path.exists():
        return None
    table = pd.read_csv(path, dtype={"StudyInstanceUID": str})
    if "finding" not in table or "StudyInstanceUID" not in table:
        return None
    return pd.Series(study_uids).astype(str).map(table.set_index("StudyInstanceUID").finding).fillna("").to_numpy()
