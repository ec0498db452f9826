"""Imports point down the layers of kit.layers, and no kit module imports itself back through others."""
import textwrap
from pathlib import Path

from kit.layers import LAYERS, Layer, import_cycles, import_graph, layer_violations

ROOT = Path(__file__).resolve().parent.parent


def test_no_import_cycles():
    cycles = import_cycles(import_graph(ROOT, "kit"))
    assert not cycles, "import cycles (module or function level): " + "; ".join(" <-> ".join(c) for c in cycles)


def test_imports_point_down_the_layers():
    problems = layer_violations(import_graph(ROOT, "kit"))
    assert not problems, "\n".join(problems)


def test_every_prefix_is_a_kit_module_in_one_layer():
    graph = import_graph(ROOT, "kit")
    prefixes = [p for layer in LAYERS for p in layer.prefixes]
    assert len(prefixes) == len(set(prefixes))
    for prefix in prefixes:
        assert any(m == prefix or m.startswith(prefix + ".") for m in graph), f"{prefix} names no module"


def _package(tmp_path, files: dict) -> Path:
    for name, source in files.items():
        path = tmp_path / "toy" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return tmp_path


TOY_LAYERS = (
    Layer("base", ("toy", "toy.base")),
    Layer("sectors", ("toy.left", "toy.right")),
    Layer("top", ("toy.top",)),
)
CLEAN = {
    "__init__.py": "",
    "base.py": "import os\n",
    "left/__init__.py": "from toy.left.core import run\n",
    "left/core.py": "from toy import base\n\ndef run():\n    from .helpers import helper\n    return helper()\n",
    "left/helpers.py": "from ..base import os\n\ndef helper():\n    return 1\n",
    "right.py": "import toy.base\n",
    "top.py": "from toy.left import run\nfrom toy import right\n",
}


def test_checker_passes_a_clean_package(tmp_path):
    graph = import_graph(_package(tmp_path, CLEAN), "toy")
    assert graph["toy.left.core"] == {"toy.base", "toy.left.helpers"}  # function-level and relative imports
    assert graph["toy.left.helpers"] == {"toy.base"}
    assert graph["toy.top"] == {"toy.left", "toy.right"}
    assert import_cycles(graph) == []
    assert layer_violations(graph, TOY_LAYERS, root="toy") == []


def test_checker_catches_an_upward_import(tmp_path):
    files = dict(CLEAN, **{"base.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from toy.top import x\n"})
    problems = layer_violations(import_graph(_package(tmp_path, files), "toy"), TOY_LAYERS, root="toy")
    assert problems == ["toy.base (base) imports toy.top (top), a higher layer"]


def test_checker_catches_peers_and_modules_of_no_layer(tmp_path):
    files = dict(CLEAN, **{"right.py": "def f():\n    from toy.left.core import run\n", "extra.py": ""})
    problems = layer_violations(import_graph(_package(tmp_path, files), "toy"), TOY_LAYERS, root="toy")
    assert problems == ["toy.extra is in no layer; add it to kit.layers.LAYERS",
                        "toy.right imports toy.left.core: peers of layer sectors do not import each other"]


def test_checker_catches_a_cycle_through_a_function_level_import(tmp_path):
    files = dict(CLEAN, **{"left/helpers.py": "def helper():\n    from toy.left.core import run\n    return run\n"})
    graph = import_graph(_package(tmp_path, files), "toy")
    assert import_cycles(graph) == [["toy.left.core", "toy.left.helpers"]]
    assert layer_violations(graph, TOY_LAYERS, root="toy") == []  # inside one prefix: only the cycle test sees it
