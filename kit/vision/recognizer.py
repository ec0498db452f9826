"""Container-code reader: a small convolutional CTC reader, corrected by the check digit.

In the manner of CRNN (Shi, Bai and Yao, *An end-to-end trainable neural
network for image-based sequence recognition*, TPAMI 2017), a CNN turns a
32 × 160 crop into 40 feature columns (each holding the top and bottom half
of the crop), read left to right; the recurrent layer is replaced by dilated
1-D convolutions over the columns (a GRU stalled on the CTC blank plateau
within a CPU budget of minutes), and a 1 × 1 convolution scores the 36
characters plus the CTC blank per column (Graves et al., ICML 2006). Codes
painted on two lines (some scene crops) are not read in order by this design.

Reading: greedy CTC decoding gives the characters; when there are 11 of
them, :func:`kit.vision.iso6346.correct` returns the most probable code whose
format and check digit are valid, so one misread character is usually fixed.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from kit.errors import InputDataError, ParameterError
from kit.vision.iso6346 import ALPHABET, correct, is_valid, normalize, positions_from_ctc

__all__ = ["CodeReader", "Reading", "code_accuracy", "code_reader", "load_code_crops", "read_codes", "train_reader"]

CROP_SIZE = (32, 160)  # height, width, px


def _block(cin, cout, pool):
    layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    if pool:
        layers.append(nn.MaxPool2d(pool))
    return layers


class CodeReader(nn.Module):
    """CRNN for 32 × 160 code crops.

    Parameters
    ----------
    alphabet : str
        Characters, in output order after the blank (column 0).
    width : int
        Channels of the first convolution (later 2×, 4×).
    hidden : int
        Channels of the context convolutions.

    Forward takes ``(B, 3, 32, 160)`` float in [0, 1] and returns
    ``(B, T, len(alphabet) + 1)`` logits with T = 40 frames.
    """

    def __init__(self, alphabet: str = ALPHABET, width: int = 16, hidden: int = 96):
        super().__init__()
        self.alphabet = alphabet
        w = width
        self.cnn = nn.Sequential(
            *_block(3, w, 2),                 # 16 x 80
            *_block(w, 2 * w, 2),             # 8 x 40
            *_block(2 * w, 4 * w, None),
            *_block(4 * w, 4 * w, (2, 1)),    # 4 x 40
            *_block(4 * w, 4 * w, (2, 1)),    # 2 x 40
        )
        # Context along the code: 1-D convolutions over the columns (a GRU here stalled
        # on the CTC blank plateau for hundreds of steps; convolutions learn in tens).
        self.context = nn.Sequential(
            nn.Conv1d(8 * w, hidden, 3, padding=1), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
            nn.Conv1d(hidden, hidden, 3, padding=2, dilation=2), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
        )
        self.fc = nn.Conv1d(hidden, len(alphabet) + 1, 1)
        self.register_buffer("mean", torch.tensor([0.45, 0.45, 0.45]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1), persistent=False)

    def forward(self, images):
        f = self.cnn((images - self.mean) / self.std)         # (B, C, 2, 40)
        f = f.flatten(1, 2)                                    # (B, 2C, 40): each column sees both rows
        return self.fc(self.context(f)).transpose(1, 2)       # (B, 40, classes)


def code_reader(alphabet: str = ALPHABET, width: int = 16, hidden: int = 96, weights=None, device: str = "cpu"):
    """Build the code reader, from scratch or from a local ``state_dict`` file.

    Examples
    --------
    >>> import torch
    >>> m = code_reader()
    >>> tuple(m(torch.zeros(2, 3, 32, 160)).shape)
    (2, 40, 37)
    >>> sum(p.numel() for p in m.parameters()) < 1_000_000
    True
    """
    from kit.backend import get_backend

    model = CodeReader(alphabet, width, hidden)
    if weights is not None:
        from kit.vision.models.weights import load_weights

        load_weights(model, weights, "the code reader")
    return model.to(get_backend(device).torch_device)


def load_code_crops(path, split: str | None = None, report=None) -> list:
    """Code crops of a split, decoded, with their text.

    Parameters
    ----------
    path : path
        Folder with ``code_crops.json`` (``{"crops": [{"file_name", "text", "split", ...}]}``)
        or the JSON file itself.
    split : {"train", "val", "test"} or None
    report : kit.vision.data.SkipReport, optional
        Crops set aside are counted there (missing or unreadable image,
        text that is not a code).

    Returns
    -------
    list of dict
        ``{"id", "image": uint8 array (32, 160, 3), "text": 11-character code or "" if unknown, "file_name"}``.
    """
    from PIL import Image

    from kit.vision.data import SkipReport

    report = SkipReport() if report is None else report
    p = Path(path)
    jf = p / "code_crops.json" if p.is_dir() else p
    if not jf.is_file():
        raise InputDataError(f"{jf} not found; give a folder with code_crops.json (written by kit.vision.synth.generate)")
    try:
        data = json.loads(jf.read_text())
        crops = data["crops"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise InputDataError(f"{jf}: not a code-crops file; expected {{\"crops\": [{{\"file_name\", \"text\", \"split\"}}]}}") from None
    out = []
    for c in crops:
        if not isinstance(c, dict) or not isinstance(c.get("file_name"), str):
            report.add("bad_image_entry", str(c)[:60])
            continue
        if split is not None and c.get("split") != split:
            continue
        text = normalize(c["text"]) if isinstance(c.get("text"), str) else ""
        if text and len(text) != 11:
            report.add("bad_annotation", f"crop {c.get('id')}: text {c.get('text')!r}")
            continue
        f = jf.parent / c["file_name"]
        if not f.is_file():
            report.add("missing_image", c["file_name"])
            continue
        try:
            with Image.open(f) as im:
                arr = np.asarray(im.convert("RGB").resize(CROP_SIZE[::-1], Image.BILINEAR))
        except Exception:
            report.add("unreadable_image", c["file_name"])
            continue
        out.append({"id": c.get("id"), "image": arr, "text": text, "file_name": c["file_name"]})
    return out


def _to_batch(images):
    x = np.stack([np.asarray(i, dtype=np.uint8) for i in images])
    return torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255


def _augment(x, gen):
    """Mild brightness, contrast, a colour cast and a shift of up to 2 % (no flips: text).

    Kept mild on purpose: the rendered crops already vary in light, blur and
    noise, and strong augmentation lengthens the CTC blank plateau beyond a
    CPU budget of minutes.
    """
    B = x.shape[0]
    r = lambda *s: torch.rand(*s, generator=gen)  # noqa: E731
    gain = 0.85 + 0.3 * r(B, 1, 1, 1)
    cast = 0.95 + 0.1 * r(B, 3, 1, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    contrast = 0.8 + 0.4 * r(B, 1, 1, 1)
    x = ((x - mean) * contrast + mean) * gain * cast
    dx = int(torch.randint(-3, 4, (1,), generator=gen))
    x = torch.roll(x, shifts=dx, dims=3)
    return x.clamp(0, 1)


@dataclass
class Reading:
    """One crop read.

    Attributes
    ----------
    code : str
        The code after check-digit correction ('' when fewer than 11 characters were read).
    raw : str
        Greedy CTC reading, before correction.
    valid : bool
        Whether ``code`` passes the ISO 6346 check (``raw_valid`` says it for the raw reading).
    raw_valid : bool
    confidence : float, 0–1
        Geometric mean over the 11 positions of the probability of ``code``'s characters.
    corrected : bool
        Whether the correction changed the raw reading.
    """

    code: str
    raw: str
    valid: bool
    raw_valid: bool
    confidence: float
    corrected: bool


def _interpret(frame_probs, alphabet) -> Reading:
    raw, rows = positions_from_ctc(frame_probs, alphabet, blank=0)
    if len(raw) > 11:
        # Keep the 11 most confident characters, in reading order (a doubled character is the usual cause).
        keep = np.sort(np.argsort(-rows.max(axis=1))[:11])
        rows = rows[keep]
    if len(rows) != 11:
        return Reading("", raw, False, is_valid(raw), 0.0, False)
    c = correct(rows, alphabet)
    conf = c.probability ** (1 / 11) if c.code else 0.0
    return Reading(c.code, raw, is_valid(c.code), is_valid(raw), float(conf), c.code != raw)


def read_codes(model, images, *, batch_size: int = 64, device: str = "cpu", runner=None) -> list:
    """Read container codes from crops.

    Parameters
    ----------
    model : CodeReader
    images : list of uint8 arrays (32, 160, 3)
        Crops (``load_code_crops(...)[i]["image"]``); other sizes are resized.
    batch_size : int
    device : str
        Torch device string.
    runner : callable, optional
        ``(B, 3, 32, 160) tensor -> (B, T, C) logits``, e.g. an ONNX Runtime session.

    Returns
    -------
    list of Reading
    """
    from PIL import Image

    imgs = [a if a.shape[:2] == CROP_SIZE else np.asarray(Image.fromarray(a).resize(CROP_SIZE[::-1], Image.BILINEAR)) for a in images]
    if runner is None:
        model.eval()

        def runner(x):
            with torch.no_grad():
                return model(x.to(device)).float().cpu()

    out = []
    for b in range(0, len(imgs), batch_size):
        probs = torch.softmax(torch.as_tensor(runner(_to_batch(imgs[b:b + batch_size]))), dim=-1).numpy()
        out += [_interpret(p, model.alphabet if model is not None else ALPHABET) for p in probs]
    return out


def code_accuracy(readings, texts) -> float:
    """Share of crops whose code is read exactly (whole code, after correction)."""
    if not texts:
        return float("nan")
    return float(np.mean([r.code == t for r, t in zip(readings, texts)]))


def train_reader(model, train: list, val: list | None = None, *, epochs: int = 15, batch_size: int = 16, lr: float = 1e-3,
                 device: str = "cpu", seed: int = 0, progress: bool = True, max_cpu_seconds: float | None = None):
    """Train the code reader with CTC on labelled crops.

    Parameters
    ----------
    model : CodeReader
    train, val : list of dict
        From :func:`load_code_crops` (``image``, ``text``).
    epochs, batch_size, lr : training schedule (AdamW, one-cycle).
    device : str
    seed : int
    progress : bool
    max_cpu_seconds : float, optional
        Stop after the epoch in which this much process CPU time was spent.

    Returns
    -------
    (model, history) : CodeReader with the best validation weights, list of dict
        ``history`` rows: ``epoch``, ``loss``, ``val_accuracy`` (after correction), ``cpu_s``.
    """
    import copy

    from tqdm.auto import tqdm

    from kit.backend import get_backend

    items = [c for c in train if c["text"]]
    if not items:
        raise InputDataError("no labelled code crop to train on; check code_crops.json (field 'text')")
    if epochs < 1:
        raise ParameterError(f"epochs must be >= 1, got {epochs}")
    dev = get_backend(device).torch_device
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = model.to(dev)
    index = {c: i + 1 for i, c in enumerate(model.alphabet)}
    X = _to_batch([c["image"] for c in items])
    Y = torch.tensor([[index[ch] for ch in c["text"]] for c in items])
    steps = math.ceil(len(items) / batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    # Short warm-up, then a long stretch near the peak rate to leave the CTC blank plateau.
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps, pct_start=0.05,
                                                anneal_strategy="cos", div_factor=5)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    history, best, best_state = [], -1.0, None
    cpu0 = time.process_time()
    bar = tqdm(total=epochs, disable=not progress, desc="code reader", unit="epoch", mininterval=0)
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(items), generator=gen)
        total = 0.0
        for b in range(0, len(items), batch_size):
            idx = order[b:b + batch_size]
            x = _augment(X[idx], gen).to(dev)
            y = Y[idx].to(dev)
            logp = model(x).log_softmax(-1).transpose(0, 1)  # (T, B, C)
            T, B = logp.shape[:2]
            loss = ctc(logp, y, torch.full((B,), T, dtype=torch.long), torch.full((B,), 11, dtype=torch.long))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        out_of_time = max_cpu_seconds is not None and time.process_time() - cpu0 >= max_cpu_seconds
        acc = float("nan")
        if val:
            acc = code_accuracy(read_codes(model, [c["image"] for c in val], device=dev), [c["text"] for c in val])
            if acc > best:
                best, best_state = acc, copy.deepcopy(model.state_dict())
        bar.set_postfix(loss=f"{total / len(items):.3f}", val_accuracy=f"{acc:.3f}", refresh=False)
        bar.update(1)
        history.append({"epoch": epoch, "loss": total / len(items), "val_accuracy": acc, "cpu_s": time.process_time() - cpu0})
        if out_of_time:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, history
