"""Fine-tuning from a torchvision-layout COCO checkpoint, zero-shot with epochs=0, the model card."""
import pytest
import torch

from kit.errors import ParameterError
from kit.vision import card, evaluate, finetune
from kit.vision.data import CocoDetection, eval_transforms
from kit.vision.models import build_detector
from kit.vision.notebook import PARAMETERS
from kit.vision.train import train_detector

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from kit.vision.synthetic import generate

    return generate(tmp_path_factory.mktemp("ft"), n_images=6, image_size=64, seed=3, n_code_crops=0, sequence_frames=0,
                    split_fractions=(0.5, 0.5, 0.0))


def _detector(published_file, folder):
    path, state = published_file("ssdlite", "detector")
    names = CocoDetection(folder, "train").label_names
    return build_detector("ssdlite", len(names), image_size=64, weights=path, class_names=list(names.values())), state


def test_fine_tunes_with_per_part_rates_and_a_frozen_start(published_file, folder):
    model, state = _detector(published_file, folder)
    train, val = CocoDetection(folder, "train"), CocoDetection(folder, "val")
    backbone_before = {k: v.clone() for k, v in model.net.backbone.features.state_dict().items() if v.is_floating_point()}
    r = train_detector(model, train, val, epochs=1, batch_size=len(train), image_size=64, lr=1e-3, progress=False,
                       freeze_backbone_epochs=0)
    assert r.parts == {"neck and heads": {"lr": 1e-3, "frozen_epochs": 0},
                       "backbone": {"lr": pytest.approx(1e-4), "frozen_epochs": 0}}
    assert r.model.available_labels is None  # trained: every class scored
    after = r.model.net.backbone.features.state_dict()
    assert sum(not torch.equal(after[k], v) for k, v in backbone_before.items()) > 0.5 * len(backbone_before)
    assert r.history[0]["lr"] < 1e-3  # the head group's rate, the first one, under the one-cycle schedule


def test_backbone_frozen_for_the_first_epochs(published_file, folder):
    model, _ = _detector(published_file, folder)
    parts = finetune.param_parts(model, 1e-3, 0.1, None, epochs=5)
    assert parts["backbone"]["frozen_epochs"] == 2 and parts["neck and heads"]["lr"] == 1e-3
    params = parts["backbone"]["params"]
    seen = []
    with finetune.frozen_backbone(parts, lambda epoch: seen.append((epoch, any(p.requires_grad for p in params)))) as b:
        for epoch in (1, 2, 3):
            b(epoch)
    assert seen == [(1, False), (2, False), (3, True)]
    assert all(p.requires_grad for p in params)  # as the builder left them
    assert finetune.param_parts(model, 1e-3, 0.1, 5, epochs=1)["backbone"]["frozen_epochs"] == 0  # never the last epoch


def test_epochs_0_detects_the_coco_classes_only(published_file, folder, tmp_path):
    model, _ = _detector(published_file, folder)
    test = CocoDetection(folder, "val", transforms=eval_transforms(64))  # images the detector never saw
    r = train_detector(model, CocoDetection(folder, "train"), None, epochs=0, image_size=64, checkpoint_dir=tmp_path,
                       progress=False)
    assert r.history == [] and r.best_epoch == 0 and (tmp_path / "best.pt").is_file()
    names = test.label_names
    assert finetune.unavailable_classes(r.model, names) == ["container", "pallet"]
    ids, dets = evaluate.predict(r.model, test, image_size=64, score_threshold=0.0)
    labels = torch.cat([d["labels"] for d in dets])
    assert len(labels) and set(labels.tolist()) <= {2, 4}  # truck and person, as COCO's rows give them
    scores = evaluate.coco_evaluate(evaluate.to_coco_results(dets, ids, test.index.category_ids), test.index)
    scores = scores.without(["container", "pallet"])
    table = scores.table()
    assert list(table["status"]) == ["unavailable", "scored", "unavailable", "scored"]
    assert scores.ap50["container"] != scores.ap50["container"]  # NaN
    valid = [scores.ap50[c] for c in ("truck", "person") if scores.ap50[c] == scores.ap50[c]]
    assert scores.map50 == pytest.approx(sum(valid) / len(valid))
    text = card.write_model_card(tmp_path, model_name="ssdlite", image_size=64, result=r,
                                 splits={"train": CocoDetection(folder, "train"), "test": test}, scores=scores)
    assert (tmp_path / "model_card.md").read_text().startswith("# Model card")
    for part in ("ssdlite320_mobilenet_v3_large_coco-a79551df.pth", "CC BY 4.0", "| container |", "unavailable",
                 "COCO truck", "synthetic yard", "not trained here"):
        assert part in text, part


def test_epochs_0_needs_coco_weights(folder):
    model = build_detector("ssdlite", 4, image_size=64)
    with pytest.raises(ParameterError, match="epochs=0 needs weights of a detector trained on COCO"):
        train_detector(model, CocoDetection(folder, "train"), None, epochs=0, image_size=64, progress=False)
    with pytest.raises(ParameterError, match="torchvision model .* and its COCO checkpoint"):
        PARAMETERS.validate({"epochs": 0})
    with pytest.raises(ParameterError, match="torchvision model"):
        PARAMETERS.validate({"epochs": 0, "model": "ssdlite"}, partial=True)
    with pytest.raises(ParameterError, match="weights_backbone applies to"):
        PARAMETERS.validate({"weights_backbone": __file__}, partial=True)
    assert PARAMETERS.validate({"epochs": 0, "model": "ssdlite", "weights": __file__}, partial=True)["epochs"] == 0
