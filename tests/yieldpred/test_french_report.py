"""`kit run yield_prediction --lang fr`: no English left in the narrative, plots or shown tables.

The notebook really runs on the embedded Chaouia-like region (its cross-validations train many LightGBM models:
several minutes on two busy cores). What the report shows is gathered as for irrigation and leak detection
(:mod:`tests.french_report`): no English message of the catalog whose French differs, no English function word
nor yield vocabulary. Names a reader types or a file holds (code spans, ``predictions.csv``, ``yield_p50``) are
set aside first. A check on the French student version (``kit teach student yield_prediction --lang fr``) runs fast.
"""
import json
import re

import pytest

from kit.yieldpred import notebook as nbk
from tests.french_report import assert_no_english_left, names_set_aside, run_in_french

#: Words only English uses, and the yield words any English sentence left would carry.
ENGLISH_WORDS = {"the", "and", "of", "with", "from", "for", "is", "are", "by", "to", "this", "that", "which", "when",
                 "where", "per", "into", "than", "its", "their", "be", "has", "have", "not", "over", "under", "each",
                 "every", "more", "less", "only", "yield", "yields", "field", "fields", "season", "seasons", "forecast",
                 "baseline", "trend", "mean", "observed", "predicted", "coverage", "held", "out", "skill", "lead",
                 "uncertainty", "width", "easting", "northing", "drives", "profiles", "clear", "features", "aside",
                 "model", "right", "yet", "days"}
#: Names a reader types, kept English in the French parameter docs: the parameters and the input files' columns.
TYPED_NAMES = set(nbk.PARAMETERS.names) | {"crop", "commune", "year", "date", "ndvi", "auto", "None"}


@pytest.fixture(scope="module")
def french_run(tmp_path_factory):
    run = run_in_french(tmp_path_factory.mktemp("fr"), "yield_prediction")
    typed = "|".join(sorted(TYPED_NAMES))
    run["prose"] = [re.sub(rf"(?<![\w-])({typed})(?![\w-])", " ", t) for t in run["prose"]]
    for figure in run["figures"]:  # the contributions chart's ticks are feature names (features.parquet columns)
        figure["ticks"] = [names_set_aside(t) for t in figure["ticks"]]
    return run


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_every_figure_is_read_and_french(french_run):
    titles = [t for f in french_run["figures"] for t in f["titles"]]
    assert len(french_run["figures"]) == 5  # NDVI profiles, predicted vs observed, skill by lead time, contributions, map
    assert "Profils de NDVI par campagne (lacunes comblées, lissés)" in titles
    assert any(re.fullmatch(r"Rendement prévu \d{4} \(P50\)", t) for t in titles)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_no_catalog_message_nor_english_word_left(french_run):
    assert_no_english_left(french_run, {"held-out season", "baseline: field mean + trend",
                                        "Leave-one-year-out: predicted vs observed"}, ENGLISH_WORDS)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_shown_table_headers_are_french(french_run):
    headers = set(french_run["headers"])
    assert {"parcelle", "campagne", "rendement P10 (t/ha)", "rendement P50 (t/ha)", "rendement P90 (t/ha)",
            "NRMSE du modèle P50", "paramètre"} <= headers
    assert not headers & {"field_id", "year", "yield_p10", "yield_p50", "yield_p90", "cv_nrmse_p50", "parameter"}


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_numbers_in_french_style(french_run):
    text = "\n".join(french_run["prose"])
    assert re.search(r"\d{1,3}\u202f\d{3} observations parcelle-date sans nuage", text)
    assert re.search(r"\d+ parcelles prévues pour \d{4}\u00a0: P50 moyen \d+,\d\d\u202ft/ha", text)
    assert re.search(r"couvre \d+\u202f% des observations hors année", text)
    assert re.search(r"NRMSE du modèle \d+,\d\u202f%", text)
    assert "✔ Juste (exercice 2\u00a0: NRMSE de la référence avec tendance)" in text  # the verdicts, in French


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_files_keep_their_english_columns(french_run):
    out = french_run["out"]
    assert (out / "predictions.csv").read_text().splitlines()[0] == "field_id,year,yield_p10,yield_p50,yield_p90"
    assert "yield_t_ha" in (out / "cv_predictions.csv").read_text().splitlines()[0]
    assert "interval_coverage_p10_p90" in json.loads((out / "metrics.json").read_text())
    tags = [t for c in french_run["nb"]["cells"] for t in c.get("metadata", {}).get("tags", [])]
    assert "lang-en" not in tags and "lang-fr" in tags
    assert json.loads((out / "manifest.json").read_text())["parameters"]["lang"] == "fr"


def test_french_student_version(tmp_path):
    """`kit teach student yield_prediction --lang fr`: French cells only, lang fr, no solutions; checks fail as given."""
    from pathlib import Path

    import nbformat

    from kit import i18n
    from kit.teach.student import make_student
    from kit.yieldpred import exercises

    source = Path(__file__).resolve().parents[2] / "notebooks" / "01_yield_prediction.ipynb"
    student = nbformat.read(make_student(source, tmp_path, lang="fr"), as_version=4)
    assert 'lang = "fr"' in next(c.source for c in student.cells if "parameters" in c.metadata.get("tags", []))
    assert all("lang-en" not in c.metadata.get("tags", []) for c in student.cells)
    assert any(c.source.startswith("### Exercice 2") for c in student.cells if c.cell_type == "markdown")
    assert not any("BEGIN SOLUTION" in c.source for c in student.cells)
    import pandas as pd

    cv = pd.DataFrame({"yield_t_ha": [2.0, 4.0], "baseline_trend": [2.0, 5.0]})
    with i18n.using("fr"):
        given = exercises.check_nrmse(None, cv)  # the stub's answer
        solved = exercises.check_nrmse(exercises.reference_nrmse(cv["yield_t_ha"], cv["baseline_trend"]), cv)
    assert not given.passed and "exercice 2" in str(given) and "donnez une valeur à nrmse_trend" in str(given)
    assert solved.passed and "NRMSE de 23,6\u202f% du rendement moyen" in str(solved)
