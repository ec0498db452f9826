"""Figures of the radiology triage report: training, ROC, calibration, Grad-CAM, worklist waits, subgroups."""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.i18n import N_, _
from kit.i18n import text_number as _num

#: The waits figure's policy names (``label=_(policy.upper())``).
POLICY_NAMES = (N_("FIFO"), N_("AI"))

__all__ = ["plot_training", "plot_roc", "plot_calibration", "gradcam_examples", "plot_gradcam", "plot_waits", "plot_subgroups"]


def _colors():
    from kit.plotting import OKABE_ITO

    return OKABE_ITO


def plot_training(history):
    """Training and validation loss, and validation AUROC, per epoch."""
    import matplotlib.pyplot as plt

    c = _colors()
    h = pd.DataFrame(history)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].plot(h.epoch, h.train_loss, "o-", color=c[0], label=_("training (augmented)"))
    if "val_loss" in h:
        axes[0].plot(h.epoch, h.val_loss, "s-", color=c[1], label=_("validation"))
        axes[1].plot(h.epoch, h.val_auroc, "s-", color=c[1])
    axes[0].set(xlabel=_("epoch"), ylabel=_("binary cross-entropy"), title=_("Loss"), yscale="log")
    axes[0].legend(frameon=False)
    axes[1].set(xlabel=_("epoch"), ylabel=_("AUROC"), title=_("Validation AUROC"), ylim=(0.5, 1.01))
    fig.tight_layout()
    return fig


def plot_roc(labels, scores, op: dict, auc: tuple, target: float):
    """ROC curve with the operating point and the target sensitivity."""
    import matplotlib.pyplot as plt

    from kit.medical.evaluate import roc_curve_points

    c = _colors()
    fpr, tpr = roc_curve_points(labels, scores)
    fig, ax = plt.subplots(figsize=(5.2, 5))
    ax.plot(fpr, tpr, color=c[0], lw=2, label=_("AUROC {auc} (95% CI {low}–{high})").format(auc=_num(auc[0], 3), low=_num(auc[1], 3),
                                                                              high=_num(auc[2], 3)))
    ax.plot([0, 1], [0, 1], ":", color="grey", label=_("chance"))
    ax.axhline(target, color=c[2], ls="--", lw=1, label=_("target sensitivity {target}").format(target=_num(target, 2)))
    ax.plot(1 - op["specificity"], op["sensitivity"], "o", color=c[3], ms=9,
            label=_("operating point: sens {sens}, spec {spec}").format(sens=_num(op["sensitivity"], 2),
                                                                        spec=_num(op["specificity"], 2)))
    ax.set(xlabel=_("1 − specificity (false-positive rate)"), ylabel=_("sensitivity (true-positive rate)"),
           title=_("ROC, test split"), xlim=(-0.01, 1.01), ylim=(-0.01, 1.01))
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
    ax.plot([0, 1], [0, 1], ":", color="grey", label=_("perfect calibration"))
    for p, name, col, mk in ((p_raw, _("network (T = 1)"), c[1], "s"), (p_cal, _("temperature-scaled"), c[0], "o")):
        curve = reliability_curve(p, labels, n_bins)
        ece = expected_calibration_error(p, labels, n_bins)
        ax.plot(curve.mean_predicted, curve.observed, mk + "-", color=col, label=_("{name}, ECE {ece}").format(name=name, ece=_num(ece, 3)))
    ax.set(xlabel=_("predicted probability of an urgent finding"), ylabel=_("observed fraction urgent"),
           title=_("Calibration, test split"), xlim=(0, 1), ylim=(0, 1))
    ax.legend(frameon=False, fontsize=8.5)
    y = np.asarray(labels)
    bins = np.linspace(0, 1, 21)
    axes[1].hist(np.asarray(p_cal)[y == 0], bins=bins, color=c[2], alpha=0.8, label=_("no urgent finding"))
    axes[1].hist(np.asarray(p_cal)[y == 1], bins=bins, color=c[3], alpha=0.8, label=_("urgent finding"))
    axes[1].set(xlabel=_("calibrated p_urgent"), ylabel=_("studies"), title=_("Scores by true class"), yscale="log")
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
    fig.suptitle(_("Grad-CAM: where the urgent score comes from (test split)"), fontweight="bold")
    fig.tight_layout()
    return fig


def plot_waits(sim):
    """Urgent studies' waiting time under FIFO and AI priority: distribution and summary."""
    import matplotlib.pyplot as plt

    c = _colors()
    s = sim.studies[sim.studies.urgent]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1.3, 1]})
    for policy, col, name in (("fifo", c[1], _("first in, first out")), ("ai", c[0], _("AI priority + aging cap"))):
        w = np.sort(s[f"wait_{policy}_min"].to_numpy())
        axes[0].step(w, np.arange(1, len(w) + 1) / len(w), where="post", color=col, lw=2, label=name)
    axes[0].set(xlabel=_("wait before the read starts, min"), ylabel=_("fraction of urgent studies read"),
                title=_("Urgent studies: time to read"))
    axes[0].legend(frameon=False, loc="lower right")
    stats = ["median", "mean", "p95", "max"]
    x = np.arange(len(stats))
    for k, (policy, col) in enumerate((("fifo", c[1]), ("ai", c[0]))):
        vals = [sim.metric(st, policy) for st in stats]
        bars = axes[1].bar(x + (k - 0.5) * 0.38, vals, 0.38, color=col, label=_(policy.upper()))
        axes[1].bar_label(bars, fmt="%.0f", fontsize=8)
    axes[1].set_xticks(x, [_(st) for st in stats])
    axes[1].set(ylabel=_("minutes"), title=_("Urgent waits by statistic"))
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
    for yv, (_row, r) in zip(ypos, sub.iterrows()):
        # max(0, ...): a Wilson bound at a sensitivity of 0 or 1 can sit a rounding error inside the estimate
        err = [[max(0.0, r.sensitivity - r.sensitivity_low)], [max(0.0, r.sensitivity_high - r.sensitivity)]]
        ax.errorbar(r.sensitivity, yv, xerr=err,
                    fmt="o", color=colors[r.attribute], capsize=3)
    ax.axvline(target, color="grey", ls="--", lw=1, label=_("target {target}").format(target=_num(target, 2)))
    ax.set_yticks(ypos, [_("{attribute}: {group} (n={n})").format(attribute=_(r.attribute), group=_(r.group), n=r.n_urgent)
                         for _row, r in sub.iterrows()], fontsize=8)
    ax.set(xlabel=_("sensitivity (95% Wilson interval)"), title=_("Sensitivity by subgroup, test split"), xlim=(0, 1.02))
    ax.legend(frameon=False, loc="lower left")
    fig.tight_layout()
    return fig
