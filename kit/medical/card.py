"""The model card: what the triage model is for, what it was trained on, how it did, where it fails.

After Mitchell et al. 2019 ("Model Cards for Model Reporting", FAT*): intended
use, data, metrics with intervals, subgroup results, limitations.
"""
from __future__ import annotations

import pandas as pd

from kit.report import markdown_table as _table
from kit.report import markdown_value as _fmt


def _intended_use() -> list[str]:
    return [
        "## Intended use",
        "",
        "- **What it does:** scores frontal chest radiographs for an urgent finding (large opacity, "
        "pneumothorax, pleural effusion) and reorders the reading worklist so flagged studies are read first.",
        "- **Users:** radiology departments and private clinics piloting worklist triage; every study is still "
        "read and reported by a radiologist.",
        "- **Not for:** diagnosis, ruling out disease, discharge decisions, studies other than adult PA chest "
        "radiographs, or any use on patients without local validation.",
        "- **Data protection (law 09-08, CNDP):** studies are de-identified (DICOM PS3.15 Annex E Basic Profile) "
        "before analysis; images with burned-in text are withheld; the worklist carries de-identified ids only.",
        "",
    ]


def _pretrained_lines(pre: dict) -> list[str]:
    """Where open weights came from: torchxrayvision's weights string, file, origin, training sets, license."""
    return [
        f"- Pretrained weights: torchxrayvision `{pre.get('weights', 'n/a')}` (file `{pre.get('file', 'n/a')}`, "
        f"trained at {_fmt(pre.get('input_resolution'))} px), read offline; nothing was downloaded.",
        f"- Origin: {pre.get('origin', 'n/a')}.",
        f"- Training sets of the weights: {pre.get('training_sets', 'n/a')}.",
        f"- License: {pre.get('license', 'n/a')}.",
        "- Its pathology outputs (sigmoid, rescaled so its operating points map to 0.5) are shown beside the urgent "
        "score in `xrv_pathologies.csv`; they are torchxrayvision's, not validated here.",
    ]


def _model_section(model: dict, g) -> list[str]:
    pre = model.get("pretrained")
    size = f"{_fmt(model.get('image_size'))} × {_fmt(model.get('image_size'))} px"
    how = (f"trained from scratch at {size} for {_fmt(model.get('epochs'))} epochs with augmentation "
           "(positioning, gamma, contrast, noise)." if not pre else
           f"torchxrayvision's network with a new urgent/routine head fine-tuned ({model.get('trainable', 'head')}) "
           f"on the labelled training split at {size} for {_fmt(model.get('epochs'))} epochs; "
           "the other weights are as published.")
    return [
        "## Model",
        "",
        f"- Architecture: `{model.get('arch', 'n/a')}`, {_fmt(model.get('n_parameters'))} "
        f"{'trained ' if pre else ''}parameters, {how}",
        *(_pretrained_lines(pre) if pre else []),
        f"- Calibration: temperature scaling on the validation split, T = {_fmt(g('temperature'))}.",
        f"- Operating point: sensitivity {_fmt(g('target_sensitivity'), 2)} on the validation split"
        + (" at the lower end of its 95 % Wilson interval" if g("operating_rule") == "lower_bound" else "")
        + f", probability threshold {_fmt(g('threshold'))}.",
        "",
    ]


def _data_section(data: dict) -> list[str]:
    return [
        "## Data",
        "",
        f"- Source: {data.get('source', 'n/a')}.",
        f"- Studies: {_fmt(data.get('n_train'))} training, {_fmt(data.get('n_val'))} validation, "
        f"{_fmt(data.get('n_test'))} test, split by patient (no patient in two splits).",
        f"- Set aside: {_fmt(data.get('n_quarantined'))} files quarantined at ingest, "
        f"{_fmt(data.get('n_withheld'))} withheld from de-identification (burned-in annotation).",
        f"- Sites: {_fmt(data.get('sites'))}; scanners: {_fmt(data.get('scanners'))}.",
        "",
    ]


def _metrics_section(g) -> list[str]:
    return [
        "## Metrics (test split)",
        "",
        "| metric | value | 95 % interval |",
        "| --- | --- | --- |",
        f"| AUROC | {_fmt(g('auroc'))} | {_fmt(g('auroc_ci_low'))}–{_fmt(g('auroc_ci_high'))} (bootstrap) |",
        f"| sensitivity | {_fmt(g('sensitivity'))} | {_fmt(g('sensitivity_low'))}–{_fmt(g('sensitivity_high'))} (Wilson) |",
        f"| specificity | {_fmt(g('specificity'))} | {_fmt(g('specificity_low'))}–{_fmt(g('specificity_high'))} (Wilson) |",
        f"| PPV at prevalence {_fmt(g('prevalence'), 2)} | {_fmt(g('ppv'))} | |",
        f"| PPV at prevalence 0.10 | {_fmt(g('ppv_at_10pct_prevalence'))} | |",
        f"| int8 ONNX AUROC | {_fmt(g('int8_auroc'))} | |",
        f"| ECE, 10 bins (before temperature scaling) | {_fmt(g('ece'))} ({_fmt(g('ece_uncalibrated'))}) | |",
        "",
        f"AUROC {_fmt(g('auroc'))} (95 % CI {_fmt(g('auroc_ci_low'))}–{_fmt(g('auroc_ci_high'))}).",
        "",
    ]


