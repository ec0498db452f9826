import numpy as np
import pandas as pd
import pytest

from kit.errors import InputDataError, ParameterError
from kit.medical import notebook as nbk
from kit.medical.card import model_card


def test_split_keeps_patients_whole_and_near_fractions():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"patient_id": rng.integers(0, 800, 1000).astype(str),
                          "study_uid": [f"1.{i}" for i in range(1000)]})
    split = nbk.split_by_patient(table, seed=3)
    per_patient = pd.Series(split).groupby(table.patient_id).nunique()
    assert (per_patient == 1).all()
    frac = pd.Series(split).value_counts(normalize=True)
    assert frac["train"] == pytest.approx(0.4, abs=0.05) and frac["test"] == pytest.approx(0.3, abs=0.05)
    assert (nbk.split_by_patient(table, seed=3) == split).all()


def test_attach_labels_refuses_labels_that_match_nothing():
    table = pd.DataFrame({"study_uid": ["1.1", "1.2", "1.3"]})
    y = nbk.attach_labels(table, pd.Series({"1.1": 1, "1.3": 0}))
    assert y.tolist() == [1, -1, 0]
    with pytest.raises(InputDataError, match="original StudyInstanceUID"):
        nbk.attach_labels(table, pd.Series({"9.9": 1}))
    with pytest.raises(InputDataError, match="one class"):
        nbk.attach_labels(table, pd.Series({"1.1": 1, "1.2": 1}))


def test_labels_without_folder_refused():
    params = nbk.PARAMETERS.validate({"labels": __file__, "output_dir": "/tmp/kit-test-radiology"})
    with pytest.raises(ParameterError, match="dicom_dir"):
        nbk.resolve_inputs(params)


def test_embedded_set_generated_once_and_reused(tmp_path):
    a = nbk.embedded_dicom_dir(scale=0.01, seed=4, cache_dir=tmp_path)  # 20 studies
    stamp = (a / "labels.csv").stat().st_mtime_ns
    b = nbk.embedded_dicom_dir(scale=0.01, seed=4, cache_dir=tmp_path)
    assert a == b and (b / "labels.csv").stat().st_mtime_ns == stamp
    labels = pd.read_csv(a / "labels.csv")
    assert len(labels) == 20
    assert len(pd.read_csv(a / "broken_files.csv")) == 7
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no half-written folder left


def test_study_scores_take_the_highest_image():
    table = pd.DataFrame({"study_uid": ["a", "a", "b"]})
    out = nbk.study_scores(table, [-1.0, 2.0, 0.0], temperature=2.0)
    assert out.logit.tolist() == [2.0, 0.0]
    assert out.p_urgent.tolist() == pytest.approx([1 / (1 + np.exp(-1.0)), 0.5])


def test_model_card_has_the_sections_and_numbers():
    sub = pd.DataFrame({"attribute": ["site"], "group": ["Rabat"], "n": [50], "n_urgent": [15], "auroc": [0.93],
                        "sensitivity": [0.8], "sensitivity_low": [0.55], "sensitivity_high": [0.93],
                        "specificity": [0.9]})
    card = model_card({"auroc": 0.981, "auroc_ci_low": 0.97, "auroc_ci_high": 0.99, "sensitivity": 0.9,
                       "urgent_median_wait_fifo_min": 8.0, "urgent_median_wait_ai_min": 2.0}, sub,
                      data={"source": "synthetic", "n_test": 400}, model={"arch": "small_cnn", "n_parameters": 440621})
    for section in ("## Intended use", "## Data", "## Metrics", "## Subgroup results", "## Limitations"):
        assert section in card
    assert "0.981" in card and "0.970–0.990" in card and "Rabat" in card and "Lowest sensitivity: site = Rabat" in card
