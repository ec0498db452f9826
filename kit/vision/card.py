"""The model card of a logistics vision run: what the detector is for, its data, weights, scores and limits.

After Mitchell et al. 2019 ("Model Cards for Model Reporting", FAT*), as the
radiology notebook's (:mod:`kit.medical.card`): intended use, model and
weights (origin and terms), data, metrics per class with the int8 change,
limitations.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from kit.report import markdown_table, markdown_value

__all__ = ["model_card"]


def _intended_use() -> list[str]:
    return [
        "## Intended use",
        "",
        "- **What it does:** detects containers, trucks, pallets and people (or the classes of the data set "
        "named below) in yard and gate camera images, for counting per zone and counting line, dwell times, "
        "alerts on people in machine zones, and reading container codes.",
        "- **Users:** terminal and warehouse operators measuring flows; alerts go to a person who checks the footage.",
        "- **Not for:** safety interlocks or stopping machines, identifying people (people are blurred in the "
        "preview), or cameras and scenes unlike the data below without re-validation.",
        "",
    ]


def _model_section(model: dict) -> list[str]:
    epochs = model.get("epochs_run", 0)
    if epochs:
        training = (f"trained {epochs} epoch{'s' if epochs > 1 else ''} (best: epoch {markdown_value(model.get('best_epoch'))}), "
                    f"{model.get('precision', 'fp32')} autocast, early stopping on validation mAP@0.5")
    else:
        training = "not trained here (epochs = 0): the published weights detect as they are"
    lines = ["## Model", "",
             f"- Architecture: `{model.get('name', 'n/a')}`, {markdown_value(model.get('n_parameters'))} parameters, "
             f"input {markdown_value(model.get('image_size'))} × {markdown_value(model.get('image_size'))} px; {training}."]
    for part, v in (model.get("parts") or {}).items():
        n = v.get("frozen_epochs", 0)
        frozen = f", frozen for the first {n} epoch{'s' if n > 1 else ''}" if n else ""
        lines.append(f"- {part}: peak learning rate {v['lr']:.2g}{frozen}.")
    return lines + [""]


def _weights_section(weights: dict | None, file) -> list[str]:
    """Where the starting weights came from and under which terms they were published."""
    lines = ["## Weights: origin and license", ""]
    if weights is None:
        if file is None:
            return lines + ["- Trained from scratch in this run (random initialization); no external weights.", ""]
        return lines + [f"- Started from `{Path(file).name}`, a checkpoint of the kit (an earlier run's `best.pt`); "
                        "its origin is that run's card.", ""]
    src = weights["source"]
    lines += [f"- Started from `{Path(src['file']).name}`: torchvision's published `{src['file_name']}` layout, trained on "
              f"{src['trained_on']} (recipe: {src.get('recipe') or 'n/a'}).",
              f"- Terms: {src['terms']}."]
    lines += [f"- Loaded: {x}." for x in weights.get("loaded", [])]
    lines += [f"- Reset: {x}." for x in weights.get("reset", [])]
    if weights.get("carried"):
        lines.append("- COCO classes carried over: " + ", ".join(f"{k} ← COCO {v}" for k, v in weights["carried"].items()) + ".")
    return lines + [""]


def _data_section(data: dict) -> list[str]:
    splits = data.get("splits", {})
    counts = "; ".join(f"{name} {n_img} images, {n_box} boxes" for name, (n_img, n_box) in splits.items())
    return ["## Data", "",
            f"- Source: {data.get('source', 'n/a')}.",
            f"- Splits: {counts or 'n/a'}.",
            f"- Classes: {', '.join(data.get('classes', [])) or 'n/a'}.",
            ""]


def _metrics_section(scores, int8_scores, n_objects: dict) -> list[str]:
    names = list(scores.ap50)
    int8 = int8_scores.ap50 if int8_scores is not None else {}
    frame = pd.DataFrame({"class": names, "test objects": [n_objects.get(c, 0) for c in names],
                          "AP@0.5": [scores.ap50[c] for c in names], "AP@0.50:0.95": [scores.ap50_95[c] for c in names],
                          "int8 AP@0.5": [int8.get(c) for c in names]})
    if scores.unavailable:
        frame["status"] = ["unavailable" if c in scores.unavailable else "scored" for c in names]
    lines = ["## Metrics (test split)", "", markdown_table(frame), "",
             f"mAP@0.5 {markdown_value(scores.map50)}, mAP@0.50:0.95 {markdown_value(scores.map50_95)} on "
             f"{scores.n_images} images."]
    if int8_scores is not None:
        change = 100 * (int8_scores.map50 - scores.map50)
        lines.append(f"int8 ONNX model: mAP@0.5 {markdown_value(int8_scores.map50)} ({change:+.1f} points from fp32).")
    if scores.unavailable:
        lines.append(f"Unavailable (no trained rows, nothing detected; left out of the means): {', '.join(scores.unavailable)}.")
    return lines + [""]


def _limitations(data: dict, scores) -> list[str]:
    lines = ["## Limitations", ""]
    if data.get("synthetic"):
        lines.append("- Trained and tested on synthetic yard and gate scenes drawn by the kit (flat shapes, simple "
                     "light, no weather or motion blur): its scores say nothing about real cameras; validate on "
                     "annotated footage of the site before relying on counts or alerts.")
    else:
        lines.append("- Scored on the test split of the data set named above only; another camera, lens, height or "
                     "season needs its own annotated check.")
    lines += ["- Small and heavily occluded objects (people behind containers, distant pallets) are missed most; "
              "counts below the calibrated thresholds are not reported.",
              "- The int8 model is calibrated on validation images; a new scene may need new calibration."]
    if scores.unavailable:
        lines.append(f"- Zero-shot: {', '.join(scores.unavailable)} cannot be detected until the detector is fine-tuned "
                     "on annotated images (epochs >= 1).")
    return lines + [""]


def model_card(scores, *, model: dict, data: dict, weights: dict | None = None, weights_file=None,
               int8_scores=None, n_objects: dict | None = None) -> str:
    """Markdown model card of a detector.

    Parameters
    ----------
    scores : kit.vision.evaluate.DetectionScores
        Test-split scores of the fp32 model (its ``unavailable`` classes marked).
    model : dict
        ``name, n_parameters, image_size, epochs_run, best_epoch, precision, parts``.
    data : dict
        ``source`` (str), ``synthetic`` (bool), ``splits`` ``{name: (images, boxes)}``, ``classes``.
    weights : dict, optional
        The detector's ``weights_info`` (open weights), None otherwise.
    weights_file : path, optional
        The ``weights`` file given (a kit checkpoint when ``weights`` is None).
    int8_scores : DetectionScores, optional
        The int8 ONNX model's test scores.
    n_objects : dict, optional
        ``{class: ground-truth boxes in the test split}``.

    Returns
    -------
    str

    Examples
    --------
    >>> import numpy as np
    >>> from kit.vision.evaluate import DetectionScores
    >>> s = DetectionScores(0.5, 0.8, {"truck": 0.8}, {"truck": 0.5}, np.linspace(0, 1, 101), {}, n_images=3)
    >>> card = model_card(s, model={"name": "centernet"}, data={"source": "synthetic", "synthetic": True})
    >>> "## Weights: origin and license" in card and "| truck | 0 | 0.800 | 0.500 | n/a |" in card
    True
    """
    lines = ["# Model card: object detection in logistics yard and gate footage", ""]
    lines += _intended_use()
    lines += _model_section(model)
    lines += _weights_section(weights, weights_file)
    lines += _data_section(data)
    lines += _metrics_section(scores, int8_scores, n_objects or {})
    lines += _limitations(data, scores)
    return "\n".join(lines)


def write_model_card(output_dir, *, model_name: str, image_size: int, result, splits: dict, scores, int8_scores=None,
                     dataset=None, weights_file=None) -> str:
    """Write ``model_card.md`` into ``output_dir`` (atomically) from what the notebook has; return its text.

    Parameters
    ----------
    output_dir : path
    model_name : str
        The ``model`` parameter.
    image_size : int, px
    result : kit.vision.train.TrainResult
        Its model's ``weights_info`` names the open weights, if any.
    splits : dict
        ``{"train": CocoDetection, "val": ..., "test": ...}``.
    scores, int8_scores : DetectionScores
        Test scores of the fp32 and the int8 model.
    dataset : path, optional
        The user's data set (None: the embedded synthetic scenes).
    weights_file : path, optional
        The ``weights`` parameter.
    """
    from kit.io import atomic_path

    test = splits["test"]
    names = test.label_names
    n_objects = {name: int(sum(int((lab == k).sum()) for lab in test.index.labels)) for k, name in names.items()}
    net = result.model
    model = {"name": model_name, "n_parameters": f"{sum(p.numel() for p in net.parameters()):,}",
             "image_size": image_size, "epochs_run": len(result.history), "best_epoch": result.best_epoch,
             "precision": result.precision, "parts": result.parts}
    source = (f"the user's data set `{Path(dataset).name}`" if dataset is not None
              else "synthetic yard and gate scenes generated by `kit.vision.synthetic` (seeded, embedded in the kit)")
    data = {"source": source, "synthetic": dataset is None, "classes": list(names.values()),
            "splits": {k: (len(ds), sum(len(b) for b in ds.index.boxes)) for k, ds in splits.items()}}
    text = model_card(scores, model=model, data=data, weights=getattr(net, "weights_info", None), weights_file=weights_file,
                      int8_scores=int8_scores, n_objects=n_objects)
    with atomic_path(Path(output_dir) / "model_card.md") as tmp:
        Path(tmp).write_text(text + "\n", encoding="utf-8")
    return text
