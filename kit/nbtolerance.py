"""Compare a notebook's trained numbers within tolerances, and everything else exactly.

nbval compares a notebook's stored outputs with a fresh run's text, character
for character. That is right for outputs a machine cannot change (generated
data, ingest, tables computed without training) and wrong for numbers that
come out of training a network: bfloat16 autocast, oneDNN's kernel choice and
thread counts change the last digits from one CPU to the next, and training
amplifies them. A rules file names the cells whose outputs hold such numbers
and, for each, how far a number may move::

    04_logistics_vision:            # notebook file name without .ipynb
      cell-10:                      # the cell's id (nbformat 4.5)
        why: test mAP of the trained detector
        numbers:                    # named numbers: NUM marks the one compared
          - {name: map50, pattern: 'test mAP@0\\.5 NUM', abs: 0.04, min: 0.75}
        rest: {abs: 0.05}           # every other number of the cell; default: exact
        ignore: [text/html]         # outputs of this type not compared at all

In such a cell every number is compared with its tolerance (``abs`` plus
``rel`` times the stored value) and, for named numbers, against ``min`` and
``max`` (a skill floor holds whatever the stored run scored); the text around
the numbers is still compared exactly, so a changed label, a missing line or a
different count of numbers fails. Cells not in the file are left to nbval.

Used as a pytest plugin beside nbval::

    pytest notebooks --nbval -p kit.nbtolerance --nbval-tolerances notebooks/trained_outputs.yaml

Examples
--------
>>> rule = CellRule.from_dict({"why": "demo", "numbers": [{"name": "auc", "pattern": "AUROC NUM", "abs": 0.02}]})
>>> compare_texts({"stdout": "AUROC 0.951 on 601 images"}, {"stdout": "AUROC 0.940 on 601 images"}, rule).problems
[]
>>> compare_texts({"stdout": "AUROC 0.951 on 601 images"}, {"stdout": "AUROC 0.600 on 601 images"}, rule).problems
['auc: stored 0.951, new 0.6 (allowed 0.951 ± 0.02)']
"""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# A number standing alone: not part of a word (B04, ap50), a version or a
# label like mAP@0.5; a sign only where no word precedes it (1.000-1.000 is two).
NUMBER = r"(?<![\w.@])(?:(?<![\w)])[-+])?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.]*\w)"
_NUMBER_RE = re.compile(NUMBER)
TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "text/latex")
PLACEHOLDER = "‹{}›"


@dataclass(frozen=True)
class Tolerance:
    """How far a new number may be from the stored one, and the bounds it must keep."""

    abs: float = 0.0
    rel: float = 0.0
    min: float | None = None
    max: float | None = None

    @classmethod
    def from_dict(cls, d: dict, where: str) -> "Tolerance":
        unknown = set(d) - {"abs", "rel", "min", "max"}
        if unknown:
            raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r}; a tolerance has abs, rel, min, max")
        return cls(float(d.get("abs", 0.0)), float(d.get("rel", 0.0)), d.get("min"), d.get("max"))

    def check(self, stored: float, new: float) -> str | None:
        """None when ``new`` is acceptable, else why not."""
        allowed = self.abs + self.rel * abs(stored)
        problems = []
        if not math.isclose(new, stored, abs_tol=allowed + 1e-12, rel_tol=0.0):
            problems.append(f"allowed {_fmt(stored)} ± {_fmt(allowed)}")
        if self.min is not None and new < self.min:
            problems.append(f"below its floor {_fmt(self.min)}")
        if self.max is not None and new > self.max:
            problems.append(f"above its ceiling {_fmt(self.max)}")
        return "; ".join(problems) or None


@dataclass(frozen=True)
class NumberRule:
    """A named number: ``pattern`` is a regular expression with ``NUM`` where the number stands."""

    name: str
    regex: re.Pattern
    tolerance: Tolerance


