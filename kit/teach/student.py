"""Student versions of notebooks: solutions replaced by stubs, outputs cleared, checks kept."""
from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

from kit import i18n
from kit.errors import KitError
from kit.io import atomic_path
from kit.notebooks import in_language

BEGIN = re.compile(r"^\s*###\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*###\s*END SOLUTION\s*$")
STUB = re.compile(r"^(\s*)###\s*STUB:\s?(.*)$")


def student_source(source: str, where: str = "cell") -> str:
    """Replace the solution block of one cell by its stub lines.

    Examples
    --------
    >>> print(student_source("# task\\n### BEGIN SOLUTION\\nx = 42\\n### END SOLUTION\\n### STUB: x = None  # your answer"))
    # task
    x = None  # your answer
    """
    out, inside, seen = [], False, False
    for line in source.splitlines():
        if BEGIN.match(line):
            if inside:
                raise KitError(f"{where}: BEGIN SOLUTION inside a solution block; close it with ### END SOLUTION")
            inside, seen = True, True
            continue
        if END.match(line):
            if not inside:
                raise KitError(f"{where}: END SOLUTION without BEGIN SOLUTION")
            inside = False
            continue
        if inside:
            continue
        stub = STUB.match(line)
        out.append(f"{stub.group(1)}{stub.group(2)}" if stub else line)
    if inside:
        raise KitError(f"{where}: solution block not closed; add ### END SOLUTION")
    if not seen:
        raise KitError(f"{where} is tagged 'solution' but has no ### BEGIN SOLUTION / ### END SOLUTION block")
    return "\n".join(out)


def solution_cells(nb) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if "solution" in c.get("metadata", {}).get("tags", [])]


def make_student(notebook, out_dir, lang: str | None = None) -> Path:
    """Write the student version of ``notebook`` into ``out_dir`` (same file name).

    Solution blocks become stubs, every output and execution count is cleared,
    check cells are kept. The instructor's notebook is not modified. With
    ``lang`` (``kit teach student NAME --lang fr``) only that language's cells
    are kept and the parameters cell says ``lang = "fr"``, so the narrative,
    the messages and the checks' verdicts are in it; the notebook's
    parameters cell must declare ``lang``.
    """
    path = Path(notebook)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:
        raise KitError(f"cannot read notebook {path}: {exc}") from None
    if lang is not None:
        if lang not in i18n.LANGS:
            raise KitError(f"--lang {lang!r} is not available; choose one of {', '.join(i18n.LANGS)}")
        in_language(nb, path, lang)
    cells = solution_cells(nb)
    if not cells:
        raise KitError(f"{path.name} has no cell tagged 'solution'; nothing to turn into exercises")
    for i in cells:
        nb.cells[i].source = student_source(nb.cells[i].source, f"{path.name} cell {i}")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.setdefault("kit", {})["student_version"] = True
    target = Path(out_dir) / path.name
    with atomic_path(target) as tmp:
        nbformat.write(nb, str(tmp))
    return target


def paste_solutions(student_nb, instructor_nb):
    """The student notebook with the instructor's solution cells put back (used by tests).

    Cells are matched by id (a student version in one language has fewer
    cells than the instructor's), by position for notebooks without ids.
    """
    by_id = {instructor_nb.cells[i].get("id"): instructor_nb.cells[i].source for i in solution_cells(instructor_nb)}
    if None not in by_id:
        for cell in student_nb.cells:
            if cell.get("id") in by_id:
                cell.source = by_id[cell["id"]]
        return student_nb
    for i in solution_cells(instructor_nb):
        student_nb.cells[i].source = instructor_nb.cells[i].source
    return student_nb


def teach_parameters(nb) -> dict:
    """The fast parameters a notebook declares for checking its exercises (``metadata.kit.teach_parameters``).

    Heavy notebooks (long training, large embedded data) name values, e.g.
    ``{"epochs": 1, "scale": 0.25}``, at which every check is still
    meaningful; the student-notebook test runs both versions with them.
    """
    params = nb.metadata.get("kit", {}).get("teach_parameters", {})
    if not isinstance(params, dict):
        raise KitError(f"metadata kit.teach_parameters must be a mapping of parameter to value, got {params!r}")
    return dict(params)


def with_parameters(nb, parameters: dict):
    """``nb`` with ``parameters`` injected after its ``parameters`` cell, as papermill does (no-op when empty)."""
    if not parameters:
        return nb
    from papermill.parameterize import parameterize_notebook

    nb = copy.deepcopy(nb)
    nb.metadata.setdefault("papermill", {})
    for cell in nb.cells:  # papermill looks for tags on every cell
        cell.metadata.setdefault("tags", [])
    return parameterize_notebook(nb, dict(parameters))
