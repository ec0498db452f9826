"""torchvision detectors (SSDlite, FCOS, Faster R-CNN) behind the same API as the CenterNet default.

For users with a GPU, a bigger time budget or their own weight files: the
networks are built from scratch (``weights=None``, no hub download is ever
tried) or from a local ``weights`` file, sized for square ``image_size``
inputs, and wrapped in :class:`TorchvisionDetector` so that
:func:`kit.vision.train.train_detector` trains them and
:func:`kit.vision.evaluate.predict` scores them exactly like
:class:`kit.vision.models.CenterNet` (labels 1..K, background 0 handled here;
boxes XYXY in input pixels; detections ``{"boxes", "scores", "labels"}``).

On 2 CPU cores SSDlite at 192 px reaches mAP@0.5 of about 0.75 in 180
CPU-seconds on the synthetic yard scenes; FCOS and Faster R-CNN (ResNet-50
FPN) cost 5–10 minutes per epoch of 500 images, which is GPU territory.
"""
from __future__ import annotations

import torch
from torch import nn

from kit.errors import InputDataError, ParameterError

__all__ = ["TORCHVISION_DETECTORS", "TorchvisionDetector", "build_detector", "faster_rcnn", "fcos", "load_matching_weights",
           "ssdlite"]

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class TorchvisionDetector(nn.Module):
    """A torchvision detection network with the kit's conventions.

    Parameters
    ----------
    net : torch.nn.Module
        A torchvision ``SSD``, ``FCOS`` or ``FasterRCNN`` built with
        ``num_classes + 1`` classes (0 is background).
    num_classes : int
        Object classes without background; dataset labels are 1..K.
    name : str
        ``"ssdlite"``, ``"fcos"`` or ``"faster_rcnn"``.

    In training mode ``forward(images, targets)`` returns the network's
    dict of losses; in eval mode ``forward(images)`` returns a list of
    ``{"boxes" (n, 4) XYXY px, "scores" (n,), "labels" (n,) int64 1..K}``, one
    per image. ``images`` is a ``(B, 3, H, W)`` float tensor in [0, 1] or a
    list of ``(3, H, W)`` tensors; the network resizes to its ``image_size``
    and maps boxes back to the input's pixels.
    """

    #: :func:`kit.vision.evaluate.predict` reads detections straight from forward (no heatmap decoding).
    outputs_detections = True

    def __init__(self, net: nn.Module, num_classes: int, name: str):
        super().__init__()
        self.net = net
        self.num_classes = int(num_classes)
        self.name = name

    def forward(self, images, targets=None):
        imgs = list(images.unbind(0)) if torch.is_tensor(images) else list(images)
        if self.training:
            if targets is None:
                raise ParameterError(f"{self.name} in training mode needs targets (list of dicts with boxes and labels)")
            return self.net(imgs, targets)
        # FCOS scores class 0 like any other (sigmoid per class); it is background here.
        return [{k: v[d["labels"] >= 1] for k, v in d.items()} for d in self.net(imgs)]


def _check(num_classes, image_size):
    if num_classes < 1:
        raise ParameterError(f"num_classes must be >= 1, got {num_classes}")
    if image_size < 32 or image_size % 16:
        raise ParameterError(f"image_size must be a multiple of 16 px, at least 32, got {image_size}")


def _finish(net, num_classes, name, weights, backend):
    from kit.backend import as_backend

    model = TorchvisionDetector(net, num_classes, name)
    if weights is not None:
        load_matching_weights(model, weights)
    return model.to(as_backend(backend).torch_device)


def load_matching_weights(model: TorchvisionDetector, weights, min_fraction: float = 0.5) -> TorchvisionDetector:
    """Load a local weight file into a torchvision detector, skipping tensors whose shape differs.

    The file may hold this wrapper's ``state_dict`` (a checkpoint of
    :func:`kit.vision.train.train_detector`, ``{"model": state_dict}``), or
    the bare torchvision network's (e.g. a COCO-trained file saved
    elsewhere): then the class-specific layers, whose shapes differ for 4
    classes, keep their fresh initialization and the rest is fine-tuned.

    Raises
    ------
    InputDataError
        Missing or unreadable file, or fewer than ``min_fraction`` of the network's tensors found in it.
    """
    from kit.vision.models.weights import read_state_dict

    state = read_state_dict(weights)
    own = model.state_dict()
    # Accept the wrapper's keys ("net.x") and the bare network's ("x").
    state = {(k if k in own else f"net.{k}"): v for k, v in state.items()}
    fit = {k: v for k, v in state.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
    if len(fit) < min_fraction * len(own):
        raise InputDataError(f"weights file {weights} does not fit {model.name} ({len(fit)} of {len(own)} tensors match); "
                             "give weights saved from the same architecture")
    model.load_state_dict(fit, strict=False)
    return model


def ssdlite(num_classes: int, image_size: int = 320, weights=None, backend=None) -> TorchvisionDetector:
    """torchvision SSDlite (MobileNetV3-Large backbone), from scratch or from a local weight file.

    Parameters
    ----------
    num_classes : int
        Object classes without background (4 for container, truck, pallet, person).
    image_size : int, px
        Square input the network works at (320 in the paper; 192 fits a CPU budget).
    weights : path, optional
        Local ``state_dict`` file; no download is tried.
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}
        Where the network runs: the notebook's Backend, or a device to resolve.

    Returns
    -------
    TorchvisionDetector

    Examples
    --------
    >>> m = ssdlite(4, image_size=64).eval()
    >>> out = m(torch.rand(1, 3, 64, 64))
    >>> sorted(out[0])
    ['boxes', 'labels', 'scores']
    """
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large
    from torchvision.models.detection.transform import GeneralizedRCNNTransform

    _check(num_classes, image_size)
    net = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=num_classes + 1,
                                        score_thresh=0.01, detections_per_img=100)
    # The builder fixes 320 px; the default boxes are relative to the image, so only the resize changes.
    net.transform = GeneralizedRCNNTransform(image_size, image_size, [0.5] * 3, [0.5] * 3, size_divisible=1,
                                             fixed_size=(image_size, image_size))
    return _finish(net, num_classes, "ssdlite", weights, backend)


