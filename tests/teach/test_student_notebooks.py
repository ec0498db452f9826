"""Every sector notebook's student version fails its checks as given and passes them with the solutions.

Heavy notebooks declare fast parameters in ``metadata.kit.teach_parameters``
(fewer epochs, a smaller embedded set); both versions run with them, and
with ``output_dir`` in a temporary folder so the instructor's outputs stay.
"""
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from kit import notebooks
from kit.exercise_checks import RIGHT_MARK, WRONG_MARK
from kit.teach.student import make_student, paste_solutions, solution_cells, teach_parameters, with_parameters

WITH_EXERCISES = [p for p in notebooks.list_notebooks() if solution_cells(nbformat.read(p, as_version=4))]

pytestmark = pytest.mark.timeout(1200)


def _verdicts(nb, right=RIGHT_MARK, wrong=WRONG_MARK) -> list[str]:
    """The check verdicts printed after each solution cell, in order."""
    out = []
    for i in solution_cells(nb):
        text = "".join(o.get("text", "") for o in nb.cells[i + 1].get("outputs", []))
        out.append("right" if right in text else "wrong" if wrong in text else "none")
    return out


def _run(nb, folder: Path):
    NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def _parameters(path: Path, nb, out: Path) -> dict:
    params = teach_parameters(nb)
    if "output_dir" in notebooks.parameter_cell_values(path):
        params.setdefault("output_dir", str(out))
    return params


def test_irrigation_has_exercises():
    assert any(p.stem.endswith("irrigation_planning") for p in WITH_EXERCISES)


@pytest.mark.parametrize("stem", ["03_leak_detection", "05_radiology_triage"])
def test_exercised_notebooks(stem):
    assert any(p.stem == stem for p in WITH_EXERCISES), f"{stem} has no exercises"


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.stem for p in WITH_EXERCISES])
def test_student_version_fails_then_passes(path, tmp_path):
    instructor = nbformat.read(path, as_version=4)
    params = _parameters(path, instructor, tmp_path / "outputs")
    n = len(solution_cells(instructor))
    assert n >= 2
    t0 = time.perf_counter()
    # Run where the instructor's notebook lives, so its relative default paths mean the same.
    student = with_parameters(nbformat.read(make_student(path, tmp_path), as_version=4), params)
    as_given = _run(student, path.parent)
    assert _verdicts(as_given) == ["wrong"] * n, "the stubs must fail every check"
    solved = paste_solutions(nbformat.read(make_student(path, tmp_path), as_version=4), instructor)
    solved = _run(with_parameters(solved, params), path.parent)
    assert _verdicts(solved) == ["right"] * n
    print(f"{path.stem}: student and solved versions in {time.perf_counter() - t0:.0f} s with {params}")


def test_teach_parameters_are_injected_after_the_parameters_cell():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.metadata["kit"] = {"teach_parameters": {"epochs": 1}}
    nb.cells = [nbformat.v4.new_code_cell("epochs = 8", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(epochs)")]
    out = with_parameters(nb, teach_parameters(nb))
    assert [c.source for c in out.cells][0] == "epochs = 8"
    assert "epochs = 1" in out.cells[1].source and out.cells[2].source == "print(epochs)"
    assert with_parameters(nb, {}) is nb


@pytest.mark.parametrize("name", ["irrigation_planning", "leak_detection"])
def test_french_student_version_fails_then_passes(name, tmp_path):
    """`kit teach student NAME --lang fr`: French narrative, verdicts in French, same checks."""
    from kit.i18n import _, using

    path = notebooks.find_notebook(name)
    instructor = nbformat.read(path, as_version=4)
    params = _parameters(path, instructor, tmp_path / "outputs")
    student_path = make_student(path, tmp_path, lang="fr")
    student = nbformat.read(student_path, as_version=4)
    assert 'lang = "fr"' in next(c.source for c in student.cells if "parameters" in c.metadata.get("tags", []))
    assert all("lang-en" not in c.metadata.get("tags", []) for c in student.cells)
    assert any(c.source.startswith("## À vous de jouer") for c in student.cells)
    with using("fr"):
        right, wrong = _(RIGHT_MARK), _(WRONG_MARK)
    assert (right, wrong) == ("✔ Juste", "✘ Pas encore")
    n = len(solution_cells(instructor))
    as_given = _run(with_parameters(student, params), path.parent)
    assert _verdicts(as_given, right, wrong) == ["wrong"] * n, "the stubs must fail every check, in French"
    solved = paste_solutions(nbformat.read(student_path, as_version=4), instructor)
    assert _verdicts(_run(with_parameters(solved, params), path.parent), right, wrong) == ["right"] * n
