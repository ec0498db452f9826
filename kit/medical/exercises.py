"""Checks for the radiology-triage notebook's exercises (kit teach).

The checks render their own small synthetic chests (:func:`kit.medical.render_chest`)
or take the notebook's validation scores; none depends on how long the
classifier was trained.
"""
from __future__ import annotations

import numpy as np

from kit.exercise_checks import check
from kit.i18n import _
from kit.i18n import text_number as _num, text_share as _pct

FINDING_KEPT = 0.5  # share of a finding's signal an augmentation must keep


def _chests(n: int = 12, size: int = 64, seed: int = 11):
    """``(with_finding, without)``: the same anatomies with and without a finding, (n, 1, size, size) tensors."""
    import torch

    from kit.medical.synthetic import FINDINGS, render_chest

    sick, healthy = [], []
    for k in range(n):
        sick.append(render_chest(np.random.default_rng([seed, k]), size, FINDINGS[k % len(FINDINGS)])[0])
        # Anatomy is drawn before the finding: the same seed gives the same chest without it.
        healthy.append(render_chest(np.random.default_rng([seed, k]), size, None)[0])
    return torch.from_numpy(np.stack(sick)[:, None]), torch.from_numpy(np.stack(healthy)[:, None])


def _apply(augmentation, images, seed: int):
    import torch

    out = augmentation(images.clone(), torch.Generator().manual_seed(seed))
    return out


def finding_kept(augmentation, seed: int = 0) -> np.ndarray:
    """Per image, the share of the finding's signal left after augmenting (1: all of it).

    The same augmentation draws (same generator seed, same batch position)
    are applied to chests with and without a finding; the finding's signal
    is the difference between the two, before and after.
    """
    import torch

    sick, healthy = _chests()
    before = (sick - healthy).flatten(1)
    after = (_apply(augmentation, sick, seed) - _apply(augmentation, healthy, seed)).flatten(1)
    return (torch.linalg.vector_norm(after, dim=1) / torch.linalg.vector_norm(before, dim=1)).numpy()


def check_augmentation(augmentation):
    """Exercise 1: a batch augmentation that changes the pixels, is reproducible and keeps the label."""
    import torch

    sick, healthy = _chests()
    batch = torch.cat([sick, healthy])

    def out(seed=0):
        return _apply(augmentation, batch, seed)

    def changed_share():
        return float(((out() - batch).abs().flatten(1).amax(1) > 1e-3).float().mean())

    return check(_("exercise 1: an augmentation"), [
        (callable(augmentation), _("the augmentation is callable"),
         _("make an instance, e.g. RandomShift(max_px=4), and give it to the check")),
        (lambda: isinstance(out(), torch.Tensor) and out().shape == batch.shape and out().dtype == batch.dtype,
         _("it returns a batch of the same shape and dtype"),
         _("call(images, generator) must return a float tensor of the same shape (batch, 1, H, W)")),
        (lambda: bool(torch.isfinite(out()).all()) and float(out().min()) >= 0.0 and float(out().max()) <= 1.0,
         _("pixels stay in [0, 1]"), _("the output must stay in [0, 1] (clamp, or fill with 0 for air)")),
        (lambda: changed_share() >= 0.5, lambda: _("it changes {share} of the images").format(share=_pct(changed_share())),
         _("the augmentation leaves the images unchanged: it must move or alter the pixels")),
        (lambda: bool(torch.equal(out(0), out(0))), _("the same generator seed gives the same batch"),
         _("draw every random number from the generator argument (torch.rand(..., generator=generator)) so a "
           "seeded run is reproducible")),
        (lambda: not torch.equal(out(0), out(1)), _("a different seed gives a different batch"),
         _("two generator seeds give the same output: draw the random numbers from the generator argument")),
        (lambda: float(finding_kept(augmentation).min()) >= FINDING_KEPT,
         lambda: _("and it keeps the label: at least {share} of every finding's signal is left").format(
             share=_pct(finding_kept(augmentation).min())),
         _("on some chests less than {share} of the finding's signal is left: the augmentation can erase the finding, "
           "and an image labelled urgent would no longer show why (keep shifts small)").format(share=_pct(FINDING_KEPT))),
    ])


