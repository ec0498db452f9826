"""The layers of the kit, lowest first, and the checker that keeps imports pointing down.

A module may import modules under its own prefix and modules of any lower
layer. The prefixes of one layer are peers: they do not import each other
(the four sectors of :data:`LAYERS` stand side by side; ``kit.yieldpred``
builds on ``kit.agro`` and so sits one layer above it). Imports inside
functions and under ``if TYPE_CHECKING`` count like module-level ones: a
deferred import still couples the modules, and a cycle through one breaks
as soon as someone moves it to the top. Imports by string
(:func:`importlib.import_module`) are not seen.

Where a new module goes: under the prefix whose job it shares (a new
sector helper under its sector, a new raster kernel under ``kit.raster``).
A new top-level module goes into the lowest layer that holds everything
it imports, and a new sector into the sector layer; ``tests/test_layers.py``
fails on any module of no layer.

Layers
------
language
    The report's language (``kit.i18n``): gettext catalogs, numbers and
    dates in the reader's style, the notebook cells of one language.
foundation
    Modules that import no other kit module but ``kit.i18n``: the package itself (its
    submodules load lazily), errors, this file, provenance of a run,
    the figure style, the plain-words checks of notebook exercises, the
    tolerant comparison of trained numbers in notebooks (``kit.nbtolerance``).
services
    Array backends and devices (``kit.backend``), file helpers
    (``kit.io``), reading handed-in submission files (``kit.submissions``).
arrays and records
    Kernels on labelled arrays (``kit.labeled``), what a notebook records
    for its run (``kit.report``), ONNX export and sessions (``kit.onnx``),
    one MLPerf LoadGen test around a batch function (``kit.loadgen``), the
    fixed benchmark sample a deployment leaves in its run folder
    (``kit.bench_samples``).
parameters
    One checked parameter spec per notebook (``kit.params``).
notebook contract
    Finding notebooks and reading their parameters (``kit.notebooks``);
    the quickstart notebook's logic (``kit.quickstart``).
shared toolkits
    Raster building blocks and the embedded demo scene (``kit.raster``)
    and machine learning shared by the notebooks (``kit.ml``); neither
    knows any sector.
sectors
    Irrigation (``kit.agro``), water networks (``kit.water``), logistics
    vision (``kit.vision``), radiology (``kit.medical``): independent of
    each other.
sectors built on sectors
    Yield prediction (``kit.yieldpred``), on top of ``kit.agro``'s water
    balance.
teaching
    Student notebooks, challenge packs and their scoring over every
    sector (``kit.teach``).
runs
    Executing a notebook into a run folder (``kit.runner``), the HTML
    index over run folders (``kit.index``) and the LoadGen benchmark of
    the models run folders deployed (``kit.bench``).
orchestration
    Pipelines of runs (``kit.pipeline``), every notebook at its defaults
    (``kit.demo``) and the machine report (``kit.doctor``).
command line
    ``kit`` (``kit.cli``).
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import NamedTuple

__all__ = ["LAYERS", "Layer", "import_cycles", "import_graph", "layer_of", "layer_violations"]


class Layer(NamedTuple):
    """A named layer: module prefixes that are peers."""

    name: str
    prefixes: tuple


#: Layers lowest first; a prefix names a module and its submodules, except the
#: root package, which names only itself.
LAYERS = (
    Layer("language", ("kit.i18n",)),
    Layer("foundation", ("kit", "kit.arrays", "kit.errors", "kit.layers", "kit.provenance", "kit.plotting", "kit.exercise_checks",
                          "kit.nbtolerance")),
    Layer("services", ("kit.backend", "kit.io", "kit.submissions")),
    Layer("arrays and records", ("kit.labeled", "kit.report", "kit.onnx", "kit.loadgen", "kit.bench_samples")),
    Layer("parameters", ("kit.params",)),
    Layer("notebook contract", ("kit.notebooks", "kit.quickstart")),
    Layer("shared toolkits", ("kit.raster", "kit.ml")),
    Layer("sectors", ("kit.agro", "kit.water", "kit.vision", "kit.medical")),
    Layer("sectors built on sectors", ("kit.yieldpred",)),
    Layer("teaching", ("kit.teach",)),
    Layer("runs", ("kit.runner", "kit.index", "kit.bench")),
    Layer("orchestration", ("kit.pipeline", "kit.demo", "kit.doctor")),
    Layer("command line", ("kit.cli",)),
)


def _modules(root: Path, package: str) -> dict:
    """``{module name: (path, is_package)}`` for every ``.py`` file of ``root/package``."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_package)
    return out


def _imported_names(node, module: str, is_package: bool, known) -> list:
    """Modules one ``import``/``from ... import`` statement loads, resolved against ``known``.

    ``from package import name`` loads the submodule when ``name`` is one,
    else the package (whose ``__init__`` defines ``name``).
    """
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module
    subs = [f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in known]
    return subs if len(subs) == len(node.names) else [source, *subs]


def _resolve(name: str, known) -> str | None:
    """The longest module of ``known`` that ``name`` is or lies in (``a.b.func`` -> ``a.b``)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(root, package: str = "kit") -> dict:
    """``{module: {imported modules}}`` of every module of ``package`` under ``root``.

    Every import statement counts, wherever it is (module level, in a
    function, under ``if TYPE_CHECKING``); relative imports are resolved.
    Importing a submodule is not counted as importing its parent packages.
    """
    modules = _modules(Path(root), package)
    graph = {}
    for module, (path, is_package) in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name in _imported_names(node, module, is_package, modules):
                    target = _resolve(name, modules)
                    if target is not None and target != module:
                        targets.add(target)
        graph[module] = targets
    return graph


def import_cycles(graph: dict) -> list:
    """Cycles of ``graph``: each strongly connected group of two or more modules, sorted.

    Examples
    --------
    >>> import_cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}})
    [['a', 'b']]
    """
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(start):
        # Tarjan's algorithm, iterative: a deep import chain must not hit the recursion limit.
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def _matches(module: str, prefix: str, root: str) -> bool:
    if prefix == root:
        return module == root
    return module == prefix or module.startswith(prefix + ".")


def layer_of(module: str, layers=LAYERS, root: str = "kit") -> tuple[int, str] | None:
    """``(layer index, prefix)`` of ``module`` (the longest matching prefix), or None."""
    best = None
    for i, layer in enumerate(layers):
        for prefix in layer.prefixes:
            if _matches(module, prefix, root) and (best is None or len(prefix) > len(best[1])):
                best = (i, prefix)
    return best


def layer_violations(graph: dict, layers=LAYERS, root: str = "kit") -> list:
    """One line per import that breaks the layering, and per module of no layer.

    Examples
    --------
    >>> demo = (Layer("low", ("pkg.a",)), Layer("high", ("pkg.b", "pkg.c")))
    >>> layer_violations({"pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": set()}, demo, root="pkg")
    ['pkg.a (low) imports pkg.b (high), a higher layer', 'pkg.b imports pkg.c: peers of layer high do not import each other']
    """
    problems = []
    for module in sorted(graph):
        own = layer_of(module, layers, root)
        if own is None:
            problems.append(f"{module} is in no layer; add it to kit.layers.LAYERS")
            continue
        for target in sorted(graph[module]):
            other = layer_of(target, layers, root)
            if other is None or other[1] == own[1]:
                continue
            if other[0] > own[0]:
                problems.append(f"{module} ({layers[own[0]].name}) imports {target} ({layers[other[0]].name}), a higher layer")
            elif other[0] == own[0]:
                problems.append(f"{module} imports {target}: peers of layer {layers[own[0]].name} do not import each other")
    return problems
