"""`kit run logistics_vision` from a torchvision-layout COCO checkpoint: fine-tuned, and zero-shot with epochs=0."""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture
def notebook():
    return ROOT / "notebooks" / "04_logistics_vision.ipynb"


def _run(kit_run, notebook, tmp_path, weights, epochs):
    out = tmp_path / "out"
    code = kit_run(str(notebook), tmp_path / "run", model="ssdlite", weights=weights, scale=0.1, image_size=128,
                   epochs=epochs, output_dir=out)
    assert code == 0
    return json.loads((out / "metrics.json").read_text()), (out / "model_card.md").read_text()


def test_fine_tunes_from_the_coco_checkpoint(kit_run, notebook, published_file, tmp_path):
    path, _ = published_file("ssdlite", "detector")
    metrics, card = _run(kit_run, notebook, tmp_path, path, 1)
    assert metrics["weights_source"] == "ssdlite320_mobilenet_v3_large_coco-a79551df.pth"
    assert metrics["unavailable_classes"] == [] and isinstance(metrics["tracks_container"], int)
    assert 0.0 <= metrics["map50"] <= 1.0
    assert "trained 1 epoch (best: epoch 1)" in card and "head.classification_head: rows of container, pallet" in card
    assert "| pallet |" in card and "int8 ONNX model: mAP@0.5" in card


def test_epochs_0_detects_with_coco_classes(kit_run, notebook, published_file, tmp_path):
    path, _ = published_file("ssdlite", "detector")
    metrics, card = _run(kit_run, notebook, tmp_path, path, 0)
    assert metrics["unavailable_classes"] == ["container", "pallet"]
    assert metrics["tracks_container"] == "unavailable" and isinstance(metrics["tracks_truck"], int)
    assert "not trained here (epochs = 0)" in card and "Unavailable" in card
