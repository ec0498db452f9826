"""ONNX Runtime and int8 for the torchvision detectors, split at the backbone.

Exporting SSDlite, FCOS or Faster R-CNN whole does not work with the
tracing exporter: it bakes the example image's number of detections into
NMS and the per-image top-k, so ONNX Runtime then disagrees with Torch on
other images. The split that does work, and that carries almost all of the
compute, is the backbone (with its FPN or extra layers): it is a plain CNN.
It is exported to ONNX with free batch, height and width, and run by ONNX
Runtime (fp32, or static int8 calibrated on real images); the network's own
resize and normalization, heads, anchors, box decoding and NMS stay in Torch,
unchanged.

- :func:`backbone_inputs`: what the backbone sees for a batch of images
  (the network's resize and normalization), for calibration and checks;
- :func:`export_backbone`: the backbone to an ONNX file;
- :func:`with_ort_backbone`: the same detector with its backbone run by an
  ONNX Runtime session; it predicts, scores and benchmarks like the Torch one.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from kit.errors import ParameterError

__all__ = ["OrtBackbone", "backbone_inputs", "backbone_outputs", "export_backbone", "with_ort_backbone"]


def _net(model):
    net = getattr(model, "net", None)
    if net is None or not hasattr(net, "backbone") or not hasattr(net, "transform"):
        raise ParameterError(f"expected a kit TorchvisionDetector (ssdlite, fcos, faster_rcnn), got {type(model).__name__}")
    return net


@torch.no_grad()
def backbone_inputs(model, images) -> torch.Tensor:
    """The batch the backbone sees: images resized and normalized by the network's own transform.

    Parameters
    ----------
    model : kit.vision.models.TorchvisionDetector
    images : tensor (B, 3, H, W), float in [0, 1]

    Returns
    -------
    tensor (B, 3, h, w)
        Padded to the network's size multiple, as in its forward.
    """
    net = _net(model)
    was_training = net.transform.training
    net.transform.eval()
    try:
        return net.transform(list(images.unbind(0)))[0].tensors
    finally:
        net.transform.train(was_training)


@torch.no_grad()
def backbone_outputs(model, x) -> OrderedDict:
    """Feature maps of the Torch backbone for :func:`backbone_inputs` ``x``, as an ordered dict."""
    feats = _net(model).backbone(x)
    return OrderedDict([("0", feats)]) if torch.is_tensor(feats) else feats


def export_backbone(model, path, example_images, *, opset: int = 17):
    """Export the detector's backbone to ONNX, batch, height and width left free.

    Parameters
    ----------
    model : kit.vision.models.TorchvisionDetector
        In eval mode, on the CPU.
    path : path
        Target ``.onnx`` file (written atomically).
    example_images : tensor (1, 3, H, W), float in [0, 1]
        One image as the detector takes it; the export traces
        :func:`backbone_inputs` of it.
    opset : int

    Returns
    -------
    (path, names) : pathlib.Path, list of str
        The file, and the feature-map keys in output order (the ONNX outputs
        are named ``feature_<key>``).

    Examples
    --------
    >>> import tempfile
    >>> from kit.vision.models import ssdlite
    >>> from kit.vision.onnx import ort_session
    >>> m = ssdlite(4, image_size=64).eval()
    >>> path, names = export_backbone(m, tempfile.mkdtemp() + "/b.onnx", torch.rand(1, 3, 64, 64))
    >>> ort = with_ort_backbone(m, ort_session(path), names)
    >>> sorted(ort(torch.rand(2, 3, 64, 64))[0])
    ['boxes', 'labels', 'scores']
    """
    from kit.onnx import export_onnx

    net = _net(model)
    x = backbone_inputs(model, example_images)
    names = list(backbone_outputs(model, x))
    outputs = [f"feature_{k}" for k in names]

    class _Features(nn.Module):
        def __init__(self, backbone):
            super().__init__()
            self.backbone = backbone

        def forward(self, inp):
            feats = self.backbone(inp)
            feats = OrderedDict([("0", feats)]) if torch.is_tensor(feats) else feats
            return {f"feature_{k}": v for k, v in feats.items()}

    path = export_onnx(_Features(net.backbone).train(net.backbone.training), path, x, input_name="images", output_names=outputs,
                       dynamic_batch=True, dynamic_spatial=True, opset=opset)
    return path, names


class OrtBackbone(nn.Module):
    """A backbone run by ONNX Runtime: tensor in, ordered dict of feature maps out (as torchvision's)."""

    def __init__(self, session, names):
        super().__init__()
        from kit.onnx import OrtRunner

        self.runner = OrtRunner(session)
        self.names = list(names)

    def forward(self, x):
        arrays = self.runner.numpy(x.detach().cpu().numpy())
        return OrderedDict((k, torch.from_numpy(a).to(x.device)) for k, a in zip(self.names, arrays))


def with_ort_backbone(model, session, names):
    """The same torchvision detector with its backbone replaced by an ONNX Runtime session.

    Parameters
    ----------
    model : kit.vision.models.TorchvisionDetector
    session : onnxruntime.InferenceSession
        Of the file :func:`export_backbone` wrote (fp32 or int8).
    names : list of str
        Feature-map keys, as :func:`export_backbone` returned them.

    Returns
    -------
    kit.vision.models.TorchvisionDetector
        In eval mode; shares every other layer with ``model`` (no copy of weights).
    """
    import copy

    from kit.vision.models.tv import TorchvisionDetector

    net = _net(model)
    twin = copy.copy(net)
    # A shallow copy shares the submodule table; give the twin its own before swapping the backbone.
    twin._modules = OrderedDict(net._modules)
    twin.backbone = OrtBackbone(session, names)
    return TorchvisionDetector(twin, model.num_classes, model.name, weights_info=model.weights_info,
                               available_labels=model.available_labels).eval()