def check_operating_threshold(threshold, labels_val, scores_val, target: float, labels_test=None, scores_test=None):
    """Exercise 2: a logit threshold at which the validation sensitivity is the target."""
    y = np.asarray(labels_val).astype(int).ravel()
    z = np.asarray(scores_val, dtype=float).ravel()
    n_pos = int((y == 1).sum())

    def sens(thr, yy=y, zz=z):
        return float((zz[yy == 1] >= thr).mean())

    def spec(thr, yy=y, zz=z):
        return float((zz[yy == 0] < thr).mean())

    tol = 1.0 / max(n_pos, 1) + 1e-9
    test = []
    if labels_test is not None and scores_test is not None:
        yt = np.asarray(labels_test).astype(int).ravel()
        zt = np.asarray(scores_test, dtype=float).ravel()
        test = [(True, lambda: _("on the test split: sensitivity {sens}, specificity {spec}").format(
            sens=_num(sens(float(threshold), yt, zt), 2), spec=_num(spec(float(threshold), yt, zt), 2)), "")]
    return check(_("exercise 2: the operating threshold"), [
        (n_pos > 0, _("the validation split has urgent studies"), _("the validation split has no urgent study")),
        (threshold is not None, _("a threshold is given"), _("set my_threshold to a logit value")),
        (lambda: np.isfinite(float(threshold)), _("it is a number"), _("my_threshold must be a finite number (a logit)")),
        (lambda: sens(float(threshold)) >= target - tol,
         lambda: _("validation sensitivity {sens} (target {target})").format(sens=_num(sens(float(threshold)), 3),
                                                                          target=_num(target, 2)),
         _("too high: fewer than the target share of the urgent validation studies score >= my_threshold")),
        (lambda: sens(float(threshold)) <= target + tol,
         lambda: _("specificity {spec}: not lower than it needs to be").format(spec=_num(spec(float(threshold)), 3)),
         _("too low: more urgent studies are flagged than the target asks, at the cost of specificity; take the "
           "(1 - target) quantile of the urgent studies' scores")),
        *test,
    ])


def check_ppv_at(ppv_at, operating_point: dict | None = None, prevalence: float = 0.10):
    """Exercise 3: PPV from sensitivity, specificity and prevalence (Bayes' rule).

    With the notebook's ``operating_point`` (``sensitivity``, ``specificity``)
    the verdict also gives the PPV it has at ``prevalence``.
    """
    from kit.medical.evaluate import ppv_at_prevalence

    cases = [(0.9, 0.8, 0.1), (0.95, 0.99, 0.02), (0.5, 0.5, 0.5), (0.8, 0.9, 0.4)]
    here = []
    if operating_point is not None:
        sens, spec = float(operating_point["sensitivity"]), float(operating_point["specificity"])
        here = [(True, lambda: _("at this operating point (sensitivity {sens}, specificity {spec}) and {prevalence} "
                                 "prevalence, {ppv} of flagged studies are urgent").format(
            sens=_num(sens, 2), spec=_num(spec, 3), prevalence=_pct(prevalence), ppv=_pct(ppv_at(sens, spec, prevalence), 1)),
                 "")]

    def right(case):
        return abs(float(ppv_at(*case)) - ppv_at_prevalence(*case)) < 1e-6

    return check(_("exercise 3: PPV at another prevalence"), [
        (callable(ppv_at), _("ppv_at is a function"), _("define ppv_at(sensitivity, specificity, prevalence)")),
        (lambda: right(cases[0]), _("sensitivity 0.9, specificity 0.8 at 10 % prevalence: PPV 0.333"),
         _("PPV = true positives / all positives = sens × prev / (sens × prev + (1 − spec) × (1 − prev)); "
           "for 0.9, 0.8, 0.1 it is 0.333")),
        (lambda: all(right(c) for c in cases), _("and on other cases"),
         _("right for one case, wrong for others: use all three arguments")),
        *here,
    ])