def _worklist_section(g) -> list[str]:
    """The simulated waits of urgent studies, when the metrics carry them."""
    if g("urgent_median_wait_fifo_min") is None:
        return []
    return [
        "## Worklist simulation",
        "",
        "Time from arrival to the start of the read for urgent studies, simulated shifts, minutes:",
        "",
        "| policy | median | p95 | max |",
        "| --- | --- | --- | --- |",
        f"| first in, first out | {_fmt(g('urgent_median_wait_fifo_min'), 1)} | {_fmt(g('urgent_p95_wait_fifo_min'), 1)} "
        f"| {_fmt(g('urgent_max_wait_fifo_min'), 1)} |",
        f"| AI priority with aging cap | {_fmt(g('urgent_median_wait_ai_min'), 1)} | "
        f"{_fmt(g('urgent_p95_wait_ai_min'), 1)} | {_fmt(g('urgent_max_wait_ai_min'), 1)} |",
        "",
    ]


def _subgroup_section(subgroups: pd.DataFrame) -> list[str]:
    """The subgroup table and the group with the lowest sensitivity."""
    lines = ["## Subgroup results (test split, same threshold)", ""]
    sub = subgroups.copy()
    if not len(sub):
        return lines + ["No subgroup could be evaluated.", ""]
    keep = [c for c in ("attribute", "group", "n", "n_urgent", "auroc", "sensitivity", "sensitivity_low",
                        "sensitivity_high", "specificity") if c in sub.columns]
    sub = sub[keep]
    worst = sub.dropna(subset=["sensitivity"]).sort_values("sensitivity").head(1) if "sensitivity" in sub else sub
    lines += [_table(sub), ""]
    if len(worst):
        w = worst.iloc[0]
        lines += [f"Lowest sensitivity: {w['attribute']} = {w['group']} ({_fmt(w['sensitivity'])}, "
                  f"{w['n_urgent']} urgent studies). Small groups have wide intervals.", ""]
    return lines


def _limitations() -> list[str]:
    return [
        "## Limitations",
        "",
        "- Trained and tested on the data named above only. Synthetic radiographs are drawn shapes, not patients: "
        "performance on them says nothing about clinical performance.",
        "- Sensitivity below 1 means some urgent studies are not flagged; the worklist's aging cap bounds how long "
        "they wait, it does not find them.",
        "- Subgroups (site, scanner, sex, age band) are small; a change of scanner or protocol needs re-validation. "
        "They are computed from the original headers in memory before de-identification and reported as "
        "aggregates only: a count under the minimum cell size is shown as '<N' (N the minimum) and the metrics it "
        "would reveal are blank.",
        "- Probabilities are calibrated on the validation split; a different prevalence changes the PPV.",
        "- Grad-CAM maps are coarse (1/8 of the image resolution) and show evidence for the urgent class, "
        "not a segmentation.",
        "",
    ]


def model_card(metrics: dict, subgroups: pd.DataFrame, *, data: dict, model: dict) -> str:
    """Markdown model card.

    Parameters
    ----------
    metrics : dict
        At least ``auroc, auroc_ci_low, auroc_ci_high, sensitivity,
        sensitivity_low, sensitivity_high, specificity, specificity_low,
        specificity_high, ppv, prevalence, target_sensitivity, threshold,
        temperature``; optionally the worklist and int8 figures.
    subgroups : DataFrame
        From :func:`kit.medical.evaluate.subgroup_metrics`.
    data : dict
        ``source, n_train, n_val, n_test, n_quarantined, n_withheld, sites, scanners``.
    model : dict
        ``arch, n_parameters, image_size, epochs``; for open weights also ``trainable`` and
        ``pretrained`` (:func:`kit.medical.xrv.weights_card`).

    Returns
    -------
    str

    Examples
    --------
    >>> card = model_card({"auroc": 0.97, "auroc_ci_low": 0.95, "auroc_ci_high": 0.99}, pd.DataFrame(),
    ...                   data={"source": "synthetic"}, model={"arch": "small_cnn"})
    >>> "## Intended use" in card and "0.970 (95 % CI 0.950–0.990)" in card
    True
    """
    m = {k: metrics.get(k) for k in metrics}
    g = m.get
    lines = ["# Model card: urgent-finding triage of chest radiographs", ""]
    lines += _intended_use()
    lines += _model_section(model, g)
    lines += _data_section(data)
    lines += _metrics_section(g)
    lines += _worklist_section(g)
    lines += _subgroup_section(subgroups)
    lines += _limitations()
    return "\n".join(lines)
