"""Every notebook keeps the contract: one parameters cell, in step with its kit spec."""
import nbformat
import pytest

from kit import notebooks

NOTEBOOKS = notebooks.list_notebooks()


def test_quickstart_is_found_by_both_names():
    assert notebooks.find_notebook("quickstart") == notebooks.find_notebook("00_quickstart")
    assert notebooks.find_notebook("quickstart").name == "00_quickstart.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_one_parameters_cell_matching_spec(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    info = notebooks.inspect(path)
    assert "spec" in nb.metadata.get("kit", {}), "notebook metadata names its kit spec"
    cell = notebooks.parameter_cell_values(path)
    assert list(cell) == info.spec.names
    for p in info.spec:
        assert cell[p.name] == p.default, f"{p.name}: cell has {cell[p.name]!r}, spec {p.default!r}"
    # every parameter is documented in the cell, with a comment
    for line in tagged[0].source.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            assert "#" in line, f"undocumented parameter line: {line}"
            assert line.count("=") == 1, f"papermill skips a parameter line with a second '=' (in its comment): {line}"


#: Python type of a validated value, by parameter kind.
KIND_TYPES = {"int": int, "float": float, "bool": bool, "str": str, "date": str, "datetime": str, "path": str, "output_dir": str,
              "device": str, "list": list, "dict": dict}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_defaults_validate(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    info = notebooks.inspect(path)
    params = info.spec.validate({})  # the shipped defaults are valid on this machine
    assert list(params) == info.spec.names  # every parameter filled in, in the cell's order
    for p in info.spec:
        value = params[p.name]
        if p.default is None:
            assert value is None, p.name
        else:
            assert type(value) is KIND_TYPES[p.kind] and value == p.default, f"{p.name}: {value!r} from {p.default!r}"
    # The notebook's own validation cell, on its parameters cell, gets the same values.
    assert dict(info.spec.validate(notebooks.parameter_cell_values(path))) == dict(params)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_outputs_have_no_errors(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.get("execution_count") is not None, "notebook is stored executed (nbval compares outputs)"
            assert all(o.get("output_type") != "error" for o in cell.get("outputs", []))
