"""Detector training batches: images decoded once into memory, augmented, stacked and encoded every epoch.

Images are decoded once and kept in memory as uint8 (600 scenes at 256 px
are about 120 MB); augmentations run on those tensors every epoch.
:class:`DetectorBatches` serves one epoch's batches to
:func:`kit.ml.training.fit`, optionally prepared in a background thread
(:func:`kit.ml.training.prefetch`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CachedImages", "DetectorBatches", "colour_jitter"]


class CachedImages:
    """A CocoDetection decoded once: uint8 images and boxes, augmented per access.

    ``paste`` (set after construction, e.g. a :class:`kit.vision.copy_paste.CopyPaste`
    built from ``items``) runs on the cached image before ``transforms``:
    ``paste(image, boxes, labels, visibility) -> (image, boxes, labels)``.
    """

    def __init__(self, dataset, transforms):
        import torch
        from torchvision import tv_tensors

        self.items, self.visibility = [], []
        known = getattr(getattr(dataset, "index", None), "visibility", None) or []
        for i in range(len(dataset)):
            s = dataset[i]
            if s is None:
                continue
            img = s["image"]
            if img.is_floating_point():
                img = (img * 255).round().to(torch.uint8)
            self.items.append((tv_tensors.Image(img), s["boxes"], s["labels"]))
            self.visibility.append(known[i] if i < len(known) else None)
        self.transforms = transforms
        self.paste = None

    def __len__(self):
        return len(self.items)

    def get(self, i):
        img, boxes, labels = self.items[i]
        if self.paste is not None:
            import torch
            from torchvision import tv_tensors

            canvas = tuple(img.shape[-2:])
            img, boxes, labels = self.paste(img.as_subclass(torch.Tensor), boxes.as_subclass(torch.Tensor), labels,
                                            self.visibility[i])
            img = tv_tensors.Image(img)
            boxes = tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=canvas)
        s = {"image": img, "boxes": boxes, "labels": labels}
        return self.transforms(s) if self.transforms is not None else s


def colour_jitter(x, strength, gen):
    """Per-image brightness, contrast and saturation gains in [1 - s, 1 + s] on a float batch in [0, 1]."""
    import torch

    if not strength:
        return x
    B = x.shape[0]
    g = lambda: 1 + strength * (2 * torch.rand(B, 1, 1, 1, generator=gen) - 1)  # noqa: E731
    x = x * g()
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * g() + mean
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * g() + grey
    return x.clamp(0, 1)


@dataclass
class DetectorBatches:
    """One epoch's training batches, in a fresh order drawn from ``generator`` at the start of the epoch.

    Attributes
    ----------
    cached : CachedImages
    generator : torch.Generator
        Draws the order and the colour jitter (the box-aware transforms draw
        from Torch's global state).
    batch_size : int
    jitter : float
        Colour-jitter strength, see :func:`colour_jitter`.
    torch_device : str
    layout : torch.memory_format
        Memory layout of the image batch (channels-last for CenterNet on a CPU).
    encode : callable, optional
        ``encode(boxes, labels) -> targets`` (CenterNet's heatmap targets);
        ``None`` for torchvision networks, which take the boxes as they are.
    prefetch : bool
        Prepare the batches in a background thread while the network trains.

    Each batch is ``(images, boxes, labels, targets)``.
    """

    cached: CachedImages
    generator: object
    batch_size: int
    jitter: float
    torch_device: str
    layout: object
    encode: Callable | None = None
    prefetch: bool = True

    def __call__(self, epoch: int):
        import torch

        from kit.ml.training import prefetch

        # The order is drawn here, when the epoch starts, after the previous epoch's augmentations.
        order = torch.randperm(len(self.cached), generator=self.generator).tolist()
        batches = self._batches(order)
        return prefetch(batches) if self.prefetch else batches

    def _batches(self, order):
        import torch

        for b in range(0, len(order), self.batch_size):
            samples = [self.cached.get(i) for i in order[b:b + self.batch_size]]
            x = colour_jitter(torch.stack([s["image"].as_subclass(torch.Tensor) for s in samples]), self.jitter,
                              self.generator)
            x = x.to(self.torch_device).contiguous(memory_format=self.layout)
            boxes = [s["boxes"].as_subclass(torch.Tensor).to(self.torch_device) for s in samples]
            labels = [s["labels"].to(self.torch_device) for s in samples]
            targets = None if self.encode is None else self.encode(boxes, labels)
            yield x, boxes, labels, targets
