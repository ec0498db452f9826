"""`kit run logistics_vision --lang fr`: no English sentence left in the narrative, plots or shown tables.

The notebook really runs (detector, footage, code reader, ONNX and int8) at
``scale=0.25``, the smoke-test size its parameter doc names, so that the
test takes minutes, not a quarter of an hour, on two busy cores. What the
report shows is gathered as for irrigation and leak detection
(:mod:`tests.french_report`): every English message of the kit's catalog
whose French differs must be absent, and so must English function words and
the yard vocabulary. Names a reader types or a file holds (code spans,
``codes.csv``, ``max_dwell_s``) are set aside first, and so are the
parameters table's values (``zones`` is a GeoJSON dict with the user's zone
names); the French parameter docs come from the catalog, checked there.

The student version (`kit teach student logistics_vision --lang fr`) is
checked without training a detector: its exercises' checks only need the
exercise cells, run as given (French verdict "Pas encore") and solved.
"""
import json
import re

import nbformat
import pytest

from kit import i18n, notebooks
from kit.exercise_checks import RIGHT_MARK, WRONG_MARK
from kit.vision import notebook as nbk
from tests.french_report import assert_no_english_left, read_run

#: Words only English uses, and the yard words any English sentence left would carry.
ENGLISH_WORDS = {"the", "and", "of", "with", "from", "for", "is", "are", "by", "to", "this", "that", "which", "when",
                 "where", "per", "into", "than", "its", "their", "be", "has", "have", "not", "over", "under", "each",
                 "every", "more", "only", "container", "containers", "truck", "trucks", "pallet", "pallets", "person",
                 "people", "lane", "stacks", "road", "boxes", "objects", "frames", "crossings", "alerts", "dwell",
                 "stays", "detector", "training", "loss", "epoch", "recall", "thresholds", "counting", "accuracy",
                 "crops", "reader", "engines", "blurred", "restricted", "ground", "truth", "sample", "latency",
                 "yes", "no", "held", "gate", "best", "written", "lines"}


def _parameter_docs_fr() -> set:
    with i18n.using("fr"):
        return {i18n._(p.doc) for p in nbk.PARAMETERS}


