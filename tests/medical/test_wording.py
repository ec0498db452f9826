"""kit.medical.wording: in English the notebook's lines as its cells printed them before; in French, French style.

The English references are the f-strings notebook 05 held before it called
these helpers (nbval compares the stored outputs, so they must not move).
"""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from kit.i18n import using
from kit.medical import wording

OP = {"n": 600, "n_urgent": 229, "sensitivity": 0.9432, "sensitivity_low": 0.9051, "sensitivity_high": 0.9671,
      "specificity": 0.6307, "specificity_low": 0.5811, "specificity_high": 0.6781, "ppv": 0.6121, "prevalence": 0.3817}
AUC = (0.93612, 0.91421, 0.95633)


@pytest.fixture
def sim():
    summary = pd.DataFrame({"policy": ["fifo", "ai"], "group": ["urgent", "urgent"], "n": [3386, 3386],
                            "mean": [12.54, 9.07], "median": [8.84, 2.93], "p95": [40.5, 40.46], "max": [79.21, 79.4]})

    def metric(stat, policy, group="urgent"):
        row = summary[(summary.policy == policy) & (summary.group == group)]
        return float(row[stat].iloc[0])

    return SimpleNamespace(summary=summary, metric=metric)


def test_english_lines_are_the_cells_old_f_strings(sim):
    auc, op, target = AUC, OP, 0.9
    with using("en"):
        assert wording.test_summary(auc, op, target) == (
            f"AUROC {auc[0]:.3f} (95% CI {auc[1]:.3f}-{auc[2]:.3f}) on {op['n']} test images, {op['n_urgent']} urgent\n"
            f"sensitivity {op['sensitivity']:.3f} ({op['sensitivity_low']:.3f}-{op['sensitivity_high']:.3f}), "
            f"target {target:.2f}; specificity {op['specificity']:.3f} "
            f"({op['specificity_low']:.3f}-{op['specificity_high']:.3f}); PPV {op['ppv']:.3f} at prevalence {op['prevalence']:.2f}")
        assert wording.ece_line(0.0523, 0.1468) == "ECE on the test split: 0.052 after temperature scaling (0.147 before)"
        assert wording.waits_line(sim) == ("urgent studies, median wait: FIFO 8.8 -> AI 2.9 min; "
                                           "maximum: FIFO 79 -> AI 79 min")
        int8_auroc, speedup = 0.9375, 2.4
        assert wording.int8_line(int8_auroc, auc[0], speedup) == (
            f"int8 AUROC {int8_auroc:.3f} (Torch fp32 {auc[0]:.3f}, change {int8_auroc - auc[0]:+.3f}); "
            f"int8 at least twice Torch fp32 throughput: {speedup >= 2}")
        wl = pd.DataFrame({"priority": ["urgent", "routine", "urgent"]})
        assert wording.worklist_line(wl) == "worklist: 3 studies, 2 flagged urgent"
        card = "\n".join(f"line {k}" for k in range(20))
        assert wording.card_preview(card) == "\n".join(card.splitlines()[:12])
        assert wording.shown_waits(sim.summary).equals(sim.summary.round(1))


def test_english_fit_and_gradcam_lines():
    clf = SimpleNamespace(arch="small_cnn", n_parameters=lambda: 440621, temperature_=0.4713, threshold_=0.0891,
                          logit_threshold_=-0.5)
    z_val, y_val = np.array([-1.0, 0.0, 1.0, -0.2, 2.0]), np.array([1, 1, 1, 0, 0])
    tr, va, te = np.array([True, False]), np.array([True, True]), np.array([False, True])
    with using("en"):
        assert wording.fit_summary(clf, 64, (tr, va, te), z_val, y_val, "lower_bound", 0.9) == (
            "small_cnn: 0.44 M parameters, 64 px; train 1, validation 2, test 1 images\n"
            "temperature 0.47; threshold p_urgent >= 0.089 (validation sensitivity 0.667, rule lower_bound, target 0.90)")
        titles = wording.gradcam_titles(np.array([1, 0]), np.array(["effusion", ""]), np.array([0.97, 0.41]),
                                        np.array([True, False]), [0, 1])
        assert titles == ["urgent (effusion)\np=0.97 flagged", "no finding\np=0.41 not flagged"]


def test_french_lines_use_french_words_and_numbers(sim):
    with using("fr"):
        text = wording.test_summary(AUC, OP, 0.9)
        assert text.startswith("AUC 0,936 (IC à 95\u202f% 0,914–0,956) sur 600 images de test, dont 229 urgentes")
        assert "VPP 0,612 à une prévalence de 0,38" in text
        assert wording.waits_line(sim) == ("examens urgents, attente médiane\u00a0: ordre d’arrivée 8,8 → IA 2,9\u202fmin"
                                           "\u202f; maximum\u00a0: ordre d’arrivée 79 → IA 79\u202fmin")
        assert wording.int8_line(0.9375, AUC[0], 1.5).endswith("Torch fp32\u00a0: non")
        assert "-0,001" in wording.int8_line(0.9351, AUC[0], 2.5)
        shown = wording.shown_waits(sim.summary)
        assert list(shown.columns) == ["ordre de lecture", "groupe", "effectif", "moyenne", "médiane", "95e centile", "maximum"]
        assert shown.iloc[0].tolist()[:2] == ["ordre d’arrivée", "urgent"] and shown.iloc[0, 4] == "8,8"
        titles = wording.gradcam_titles(np.array([1]), np.array(["effusion"]), np.array([0.97]), np.array([True]), [0])
        assert titles == ["urgent (épanchement)\np\u00a0=\u00a00,97 signalé"]


def test_quarantine_reasons_shown_in_french():
    summary = pd.DataFrame({"reason": ["withheld", "undecodable (JPEG Baseline (Process 1))",
                                       "not a DICOM file (no 'DICM' prefix and no data element at the start)",
                                       "no pixel data (not an image", "something new"], "files": [18, 1, 1, 1, 2]})
    with using("en"):
        assert wording.shown_quarantine(summary) is summary
    with using("fr"):
        shown = wording.shown_quarantine(summary)
    assert list(shown.columns) == ["motif", "fichiers"]
    assert shown["motif"].tolist() == ["image retenue", "non décodable (JPEG Baseline (Process 1))", "pas un fichier DICOM",
                                       "pas de données pixel (pas une image)", "something new"]


def test_subgroups_shown_in_french_without_negative_zero():
    sub = pd.DataFrame({"attribute": ["view_position", "sex"], "group": ["AP", "F"], "n": [96, 303],
                        "n_urgent": ["38", "<10"], "specificity_low": [-0.00001, 0.5321]})
    with using("en"):
        assert wording.shown_subgroups(sub).equals(sub.round(3))
    with using("fr"):
        shown = wording.shown_subgroups(sub)
    assert shown["attribut"].tolist() == ["incidence", "sexe"]
    assert shown["spécificité, borne basse"].tolist() == ["0,000", "0,532"]
    assert shown["dont urgents"].tolist() == ["38", "<10"]
