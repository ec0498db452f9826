"""One job per module: modules stay short enough to read, functions fit on a screen.

The limits are a guide with a little slack, not a target: a module of about
400 lines, a function of about 60 lines of code (docstring, comments and
blank lines not counted). A module that must be longer says why in its
docstring, in a sentence starting ``Longer than 400 lines because``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[1] / "kit"
MODULE_LINES = 420
FUNCTION_CODE_LINES = 65
EXCUSE = "Longer than 400 lines because"
MODULES = sorted(KIT.rglob("*.py"))


def _code_lines(node, lines) -> int:
    body = node.body
    first = body[0]
    has_docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    start = first.end_lineno if has_docstring and len(body) > 1 else first.lineno - 1
    return sum(1 for line in lines[start:node.end_lineno] if line.strip() and not line.strip().startswith("#"))


def long_functions(path: Path, limit: int = FUNCTION_CODE_LINES) -> list:
    """``(name, code lines)`` of the functions in ``path`` longer than ``limit``."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    return [(node.name, n) for node in ast.walk(ast.parse(text))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (n := _code_lines(node, lines)) > limit]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(KIT.parent)))
def test_module_is_short_or_says_why(path):
    text = path.read_text(encoding="utf-8")
    n = len(text.splitlines())
    docstring = ast.get_docstring(ast.parse(text)) or ""
    assert n <= MODULE_LINES or EXCUSE in docstring, (
        f"{path.relative_to(KIT.parent)} has {n} lines: split it by job, or say in its docstring "
        f"'{EXCUSE} ...'")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(KIT.parent)))
def test_functions_fit_on_a_screen(path):
    assert long_functions(path) == [], f"split into named steps: {long_functions(path)}"


def test_the_counter_counts_code_not_docstrings(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_CODE_LINES + 1))
    long_one = tmp_path / "m.py"
    long_one.write_text(f'def f():\n    """Doc.\n\n    More.\n    """\n    # why\n\n{body}\n')
    assert long_functions(long_one) == [("f", FUNCTION_CODE_LINES + 1)]
    short_one = tmp_path / "n.py"
    short_one.write_text('def g():\n    """Doc\n' + "\n" * 200 + '"""\n    return 1\n')
    assert long_functions(short_one) == []
