"""Networks for urgent-finding triage of chest radiographs, trained from scratch.

Two named architectures, both taking ``(batch, 1, S, S)`` float images in
[0, 1] and returning one logit per image (urgent vs not):

- ``"small_cnn"``: four convolution stages (≈ 0.4 M parameters at the
  default width), cheap enough to train on a CPU in a couple of minutes at
  64 × 64 pixels;
- ``"mobilenet_v3_small"``: torchvision's MobileNetV3-Small (random
  initialisation, one input channel), the cheap standard option at 128 px.

ResNet-18 at 224 px is deliberately absent: on a 2-core CPU it costs over
five minutes per epoch on 2,000 images.
"""
from __future__ import annotations

from torch import nn

from kit.errors import ParameterError

ARCHITECTURES = ("small_cnn", "mobilenet_v3_small")


class Classifier(nn.Module):
    """``features`` -> global average pool -> dropout -> linear: one logit per image."""

    def __init__(self, features: nn.Module, channels: int, dropout: float = 0.2):
        super().__init__()
        self.features = features
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, 1))

    def forward(self, x):
        return self.head(self.pool(self.features(x)))[:, 0]


def small_cnn(width: int = 20, dropout: float = 0.2):
    """A small VGG-style CNN with one logit out.

    Parameters
    ----------
    width : int, channels
        Channels of the first stage; the stages use ``w, 2w, 4w, 8w``.
        ``20`` gives about 0.44 M parameters.
    dropout : float
        Dropout before the last layer.

    Returns
    -------
    torch.nn.Module
        ``features`` (the convolution stack; its last block is the Grad-CAM
        layer) followed by global average pooling and ``head``.

    Examples
    --------
    >>> import torch
    >>> net = small_cnn()
    >>> round(sum(p.numel() for p in net.parameters()) / 1e6, 2)
    0.44
    >>> net(torch.zeros(2, 1, 64, 64)).shape
    torch.Size([2])
    """
    if width < 4:
        raise ParameterError(f"small_cnn width must be >= 4 channels, got {width}")

    def block(cin, cout, pool=True):
        layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        if pool:
            layers.append(nn.MaxPool2d(2))
        return layers

    w = width
    # The stem strides by two at once: the findings are large (several % of the
    # image), full-resolution features would cost most of the compute for little.
    features = nn.Sequential(
        nn.Conv2d(1, w, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
        *block(w, 2 * w),
        *block(2 * w, 4 * w, pool=False),
        *block(4 * w, 4 * w),
        *block(4 * w, 8 * w, pool=False),
        *block(8 * w, 8 * w, pool=False),
    )
    return Classifier(features, 8 * w, dropout)


def mobilenet_v3_small(dropout: float = 0.2):
    """torchvision's MobileNetV3-Small, randomly initialised, one input channel, one logit.

    Examples
    --------
    >>> import torch
    >>> net = mobilenet_v3_small()
    >>> net(torch.zeros(2, 1, 128, 128)).shape
    torch.Size([2])
    """
    from torchvision.models import mobilenet_v3_small as tv_mobilenet

    base = tv_mobilenet(weights=None, num_classes=1, dropout=dropout)
    first = base.features[0][0]
    base.features[0][0] = nn.Conv2d(1, first.out_channels, first.kernel_size, first.stride, first.padding, bias=False)
    features = base.features
    channels = features[-1].out_channels
    return Classifier(features, channels, dropout)


def build_model(arch: str = "small_cnn", **kwargs):
    """The network named ``arch`` (one of :data:`ARCHITECTURES`).

    Examples
    --------
    >>> type(build_model("small_cnn")).__name__
    'Classifier'
    """
    if arch == "small_cnn":
        return small_cnn(**kwargs)
    if arch == "mobilenet_v3_small":
        return mobilenet_v3_small(**kwargs)
    raise ParameterError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")


def gradcam_layer(model):
    """The module whose activations Grad-CAM weighs: the last convolution block of ``features``."""
    return model.features[-1]
