"""Put the open-weights cells (issue 22, item 3) into notebook 05's code; idempotent.

Written while another change rewrote the notebook's stored outputs: this edits
cell sources only (matched by their text, so it applies on either version);
re-execute afterwards (tools/execute_notebooks.py) and run nbval.

    python tools/nb05_open_weights.py [notebooks/05_radiology_triage.ipynb]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from kit.medical.notebook import PARAMETERS

DEFAULT = Path(__file__).resolve().parent.parent / "notebooks" / "05_radiology_triage.ipynb"
REPLACE = [
    ("clf = medical.TriageClassifier.load(p.model, backend=backend) if p.model else None",
     "clf = nbk.load_model(p.model, backend, seed=p.seed)"),
    ("    clf = medical.TriageClassifier(image_size=size, epochs=p.epochs, backend=backend, seed=p.seed)\n"
     "    clf.fit(X[tr], y[tr], X[va], y[va])\n",
     "    clf = medical.TriageClassifier(image_size=size, epochs=p.epochs, backend=backend, seed=p.seed)\n"
     "if not nbk.is_fitted(clf):  # torchxrayvision weights: a new urgent head fine-tuned here\n"
     "    clf.fit(X[tr], y[tr], X[va], y[va])\n"),
    ("x_val = medical.train.to_tensor(X[va][:256], size)",
     "n_calibration, n_bench = nbk.onnx_images(clf)\nx_val = medical.train.to_tensor(X[va][:n_calibration], size)"),
    ("x_bench = medical.train.to_tensor(X[te][:512], size)",
     "x_bench = medical.train.to_tensor(X[te][:n_bench], size)"),
    ('model={"arch": clf.arch, "n_parameters": clf.n_parameters(), "image_size": size, "epochs": clf.epochs},',
     'model={"arch": clf.arch, "n_parameters": clf.n_parameters(), "image_size": size, "epochs": clf.epochs,\n'
     '           **nbk.card_extras(clf)},'),
]
AFTER_WORKLIST = "wl = worklist.triage_worklist("
NEW_CELLS = [
    {"cell_type": "markdown", "id": "xrv-pathologies-md", "metadata": {}, "source": (
        "### torchxrayvision's pathologies beside the urgent score\n\n"
        "With `model` naming torchxrayvision weights (DenseNet-121 or ResNet-50, read offline), the network's own "
        "18 pathology outputs come with every study: its probabilities, rescaled so that each of its operating "
        "points maps to 0.5. Below, per study, the three highest beside our calibrated `p_urgent`; "
        "`xrv_pathologies.csv` holds all of them. They are torchxrayvision's, trained on public sets, not "
        "validated here. With a network trained here this cell shows nothing.")},
    {"cell_type": "code", "id": "xrv-pathologies", "metadata": {}, "execution_count": None, "outputs": [],
     "source": (
        "pathologies = nbk.pathology_table(clf, triage.images[~withheld_triage], triage.table[~withheld_triage],\n"
        "                                  studies, new_id, f\"{p.output_dir}/xrv_pathologies.csv\")\n"
        "pathologies.head(10) if pathologies is not None else None")},
]


def _source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _set_source(cell, text: str) -> None:
    lines = text.splitlines(keepends=True)
    cell["source"] = lines


def patch(nb: dict) -> dict:
    """The notebook with the open-weights cells (already-patched notebooks come back unchanged)."""
    doc = PARAMETERS["model"].doc
    for cell in nb["cells"]:
        text = _source(cell)
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            text = "\n".join(f"model = None  # {doc}" if line.startswith("model = ") else line
                             for line in text.split("\n"))
        for old, new in REPLACE:
            if old in text and new not in text:
                text = text.replace(old, new)
        _set_source(cell, text)
    ids = {c.get("id") for c in nb["cells"]}
    if not ids & {c["id"] for c in NEW_CELLS}:
        at = next(i for i, c in enumerate(nb["cells"]) if AFTER_WORKLIST in _source(c))
        for k, cell in enumerate(NEW_CELLS):
            new = json.loads(json.dumps(cell))
            _set_source(new, cell["source"])
            nb["cells"].insert(at + 1 + k, new)
    missing = [old for old, new in REPLACE if not any(new in _source(c) for c in nb["cells"])]
    if missing:
        raise SystemExit(f"notebook cells changed: could not find {missing[0]!r}; edit by hand")
    return nb


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv else DEFAULT
    nb = patch(json.loads(path.read_text()))
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    print(f"patched {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