@dataclass(frozen=True)
class CellRule:
    """What may vary in one cell's outputs, and why."""

    why: str
    numbers: tuple[NumberRule, ...] = ()
    rest: Tolerance | None = None  # None: numbers no rule names are compared exactly
    ignore: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: dict, where: str = "rule") -> "CellRule":
        unknown = set(d) - {"why", "numbers", "rest", "ignore"}
        if unknown:
            raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r}; a cell rule has why, numbers, rest, ignore")
        if not str(d.get("why", "")).strip():
            raise ValueError(f"{where}: say why this cell's outputs vary ('why: ...')")
        numbers = []
        for i, n in enumerate(d.get("numbers") or ()):
            at = f"{where}.numbers[{i}]"
            if "NUM" not in str(n.get("pattern", "")):
                raise ValueError(f"{at}: pattern must contain NUM where the number stands")
            regex = re.compile(n["pattern"].replace("NUM", f"({NUMBER})"), re.MULTILINE)
            tol = Tolerance.from_dict({k: v for k, v in n.items() if k not in ("name", "pattern")}, at)
            numbers.append(NumberRule(str(n.get("name") or n["pattern"]), regex, tol))
        rest = d.get("rest", "exact")
        rest_tol = None if rest == "exact" else Tolerance.from_dict(rest, f"{where}.rest")
        return cls(str(d["why"]).strip(), tuple(numbers), rest_tol, tuple(d.get("ignore") or ()))


