"""What the ``radiology_triage`` notebook prints and shows as tables, in the report's language.

English keeps the stored outputs' wording exactly (nbval compares them); French
gets its sentences from the catalog, in the words a Moroccan radiologist and
medical director read (sensibilité, spécificité, VPP, seuil de décision, liste
de travail), numbers with a decimal comma. Files (``worklist.csv``,
``quarantine.csv``, ``deid_audit.csv``, ``metrics.json``) keep their English
columns and values; the model card stays English (see :func:`card_preview`).
"""
from __future__ import annotations

import re

import pandas as pd

from kit.backend import device_line  # noqa: F401 (the notebook's)
from kit.i18n import N_, _, display_table, format_number, get_lang
from kit.i18n import text_number as _num

#: Data sources (``Inputs.source`` holds them in English, for the model card).
SOURCE_EMBEDDED = N_("embedded synthetic chest radiographs (kit.medical.synth_chest_xrays, {n} studies, seed {seed})")
SOURCE_USER = N_("the user's labelled studies (dicom_dir, labels)")
#: Why a file was set aside, by the start of its reason (``quarantine.csv`` keeps the English reason).
_REASONS = (("withheld", N_("withheld")), ("truncated", N_("truncated")), ("not a DICOM file", N_("not a DICOM file")),
            ("unreadable DICOM", N_("unreadable DICOM")),
            ("undecodable", N_("undecodable")), ("zero-byte file", N_("zero-byte file")), ("refused", N_("refused")),
            ("no pixel data", N_("no pixel data (not an image)")),
            ("not_chest_radiograph", N_("not a chest radiograph")),
            ("burned_in_text_pixels", N_("text burned into the pixels")))
#: Subgroup attributes and the wait table's policies and groups, as shown (the msgids are the codes).
_VALUES = {"site": N_("site"), "scanner": N_("scanner"), "view_position": N_("view_position"), "sex": N_("sex"),
           "age_band": N_("age_band"), "fifo": N_("fifo"), "ai": N_("ai"), "urgent": N_("urgent"),
           "urgent_missed": N_("urgent_missed"), "routine": N_("routine"), "all": N_("all"), "(blank)": N_("(blank)")}
# Column headers shown translated (msgids are the column names the code and files use).
_HEADERS = (N_("reason"), N_("files"), N_("attribute"), N_("group"), N_("n"), N_("n_urgent"), N_("auroc"),
            N_("sensitivity"), N_("sensitivity_low"), N_("sensitivity_high"), N_("specificity"),
            N_("specificity_low"), N_("specificity_high"), N_("policy"), N_("mean"), N_("median"), N_("p95"),
            N_("max"))


def _french() -> bool:
    return get_lang() == "fr"


def source_text(source: tuple) -> str:
    """A data source ``(msgid, fields)`` in the report's language."""
    msgid, fields = source
    return _(msgid).format(**fields)


def data_lines(inputs, triage) -> str:
    """Where the data come from, and what the folder to triage holds."""
    table = triage.table
    return "\n".join((
        _("data: {source}").format(source=source_text(inputs.source_message)),
        _("folder to triage: {images} images, {studies} studies, {aside} files set aside").format(
            images=len(table), studies=table.study_uid.nunique(), aside=len(triage.quarantine))))


def deid_notice(deid) -> str:
    """How lasting the pseudonyms are, in one line (never the secret)."""
    return _(deid.notice)


def deid_summary(deid, quarantine: pd.DataFrame) -> str:
    """Images de-identified, actions audited, files in quarantine, and the pseudonyms' notice."""
    audited = format_number(len(deid.audit)) if _french() else str(len(deid.audit))
    return _("{images} images de-identified into deid/ ({profile}), {actions} actions audited; {quarantined} files in "
             "quarantine.csv\n{notice}").format(images=len(deid.table), profile=deid.profile, actions=audited,
                                                quarantined=len(quarantine), notice=deid_notice(deid))


def reason_label(kind: str) -> str:
    """A quarantine reason's kind (the text before its first colon) for the reader; a detail in brackets stays."""
    for prefix, msgid in _REASONS:
        if kind.startswith(prefix):
            rest = kind[len(prefix):].strip()
            # the decoder's detail is a transfer syntax's name, e.g. (JPEG Baseline (Process 1)): kept; others are English
            return f"{_(msgid)} {rest}" if prefix == "undecodable" and rest.startswith("(") else _(msgid)
    return kind


def _shown(frame: pd.DataFrame, digits: dict | None = None) -> pd.DataFrame:
    """``frame`` in the report's language: the triage's codes as words, then headers and numbers."""
    return display_table(frame, digits, words=_VALUES)


def shown_quarantine(summary: pd.DataFrame) -> pd.DataFrame:
    """Files set aside per reason, as shown (``quarantine.csv`` keeps the English reasons)."""
    if not _french():
        return summary
    return _shown(summary.assign(reason=summary.reason.map(reason_label)))


def fit_summary(clf, size: int, splits, z_val, y_val, rule: str, target: float) -> str:
    """The network, the splits, the temperature and the operating threshold with its validation sensitivity."""
    tr, va, te = splits
    sens = (z_val[y_val == 1] >= clf.logit_threshold_).mean()
    return "\n".join((
        _("{arch}: {million} M parameters, {size} px; train {train}, validation {val}, test {test} images").format(
            arch=clf.arch, million=_num(clf.n_parameters() / 1e6, 2), size=size, train=tr.sum(), val=va.sum(),
            test=te.sum()),
        _("temperature {temperature}; threshold p_urgent >= {threshold} (validation sensitivity {sensitivity}, rule "
          "{rule}, target {target})").format(temperature=_num(clf.temperature_, 2), threshold=_num(clf.threshold_, 3),
                                             sensitivity=_num(sens, 3), rule=rule, target=_num(target, 2))))


