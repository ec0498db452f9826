"""torchvision's published checkpoints, brought as local files: recognised, loaded where torchvision puts them, adapted.

Two kinds of file are recognised by their keys and shapes (never by their
name): a whole detector trained on COCO (``ssdlite320_mobilenet_v3_large_coco-a79551df.pth``,
``fcos_resnet50_fpn_coco-99b0c9b7.pth``, ``fasterrcnn_resnet50_fpn_coco-258fb6c6.pth``,
``fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth``) and an ImageNet classifier
whose features become the backbone (``mobilenet_v3_large-8738ca79.pth``,
``resnet50-0676ba61.pth``). The names, categories and recipes come from
torchvision's weight enums; the file is handed to torchvision's own builder
through a private hub folder holding it under the enum's file name, so every
tensor lands exactly where torchvision's loader puts it (frozen batch norm,
MobileNet's full tail, trainable layers) and nothing is downloaded.

A COCO detector's class head is then rebuilt for the dataset's classes: rows
of COCO categories with the same name (``truck``, ``person``) and the
background row are carried over, the others start from torchvision's fresh
initialization.
"""
from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from kit.errors import InputDataError, ParameterError

__all__ = ["WEIGHTS_TERMS", "Published", "build_pretrained", "published", "recognise"]

#: No license is written in torchvision's weight metadata; its documentation says the weights follow their training data's terms.
WEIGHTS_TERMS = {
    "COCO": "published by torchvision (code BSD-3-Clause); trained on COCO 2017, whose annotations are CC BY 4.0 and "
            "images under Flickr's terms; torchvision leaves checking the weights' terms for your use to you",
    "ImageNet-1K": "published by torchvision (code BSD-3-Clause); trained on ImageNet-1K, whose terms allow "
                   "non-commercial research and education only; check them for your use",
}


@dataclass(frozen=True)
class Published:
    """One published torchvision checkpoint: which kit detector it fits and what torchvision says about it."""

    arch: str  #: "ssdlite", "fcos", "faster_rcnn_resnet50" or "faster_rcnn_mobilenet_v3_large"
    kind: str  #: "detector" (COCO) or "backbone" (ImageNet classifier)
    builder: str  #: torchvision.models.detection builder
    enum: object  #: the torchvision weights enum member

    @property
    def file_name(self) -> str:
        return self.enum.url.rsplit("/", 1)[-1]

    @property
    def model(self) -> str:
        return "faster_rcnn" if self.arch.startswith("faster_rcnn") else self.arch

    @property
    def dataset(self) -> str:
        return "COCO" if self.kind == "detector" else "ImageNet-1K"

    def describe(self) -> dict:
        return {"file_name": self.file_name, "trained_on": self.dataset, "recipe": self.enum.meta.get("recipe"),
                "terms": WEIGHTS_TERMS[self.dataset]}


def published() -> dict:
    """``{(arch, kind): Published}`` for the detectors the notebook offers, from the installed torchvision's enums."""
    from torchvision.models import MobileNet_V3_Large_Weights, ResNet50_Weights
    from torchvision.models import detection as d

    mnv3, r50 = MobileNet_V3_Large_Weights.IMAGENET1K_V1, ResNet50_Weights.IMAGENET1K_V1
    rows = [("ssdlite", "ssdlite320_mobilenet_v3_large", d.SSDLite320_MobileNet_V3_Large_Weights.COCO_V1, mnv3),
            ("fcos", "fcos_resnet50_fpn", d.FCOS_ResNet50_FPN_Weights.COCO_V1, r50),
            ("faster_rcnn_resnet50", "fasterrcnn_resnet50_fpn", d.FasterRCNN_ResNet50_FPN_Weights.COCO_V1, r50),
            ("faster_rcnn_mobilenet_v3_large", "fasterrcnn_mobilenet_v3_large_fpn",
             d.FasterRCNN_MobileNet_V3_Large_FPN_Weights.COCO_V1, mnv3)]
    out = {}
    for arch, builder, coco, backbone in rows:
        out[arch, "detector"] = Published(arch, "detector", builder, coco)
        out[arch, "backbone"] = Published(arch, "backbone", builder, backbone)
    return out


