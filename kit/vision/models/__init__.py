"""Detectors for logistics scenes.

``centernet`` is the default: a small anchor-free detector trained from
scratch on a CPU in minutes. ``ssdlite``, ``fcos`` and ``faster_rcnn`` are
torchvision's, for a GPU, a bigger budget or a local weight file, behind the
same train/evaluate API (:class:`TorchvisionDetector`).
"""
from kit.vision.models.anchor_free import CenterNet, centernet, decode
from kit.vision.models.anchor_free_loss import centernet_loss, encode_targets
from kit.vision.models.tv import TorchvisionDetector, build_detector, faster_rcnn, fcos, ssdlite

__all__ = ["CenterNet", "TorchvisionDetector", "build_detector", "centernet", "centernet_loss", "decode", "encode_targets",
           "faster_rcnn", "fcos", "ssdlite"]