def test_summary(auc, op: dict, target: float) -> str:
    """AUROC with its interval, then sensitivity, specificity (Wilson intervals) and PPV on the test split."""
    return "\n".join((
        _("AUROC {auc} (95% CI {low}-{high}) on {n} test images, {n_urgent} urgent").format(
            auc=_num(auc[0], 3), low=_num(auc[1], 3), high=_num(auc[2], 3), n=op["n"], n_urgent=op["n_urgent"]),
        _("sensitivity {sens} ({sens_low}-{sens_high}), target {target}; specificity {spec} ({spec_low}-{spec_high}); "
          "PPV {ppv} at prevalence {prevalence}").format(
            sens=_num(op["sensitivity"], 3), sens_low=_num(op["sensitivity_low"], 3),
            sens_high=_num(op["sensitivity_high"], 3), target=_num(target, 2), spec=_num(op["specificity"], 3),
            spec_low=_num(op["specificity_low"], 3), spec_high=_num(op["specificity_high"], 3),
            ppv=_num(op["ppv"], 3), prevalence=_num(op["prevalence"], 2))))


def ece_line(ece: float, ece_raw: float) -> str:
    """The expected calibration error after and before temperature scaling."""
    return _("ECE on the test split: {after} after temperature scaling ({before} before)").format(
        after=_num(ece, 3), before=_num(ece_raw, 3))


def shown_subgroups(subgroups: pd.DataFrame) -> pd.DataFrame:
    """The subgroup metrics to three decimals, as shown (aggregates only; small cells ``<10``)."""
    table = subgroups.round(3)
    return _shown(table, {c: 3 for c in table.columns if c not in ("n", "n_urgent")})


def gradcam_titles(labels, kinds, p_urgent, flagged, picks) -> list[str]:
    """One title per Grad-CAM example: the true class (and finding), the probability, flagged or not."""
    if not _french():
        return [f"{'urgent' if labels[i] else 'no finding'}{' (' + kinds[i] + ')' if kinds is not None and labels[i] else ''}\n"
                f"p={p_urgent[i]:.2f} {'flagged' if flagged[i] else 'not flagged'}" for i in picks]
    titles = []
    for i in picks:
        truth = _("urgent") if labels[i] else _("no finding")
        if kinds is not None and labels[i] and kinds[i]:
            truth += f" ({_(kinds[i])})"
        verdict = _("flagged") if flagged[i] else _("not flagged")
        titles.append(f"{truth}\np\u00a0=\u00a0{_num(p_urgent[i], 2)} {verdict}")
    return titles


#: Finding kinds of the embedded set (labels.csv ``finding``), for the Grad-CAM titles.
FINDING_NAMES = (N_("opacity"), N_("pneumothorax"), N_("effusion"), N_("none"))  # none: label noise, no finding drawn


def worklist_line(wl: pd.DataFrame) -> str:
    """How many studies are on the worklist, and how many flagged urgent."""
    return _("worklist: {n} studies, {urgent} flagged urgent").format(n=len(wl), urgent=(wl.priority == "urgent").sum())


def waits_line(sim) -> str:
    """Urgent studies' median and maximum wait, first-in-first-out against AI priority."""
    return _("urgent studies, median wait: FIFO {fifo_median} -> AI {ai_median} min; maximum: FIFO {fifo_max} -> AI "
             "{ai_max} min").format(fifo_median=_num(sim.metric("median", "fifo"), 1),
                                    ai_median=_num(sim.metric("median", "ai"), 1),
                                    fifo_max=_num(sim.metric("max", "fifo"), 0), ai_max=_num(sim.metric("max", "ai"), 0))


def shown_waits(summary: pd.DataFrame) -> pd.DataFrame:
    """Waits (minutes) by policy and group, to 0.1 min, as shown."""
    table = summary.round(1)
    return _shown(table, {c: 1 for c in ("mean", "median", "p95", "max")})


def int8_line(int8_auroc: float, fp32_auroc: float, speedup: float) -> str:
    """The int8 model's AUROC against Torch fp32, and whether it is at least twice as fast."""
    change = int8_auroc - fp32_auroc
    sign = f"{change:+.3f}" if not _french() else ("+" if change >= 0 else "-") + format_number(abs(change), 3)
    fast = str(speedup >= 2) if not _french() else (_("yes") if speedup >= 2 else _("no"))
    return _("int8 AUROC {int8} (Torch fp32 {fp32}, change {change}); int8 at least twice Torch fp32 throughput: "
             "{fast}").format(int8=_num(int8_auroc, 3), fp32=_num(fp32_auroc, 3), change=sign, fast=fast)


def card_preview(card: str, n_lines: int = 12) -> str:
    """The model card's first lines in English; in another language, a line saying where it is and why English."""
    if not _french():
        return "\n".join(card.splitlines()[:n_lines])
    sections = [re.sub(r"^#+\s*", "", line) for line in card.splitlines() if line.startswith("## ")]
    return _("model card written to model_card.md, in English (the language of the regulatory file and of the "
             "model's documentation): {n} sections").format(n=len(sections))


def pacs_line(n_reports: int, stored: int) -> str:
    """Structured reports built and stored back into the PACS."""
    return _("{built} structured reports built, {stored} stored in the PACS").format(built=n_reports, stored=stored)
