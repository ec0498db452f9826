"""Teachers for distillation (:mod:`kit.vision.distill`): a wider CenterNet to train, or a detector from a checkpoint file.

A checkpoint's architecture is read from its keys: a CenterNet of any width
and head (its widths from the weight shapes), or a
:class:`kit.vision.models.TorchvisionDetector` (ssdlite, fcos,
faster_rcnn) fine-tuned by :func:`kit.vision.train.train_detector`, whose
``best.pt`` records its classes and input size. Every teacher comes back
frozen.
"""
from __future__ import annotations

from kit.errors import InputDataError

__all__ = ["TEACHERS", "frozen", "load_teacher", "wide_teacher"]

#: Named teachers of the notebook's ``teacher`` parameter; anything else is a checkpoint file.
TEACHERS = ("none", "centernet_wide")

_EXPECT = ("a checkpoint (best.pt) of a trained centernet, or of ssdlite, fcos or faster_rcnn fine-tuned on the same "
           "classes; or teacher='centernet_wide' to train one here")


def wide_teacher(num_classes: int, width: int = 32, head_channels: int = 64, backend=None):
    """A wider CenterNet to train as the teacher: ``width`` 32 and ``head_channels`` 64 give about 1.9 M parameters (4× the student)."""
    from kit.vision.models import centernet

    return centernet(num_classes, width=width, head_channels=head_channels, backend=backend)


def load_teacher(path, num_classes: int, image_size: int = 256, backend=None):
    """A teacher from a checkpoint file, frozen (eval mode, no gradients).

    Parameters
    ----------
    path : path
        A state_dict or a :func:`kit.vision.train.train_detector` checkpoint
        (``{"model": state_dict, "num_classes", "image_size", ...}``) of a
        CenterNet (its width and head read from the weights) or of a
        :class:`kit.vision.models.TorchvisionDetector`.
    num_classes : int
        The student's classes; the teacher must have the same.
    image_size : int, px
        Input size of a torchvision teacher when the checkpoint does not say.
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}

    Raises
    ------
    InputDataError
        Missing or unreadable file, an unknown layout, other classes, or
        torchvision's published COCO file (not fine-tuned); one line, with the fix.
    """
    from kit.io import read_torch_file

    ckpt = read_torch_file(path, "teacher file", _EXPECT)
    meta = ckpt if isinstance(ckpt, dict) and isinstance(ckpt.get("model"), dict) else {}
    state = meta.get("model", ckpt)
    if not isinstance(state, dict) or not state:
        raise InputDataError(f"teacher file {path} holds no state_dict; give {_EXPECT}")
    keys = {k.removeprefix("net.") for k in state}
    arch = _architecture(keys)
    if arch is None:
        raise InputDataError(f"teacher file {path} is neither a CenterNet nor a torchvision detector; give {_EXPECT}")
    found = meta.get("num_classes", _centernet_classes(state) if arch == "centernet" else None)
    if found is not None and int(found) != num_classes:
        raise InputDataError(f"teacher file {path} detects {found} classes, the student {num_classes}; "
                             "give a teacher trained on the same classes")
    if arch == "centernet":
        teacher = _centernet_from(state, num_classes, path, backend)
    else:
        teacher = _torchvision_from(path, state, arch, num_classes, int(meta.get("image_size", image_size)), backend)
    return frozen(teacher)


def _architecture(keys: set) -> str | None:
    if "stem.0.0.weight" in keys and "lat16.weight" in keys:
        return "centernet"
    if "roi_heads.box_predictor.cls_score.weight" in keys:
        return "faster_rcnn"
    if "head.classification_head.cls_logits.weight" in keys:
        return "fcos"
    if any(k.startswith("head.classification_head.module_list.") for k in keys):
        return "ssdlite"
    return None


def _centernet_classes(state: dict) -> int:
    return int((state.get("heatmap.weight") if "heatmap.weight" in state else state["heatmap.2.weight"]).shape[0])


def _centernet_from(state: dict, num_classes: int, path, backend):
    from kit.backend import as_backend
    from kit.vision.models import CenterNet
    from kit.vision.models.weights import fit_state

    head = "shared" if "head_trunk.0.weight" in state else "separate"
    net = CenterNet(num_classes, int(state["stem.0.0.weight"].shape[0]), int(state["lat16.weight"].shape[0]), head)
    return fit_state(net, state, f"teacher file {path}", "a CenterNet").to(as_backend(backend).torch_device)


def _torchvision_from(path, state: dict, arch: str, num_classes: int, image_size: int, backend):
    from kit.vision.models import build_detector
    from kit.vision.models.pretrained import recognise

    if recognise(state, arch, f"teacher file {path}") is not None:
        raise InputDataError(f"teacher file {path} is torchvision's published checkpoint, not fine-tuned on these classes; "
                             f"fine-tune it first (model={arch}, weights=that file) and give that run's best.pt")
    return build_detector(arch, num_classes, image_size=image_size, weights=path, backend=backend)


def frozen(model):
    """``model`` in eval mode with every parameter's gradient off (a teacher is never trained by its student)."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