@pytest.fixture(scope="module")
def french_run(tmp_path_factory):
    from kit.cli import main

    out = tmp_path_factory.mktemp("fr") / "logistics_vision"
    assert main(["run", "logistics_vision", "--lang", "fr", "--out", str(out), "--no-progress",
                 "-p", "device", "cpu", "-p", "scale", "0.25"]) == 0
    run = read_run(out)
    docs = _parameter_docs_fr()
    # the parameters table: docs (catalog messages, checked there) and values (the user's names, Python reprs)
    run["prose"] = [t for t in run["prose"] if t not in docs and not t.startswith(("{'type'", "['", "'"))
                    and "TqdmWarning" not in t]  # tqdm's own warning (no ipywidgets), shown in English runs too
    return run


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_every_figure_is_read(french_run):
    # training, precision-recall, sample detections, footage counts, preview frames, latency
    assert len(french_run["figures"]) == 6
    titles = [t for f in french_run["figures"] for t in f["titles"]]
    assert {"Entraînement du détecteur", "Précision–rappel à IoU 0,5 (jeu de test)", "passages cumulés",
            "zone\u00a0: voie des camions", "SingleStream (lot de 1)"} <= set(titles)
    assert any(re.fullmatch(r"t = \d+,\d\u202fs", t) for t in titles)
    legends = [t for f in french_run["figures"] for t in f["legend"]]
    assert "route entrées" in legends and any(re.fullmatch(r"conteneur \(AP \d,\d\d\)", t) for t in legends)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_no_catalog_message_nor_english_word_left(french_run):
    """Narrative, printed lines, plots and shown tables: catalog messages and English words."""
    assert_no_english_left(french_run, {"Detector training", "crossings so far", "truck lane",
                                        "frames; distinct objects tracked"}, ENGLISH_WORDS)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_shown_table_headers_are_french(french_run):
    headers = set(french_run["headers"])
    assert {"classe", "AP@0,5", "fichier", "confiance", "code réel", "lecture brute", "séjours", "séjour moyen (s)",
            "paramètre"} <= headers
    assert not headers & {"class", "ap50", "ap50_95", "file_name", "true_code", "raw_valid", "count", "mean", "max",
                          "category", "parameter"}


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_numbers_in_french_style(french_run):
    text = "\n".join(french_run["prose"])
    assert re.search(r"apprentissage\u00a0: \d+ images, [\d\u202f]+ boîtes englobantes, \d+ éléments? écartés?", text)
    assert re.search(r"mAP@0,5 sur le test \d,\d{3}, mAP@0,50:0,95 \d,\d{3} sur \d+ images, [\d\u202f]+ objets", text)
    assert re.search(r"codes entiers justes à \d+,\d\u202f% après correction par le chiffre de contrôle", text)
    assert re.search(r"seuils de comptage\u00a0: conteneur \d,\d\d, camion \d,\d\d", text)
    assert re.search(r"ONNX Runtime concorde avec Torch à 1e-3 près\u00a0: (oui|non)", text)
    scores = [ln for ln in text.splitlines() if "mAP" in ln or "seuils de comptage" in ln]
    assert scores and not any(re.search(r"\d\.\d", ln) for ln in scores)  # no decimal point left in the scores


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_files_keep_their_english_columns(french_run):
    out = french_run["out"]
    assert (out / "codes.csv").read_text().splitlines()[0] == "file_name,code,valid,confidence,raw,raw_valid,true_code"
    assert "dwell_s" in (out / "dwell.csv").read_text().splitlines()[0]
    assert "images_per_s" in (out / "benchmark.csv").read_text().splitlines()[0]
    assert "person in restricted zone" in (out / "alerts.csv").read_text() or len((out / "alerts.csv").read_text().splitlines()) == 1
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"map50", "code_accuracy", "trucks_counted"} <= set(metrics)
    assert (out / "model_card.md").read_text().startswith("# Model card")
    tags = [t for c in french_run["nb"]["cells"] for t in c.get("metadata", {}).get("tags", [])]
    assert "lang-en" not in tags and "lang-fr" in tags
    assert json.loads((out / "manifest.json").read_text())["parameters"]["lang"] == "fr"


def _exercise_namespace():
    import torch

    return {"torch": torch}


def _verdicts(nb, namespace) -> list[str]:
    """Run each exercise cell and the check after it, in French; the verdict of each check."""
    import contextlib
    import io

    from kit.teach.student import solution_cells

    out = []
    with i18n.using("fr"):
        right, wrong = i18n._(RIGHT_MARK), i18n._(WRONG_MARK)
        for i in solution_cells(nb):
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                exec(nb.cells[i].source, namespace)
                exec(nb.cells[i + 1].source, namespace)
            text = buffer.getvalue()
            out.append("right" if right in text else "wrong" if wrong in text else "none")
    return out


def test_french_student_version_fails_then_passes(tmp_path):
    """`kit teach student logistics_vision --lang fr`: French narrative and verdicts; the stubs fail, the solutions pass."""
    from kit.teach.student import make_student, paste_solutions, solution_cells

    path = notebooks.find_notebook("logistics_vision")
    instructor = nbformat.read(path, as_version=4)
    student_path = make_student(path, tmp_path, lang="fr")
    student = nbformat.read(student_path, as_version=4)
    assert 'lang = "fr"' in next(c.source for c in student.cells if "parameters" in c.metadata.get("tags", []))
    assert all("lang-en" not in c.metadata.get("tags", []) for c in student.cells)
    assert any(c.source.startswith("## À vous de jouer") for c in student.cells)
    assert not any("### BEGIN SOLUTION" in c.source for c in student.cells)
    n = len(solution_cells(instructor))
    assert n == 3
    assert _verdicts(student, _exercise_namespace()) == ["wrong"] * n
    solved = paste_solutions(nbformat.read(student_path, as_version=4), instructor)
    assert _verdicts(solved, _exercise_namespace()) == ["right"] * n