def load_rules(path) -> dict[str, dict[str, CellRule]]:
    """Read a rules file: ``{notebook stem: {cell id: CellRule}}``."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    for nb, cells in data.items():
        numeric = [c for c in (cells or {}) if not isinstance(c, str)]
        if numeric:  # YAML reads 12345678 or 01234567 (octal) as a number: the id is lost
            raise ValueError(f"{path}: {nb}: cell id {numeric[0]!r} was read as a number; quote it ('...')")
    return {
        str(nb): {str(cell): CellRule.from_dict(rule, f"{nb}:{cell}") for cell, rule in (cells or {}).items()}
        for nb, cells in data.items()
    }


@dataclass
class Comparison:
    """The outcome for one cell: problems found, and both texts with the compared numbers masked."""

    problems: list[str] = field(default_factory=list)
    stored: dict[str, str] = field(default_factory=dict)
    new: dict[str, str] = field(default_factory=dict)


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _named(text: str, numbers) -> tuple[str, dict[str, list[float]]]:
    """Find every named number in ``text`` (patterns matched on the original text, not on each
    other's masks) and return the text with them masked, and their values by name."""
    spans = sorted((m.start(1), m.end(1), n.name, float(m.group(1))) for n in numbers for m in n.regex.finditer(text))
    values: dict[str, list[float]] = {n.name: [] for n in numbers}
    pieces, at = [], 0
    for start, end, name, value in spans:
        if start < at:  # overlaps a number already taken by an earlier pattern
            continue
        pieces += [text[at:start], PLACEHOLDER.format(name)]
        values[name].append(value)
        at = end
    return "".join(pieces) + text[at:], values


def _others(text: str) -> tuple[str, list[float]]:
    values = [float(m.group(0)) for m in _NUMBER_RE.finditer(text)]
    return _NUMBER_RE.sub(PLACEHOLDER.format("n"), text), values


def _compare_values(name: str, stored: list[float], new: list[float], tol: Tolerance, where: str) -> list[str]:
    if len(stored) != len(new):
        return [f"{name}: {len(stored)} number(s) in the stored {where}, {len(new)} in the new one"]
    problems = []
    for s, n in zip(stored, new):
        why = tol.check(s, n)
        if why:
            problems.append(f"{name}: stored {_fmt(s)}, new {_fmt(n)} ({why})")
    return problems


def _mask(text: str, rule: CellRule) -> tuple[str, dict[str, list[float]], list[float]]:
    """``text`` with the numbers ``rule`` compares masked; the named values, and the others (if compared)."""
    masked, named = _named(text, rule.numbers)
    others: list[float] = []
    if rule.rest is not None:
        masked, others = _others(masked)
    return masked, named, others


def compare_texts(stored: dict[str, str], new: dict[str, str], rule: CellRule) -> Comparison:
    """Compare the numbers of one cell's texts (``{output key: text}``) under ``rule``.

    Named numbers are compared first, then every other number (exactly unless
    ``rule.rest`` gives a tolerance). Both texts come back with the compared
    numbers replaced by a placeholder, for the exact comparison of the rest.
    """
    out = Comparison(stored=dict(stored), new=dict(new))
    for key in sorted(set(stored) | set(new)):
        s_text, s_named, s_others = _mask(stored.get(key, ""), rule)
        n_text, n_named, n_others = _mask(new.get(key, ""), rule)
        for num in rule.numbers:
            out.problems += _compare_values(num.name, s_named[num.name], n_named[num.name], num.tolerance, key)
        if rule.rest is not None:
            out.problems += _compare_values("other numbers", s_others, n_others, rule.rest, key)
        if key in stored:
            out.stored[key] = s_text
        if key in new:
            out.new[key] = n_text
    return out


def _kept(outputs, rule: CellRule) -> list[dict]:
    """Copies of ``outputs`` without the MIME types the rule ignores."""
    kept = copy.deepcopy(list(outputs))
    for o in kept:
        for mime in rule.ignore:
            o.get("data", {}).pop(mime, None)
    return kept


def _texts(outputs, sanitize) -> dict[str, str]:
    """One text per output key (stream name or MIME type), in output order."""
    texts: dict[str, str] = {}
    for o in outputs:
        if o.get("output_type") == "stream":
            texts[o["name"]] = texts.get(o["name"], "") + sanitize(o["text"])
        for mime in TEXT_MIMES:
            if mime in o.get("data", {}):
                texts[mime] = texts.get(mime, "") + sanitize(o["data"][mime])
    return texts


def _masked(outputs, rule: CellRule, sanitize) -> list[dict]:
    """``outputs`` (already without ignored types) with the rule's numbers masked, output by output."""
    for o in outputs:
        if o.get("output_type") == "stream":
            o["text"] = _mask(sanitize(o["text"]), rule)[0]
        data = o.get("data", {})
        for mime in TEXT_MIMES:
            if mime in data:
                data[mime] = _mask(sanitize(data[mime]), rule)[0]
    return outputs


def compare_outputs(stored_outputs, new_outputs, rule: CellRule, sanitize=lambda s: s):
    """Check one cell's numbers; return ``(problems, stored_masked, new_masked)``.

    ``stored_masked`` and ``new_masked`` are the outputs with ``rule.ignore``
    types dropped and the compared numbers masked: compare them exactly next.
    """
    stored, new = _kept(stored_outputs, rule), _kept(new_outputs, rule)
    problems = compare_texts(_texts(stored, sanitize), _texts(new, sanitize), rule).problems
    return problems, _masked(stored, rule, sanitize), _masked(new, rule, sanitize)


# --- pytest plugin -----------------------------------------------------------------------------

def pytest_addoption(parser):
    parser.getgroup("nbval").addoption(
        "--nbval-tolerances", metavar="YAML",
        help="cells whose outputs hold numbers from training, compared within tolerances (kit.nbtolerance)")


def _tolerant(item, rule: CellRule, original):
    def compare(test, ref, skip_compare=None):
        problems, ref_m, test_m = compare_outputs(ref, test, rule, item.sanitize)
        if problems:
            item.comparison_traceback = [f"trained numbers out of tolerance ({rule.why}):", *problems]
            return False
        return original(_as_nodes(test_m), _as_nodes(ref_m), skip_compare)

    return compare


def _as_nodes(outputs):
    import nbformat

    return [nbformat.from_dict(o) for o in outputs]


def pytest_collection_modifyitems(session, config, items):
    path = config.getoption("nbval_tolerances", None)
    if not path:
        return
    import pytest
    from nbval.plugin import IPyNbCell

    rules = load_rules(path)
    seen: dict[str, set] = {}
    for item in items:
        if not isinstance(item, IPyNbCell):
            continue
        stem = Path(str(item.fspath)).stem
        cell_id = item.cell.get("id")
        seen.setdefault(stem, set()).add(cell_id)
        rule = rules.get(stem, {}).get(cell_id)
        if rule is not None:
            item.compare_outputs = _tolerant(item, rule, item.compare_outputs)
    for stem, cells in rules.items():
        missing = set(cells) - seen.get(stem, set()) if stem in seen else set()
        if missing:
            raise pytest.UsageError(f"{path}: {stem} has no cell {sorted(missing)[0]!r}; update the rules file")
