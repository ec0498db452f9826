"""Finding notebooks and reading their parameters without a kernel."""
from __future__ import annotations

import ast
import importlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from kit import i18n
from kit.errors import KitError
from kit.params import Param, Spec

NOTEBOOK_DIR_ENV = "KIT_NOTEBOOK_DIR"
_PREFIX = re.compile(r"^\d\d_")


def notebook_dir() -> Path:
    """The folder of the kit's notebooks.

    ``KIT_NOTEBOOK_DIR`` if set, else ``./notebooks`` when it exists, else the
    ``notebooks/`` folder beside the installed ``kit`` package (an editable
    install from the repository).
    """
    env = os.environ.get(NOTEBOOK_DIR_ENV)
    if env:
        return Path(env)
    here = Path.cwd() / "notebooks"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parent.parent / "notebooks"


def short_name(path) -> str:
    """``notebooks/00_quickstart.ipynb`` -> ``quickstart``."""
    return _PREFIX.sub("", Path(path).stem)


def list_notebooks(folder=None) -> list[Path]:
    folder = Path(folder) if folder else notebook_dir()
    return sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))


def find_notebook(name_or_path) -> Path:
    """Resolve ``NAME`` (``quickstart`` or ``00_quickstart``) or a path to a notebook file.

    Raises
    ------
    KitError
        Nothing matches; the message lists the notebooks there are.
    """
    text = str(name_or_path)
    path = Path(text)
    if path.suffix == ".ipynb" or os.sep in text:
        if path.is_file():
            return path.resolve()
        raise KitError(f"notebook {text} not found; give an existing .ipynb path or a name from `kit list`")
    for nb in list_notebooks():
        if text in (nb.stem, short_name(nb)):
            return nb.resolve()
    names = ", ".join(short_name(nb) for nb in list_notebooks()) or "(none)"
    raise KitError(f"unknown notebook {text!r}; available: {names}")


@dataclass(frozen=True)
class NotebookInfo:
    path: Path
    name: str
    purpose: str
    spec: Spec


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


_TYPE_KINDS = {"int": "int", "float": "float", "str": "str", "bool": "bool", "list": "list", "dict": "dict"}


def _spec_from_cell(nb) -> Spec:
    """A spec inferred from the parameters cell alone (notebooks without a kit spec)."""
    from papermill.translators import PythonTranslator

    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        return Spec(())
    params = []
    for p in PythonTranslator.inspect(cells[0]):
        default = _literal(p.default)
        kind = _TYPE_KINDS.get(p.inferred_type_name.split("|")[0].strip())
        if kind is None:
            kind = {bool: "bool", int: "int", float: "float", list: "list", dict: "dict"}.get(type(default), "str")
        if p.name == "output_dir":
            kind = "output_dir"  # so the runner can point it at the run folder
        optional = default is None or "None" in p.inferred_type_name
        params.append(Param(p.name, kind, default, p.help or "", optional=optional))
    return Spec(tuple(params))


def load_spec(ref: str) -> Spec:
    """Import ``"module:ATTRIBUTE"`` and return the Spec it names."""
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr or "PARAMETERS")


def inspect(path) -> NotebookInfo:
    """Read a notebook's purpose and parameter spec without starting a kernel.

    The spec comes from ``metadata.kit.spec`` (``"module:ATTR"``) when the
    notebook names one, otherwise from its ``parameters`` cell.
    """
    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:
        raise KitError(f"cannot read notebook {path}: {exc}; check that it is a valid .ipynb file") from None
    meta = nb.metadata.get("kit", {})
    spec = load_spec(meta["spec"]) if "spec" in meta else _spec_from_cell(nb)
    purpose = meta.get("purpose") or spec.purpose or _first_heading(nb)
    return NotebookInfo(path, short_name(path), purpose, spec)


def parameter_cell_values(path) -> dict:
    """The parameters cell's names and literal defaults, in order."""
    nb = nbformat.read(Path(path), as_version=4)
    return {p.name: p.default for p in _spec_from_cell(nb)}


def _first_heading(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.strip():
                    return line.lstrip("# ").strip()
    return ""


_LANG_LINE = re.compile(r"^lang\s*=\s*(['\"])\w+\1", re.M)


def in_language(nb, path, lang: str):
    """``nb`` in one language: ``lang``'s cells kept, ``lang = "<lang>"`` and the parameter comments in it.

    What ``kit teach student --lang`` writes, and the French copies nbval
    checks (``notebooks/fr/``). ``nb`` is changed in place and returned.

    Raises
    ------
    KitError
        The notebook's parameters cell declares no ``lang``: it has no other language yet.
    """
    path = Path(path)
    params = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not params or not _LANG_LINE.search(params[0].source):
        raise KitError(f"{path.name} has no lang parameter, so no version in another language yet; use it without --lang")
    i18n.select_cells(nb, lang)
    spec = inspect(path).spec
    lines = []
    with i18n.using(lang):
        for line in _LANG_LINE.sub(f'lang = "{lang}"', params[0].source).splitlines():
            name, sep, _doc = line.partition("  # ")
            key = name.split("=")[0].strip()
            lines.append(f"{name}{sep}{i18n._(spec[key].doc)}" if sep and key in spec.names else line)
    params[0].source = "\n".join(lines)
    return nb
