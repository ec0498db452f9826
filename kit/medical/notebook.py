"""Glue of the radiology triage notebook: parameters, inputs, splits, figures.

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
from kit.params import Param, Spec

with warnings.catch_warnings():
    # Without ipywidgets tqdm.auto falls back to text bars (fine) but warns once, into the report.
    warnings.simplefilter("ignore")
    import tqdm.auto  # noqa: F401

EMBEDDED_STUDIES = 2000  # at scale 1; measured at this size: AUROC 0.977 in about 155 CPU-seconds
EMBEDDED_IMAGE_SIZE = 128  # pixels stored in the embedded DICOM files
# Enriched in urgent studies (as reader-study test sets are): the operating point is chosen and
# checked on the urgent studies of the validation and test splits, whose count sets its precision.
EMBEDDED_PREVALENCE = 0.4
CACHE_ENV = "KIT_CACHE_DIR"
# Subgroup counts below this are shown as "<10", with no metric (aggregates only).
SUBGROUP_MIN_CELL = 10

PARAMETERS = Spec(
    (
        Param("dicom_dir", "path", None, "folder of DICOM files to triage; None for the embedded synthetic set"),
        Param("labels", "path", None, "CSV StudyInstanceUID,label (1 urgent) for dicom_dir: train and evaluate on it"),
        Param("target_sensitivity", "float", 0.9, "sensitivity of the operating point, chosen on validation data",
              min=0.5, max=0.995),
        Param("image_size", "int", 64, "side the images are resized to for the classifier, pixels", min=32, max=512),
        Param("epochs", "int", 8, "training epochs", min=1, max=200),
        Param("device", "device", "auto", "auto, cpu or cuda (env KIT_DEVICE overrides)", choices=("auto", "cpu", "cuda")),
        Param("output_dir", "output_dir", "outputs/radiology_triage", "folder for deid/, CSVs, model card, metrics"),
        Param("scale", "float", 1.0, "embedded set size: 1 is 2,000 studies (about 3 min on 2 cores)",
              min=0.05, max=20.0),
        Param("model", "path", None, "checkpoint from an earlier run (model.pt); None to train here"),
        Param("deid_profile", "str", "basic", "PS3.15 Annex E: basic (Basic Profile alone), or basic plus options, "
              "comma-separated, e.g. basic,retain_patient_characteristics,retain_longitudinal_modified_dates"),
        Param("seed", "int", 0, "random seed (data, split, training, simulation)", min=0),
        Param("pacs", "source", None, "PACS to triage instead of dicom_dir: DICOMweb root URL (login from ~/.netrc) or dimse://AET@host:port"),
        Param("pacs_query", "dict", {"date": "since_last_run", "modality": "CR,DX", "body_part": "CHEST"},
              "studies to fetch from pacs: date (since_last_run, all, YYYY-MM-DD[/YYYY-MM-DD]), modality, body_part"),
        Param("push_results", "bool", True, "store one DICOM SR per triaged study back into the pacs"),
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
    target = root / f"radiology-synth-n{n}-s{EMBEDDED_IMAGE_SIZE}-p{round(100 * EMBEDDED_PREVALENCE)}-seed{seed}"
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
    source: str
    fetched: object = None  # kit.medical.pacs.Fetched when the studies come from a PACS

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
        raise ParameterError("parameter 'pacs' replaces 'dicom_dir' and 'labels'; give either pacs or dicom_dir")
    if p.labels is not None and p.dicom_dir is None:
        raise ParameterError("parameter 'labels' needs 'dicom_dir' (the folder the labels describe); give both")
    if p.dicom_dir is not None and p.labels is not None:
        labels = read_labels(p.labels)
        return Inputs(Path(p.dicom_dir), labels, Path(p.dicom_dir), "the user's labelled studies (dicom_dir, labels)")
    embedded = embedded_dicom_dir(p.scale, p.seed)
    source = (f"embedded synthetic chest radiographs (kit.medical.synth_chest_xrays, "
              f"{int(round(EMBEDDED_STUDIES * p.scale))} studies, seed {p.seed})")
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
        raise InputDataError(
            f"the labels match none of the {len(table)} studies in {what}: key them by the original "
            "StudyInstanceUID (before de-identification)"
        )
    if (y >= 0).sum() and len(np.unique(y[y >= 0])) < 2:
        raise InputDataError("the labels have only one class; training needs urgent (1) and non-urgent (0) studies")
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


# -- figures ---------------------------------------------------------------------------------------
def _colors():
    from kit.plotting import OKABE_ITO

    return OKABE_ITO


def plot_training(history):
    """Training and validation loss, and validation AUROC, per epoch."""
    import matplotlib.pyplot as plt

    c = _colors()
    h = pd.DataFrame(history)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].plot(h.epoch, h.train_loss, "o-", color=c[0], label="training (augmented)")
    if "val_loss" in h:
        axes[0].plot(h.epoch, h.val_loss, "s-", color=c[1], label="validation")
        axes[1].plot(h.epoch, h.val_auroc, "s-", color=c[1])
    axes[0].set(xlabel="epoch", ylabel="binary cross-entropy", title="Loss", yscale="log")
    axes[0].legend(frameon=False)
    axes[1].set(xlabel="epoch", ylabel="AUROC", title="Validation AUROC", ylim=(0.5, 1.01))
    fig.tight_layout()
    return fig


def plot_roc(labels, scores, op: dict, auc: tuple, target: float):
    """ROC curve with the operating point and the target sensitivity."""
    import matplotlib.pyplot as plt

    from kit.medical.evaluate import roc_curve_points

    c = _colors()
    fpr, tpr = roc_curve_points(labels, scores)
    fig, ax = plt.subplots(figsize=(5.2, 5))
    ax.plot(fpr, tpr, color=c[0], lw=2, label=f"AUROC {auc[0]:.3f} (95% CI {auc[1]:.3f}–{auc[2]:.3f})")
    ax.plot([0, 1], [0, 1], ":", color="grey", label="chance")
    ax.axhline(target, color=c[2], ls="--", lw=1, label=f"target sensitivity {target:.2f}")
    ax.plot(1 - op["specificity"], op["sensitivity"], "o", color=c[3], ms=9,
            label=f"operating point: sens {op['sensitivity']:.2f}, spec {op['specificity']:.2f}")
    ax.set(xlabel="1 − specificity (false-positive rate)", ylabel="sensitivity (true-positive rate)",
           title="ROC, test split", xlim=(-0.01, 1.01), ylim=(-0.01, 1.01))
    ax.legend(frameon=False, loc="lower right", fontsize=8.5)
    fig.tight_layout()
    return fig


def plot_calibration(labels, p_raw, p_cal, n_bins: int = 10):
    """Reliability diagram before and after temperature scaling, with the predicted-probability histogram."""
    import matplotlib.pyplot as plt

    from kit.medical.calibrate import expected_calibration_error, reliability_curve

    c = _colors()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [1.1, 1]})
    ax = axes[0]
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfect calibration")
    for p, name, col, mk in ((p_raw, "network (T = 1)", c[1], "s"), (p_cal, "temperature-scaled", c[0], "o")):
        curve = reliability_curve(p, labels, n_bins)
        ece = expected_calibration_error(p, labels, n_bins)
        ax.plot(curve.mean_predicted, curve.observed, mk + "-", color=col, label=f"{name}, ECE {ece:.3f}")
    ax.set(xlabel="predicted probability of an urgent finding", ylabel="observed fraction urgent",
           title="Calibration, test split", xlim=(0, 1), ylim=(0, 1))
    ax.legend(frameon=False, fontsize=8.5)
    y = np.asarray(labels)
    bins = np.linspace(0, 1, 21)
    axes[1].hist(np.asarray(p_cal)[y == 0], bins=bins, color=c[2], alpha=0.8, label="no urgent finding")
    axes[1].hist(np.asarray(p_cal)[y == 1], bins=bins, color=c[3], alpha=0.8, label="urgent finding")
    axes[1].set(xlabel="calibrated p_urgent", ylabel="studies", title="Scores by true class", yscale="log")
    axes[1].legend(frameon=False)
    fig.tight_layout()
    return fig


def gradcam_examples(labels, p_urgent, flagged, findings=None, n: int = 6) -> np.ndarray:
    """Indices of test images worth explaining: flagged urgent studies (one per finding kind first), misses, false alarms."""
    y = np.asarray(labels)
    p = np.asarray(p_urgent)
    f = np.asarray(flagged, bool)
    picks: list[int] = []
    tp = [int(i) for i in np.argsort(-p, kind="stable") if y[i] == 1 and f[i]]
    if findings is not None:
        kinds = np.asarray(findings).astype(str)
        for kind in sorted(set(kinds[tp])) if tp else []:
            picks += [i for i in tp if kinds[i] == kind][:1]
    picks += [i for i in tp if i not in picks][: max(0, n - 2 - len(picks))]
    fn = [int(i) for i in np.argsort(p, kind="stable") if y[i] == 1 and not f[i]]
    fp = [int(i) for i in np.argsort(-p, kind="stable") if y[i] == 0 and f[i]]
    tn = [int(i) for i in np.argsort(p, kind="stable") if y[i] == 0 and not f[i]]
    for pool in (fn, fp, tn, tp):
        for i in pool:
            if len(picks) >= n:
                break
            if i not in picks:
                picks.append(i)
                break
    for i in tn + tp:
        if len(picks) >= n:
            break
        if i not in picks:
            picks.append(i)
    return np.array(picks[:n], dtype=int)


def plot_gradcam(images, cams, titles):
    """Radiographs with their Grad-CAM heatmap overlaid (evidence for the urgent class)."""
    import matplotlib.pyplot as plt

    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(2.3 * n, 2.9), squeeze=False)
    for ax, img, cam, title in zip(axes[0], images, cams, titles):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
        ax.imshow(np.ma.masked_less(cam, 0.15), cmap="inferno", alpha=0.5, vmin=0, vmax=1)
        ax.set_title(title, fontsize=8.5)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    fig.suptitle("Grad-CAM: where the urgent score comes from (test split)", fontweight="bold")
    fig.tight_layout()
    return fig


def plot_waits(sim):
    """Urgent studies' waiting time under FIFO and AI priority: distribution and summary."""
    import matplotlib.pyplot as plt

    c = _colors()
    s = sim.studies[sim.studies.urgent]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1.3, 1]})
    for policy, col, name in (("fifo", c[1], "first in, first out"), ("ai", c[0], "AI priority + aging cap")):
        w = np.sort(s[f"wait_{policy}_min"].to_numpy())
        axes[0].step(w, np.arange(1, len(w) + 1) / len(w), where="post", color=col, lw=2, label=name)
    axes[0].set(xlabel="wait before the read starts, min", ylabel="fraction of urgent studies read",
                title="Urgent studies: time to read")
    axes[0].legend(frameon=False, loc="lower right")
    stats = ["median", "mean", "p95", "max"]
    x = np.arange(len(stats))
    for k, (policy, col) in enumerate((("fifo", c[1]), ("ai", c[0]))):
        vals = [sim.metric(st, policy) for st in stats]
        bars = axes[1].bar(x + (k - 0.5) * 0.38, vals, 0.38, color=col, label=policy.upper())
        axes[1].bar_label(bars, fmt="%.0f", fontsize=8)
    axes[1].set_xticks(x, stats)
    axes[1].set(ylabel="minutes", title="Urgent waits by statistic")
    axes[1].legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_subgroups(subgroups: pd.DataFrame, target: float):
    """Sensitivity with its 95 % interval per subgroup (site, scanner, sex, age band); suppressed cells are left out."""
    import matplotlib.pyplot as plt

    c = _colors()
    sub = subgroups.dropna(subset=["sensitivity"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(sub) + 1.4))
    ypos = np.arange(len(sub))[::-1]
    colors = {a: c[i % len(c)] for i, a in enumerate(dict.fromkeys(sub.attribute))}
    for yv, (_, r) in zip(ypos, sub.iterrows()):
        # max(0, ...): a Wilson bound at a sensitivity of 0 or 1 can sit a rounding error inside the estimate
        err = [[max(0.0, r.sensitivity - r.sensitivity_low)], [max(0.0, r.sensitivity_high - r.sensitivity)]]
        ax.errorbar(r.sensitivity, yv, xerr=err,
                    fmt="o", color=colors[r.attribute], capsize=3)
    ax.axvline(target, color="grey", ls="--", lw=1, label=f"target {target:.2f}")
    ax.set_yticks(ypos, [f"{r.attribute}: {r.group} (n={r.n_urgent})" for _, r in sub.iterrows()], fontsize=8)
    ax.set(xlabel="sensitivity (95% Wilson interval)", title="Sensitivity by subgroup, test split", xlim=(0, 1.02))
    ax.legend(frameon=False, loc="lower left")
    fig.tight_layout()
    return fig


# -- steps -----------------------------------------------------------------------------------------
def require_images(result, what: str) -> None:
    """Refuse a folder with no usable image, naming the commonest reason."""
    if len(result.table) == 0:
        reason = result.quarantine.reason.iloc[0] if len(result.quarantine) else "no files"
        raise InputDataError(f"{what} holds no usable DICOM image ({len(result.quarantine)} files set aside, "
                             f"e.g. {reason}); give the folder exported from the PACS")


def deidentify_into(files, root, out_dir, audit_csv, profile: str = "basic"):
    """De-identify ``files`` into a fresh ``out_dir`` (an earlier run's ``deid/`` is replaced, not mixed in).

    The secret comes from ``KIT_DEID_SECRET`` or ``KIT_DEID_SECRET_FILE``
    (the same pseudonyms and UIDs in every run: follow-up over time); without
    either a random one is drawn and the run's pseudonyms are single-use
    (``result.notice`` says which). It is never written; the returned table
    (original <-> new UIDs) stays in memory and is never written here.
    """
    import shutil
    import tempfile

    from kit.medical.deid import Deidentifier, secret_from_env

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".deid-", dir=out_dir.parent))
    try:
        deid = Deidentifier(secret=secret_from_env(), profile=profile)
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
