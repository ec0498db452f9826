"""Training from open weights: the zero-shot case, learning rates per part, the backbone frozen at first.

Used by :func:`kit.vision.train.train_detector` for torchvision networks
built from torchvision's published checkpoints
(:mod:`kit.vision.models.pretrained`, their ``weights_info``): the pretrained
backbone learns at a fraction of the learning rate of the fresh layers and is
frozen for the first epochs, so the fresh class rows do not send large
gradients through features learnt on COCO or ImageNet. ``record_weights``
prints and records what the weights gave, for the notebook.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

from kit.errors import ParameterError

__all__ = ["frozen_backbone", "param_parts", "record_weights", "unavailable_classes", "zero_shot"]


def zero_shot(model, backend, checkpoint_dir, image_size: int):
    """``epochs=0``: the COCO detector as it is, its carried-over classes only, counted at 0.3.

    Returns
    -------
    (model, class_thresholds, checkpoint) : TorchvisionDetector in eval mode, dict, Path or None
    """
    from kit.ml.checkpoints import save_checkpoint

    info = getattr(model, "weights_info", None)
    if not info or not info.get("available_labels"):
        raise ParameterError("epochs=0 needs weights of a detector trained on COCO with a class named like one of "
                             "the dataset's (truck, person): give torchvision's COCO checkpoint as weights, or epochs >= 1")
    model = model.to(backend.torch_device).eval()
    per_class = {k: 0.3 for k in range(1, model.num_classes + 1)}
    ckpt = None
    if checkpoint_dir is not None:
        ckpt = save_checkpoint(Path(checkpoint_dir) / "best.pt", model.state_dict(), epoch=0, val_map50=-1.0,
                               score_threshold=0.3, class_thresholds=per_class, num_classes=model.num_classes,
                               image_size=image_size)
    return model, per_class, ckpt


def param_parts(model, lr: float, factor: float, frozen, epochs: int) -> dict:
    """Learning rate and frozen epochs of the pretrained backbone and of the rest; {} without open weights."""
    if getattr(model, "weights_info", None) is None:
        return {}
    net = model.net
    body = net.backbone.body if hasattr(net.backbone, "body") else net.backbone.features
    backbone = list(body.parameters())
    ids = {id(p) for p in backbone}
    rest = [p for p in model.parameters() if id(p) not in ids]
    n = min(2, max(0, epochs - 1)) if frozen is None else max(0, min(int(frozen), epochs - 1))
    # The head's group first: the progress bar and history show its learning rate.
    return {"neck and heads": {"params": rest, "lr": lr, "frozen_epochs": 0},
            "backbone": {"params": backbone, "lr": lr * float(factor), "frozen_epochs": n}}


@contextlib.contextmanager
def frozen_backbone(parts: dict, batches):
    """``batches`` with the backbone frozen during its first epochs; afterwards as the builder left it.

    torchvision keeps the first ResNet stages frozen when it loads weights;
    those stay frozen, the others learn from epoch ``frozen_epochs + 1``.
    """
    part = parts.get("backbone")
    if part is None:
        yield batches
        return
    trainable = [p.requires_grad for p in part["params"]]

    def epoch_batches(epoch):
        open_ = epoch > part["frozen_epochs"]
        for p, flag in zip(part["params"], trainable):
            p.requires_grad_(flag and open_)
        return batches(epoch)

    try:
        yield epoch_batches
    finally:
        for p, flag in zip(part["params"], trainable):
            p.requires_grad_(flag)


def unavailable_classes(model, label_names: dict) -> list:
    """Classes the detector cannot detect yet (a COCO detector before fine-tuning); [] otherwise."""
    labels = getattr(model, "available_labels", None)
    return [] if labels is None else [name for k, name in label_names.items() if k not in labels]


def record_weights(result, label_names: dict) -> list:
    """Print and record what open weights gave (loaded, reset, terms, learning rates); return the unavailable classes.

    Prints nothing for a detector trained from scratch or from a kit checkpoint.
    """
    from kit import report

    info = getattr(result.model, "weights_info", None)
    unavailable = unavailable_classes(result.model, label_names)
    if info is None:
        return unavailable
    src = info["source"]
    print(f"weights: {src['file_name']} layout, trained on {src['trained_on']}; terms: {src['terms']}")
    for line in info["loaded"]:
        print(f"  loaded: {line}")
    for line in info["reset"]:
        print(f"  reset: {line}")
    for part, v in result.parts.items():
        n = v["frozen_epochs"]
        frozen = f", frozen for the first {n} epoch{'s' if n > 1 else ''}" if n else ""
        print(f"  {part}: peak learning rate {v['lr']:.2g}{frozen}")
    if unavailable:
        print(f"  unavailable until fine-tuned: {', '.join(unavailable)}")
    report.record("weights_source", src["file_name"])
    report.record("weights_trained_on", src["trained_on"])
    report.record("unavailable_classes", unavailable)
    return unavailable