#: Where each detector's class-specific layers sit (torchvision's module paths).
CLASS_HEAD = {"ssdlite": "head.classification_head", "fcos": "head.classification_head",
              "faster_rcnn_resnet50": "roi_heads.box_predictor", "faster_rcnn_mobilenet_v3_large": "roi_heads.box_predictor"}

_DETECTOR_KEYS = {"ssdlite": ("head.classification_head.module_list.0.1.weight", "backbone.features.0.0.0.weight"),
                  "fcos": ("head.classification_head.cls_logits.weight", "backbone.body.layer1.0.conv1.weight"),
                  "faster_rcnn_resnet50": ("roi_heads.box_predictor.cls_score.weight", "backbone.body.layer1.0.conv1.weight"),
                  "faster_rcnn_mobilenet_v3_large": ("roi_heads.box_predictor.cls_score.weight", "backbone.body.0.0.weight")}
_BACKBONE_KEYS = {"resnet50": ("layer4.2.conv3.weight", "fc.weight"), "mobilenet_v3_large": ("features.16.0.weight", "classifier.3.weight")}


def _class_count(state: dict, arch: str) -> int:
    """Classes (background included) of a detector's state, from its class layer's shape."""
    w = state[_DETECTOR_KEYS[arch][0]]
    if arch == "ssdlite":  # 6 default boxes per cell on the first map: rows are anchors × classes
        return int(w.shape[0]) // 6
    return int(w.shape[0])


def recognise(state: dict, model: str, what: str) -> Published | None:
    """The published checkpoint ``state`` has the layout of, or None for a file of the kit's own (``net.`` keys).

    Parameters
    ----------
    state : dict of tensors
    model : {"ssdlite", "fcos", "faster_rcnn"}
        The detector asked for; a file of another one is refused.
    what : str
        How the error names the file (``"weights file x.pth"``).

    Raises
    ------
    InputDataError
        A file that is neither a torchvision detector nor an ImageNet backbone, or a detector of another model.
    """
    if any(k.startswith("net.") for k in state):
        return None
    table = published()
    for arch, keys in _DETECTOR_KEYS.items():
        if all(k in state for k in keys):
            if _class_count(state, arch) != len(table[arch, "detector"].enum.meta["categories"]):
                return None  # a torchvision network trained for other classes: matched by shape, as before
            return _same_model(table[arch, "detector"], model, what)
    for name, keys in _BACKBONE_KEYS.items():
        if all(k in state for k in keys):
            arch = {"resnet50": "faster_rcnn_resnet50" if model == "faster_rcnn" else "fcos",
                    "mobilenet_v3_large": "faster_rcnn_mobilenet_v3_large" if model == "faster_rcnn" else "ssdlite"}[name]
            return _same_model(table[arch, "backbone"], model, what)
    expected = ", ".join(sorted({p.file_name for p in table.values() if p.model == model}))
    first = next(iter(state), "nothing")
    raise InputDataError(f"{what} is neither a torchvision {model} checkpoint nor its ImageNet backbone (its first key is "
                         f"{first!r}); give one of the files torchvision publishes for it ({expected}) or a kit checkpoint")


def _same_model(pub: Published, model: str, what: str) -> Published:
    if pub.model != model:
        raise ParameterError(f"{what} has the layout of torchvision's {pub.file_name} ({pub.model}); "
                             f"run with model {pub.model}, or give a {model} file")
    return pub


@contextlib.contextmanager
def _as_published(state: dict, pub: Published):
    """A private torch hub folder holding ``state`` under the enum's file name, so torchvision loads it, offline."""
    old = torch.hub.get_dir()
    with tempfile.TemporaryDirectory(prefix="kit-hub-") as hub:
        (Path(hub) / "checkpoints").mkdir()
        torch.save(state, Path(hub) / "checkpoints" / pub.file_name)
        torch.hub.set_dir(hub)
        try:
            yield
        finally:
            torch.hub.set_dir(old)