def fcos(num_classes: int, image_size: int = 512, weights=None, backend=None) -> TorchvisionDetector:
    """torchvision FCOS (ResNet-50 FPN, anchor-free), from scratch or from a local weight file.

    Parameters
    ----------
    num_classes : int
    image_size : int, px
        Images are resized so their side is ``image_size``.
    weights : path, optional
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}
        Where the network runs: the notebook's Backend, or a device to resolve.

    Returns
    -------
    TorchvisionDetector
    """
    from torchvision.models.detection import fcos_resnet50_fpn

    _check(num_classes, image_size)
    net = fcos_resnet50_fpn(weights=None, weights_backbone=None, num_classes=num_classes + 1, min_size=image_size,
                            max_size=image_size, score_thresh=0.01, detections_per_img=100,
                            image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)
    return _finish(net, num_classes, "fcos", weights, backend)


def faster_rcnn(num_classes: int, image_size: int = 512, weights=None, backend=None,
                backbone: str = "resnet50") -> TorchvisionDetector:
    """torchvision Faster R-CNN (FPN), from scratch or from a local weight file.

    Parameters
    ----------
    num_classes : int
    image_size : int, px
    weights : path, optional
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}
        Where the network runs: the notebook's Backend, or a device to resolve.
    backbone : {"resnet50", "mobilenet_v3_large"}
        ResNet-50 is the reference; MobileNetV3-Large is several times lighter.

    Returns
    -------
    TorchvisionDetector
    """
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn, fasterrcnn_resnet50_fpn

    _check(num_classes, image_size)
    builders = {"resnet50": fasterrcnn_resnet50_fpn, "mobilenet_v3_large": fasterrcnn_mobilenet_v3_large_fpn}
    if backbone not in builders:
        raise ParameterError(f"backbone must be one of {', '.join(builders)}, got {backbone!r}")
    net = builders[backbone](weights=None, weights_backbone=None, num_classes=num_classes + 1, min_size=image_size,
                             max_size=image_size, box_score_thresh=0.01, box_detections_per_img=100,
                             image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)
    return _finish(net, num_classes, "faster_rcnn", weights, backend)


TORCHVISION_DETECTORS = {"ssdlite": ssdlite, "fcos": fcos, "faster_rcnn": faster_rcnn}


def build_detector(name: str, num_classes: int, image_size: int = 256, weights=None, backend=None):
    """Any detector of the kit by name: ``centernet`` (default), ``ssdlite``, ``fcos`` or ``faster_rcnn``.

    Parameters
    ----------
    name : str
    num_classes : int
        Without background.
    image_size : int, px
        Input size the torchvision networks resize to (CenterNet takes any multiple of 16).
    weights : path, optional
        A local weight file; no download is tried.
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}
        Where the network runs: the notebook's Backend, or a device to resolve.

    Returns
    -------
    torch.nn.Module
        :class:`kit.vision.models.CenterNet` or :class:`TorchvisionDetector`.

    Examples
    --------
    >>> type(build_detector("centernet", 4)).__name__, build_detector("ssdlite", 4, 64).name
    ('CenterNet', 'ssdlite')
    """
    if name == "centernet":
        from kit.vision.models.anchor_free import centernet

        return centernet(num_classes, weights=weights, backend=backend)
    if name not in TORCHVISION_DETECTORS:
        raise ParameterError(f"model must be one of centernet, {', '.join(TORCHVISION_DETECTORS)}; got {name!r}")
    return TORCHVISION_DETECTORS[name](num_classes, image_size=image_size, weights=weights, backend=backend)
