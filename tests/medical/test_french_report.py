"""`kit run radiology_triage --lang fr`: no English sentence left in the narrative, plots or shown tables.

The notebook really runs on the embedded synthetic set (2,000 studies, 8
epochs: a few minutes on two busy cores). What the report shows is gathered
as for irrigation and leak detection (:mod:`tests.french_report`): every
English message of the kit's catalog whose French differs must be absent
from it, and so must English function words and the triage vocabulary.
Names a reader types or a file holds (code spans, ``worklist.csv``,
``p_urgent``, DICOM keywords and values) are set aside first, and so is the
device's reason, which :mod:`kit.backend` writes (not this notebook's words).
"""
import json
import re

import pytest

from kit.medical import notebook as nbk
from tests.french_report import assert_no_english_left, run_in_french

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

#: Words only English uses, and the triage words any English sentence left would carry.
ENGLISH_WORDS = {"the", "and", "of", "with", "from", "for", "is", "are", "by", "to", "this", "that", "which", "when",
                 "where", "per", "into", "than", "its", "their", "be", "has", "have", "not", "over", "under", "each",
                 "every", "more", "less", "only", "yes", "no", "study", "studies", "urgent_missed", "flagged",
                 "finding", "findings", "worklist", "wait", "waits", "threshold", "sensitivity", "specificity",
                 "training", "withheld", "truncated", "refused", "undecodable", "unreadable", "epoch", "loss",
                 "chance", "target", "scanner", "view", "sex", "age", "band", "routine", "policy", "split",
                 "subgroup", "median", "prevalence", "shift", "shifts", "quarantine", "quarantined", "audited",
                 "none", "fifo", "ai", "right", "hint"}

#: Names a reader types or a file holds, kept as they are in French: the parameters, Python and DICOM values,
#: and pacs_query's date values (since_last_run, all) in its parameter doc.
TYPED_NAMES = set(nbk.PARAMETERS.names) | {"True", "False", "None", "YES", "NO", "all"}


@pytest.fixture(scope="module")
def french_run(tmp_path_factory):
    run = run_in_french(tmp_path_factory.mktemp("fr"), "radiology_triage")
    reason = json.loads((run["out"] / "manifest.json").read_text())["device"]["reason"]
    typed = "|".join(sorted(map(re.escape, TYPED_NAMES)))
    run["prose"] = [re.sub(rf"(?<![\w-])({typed})(?![\w-])", " ", t.replace(reason, " ")) for t in run["prose"]]
    return run


def test_every_figure_is_read(french_run):
    # training, ROC, calibration, subgroups, Grad-CAM, waits
    assert len(french_run["figures"]) == 6
    titles = [t for f in french_run["figures"] for t in f["titles"]]
    assert "Courbe ROC, sous-ensemble de test" in titles
    assert "Sensibilité par sous-groupe, sous-ensemble de test" in titles
    assert any(t.startswith("Grad-CAM\u00a0: d’où vient le score urgent") for t in titles)
    assert any(re.fullmatch(r"(urgent|pas d’anomalie).*\np\u00a0=\u00a0\d,\d\d (non )?signalé", t, re.S) for t in titles)
    legends = [t for f in french_run["figures"] for t in f["legend"]]
    assert any(re.fullmatch(r"AUC \d,\d{3} \(IC à 95\u202f% \d,\d{3}–\d,\d{3}\)", t) for t in legends)


def test_no_catalog_message_nor_english_word_left(french_run):
    """Narrative, printed lines, plots and shown tables: catalog messages and English words."""
    assert_no_english_left(french_run, {"ECE on the test split", "Sensitivity by subgroup, test split",
                                        "flagged urgent", "first in, first out", "withheld"}, ENGLISH_WORDS)


def test_shown_table_headers_are_french(french_run):
    headers = set(french_run["headers"])
    assert {"motif", "fichiers", "attribut", "groupe", "effectif", "dont urgents", "sensibilité", "spécificité",
            "sensibilité, borne basse", "ordre de lecture", "médiane", "95e centile", "paramètre", "valeur"} <= headers
    assert not headers & {"reason", "files", "attribute", "group", "n_urgent", "sensitivity", "specificity",
                          "sensitivity_low", "policy", "median", "p95", "parameter", "value"}


