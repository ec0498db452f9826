"""Put the distillation option into notebook 04's code: the ``teacher`` parameter line and the training cell.

Idempotent (a second run changes nothing); edits cell sources only, never
outputs (the lead re-executes the notebook after merging)::

    python tools/nb04_distill.py
"""
from __future__ import annotations

import json
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_logistics_vision.ipynb"

TRAIN_OLD = ("result = train_detector(detector, train, val, epochs=p.epochs, image_size=p.image_size, backend=backend, seed=p.seed,\n"
             "                        batch_size=4, lr=3e-3, patience=4, checkpoint_dir=f\"{p.output_dir}/checkpoints\")\n")
TRAIN_NEW = ("# teacher none: None, the detector trains alone; else a frozen teacher's soft targets join its loss (kit.vision.distill).\n"
             "distill = for_notebook(p.teacher, train, val, dataset=p.dataset, output_dir=p.output_dir, seed=p.seed,\n"
             "                       image_size=p.image_size, epochs=p.epochs, backend=backend)\n"
             "result = train_detector(detector, train, val, epochs=p.epochs, image_size=p.image_size, backend=backend, seed=p.seed,\n"
             "                        batch_size=4, lr=3e-3, patience=4, checkpoint_dir=f\"{p.output_dir}/checkpoints\",\n"
             "                        distill=distill)\n")
IMPORT = "from kit.vision.distill import for_notebook\n"


def _source(cell) -> str:
    return "".join(cell["source"])


def _set(cell, text: str) -> None:
    cell["source"] = text.splitlines(keepends=True)


def patch(nb: dict) -> dict:
    from kit.vision.notebook import PARAMETERS

    doc = PARAMETERS["teacher"].doc
    line = f'teacher = "none"  # {doc}\n'
    params = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    lines = [ln for ln in _source(params).splitlines(keepends=True) if not ln.startswith("teacher = ")]
    at = next(i for i, ln in enumerate(lines) if ln.startswith("epochs = ")) + 1
    _set(params, "".join(lines[:at] + [line] + lines[at:]))
    train = next(c for c in nb["cells"] if c["cell_type"] == "code" and "train_detector(detector" in _source(c))
    text = _source(train)
    if TRAIN_OLD in text:
        text = text.replace(TRAIN_OLD, TRAIN_NEW)
    if IMPORT not in text:
        text = IMPORT + "\n" + text
    _set(train, text)
    return nb


def main() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    NOTEBOOK.write_text(json.dumps(patch(nb), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
