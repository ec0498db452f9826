"""The code reader's network: a small convolutional CTC reader of 32 × 160 code crops.

In the manner of CRNN (Shi, Bai and Yao, *An end-to-end trainable neural
network for image-based sequence recognition*, TPAMI 2017), a CNN turns a
32 × 160 crop (grey, standardized, paint made light on dark) into 40
feature columns of 4 px (each holding the top and bottom half of the crop),
read left to right; the recurrent layer is replaced by residual dilated
1-D convolutions over the columns (a GRU stays on the CTC blank plateau
for most of a CPU budget of minutes), and a 1 × 1 convolution scores the 36
characters plus the CTC blank per column (Graves et al., ICML 2006). Codes
painted on two lines (some scene crops) are not read in order by this design.
"""
from __future__ import annotations

import torch
from torch import nn

from kit.vision.iso6346 import ALPHABET

__all__ = ["CROP_SIZE", "CodeReader", "code_reader"]

CROP_SIZE = (32, 160)  # height, width, px


def _conv(cin, cout, stride):
    # Circular padding: a zero border tells every column where the crop edge is, and CTC then
    # learns to emit the owner letters at the first frames, from the border, where no filter
    # sees them (the letters stay at chance). Wrapped around, no column knows its position.
    # Strided convolutions instead of max pooling: half the CPU time per step (max pooling with
    # indices takes a sixth of it), so more steps fit in the notebook's budget.
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False, padding_mode="circular"), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True)]


def _standardize(images):
    """Grey level, standardized per crop, with the paint bright on a dark ground.

    Codes are painted dark on light liveries and light on dark ones; the sign
    of the skewness of the grey levels (the paint is the minority of pixels)
    turns every crop into light-on-dark, so the network learns one polarity.
    """
    g = images.mean(dim=1, keepdim=True)
    d = g - g.mean(dim=(2, 3), keepdim=True)
    sd = d.pow(2).mean(dim=(2, 3), keepdim=True).sqrt()
    skew = d.pow(3).mean(dim=(2, 3), keepdim=True)
    return d / (sd + 0.02) * torch.where(skew >= 0, 1.0, -1.0)


class CodeReader(nn.Module):
    """Convolutional CTC reader for 32 × 160 code crops.

    Parameters
    ----------
    alphabet : str
        Characters, in output order after the blank (column 0).
    width : int
        Channels of the first convolution (later 2×, 4×).
    hidden : int
        Channels of the context convolutions.

    Forward takes ``(B, 3, 32, 160)`` float in [0, 1] and returns
    ``(B, T, len(alphabet) + 1)`` logits with T = 40 frames of 4 px.
    """

    def __init__(self, alphabet: str = ALPHABET, width: int = 16, hidden: int = 128):
        super().__init__()
        self.alphabet = alphabet
        w = width
        self.cnn = nn.Sequential(
            *_conv(1, w, 2),                  # 16 x 80
            *_conv(w, 2 * w, 2),              # 8 x 40
            *_conv(2 * w, 4 * w, 1),
            *_conv(4 * w, 4 * w, (2, 1)),     # 4 x 40
            *_conv(4 * w, 4 * w, (2, 1)),     # 2 x 40
        )
        # Context along the code: residual dilated 1-D convolutions over the columns (dilations
        # 1, 2, 4, 8: each column sees about 120 px, most of the code). CTC is free to emit a
        # character at any column before the next one, and early in training it emits the owner
        # letters (26 classes, learned after the digits) far left of where they are painted; a
        # column that sees only its neighbourhood then never learns them (they stay at chance
        # with the 58-px context of two plain convolutions). A GRU also gives this reach but
        # stays on the blank plateau for hundreds of steps on the CPU.
        self.project = nn.Sequential(nn.Conv1d(8 * w, hidden, 1), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True))
        self.context = nn.ModuleList(
            nn.Sequential(nn.Conv1d(hidden, hidden, 3, padding=d, dilation=d), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True))
            for d in (1, 2, 4, 8)
        )
        self.fc = nn.Conv1d(hidden, len(alphabet) + 1, 1)

    def features(self, images):
        """``(B, hidden, 40)`` column features, before the per-column classifier ``fc``."""
        f = self.cnn(_standardize(images))                     # (B, C, 2, 40)
        h = self.project(f.flatten(1, 2))                      # (B, hidden, 40): each column sees both rows
        for layer in self.context:
            h = h + layer(h)
        return h

    def forward(self, images):
        return self.fc(self.features(images)).transpose(1, 2)  # (B, 40, classes)


def code_reader(alphabet: str = ALPHABET, width: int = 16, hidden: int = 128, weights=None, backend=None,
                seed: int = 0):
    """Build the code reader, from scratch or from a local ``state_dict`` file.

    The initial weights are drawn from ``seed`` (the global torch random
    state is left as it was), so a notebook run is repeatable.

    Examples
    --------
    >>> import torch
    >>> m = code_reader()
    >>> tuple(m(torch.zeros(2, 3, 32, 160)).shape)
    (2, 40, 37)
    >>> sum(p.numel() for p in m.parameters()) < 1_000_000
    True
    """
    from kit.backend import as_backend

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CodeReader(alphabet, width, hidden)
    if weights is not None:
        from kit.vision.models.weights import load_weights

        load_weights(model, weights, "the code reader")
    return model.to(as_backend(backend).torch_device)
