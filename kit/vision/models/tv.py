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

    def __init__(self, net: nn.Module, num_classes: int, name: str, weights_info: dict | None = None,
                 available_labels=None):
        super().__init__()
        self.net = net
        self.num_classes = int(num_classes)
        self.name = name
        #: What an open checkpoint gave (:func:`kit.vision.models.pretrained.build_pretrained`); None from scratch.
        self.weights_info = weights_info
        #: Labels the network can detect (None: all); before fine-tuning, only the classes carried over from COCO.
        self.available_labels = None if available_labels is None else tuple(available_labels)

    def forward(self, images, targets=None):
        imgs = list(images.unbind(0)) if torch.is_tensor(images) else list(images)
        if self.training:
            if targets is None:
                raise ParameterError(f"{self.name} in training mode needs targets (list of dicts with boxes and labels)")
            return self.net(imgs, targets)
        # FCOS scores class 0 like any other (sigmoid per class); it is background here.
        out = [{k: v[d["labels"] >= 1] for k, v in d.items()} for d in self.net(imgs)]
        if self.available_labels is not None:
            # Rows still at their fresh initialization detect nothing worth reporting.
            keep = torch.tensor(self.available_labels, dtype=torch.int64)
            out = [{k: v[torch.isin(d["labels"], keep.to(d["labels"].device))] for k, v in d.items()} for d in out]
        return out


def _check(num_classes, image_size):
    if num_classes < 1:
        raise ParameterError(f"num_classes must be >= 1, got {num_classes}")
    if image_size < 32 or image_size % 16:
        raise ParameterError(f"image_size must be a multiple of 16 px, at least 32, got {image_size}")


def _build(arch: str, builder, num_classes: int, weights, weights_backbone, class_names, backend, **kwargs):
    """The torchvision network from scratch, from an open checkpoint, or from a kit checkpoint, wrapped.

    ``weights`` may be torchvision's published COCO detector, an ImageNet
    backbone or a file of the kit's own; ``weights_backbone`` an ImageNet
    backbone (see :mod:`kit.vision.models.pretrained`).
    """
    from kit.backend import as_backend
    from kit.vision.models import pretrained
    from kit.vision.models.weights import read_state_dict

    name = "faster_rcnn" if arch.startswith("faster_rcnn") else arch
    if weights is not None and weights_backbone is not None:
        raise ParameterError("give weights (a whole detector) or weights_backbone (an ImageNet backbone), not both")
    pub, state, info, what = None, None, None, None
    for file, param in ((weights, "weights"), (weights_backbone, "weights_backbone")):
        if file is not None:
            what = f"{param} file {file}"
            state = read_state_dict(file)
            pub = pretrained.recognise(state, name, what)
            if param == "weights_backbone" and (pub is None or pub.kind != "backbone"):
                raise ParameterError(f"{what} is a whole detector, not an ImageNet backbone; pass it as weights")
    if pub is not None:
        net, info = pretrained.build_pretrained(pub, state, what, num_classes, class_names, **kwargs)
    else:
        from torchvision.models import detection

        net = getattr(detection, builder)(weights=None, weights_backbone=None, num_classes=num_classes + 1, **kwargs)
    model = TorchvisionDetector(net, num_classes, name, weights_info=info,
                                available_labels=None if info is None else info["available_labels"])
    if pub is None and weights is not None:
        load_matching_weights(model, weights)
    return model.to(as_backend(backend).torch_device)


def load_matching_weights(model: TorchvisionDetector, weights, min_fraction: float = 0.5) -> TorchvisionDetector:
    """Load a local weight file into a torchvision detector, skipping tensors whose shape differs.

    The file may hold this wrapper's ``state_dict`` (a checkpoint of
    :func:`kit.vision.train.train_detector`, ``{"model": state_dict}``), or
    the bare torchvision network's trained for other classes (torchvision's
    published COCO files go through :mod:`kit.vision.models.pretrained`
    instead): then the class-specific layers, whose shapes differ, keep
    their fresh initialization and the rest is fine-tuned.

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


_WEIGHTS_DOC = """weights : path, optional
        A local file: torchvision's published COCO checkpoint of this
        detector (the file its weights enum names; the class head is rebuilt
        for ``num_classes``, same-name COCO rows kept), its ImageNet backbone,
        or a checkpoint of the kit; no download is tried.
    weights_backbone : path, optional
        torchvision's published ImageNet checkpoint of the backbone.
    class_names : sequence of str, optional
        The dataset's class names (labels 1..K), to carry COCO's rows over by name."""


def ssdlite(num_classes: int, image_size: int = 320, weights=None, backend=None, *, weights_backbone=None,
            class_names=None) -> TorchvisionDetector:
    """torchvision SSDlite (MobileNetV3-Large backbone), from scratch or from a local weight file.

    Parameters
    ----------
    num_classes : int
        Object classes without background (4 for container, truck, pallet, person).
    image_size : int, px
        Square input the network works at (320 in the paper; 192 fits a CPU budget).
    {weights}
    backend : kit.backend.Backend or {{"cpu", "cuda", "auto"}}
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
    _check(num_classes, image_size)
    model = _build("ssdlite", "ssdlite320_mobilenet_v3_large", num_classes, weights, weights_backbone, class_names, backend,
                   score_thresh=0.01, detections_per_img=100)
    # The builder fixes 320 px; the default boxes are relative to the image, so only the resize changes.
    t = model.net.transform
    model.net.transform = type(t)(image_size, image_size, t.image_mean, t.image_std, size_divisible=1,
                                  fixed_size=(image_size, image_size))
    return model