def build_pretrained(pub: Published, state: dict, what: str, num_classes: int, class_names, **kwargs):
    """torchvision's network built from ``state`` by its own loader, its class head rebuilt for ``num_classes``.

    Parameters
    ----------
    pub : Published
        What :func:`recognise` found.
    state : dict of tensors
    what : str
    num_classes : int
        The dataset's classes, background excluded.
    class_names : sequence of str or None
        The dataset's class names in label order (1..K); names found among
        the COCO categories keep their COCO rows.
    **kwargs
        Passed to the torchvision builder (sizes, thresholds, normalization).

    Returns
    -------
    (net, info) : torch.nn.Module, dict
        ``info``: ``source`` (file name, training data, recipe, terms), ``loaded``
        and ``reset`` (lists of module paths and tensor counts), ``carried``
        ``{dataset class: COCO category}``, ``available_labels`` (labels able
        to detect before any training).
    """
    from torchvision.models import detection

    builder = getattr(detection, pub.builder)
    try:
        with _as_published(state, pub):
            if pub.kind == "detector":
                net = builder(weights=pub.enum, progress=False, **kwargs)
            else:
                net = builder(weights=None, weights_backbone=pub.enum, progress=False, num_classes=num_classes + 1, **kwargs)
    except RuntimeError as exc:
        raise InputDataError(f"{what} has {pub.file_name}'s layout but does not load into it: "
                             f"{str(exc).splitlines()[0]}; give the file as torchvision published it") from None
    info = {"source": {"file": what.split(" ", 2)[-1], **pub.describe()}}
    if pub.kind == "backbone":
        n = sum(1 for k in state if not k.startswith(("fc.", "classifier.")))
        info.update(loaded=[f"backbone: {n} tensors of the ImageNet classifier (its classifier layer dropped)"],
                    reset=["neck and heads: torchvision's fresh initialization"], carried={}, available_labels=())
        return net, info
    carried = _rebuild_class_head(net, pub, num_classes, class_names, kwargs)
    n_head = sum(1 for k in state if k.startswith(CLASS_HEAD[pub.arch] + "."))
    others = [n for n in (class_names or [f"class {k}" for k in range(1, num_classes + 1)]) if n not in carried]
    info.update(loaded=[f"{len(state) - n_head} tensors of backbone, neck and heads",
                        f"{CLASS_HEAD[pub.arch]}: background" + "".join(f", {c}" for c in carried) + " rows of COCO"],
                reset=[f"{CLASS_HEAD[pub.arch]}: rows of {', '.join(others)} (no COCO category of that name)"] if others else [],
                carried={n: n for n in carried},
                available_labels=tuple(k for k, n in enumerate(class_names or [], start=1) if n in carried))
    return net, info


def _rebuild_class_head(net, pub: Published, num_classes: int, class_names, kwargs) -> list:
    """Swap in a fresh class head for ``num_classes`` and copy the background and same-name COCO rows into it."""
    from torchvision.models import detection

    coco = [c.lower() for c in pub.enum.meta["categories"]]
    names = list(class_names or [])
    rows = [0] + [coco.index(n.lower()) if n.lower() in coco and n.lower() != "n/a" else -1 for n in names]
    fresh = getattr(detection, pub.builder)(weights=None, weights_backbone=None, num_classes=num_classes + 1,
                                            progress=False, **kwargs)
    parent_path, _, leaf = CLASS_HEAD[pub.arch].rpartition(".")
    old, new = net.get_submodule(CLASS_HEAD[pub.arch]), fresh.get_submodule(CLASS_HEAD[pub.arch])
    n_old = len(pub.enum.meta["categories"])
    with torch.no_grad():
        new_state, old_state = new.state_dict(), old.state_dict()
        for key, t in new_state.items():
            o = old_state[key]
            if o.shape == t.shape:
                t.copy_(o)
                continue
            # Class-major (C, 4) for box deltas, anchor-major (A, C) for scores.
            per_class = "bbox_pred" in key
            o_v = o.reshape(n_old, -1, *o.shape[1:]) if per_class else o.reshape(-1, n_old, *o.shape[1:])
            t_v = t.view(num_classes + 1, -1, *t.shape[1:]) if per_class else t.view(-1, num_classes + 1, *t.shape[1:])
            for new_row, coco_row in enumerate(rows):
                if coco_row >= 0:
                    (t_v[new_row] if per_class else t_v[:, new_row]).copy_(o_v[coco_row] if per_class else o_v[:, coco_row])
        new.load_state_dict(new_state)
    setattr(net.get_submodule(parent_path), leaf, new)
    return [n for n, r in zip(names, rows[1:]) if r >= 0]
