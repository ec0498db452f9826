"""Detectors for logistics scenes.

``centernet`` is the default: a small anchor-free detector trained from
scratch on a CPU in minutes.
"""
from kit.vision.models.centernet import CenterNet, centernet, centernet_loss, decode, encode_targets

__all__ = ["CenterNet", "centernet", "centernet_loss", "decode", "encode_targets"]
