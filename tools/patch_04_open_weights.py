"""Apply issue 21's open-weights and model-card cell changes to notebooks/04_logistics_vision.ipynb (idempotent).

Usage: ``python tools/patch_04_open_weights.py [NOTEBOOK [OUT]]``. Edits the
cells' sources only (re-execute afterwards with ``tools/execute_notebooks.py``):
the ``weights_backbone`` parameter, the detector built with the dataset's
class names and its weights reported, unavailable classes left out of the
scores, and a model-card cell after the benchmark.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_logistics_vision.ipynb"

#: (old text, new text) per change; a change whose new text is already there is skipped.
EDITS = [
    ("detector = build_detector(p.model, len(label_names), image_size=p.image_size, weights=p.weights, backend=backend)\n",
     "detector = build_detector(p.model, len(label_names), image_size=p.image_size, weights=p.weights,\n"
     "                          weights_backbone=p.weights_backbone, class_names=list(label_names.values()), backend=backend)\n"),
    ("thresholds = {label_names[k]: round(v, 2) for k, v in result.class_thresholds.items()}\n",
     "unavailable = finetune.record_weights(result, label_names)  # loaded, reset, terms; silent from scratch\n"
     "thresholds = {label_names[k]: round(v, 2) for k, v in result.class_thresholds.items()}\n"),
    ("from kit.vision import bench, evaluate, footage, operations, preview, recognizer, video\n",
     "from kit.vision import bench, evaluate, finetune, footage, operations, preview, recognizer, video\n"),
    ("scores = evaluate.coco_evaluate(results, test.index)\n",
     "scores = evaluate.coco_evaluate(results, test.index).without(unavailable)\n"),
    ("visible = evaluate.coco_evaluate(results, test.index, min_visibility=0.65)\n",
     "visible = evaluate.coco_evaluate(results, test.index, min_visibility=0.65).without(unavailable)\n"),
    ("nbk.record_footage(clip, crossed, label_names)\n", "nbk.record_footage(clip, crossed, label_names, unavailable)\n"),
]


CARD_CELL = (
    "from kit.vision import card\n"
    "\n"
    "text = card.write_model_card(p.output_dir, model_name=p.model, image_size=p.image_size, result=result,\n"
    "                             splits={\"train\": train, \"val\": val, \"test\": test}, scores=scores,\n"
    "                             int8_scores=deploy[\"int8_scores\"], dataset=p.dataset, weights_file=p.weights)\n"
    "print(\"\\n\".join(text.splitlines()[:2] + [\"...\"]) + f\"\\nmodel_card.md: {len(text.splitlines())} lines\")"
)
CARD_MD = ("## Model card\n\nData, classes, scores per class, the int8 change, the weights' origin and terms, and the "
           "known limits, in `model_card.md`.")


def _code(source: str, cell_id: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "id": cell_id, "metadata": {}, "outputs": [],
            "source": source.splitlines(True)}


def _parameters(src: str) -> str:
    """The parameters cell with ``weights_backbone`` after ``weights`` and every comment as the Spec's doc now reads."""
    from kit.vision.notebook import PARAMETERS

    lines = src.splitlines()
    if not any(ln.startswith("weights_backbone =") for ln in lines):
        at = next(i for i, ln in enumerate(lines) if ln.startswith("weights ="))
        lines.insert(at + 1, "weights_backbone = None  # ")
    out = []
    for ln in lines:
        name = ln.split(" =", 1)[0]
        out.append(f"{ln.split('  # ', 1)[0]}  # {PARAMETERS[name].doc}" if name in PARAMETERS.names else ln)
    return "\n".join(out)


def patch(nb: dict) -> dict:
    cells = nb["cells"]
    for cell in cells:
        src = "".join(cell["source"])
        if "parameters" in cell["metadata"].get("tags", []):
            src = _parameters(src)
        for old, new in EDITS:
            if new not in src and old in src:
                src = src.replace(old, new)
        cell["source"] = src.splitlines(True)
    if not any("write_model_card" in "".join(c["source"]) for c in cells):
        at = next(i for i, c in enumerate(cells) if "nbk.plot_latency(table)" in "".join(c["source"])) + 1
        md = {"cell_type": "markdown", "id": "model-card-text", "metadata": {}, "source": CARD_MD.splitlines(True)}
        cells[at:at] = [md, _code(CARD_CELL, "model-card")]
    return nb


def main(argv: list[str]) -> None:
    src = Path(argv[0]) if argv else NOTEBOOK
    out = Path(argv[1]) if len(argv) > 1 else src
    nb = patch(json.loads(src.read_text(encoding="utf-8")))
    out.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
