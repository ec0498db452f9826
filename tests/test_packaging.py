"""pyproject.toml, environment.yml and constraints.txt describe the same environment."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# conda-forge names that differ from PyPI's
# installed outside pyproject's resolver (see the Makefile): pyet declares pandas<3, works with pandas 3;
# rapidocr-onnxruntime requires opencv-python (libGL), opencv-python-headless stands in for it
NO_DEPS = {"pyet", "rapidocr-onnxruntime"}
CONDA_NAME = {"torch": "pytorch", "cupy-cuda12x": "cupy", "dask[distributed]": "distributed",
              "opencv-python-headless": "opencv"}


def _name(req: str) -> str:
    # extras ("psycopg[binary]") pin the base package; the extra's own wheel is pinned beside it
    return re.split(r"[<>=!~; \[]", req.strip(), maxsplit=1)[0].lower()


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _conda_deps():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    # packages conda-forge lacks sit in the pip: list, installed from PyPI by conda env create
    pip = [d for item in env["dependencies"] if isinstance(item, dict) for d in item.get("pip", [])]
    return {_name(d): d for d in [*env["dependencies"], *pip] if isinstance(d, str)}


def test_environment_yml_mirrors_pyproject():
    project = _pyproject()
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"], *project["optional-dependencies"]["distributed"]]
    conda = _conda_deps()
    for req in wanted:
        name = _name(req)
        conda_name = CONDA_NAME.get(name, CONDA_NAME.get(req.split(">")[0], name))
        assert conda_name in conda, f"{name} is in pyproject.toml but not in environment.yml"
        lower = re.search(r">=([\w.]+)", req)
        if lower:
            assert f">={lower.group(1)}" in conda[conda_name], f"{name}: lower bound differs"
    pypi_names = {CONDA_NAME.get(_name(r), _name(r)) for r in wanted} | {"python", "pip", "distributed"} | NO_DEPS
    assert set(conda) <= pypi_names, f"only in environment.yml: {set(conda) - pypi_names}"


def test_constraints_pin_every_dependency():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line:
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    project = _pyproject()
    for req in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        assert _name(req).replace("_", "-") in pins, f"{_name(req)} is not pinned in constraints.txt"
    for name in NO_DEPS:
        assert name in pins, f"{name} is not pinned in constraints.txt"
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"


def test_no_gui_opencv_is_pulled_in():
    """opencv-python needs the system's libGL; only the headless wheel may be pinned or required."""
    pins = (ROOT / "constraints.txt").read_text().lower().splitlines()
    assert not any(line.startswith("opencv-python==") for line in pins)
    assert any(line.startswith("opencv-python-headless==") for line in pins)
    makefile = (ROOT / "Makefile").read_text()
    assert "--no-deps \"rapidocr-onnxruntime==" in makefile, "rapidocr-onnxruntime must be installed with --no-deps"
