"""What a notebook hands to the run: metrics and the inputs it read.

``record(name, value)`` stores a key figure in ``metrics.json`` inside the
notebook's ``output_dir`` (bound by :func:`kit.params.validate`) and, under
``kit run``, in the run folder too, so scheduled runs feed other systems.
``input_file(path)`` adds a file's checksum to the run's provenance.
``markdown_value`` and ``markdown_table`` write figures the way the model
cards (``model_card.md``) show them.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

from kit.io import sha256, write_json

RUN_DIR_ENV = "KIT_RUN_DIR"

_state = {"output_dir": None, "metrics": {}, "inputs": {}}


def bind(output_dir) -> Path:
    """Start a report in ``output_dir`` (created if needed); forget earlier metrics."""
    path = Path(output_dir)
    path.mkdir(parents=True, exist_ok=True)
    _state.update(output_dir=path, metrics={}, inputs={})
    return path


def output_dir() -> Path:
    """The bound output folder; raises if no notebook bound one."""
    if _state["output_dir"] is None:
        raise RuntimeError("no output_dir bound: call kit.params.validate(globals(), SPEC) first")
    return _state["output_dir"]


def _targets():
    dirs = []
    if _state["output_dir"] is not None:
        dirs.append(Path(_state["output_dir"]))
    run_dir = os.environ.get(RUN_DIR_ENV)
    if run_dir and all(Path(run_dir).resolve() != d.resolve() for d in dirs):
        dirs.append(Path(run_dir))
    return dirs


def _plain(value):
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN; a missing figure is null
    return value


def record(name: str, value):
    """Record a key figure of this run and return it.

    Parameters
    ----------
    name : str
        Metric name with its unit where it has one (``water_saved_m3``).
    value : number, str, bool or list
        Stored in ``metrics.json``; NaN becomes null.

    Examples
    --------
    >>> import tempfile, json, pathlib
    >>> d = bind(tempfile.mkdtemp())
    >>> record("mean_ndvi", 0.42)
    0.42
    >>> json.loads((d / "metrics.json").read_text())
    {'mean_ndvi': 0.42}
    """
    _state["metrics"][name] = _plain(value)
    for folder in _targets():
        write_json(folder / "metrics.json", _state["metrics"])
    return value


def metrics() -> dict:
    """Metrics recorded so far in this report."""
    return dict(_state["metrics"])


def input_file(path, role: str | None = None, details: dict | None = None) -> Path:
    """Note an input file (or folder) this run read, with its SHA-256, for the manifest.

    ``details`` (JSON-able) is stored beside the checksum: what a reader made
    of the file, e.g. each image product's reflectance scale and offset, or
    the units a weather file was converted from.
    """
    path = Path(path)
    entry = {"path": str(path.resolve()), "sha256": sha256(path)}
    if details:
        entry.update(_json_ready(details))
    _state["inputs"][role or path.name] = entry
    for folder in _targets():
        write_json(folder / "inputs.json", _state["inputs"])
    return path


def input_source(description: dict, role: str) -> dict:
    """Note an input that is not a file (a database, a stream) for the manifest, as ``description`` says it.

    ``description`` must hold nothing secret (e.g.
    :func:`kit.water.scada_sql.describe_source`: dialect, host, database,
    user name, table or query hash); what the run read from it (rows,
    window) can go in it too.
    """
    _state["inputs"][role] = _json_ready(description)
    for folder in _targets():
        write_json(folder / "inputs.json", _state["inputs"])
    return description


def _json_ready(value):
    """``value`` with NaN as None and NumPy/pandas scalars and timestamps as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    value = _plain(value)
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


BACKEND_FILE = "backend.json"


def record_backend(backend):
    """Record the :class:`kit.backend.Backend` this notebook resolved and passes down.

    Under ``kit run`` the run's manifest takes its ``device`` entry from here,
    so it says what the kernel used, not what the runner would resolve.
    Returns ``backend``.
    """
    run_dir = os.environ.get(RUN_DIR_ENV)
    if run_dir:
        write_json(Path(run_dir) / BACKEND_FILE, backend.describe())
    return backend


def markdown_value(value, digits: int = 3) -> str:
    """A figure as a model card shows it: floats to ``digits`` decimals, None and NaN as ``n/a``.

    Examples
    --------
    >>> markdown_value(0.12345), markdown_value(float("nan")), markdown_value(12)
    ('0.123', 'n/a', '12')
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(frame, digits: int = 3) -> str:
    """A DataFrame as a Markdown table, its cells through :func:`markdown_value`."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join(markdown_value(row[c], digits) for c in cols) + " |")
    return "\n".join(lines)
