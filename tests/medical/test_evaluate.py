import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

from kit.errors import InputDataError, ParameterError
from kit.medical.evaluate import (age_band, auroc, auroc_bootstrap, operating_point_metrics, ppv_at_prevalence,
                                  roc_curve_points, subgroup_metrics, threshold_at_sensitivity, wilson_interval)


def _scores(n=400, prevalence=0.3, separation=1.5, seed=0, ties=False):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(int)
    s = rng.normal(size=n) + separation * y
    if ties:
        s = np.round(s, 1)
    return y, s


@pytest.mark.parametrize("ties", [False, True])
def test_auroc_matches_sklearn(ties):
    y, s = _scores(ties=ties, seed=3)
    assert auroc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_auroc_one_class_is_nan_and_bad_labels_refused():
    assert np.isnan(auroc([1, 1], [0.2, 0.3]))
    with pytest.raises(InputDataError, match="0 or 1"):
        auroc([0, -1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(InputDataError, match="labels but"):
        auroc([0, 1], [0.1])


def test_bootstrap_interval_width_matches_hanley_mcneil():
    # Hanley & McNeil (1982) standard error of the AUC, an independent analytic reference.
    y, s = _scores(n=600, separation=1.2, seed=5)
    auc, low, high = auroc_bootstrap(y, s, n_boot=2000, seed=1)
    n1, n0 = y.sum(), (1 - y).sum()
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    se = np.sqrt((auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2)) / (n1 * n0))
    assert low < auc < high
    assert (high - low) / (2 * 1.96) == pytest.approx(se, rel=0.2)


def test_bootstrap_replicate_equals_direct_auroc_on_resample():
    # The fast replicate formula must equal the AUROC of the resampled data computed directly.
    y, s = _scores(n=120, seed=9, ties=True)
    pos, neg = s[y == 1], s[y == 0]
    rng = np.random.default_rng(0)
    ip = rng.integers(0, len(pos), len(pos))
    counts = np.bincount(rng.integers(0, len(neg), len(neg)), minlength=len(neg))
    neg_sorted = np.sort(neg)
    yy = np.r_[np.ones(len(ip)), np.zeros(counts.sum())]
    ss = np.r_[pos[ip], np.repeat(neg_sorted, counts)]
    lo, hi = np.searchsorted(neg_sorted, pos, "left"), np.searchsorted(neg_sorted, pos, "right")
    cum = np.r_[0, np.cumsum(counts)].astype(float)
    fast = (cum[lo[ip]] + 0.5 * (cum[hi[ip]] - cum[lo[ip]])).sum() / (len(pos) * len(neg))
    assert fast == pytest.approx(roc_auc_score(yy, ss), abs=1e-12)


def test_threshold_gives_target_sensitivity_on_new_data():
    # Chosen on one sample, checked on independent samples of the same distributions.
    target, misses, n_pos = 0.9, [], []
    for seed in range(200):
        y_val, s_val = _scores(n=600, separation=3, seed=seed)
        y_te, s_te = _scores(n=600, separation=3, seed=10_000 + seed)
        thr = threshold_at_sensitivity(y_val, s_val, target)
        sens = operating_point_metrics(y_te, s_te, thr)["sensitivity"]
        misses.append(sens - target)
        n_pos.append(y_te.sum())
    misses = np.array(misses)
    assert abs(misses.mean()) < 0.01  # unbiased
    # Sampling alone: the validation quantile and the test proportion each vary by
    # sqrt(0.9 * 0.1 / n_pos); with ~180 positives per split |error| <= 5 points about 89 % of the time.
    sd = np.sqrt(2 * target * (1 - target) / np.mean(n_pos))
    from scipy.stats import norm
    expected = 2 * norm.cdf(0.05 / sd) - 1
    assert (np.abs(misses) <= 0.05).mean() == pytest.approx(expected, abs=0.06)
    assert misses.std() == pytest.approx(sd, rel=0.2)


def test_lower_bound_threshold_meets_the_target_on_new_data_most_of_the_time():
    from kit.medical.evaluate import operating_threshold, threshold_at_sensitivity_bound

    target, above, above_quantile, spec_cost = 0.9, [], [], []
    for seed in range(200):
        y_val, s_val = _scores(n=600, separation=2, seed=seed)
        y_te, s_te = _scores(n=600, separation=2, seed=10_000 + seed)
        thr = threshold_at_sensitivity_bound(y_val, s_val, target)
        k = int((s_val[y_val == 1] >= thr).sum())
        assert wilson_interval(k, int(y_val.sum()))[0] >= target  # the rule's promise on validation...
        assert wilson_interval(k - 1, int(y_val.sum()))[0] < target  # ...and the highest threshold keeping it
        thr_q = threshold_at_sensitivity(y_val, s_val, target)
        op, op_q = (operating_point_metrics(y_te, s_te, t) for t in (thr, thr_q))
        above.append(op["sensitivity"] >= target)
        above_quantile.append(op_q["sensitivity"] >= target)
        spec_cost.append(op_q["specificity"] - op["specificity"])
    # ~180 urgent per split: the plain quantile is met about half the time, the lower bound almost always.
    assert np.mean(above) >= 0.9 and 0.35 <= np.mean(above_quantile) <= 0.65
    assert np.mean(spec_cost) > 0  # paid for in specificity
    assert operating_threshold(y_val, s_val, target, rule="quantile") == threshold_at_sensitivity(y_val, s_val, target)
    with pytest.raises(ParameterError, match="operating_rule"):
        operating_threshold(y_val, s_val, target, rule="youden")


def test_threshold_refuses_bad_target_and_no_positives():
    with pytest.raises(ParameterError, match="target_sensitivity"):
        threshold_at_sensitivity([0, 1], [0.1, 0.9], 1.2)
    with pytest.raises(InputDataError, match="no urgent"):
        threshold_at_sensitivity([0, 0], [0.1, 0.9], 0.9)


def test_operating_point_matches_confusion_matrix_and_scipy_wilson():
    y, s = _scores(seed=2)
    thr = 0.8
    op = operating_point_metrics(y, s, thr)
    tn, fp, fn, tp = confusion_matrix(y, (s >= thr).astype(int)).ravel()
    assert (op["tp"], op["fp"], op["tn"], op["fn"]) == (tp, fp, tn, fn)
    assert op["sensitivity"] == pytest.approx(tp / (tp + fn))
    assert op["specificity"] == pytest.approx(tn / (tn + fp))
    ci = binomtest(int(tp), int(tp + fn)).proportion_ci(0.95, method="wilson")
    assert (op["sensitivity_low"], op["sensitivity_high"]) == pytest.approx((ci.low, ci.high), abs=1e-9)
    # At the sample's own prevalence, Bayes' PPV is the empirical precision.
    assert op["ppv"] == pytest.approx(tp / (tp + fp))
    assert op["npv"] == pytest.approx(tn / (tn + fn))


def test_wilson_and_ppv_reference_values():
    ci = binomtest(3, 10).proportion_ci(0.95, method="wilson")
    assert wilson_interval(3, 10) == pytest.approx((ci.low, ci.high))
    # 90 % sensitive, 90 % specific at 1 % prevalence: most positives are false (PPV 8.3 %).
    assert ppv_at_prevalence(0.9, 0.9, 0.01) == pytest.approx(0.009 / (0.009 + 0.099))


def test_subgroups_match_per_group_sklearn():
    y, s = _scores(n=500, seed=4)
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"site": rng.choice(["Casablanca", "Rabat"], 500), "sex": rng.choice(["F", "M"], 500)})
    sub = subgroup_metrics(table, y, s, 0.7, by=("site", "sex"))
    assert list(sub.group) == ["Casablanca", "Rabat", "F", "M"]
    for _, row in sub.iterrows():
        m = (table[row.attribute] == row.group).to_numpy()
        assert row.n == m.sum()
        assert row.auroc == pytest.approx(roc_auc_score(y[m], s[m]))
        assert row.sensitivity == pytest.approx(((s[m] >= 0.7) & (y[m] == 1)).sum() / y[m].sum())
    with pytest.raises(InputDataError, match="scanner"):
        subgroup_metrics(table, y, s, 0.7, by=("scanner",))


