"""Every sector notebook's student version fails its checks as given and passes them with the solutions."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from kit import notebooks
from kit.teach.checks import RIGHT_MARK, WRONG_MARK
from kit.teach.student import make_student, paste_solutions, solution_cells

WITH_EXERCISES = [p for p in notebooks.list_notebooks() if solution_cells(nbformat.read(p, as_version=4))]

pytestmark = pytest.mark.timeout(1200)


def _verdicts(nb) -> list[str]:
    """The check verdicts printed after each solution cell, in order."""
    out = []
    for i in solution_cells(nb):
        text = "".join(o.get("text", "") for o in nb.cells[i + 1].get("outputs", []))
        out.append("right" if RIGHT_MARK in text else "wrong" if WRONG_MARK in text else "none")
    return out


def _run(nb, folder: Path):
    NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def test_irrigation_has_exercises():
    assert any(p.stem.endswith("irrigation_planning") for p in WITH_EXERCISES)


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.stem for p in WITH_EXERCISES])
def test_student_version_fails_then_passes(path, tmp_path):
    instructor = nbformat.read(path, as_version=4)
    student = nbformat.read(make_student(path, tmp_path), as_version=4)
    assert len(solution_cells(instructor)) >= 2
    # Run where the instructor's notebook lives, so its relative default paths mean the same.
    as_given = _run(student, path.parent)
    assert _verdicts(as_given) == ["wrong"] * len(solution_cells(instructor)), "the stubs must fail every check"
    solved = _run(paste_solutions(nbformat.read(make_student(path, tmp_path), as_version=4), instructor), path.parent)
    assert _verdicts(solved) == ["right"] * len(solution_cells(instructor))
