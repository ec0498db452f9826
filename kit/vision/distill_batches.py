"""Training batches with unlabelled images beside the labelled ones, for distillation (:mod:`kit.vision.distill`).

Each step's labelled batch (images, boxes, labels, targets) gets a fifth
item: a batch of unlabelled images, decoded once and augmented with the
labelled split's transforms and colour jitter. Both are drawn in one
thread, from one generator, in a fixed order, so runs repeat exactly (two
threads drawing from Torch's global random state would not).
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WithUnlabelled"]


@dataclass
class WithUnlabelled:
    """One epoch's labelled batches, each with ``batch_size`` unlabelled images appended as a fifth item.

    Attributes
    ----------
    labelled : kit.vision.batches.DetectorBatches
    unlabelled : kit.vision.batches.CachedImages
        Decoded once, augmented per access with the labelled split's transforms.
    batch_size : int
        Unlabelled images per step; the unlabelled set is cycled through in a
        fresh order whenever it runs out, so an epoch's length is the labelled split's.
    """

    labelled: object
    unlabelled: object
    batch_size: int

    @classmethod
    def around(cls, batches, dataset, batch_size=None):
        """``batches`` with ``dataset``'s images (their boxes unused) decoded once, with the same transforms."""
        from kit.errors import InputDataError
        from kit.vision.batches import CachedImages

        cached = CachedImages(dataset, batches.cached.transforms)
        if len(cached) == 0:
            raise InputDataError("the unlabelled images hold no readable image; check their folder, or give none")
        return cls(batches, cached, int(batch_size or batches.batch_size))

    @property
    def cached(self):
        """The labelled images (the epoch's length and the schedule count them)."""
        return self.labelled.cached

    def __call__(self, epoch: int):
        import torch

        from kit.ml.training import prefetch

        order = torch.randperm(len(self.labelled.cached), generator=self.labelled.generator).tolist()
        batches = self._batches(order)
        return prefetch(batches) if self.labelled.prefetch else batches

    def _batches(self, order):
        import torch

        from kit.vision.batches import colour_jitter

        lab, pending = self.labelled, []
        for batch in lab._batches(order):
            while len(pending) < self.batch_size:
                pending += torch.randperm(len(self.unlabelled), generator=lab.generator).tolist()
            take, pending = pending[:self.batch_size], pending[self.batch_size:]
            x = torch.stack([self.unlabelled.get(i)["image"].as_subclass(torch.Tensor) for i in take])
            x = colour_jitter(x, lab.jitter, lab.generator).to(lab.torch_device).contiguous(memory_format=lab.layout)
            yield (*batch, x)