def test_small_cells_are_shown_as_less_than_the_minimum():
    y, s = _scores(n=300, prevalence=0.3, seed=8)
    rng = np.random.default_rng(2)
    age = np.where(rng.random(300) < 0.03, 85.0, rng.uniform(20, 79, 300))  # about 9 patients of 80+
    table = pd.DataFrame({"sex": rng.choice(["F", "M"], 300), "age_band": age_band(age)})
    full = subgroup_metrics(table, y, s, 0.7, by=("sex", "age_band"))
    shown = subgroup_metrics(table, y, s, 0.7, by=("sex", "age_band"), min_cell=10)
    assert list(shown.group) == list(full.group)
    for (_, f), (_, r) in zip(full.iterrows(), shown.iterrows()):
        n_neg = f.n - f.n_urgent
        assert r.n == (str(f.n) if f.n >= 10 else "<10")
        assert r.n_urgent == (str(f.n_urgent) if f.n >= 10 and f.n_urgent >= 10 else "<10")
        assert np.isnan(r.sensitivity) == (f.n < 10 or f.n_urgent < 10)
        assert np.isnan(r.specificity) == (f.n < 10 or n_neg < 10)
        if not np.isnan(r.sensitivity):
            assert r.sensitivity == f.sensitivity
    assert (shown.n == "<10").any() and (shown.n != "<10").any()  # the test exercises both sides


def test_roc_points_match_sklearn():
    y, s = _scores(seed=6, ties=True)
    fpr, tpr = roc_curve_points(y, s)
    ref_fpr, ref_tpr, _ = roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