def test_numbers_in_french_style(french_run):
    text = "\n".join(french_run["prose"])
    assert re.search(r"AUC \d,\d{3} \(IC à 95\u202f% \d,\d{3}–\d,\d{3}\) sur \d+ images de test, dont \d+ urgentes", text)
    assert re.search(r"sensibilité \d,\d{3} \(\d,\d{3}–\d,\d{3}\), cible 0,90\u202f; spécificité \d,\d{3}", text)
    assert re.search(r"\d+ images désidentifiées dans deid/ \(basic\), \d{1,3}(\u202f\d{3})+ actions tracées", text)
    assert re.search(r"attente médiane\u00a0: ordre d’arrivée \d+,\d → IA \d+,\d\u202fmin", text)
    assert re.search(r"ECE sur le sous-ensemble de test\u00a0: 0,\d{3} après temperature scaling", text)
    assert "image retenue" in text and "incidence" in text  # quarantine reasons and subgroup attributes, in French
    printed = [t for t in french_run["prose"] if not re.search(r"\d+%\|", t)]  # tqdm's own bars (s/batch on a slow CPU)
    assert not [t for t in printed if re.search(r"\b0\.\d{2,3}\b", t)]  # no decimal point left in the metrics


def test_files_keep_their_english_columns(french_run):
    out = french_run["out"]
    assert (out / "worklist.csv").read_text().splitlines()[0] == "study_id,p_urgent,priority,rank"
    assert {r.split(",")[2] for r in (out / "worklist.csv").read_text().splitlines()[1:]} <= {"urgent", "routine"}
    assert (out / "quarantine.csv").read_text().splitlines()[0] == "file,reason"
    assert any(re.search(r',"?withheld: ', r) for r in (out / "quarantine.csv").read_text().splitlines()[1:])
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"auroc", "sensitivity", "specificity", "ppv", "int8_auroc"} <= set(metrics)
    assert (out / "model_card.md").read_text().startswith("# Model card: urgent-finding triage")  # stays English
    tags = [t for c in french_run["nb"]["cells"] for t in c.get("metadata", {}).get("tags", [])]
    assert "lang-en" not in tags and "lang-fr" in tags
    assert json.loads((out / "manifest.json").read_text())["parameters"]["lang"] == "fr"


def test_french_student_version_fails_then_passes(tmp_path):
    """`kit teach student radiology_triage --lang fr`: French narrative and verdicts; stubs fail, solutions pass."""
    import nbformat

    from kit import notebooks
    from kit.cli import main
    from kit.exercise_checks import RIGHT_MARK, WRONG_MARK
    from kit.i18n import _, using
    from kit.teach.student import paste_solutions, solution_cells, with_parameters
    from tests.teach.test_student_notebooks import _parameters, _run, _verdicts

    path = notebooks.find_notebook("radiology_triage")
    assert main(["teach", "student", "radiology_triage", "--lang", "fr", "--out", str(tmp_path / "student")]) == 0
    student_path = tmp_path / "student" / path.name
    student = nbformat.read(student_path, as_version=4)
    assert 'lang = "fr"' in next(c.source for c in student.cells if "parameters" in c.metadata.get("tags", []))
    assert all("lang-en" not in c.metadata.get("tags", []) for c in student.cells)
    assert any(c.source.startswith("## À vous de jouer") for c in student.cells)
    assert not any(c.source.startswith("## Your turn") for c in student.cells)
    instructor = nbformat.read(path, as_version=4)
    params = _parameters(path, instructor, tmp_path / "outputs")  # epochs 1, scale 0.25 (metadata.kit.teach_parameters)
    with using("fr"):
        right, wrong = _(RIGHT_MARK), _(WRONG_MARK)
    n = len(solution_cells(instructor))
    as_given = _run(with_parameters(student, params), path.parent)
    assert _verdicts(as_given, right, wrong) == ["wrong"] * n, "the stubs must fail every check, in French"
    hints = "".join(o.get("text", "") for i in solution_cells(as_given) for o in as_given.cells[i + 1].get("outputs", []))
    assert "exercice 1\u00a0: une augmentation" in hints and "the " not in hints
    solved = paste_solutions(nbformat.read(student_path, as_version=4), instructor)
    assert _verdicts(_run(with_parameters(solved, params), path.parent), right, wrong) == ["right"] * n