def fcos(num_classes: int, image_size: int = 512, weights=None, backend=None, *, weights_backbone=None,
         class_names=None) -> TorchvisionDetector:
    """torchvision FCOS (ResNet-50 FPN, anchor-free), from scratch or from a local weight file.

    Parameters
    ----------
    num_classes : int
    image_size : int, px
        Images are resized so their side is ``image_size``.
    {weights}
    backend : kit.backend.Backend or {{"cpu", "cuda", "auto"}}
        Where the network runs: the notebook's Backend, or a device to resolve.

    Returns
    -------
    TorchvisionDetector
    """
    _check(num_classes, image_size)
    return _build("fcos", "fcos_resnet50_fpn", num_classes, weights, weights_backbone, class_names, backend,
                  min_size=image_size, max_size=image_size, score_thresh=0.01, detections_per_img=100,
                  image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)


def faster_rcnn(num_classes: int, image_size: int = 512, weights=None, backend=None, backbone: str | None = None, *,
                weights_backbone=None, class_names=None) -> TorchvisionDetector:
    """torchvision Faster R-CNN (FPN), from scratch or from a local weight file.

    Parameters
    ----------
    num_classes : int
    image_size : int, px
    {weights}
    backend : kit.backend.Backend or {{"cpu", "cuda", "auto"}}
        Where the network runs: the notebook's Backend, or a device to resolve.
    backbone : {{"resnet50", "mobilenet_v3_large"}}, optional
        ResNet-50 is the reference; MobileNetV3-Large is several times
        lighter. Default: the weight file's, else ResNet-50.

    Returns
    -------
    TorchvisionDetector
    """
    _check(num_classes, image_size)
    builders = {"resnet50": "fasterrcnn_resnet50_fpn", "mobilenet_v3_large": "fasterrcnn_mobilenet_v3_large_fpn"}
    if backbone is not None and backbone not in builders:
        raise ParameterError(f"backbone must be one of {', '.join(builders)}, got {backbone!r}")
    found = _file_backbone(weights if weights is not None else weights_backbone)
    if backbone is not None and found is not None and found != backbone:
        raise ParameterError(f"the weight file holds a {found} Faster R-CNN, not {backbone}; drop backbone or change the file")
    backbone = backbone or found or "resnet50"
    return _build(f"faster_rcnn_{backbone}", builders[backbone], num_classes, weights, weights_backbone, class_names,
                  backend, min_size=image_size, max_size=image_size, box_score_thresh=0.01, box_detections_per_img=100,
                  image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)


def _file_backbone(file) -> str | None:
    """``"resnet50"`` or ``"mobilenet_v3_large"`` for a file of either layout, None for none or another file."""
    if file is None:
        return None
    from kit.vision.models.weights import read_state_dict

    keys = {k.removeprefix("net.") for k in read_state_dict(file)}
    if {"backbone.body.0.0.weight", "features.0.0.weight"} & keys:
        return "mobilenet_v3_large"
    if {"backbone.body.layer1.0.conv1.weight", "layer1.0.conv1.weight"} & keys:
        return "resnet50"
    return None


for _f in ("ssdlite", "fcos", "faster_rcnn"):
    globals()[_f].__doc__ = globals()[_f].__doc__.format(weights=_WEIGHTS_DOC)


TORCHVISION_DETECTORS = {"ssdlite": ssdlite, "fcos": fcos, "faster_rcnn": faster_rcnn}


def build_detector(name: str, num_classes: int, image_size: int = 256, weights=None, backend=None, *,
                   weights_backbone=None, class_names=None):
    """Any detector of the kit by name: ``centernet`` (default), ``ssdlite``, ``fcos`` or ``faster_rcnn``.

    Parameters
    ----------
    name : str
    num_classes : int
        Without background.
    image_size : int, px
        Input size the torchvision networks resize to (CenterNet takes any multiple of 16).
    weights : path, optional
        A local weight file; no download is tried. For the torchvision
        networks also torchvision's published COCO or ImageNet checkpoints
        (see :func:`ssdlite`).
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}
        Where the network runs: the notebook's Backend, or a device to resolve.
    weights_backbone : path, optional
        torchvision's published ImageNet backbone checkpoint (torchvision networks only).
    class_names : sequence of str, optional
        The dataset's class names, labels 1..K (COCO's rows carried over by name).

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

        if weights_backbone is not None:
            raise ParameterError("weights_backbone applies to ssdlite, fcos and faster_rcnn; centernet has no published backbone")
        return centernet(num_classes, weights=weights, backend=backend)
    if name not in TORCHVISION_DETECTORS:
        raise ParameterError(f"model must be one of centernet, {', '.join(TORCHVISION_DETECTORS)}; got {name!r}")
    return TORCHVISION_DETECTORS[name](num_classes, image_size=image_size, weights=weights, backend=backend,
                                       weights_backbone=weights_backbone, class_names=class_names)
