"""A YOLO export, a VOC folder and a CVAT XML each train the detector through the kit's training entry point."""
import math

import pytest
import torch

from kit.vision.data import CocoDetection
from kit.vision.formats import split_summary
from kit.vision.models import centernet
from kit.vision.train import train_detector


@pytest.mark.parametrize("fmt", ["yolo", "voc", "cvat"])
def test_each_format_trains_the_detector(export, fmt, tmp_path):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    d = export(fmt)
    train, val = CocoDetection(d, "train"), CocoDetection(d, "val")
    table = split_summary({"train": train, "val": val})
    assert table.loc["train", "objects"] > 0 and table.loc["val", "images"] > 0
    model = centernet(len(train.label_names), width=8, head_channels=16)
    r = train_detector(model, train, val, epochs=1, batch_size=4, image_size=64, first_eval=1,
                       checkpoint_dir=tmp_path / "ck", progress=False, seed=0)
    assert len(r.history) == 1 and math.isfinite(r.history[0]["train_loss"]) and r.history[0]["train_loss"] > 0
    assert 0 <= r.history[0]["val_map50"] <= 1  # scored on the export's validation split
    assert r.checkpoint.is_file() and not r.model.training
    with torch.no_grad():
        out = r.model(torch.rand(1, 3, 64, 64))
    assert out["heatmap"].shape[1] == len(train.label_names) == 4
