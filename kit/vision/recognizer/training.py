"""Training the code reader: CTC on labelled crops, a per-position loss, letter-balanced rendered crops.

Training (:func:`train_reader`, through :func:`kit.ml.training.fit`) adds
to CTC a cross-entropy on the column features pooled over one learned
window per code position: the code's fixed length tells the reader early
where each character is, which shortens the CTC all-blank plateau (no code
read on validation) to one or two epochs on the notebook's crops; CTC alone
can stay on it for several, or for a whole short schedule. The labelled
crops are pooled with crops rendered with uniformly drawn characters: codes
hold 3 letters and 7 digits, so from labelled crops alone letters are seen
too rarely and misread about twice as often as digits. The reader trains in
float32 (no autocast).
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

from kit.errors import InputDataError, ParameterError
from kit.i18n import _
from kit.vision.recognizer.crops import _to_batch
from kit.vision.recognizer.model import CROP_SIZE
from kit.vision.recognizer.reading import code_accuracy, read_codes

__all__ = ["train_reader"]


def _augment(x, gen):
    """Brightness, contrast, a colour cast and a shift per batch (no flips: text).

    The shift is up to 6 px (4 %) along the code and 2 px up or down, rolled
    round (the network's padding is circular too): the owner letters, each
    seen only about 120 times in 1000 crops, are learned by heart without it.
    Photometric changes stay mild: the rendered crops already vary in light,
    blur and noise, and the polarity and contrast are standardized anyway.
    """
    B = x.shape[0]
    r = lambda *s: torch.rand(*s, generator=gen)  # noqa: E731
    gain = 0.85 + 0.3 * r(B, 1, 1, 1)
    cast = 0.95 + 0.1 * r(B, 3, 1, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    contrast = 0.8 + 0.4 * r(B, 1, 1, 1)
    x = ((x - mean) * contrast + mean) * gain * cast
    dx = int(torch.randint(-6, 7, (1,), generator=gen))
    dy = int(torch.randint(-2, 3, (1,), generator=gen))
    x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
    return x.clamp(0, 1)


def _rendered_training_crops(n: int, alphabet: str, seed: int):
    """``n`` crops rendered by :func:`kit.vision.synthetic.render_code_crop`, each spelling 11 characters drawn uniformly.

    Augmentation for :func:`train_reader`: a code holds 3 owner letters and 7
    digits, so in the labelled crops each letter is painted about
    ``3 / 26`` as often as each digit (``7 / 10``), and the reader misread
    letters about twice as often as digits. Uniform strings over the whole
    alphabet paint every character as often; the format (letters, category,
    digits) is not needed in training, since :func:`kit.vision.recognizer.decode_codes` imposes it.

    Returns
    -------
    (images, texts) : uint8 array (n, 32, 160, 3), list of str
    """
    from kit.vision.synthetic import render_code_crop

    rng = np.random.default_rng([seed, 7])
    chars = np.array(list(alphabet))
    texts = ["".join(rng.choice(chars, size=11)) for _k in range(n)]
    images = np.stack([np.asarray(render_code_crop(t, rng, *CROP_SIZE)) for t in texts]) if n else np.zeros((0, *CROP_SIZE, 3), np.uint8)
    return images, texts


def train_reader(model, train: list, val: list | None = None, *, epochs: int = 15, batch_size: int = 12, lr: float = 1e-2,
                 position_weight: float = 1.0, dropout: float = 0.1, rendered_crops: int | None = None, backend=None,
                 seed: int = 0, progress: bool = True, max_cpu_seconds: float | None = None):
    """Train the code reader with CTC on labelled crops, helped by a per-position loss.

    Beside the CTC loss, the column features pooled over a learned window
    per code position (11 windows over the 40 columns, starting evenly
    spaced) are classified by the same per-column classifier and scored
    against the character at that position (cross-entropy, weight
    ``position_weight``). Codes have a fixed length and layout, so this
    tells the reader early which columns show which character; alone, CTC
    sits for several epochs on the all-blank plateau, for a number that
    depends on the seed. The windows are dropped after training: reading is
    CTC only, not tied to where the windows ended up.

    The labelled crops are pooled with ``rendered_crops`` crops rendered once
    by the synthetic generator with uniformly drawn characters (see
    :func:`_rendered_training_crops`), and each epoch draws as many crops from
    the pool as there are labelled crops, so an epoch costs the same. On the
    notebook's data this adds about 1.5 points of whole-code test accuracy
    for about one CPU-second of rendering: what is short is letters, not
    crops (twice the labelled crops for half the epochs do not help).

    Parameters
    ----------
    model : CodeReader
    train, val : list of dict
        From :func:`kit.vision.recognizer.load_code_crops` (``image``, ``text``).
    epochs, batch_size, lr : training schedule (AdamW, one-cycle).
    position_weight : float
        Weight of the per-position loss (0: CTC alone).
    dropout : float
        Dropout on the column features before the classifier, for the CTC loss.
    rendered_crops : int, optional
        Crops of uniformly drawn characters rendered and added to the pool;
        default half the number of labelled crops, 0 for none (e.g. real
        crops only).
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}
        Where the network runs: the notebook's Backend, or a device to resolve.
    seed : int
        Seeds the shuffling, augmentation, dropout and rendered crops (the
        initial weights are seeded by :func:`kit.vision.recognizer.code_reader`).
    progress : bool
    max_cpu_seconds : float, optional
        Stop after the epoch in which this much process CPU time was spent.

    Returns
    -------
    (model, history) : CodeReader with the best validation weights, list of dict
        ``history`` rows: ``epoch``, ``loss`` (CTC plus the weighted per-position term), ``val_accuracy``
        (after correction, read without the row shifts of :func:`kit.vision.recognizer.read_codes`), ``cpu_s``.
    """
    from kit.backend import as_backend
    from kit.ml.training import Progress, Validation, fit, seed_everything

    backend = as_backend(backend)
    items = [c for c in train if c["text"]]
    rendered_crops = _checked_options(items, epochs, position_weight, dropout, rendered_crops)
    cpu0 = time.process_time()
    dev = backend.torch_device
    gen = seed_everything(seed, python_and_numpy=False)
    model = model.to(dev)
    X, Y = _training_pool(items, model.alphabet, rendered_crops, seed)
    step = _train_step(model, lr=lr, total_steps=epochs * math.ceil(len(items) / batch_size),
                       position_weight=position_weight, dropout=dropout, torch_device=dev)

    def batches(epoch):
        # Each epoch draws as many crops from the pool as there are labelled crops.
        return _batches(X, Y, torch.randperm(len(X), generator=gen)[:len(items)], batch_size, gen, dev)

    validation = Validation(_val_accuracy(val, backend), "val_accuracy") if val else None
    fitted = fit(model, batches, step, epochs=epochs, validation=validation, max_cpu_seconds=max_cpu_seconds,
                 cpu_start=cpu0, progress=Progress(_("code reader"), _postfix, show=progress), history_row=_history_row)
    return fitted.model, fitted.history


def _checked_options(items: list, epochs: int, position_weight: float, dropout: float, rendered_crops) -> int:
    """Refuse what cannot train; the number of rendered crops (default half the labelled ones)."""
    if not items:
        raise InputDataError("no labelled code crop to train on; check code_crops.json (field 'text')")
    if epochs < 1:
        raise ParameterError(f"epochs must be >= 1, got {epochs}")
    if position_weight < 0 or not 0 <= dropout < 1:
        raise ParameterError(f"position_weight must be >= 0 and dropout in [0, 1), got {position_weight} and {dropout}")
    if rendered_crops is None:
        rendered_crops = len(items) // 2
    if rendered_crops < 0:
        raise ParameterError(f"rendered_crops must be >= 0 (0: labelled crops only), got {rendered_crops}")
    return rendered_crops


def _training_pool(items: list, alphabet: str, rendered_crops: int, seed: int):
    """The labelled crops and the rendered ones as one float batch ``X`` and their character columns ``Y`` (n, 11)."""
    index = {c: i + 1 for i, c in enumerate(alphabet)}
    extra_images, extra_texts = _rendered_training_crops(rendered_crops, alphabet, seed)
    X = _to_batch([c["image"] for c in items])
    if rendered_crops:
        X = torch.cat([X, _to_batch(extra_images)])
    Y = torch.tensor([[index[ch] for ch in t] for t in [c["text"] for c in items] + extra_texts])
    return X, Y


def _train_step(model, *, lr: float, total_steps: int, position_weight: float, dropout: float, torch_device: str):
    """AdamW over the network and the position windows, a one-cycle schedule, CTC plus the per-position loss."""
    from kit.ml.step import TrainStep

    T = CROP_SIZE[1] // 4                                  # frames of the reader
    centre = T * (0.08 + 0.84 * torch.arange(11.0) / 10)
    # Log-weights of a Gaussian window (2 columns) per position, learned with the model.
    window = nn.Parameter((-(torch.arange(float(T))[None] - centre[:, None]) ** 2 / 8).to(torch_device))
    opt = torch.optim.AdamW([*model.parameters(), window], lr=lr, weight_decay=1e-4)
    # Short warm-up, then a long stretch near the peak rate to leave the CTC blank plateau. The warm-up
    # spans at least two steps: OneCycleLR divides by zero when it is exactly one (20 steps at 5 %).
    warmup = max(0.05, 2.0 / total_steps) if total_steps >= 4 else 0.75
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total_steps, pct_start=warmup,
                                                anneal_strategy="cos", div_factor=5)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)

    def loss(h, batch):                                                                   # h: (B, hidden, T)
        y = batch[1]
        logp = model.fc(nn.functional.dropout(h, dropout)).log_softmax(1).permute(2, 0, 1)  # (T, B, C)
        B = logp.shape[1]
        value = ctc(logp, y, torch.full((B,), T, dtype=torch.long), torch.full((B,), 11, dtype=torch.long))
        if position_weight:
            at = model.fc(h @ window.softmax(-1).T)                                       # (B, C, 11)
            value = value + position_weight * nn.functional.cross_entropy(at, y)
        return value

    return TrainStep(opt, lambda m, batch: m.features(batch[0]), loss, scheduler=sched, torch_device=torch_device,
                     precision="fp32")


def _batches(X, Y, order, batch_size: int, gen, dev):
    """The ``(crops, characters)`` batches of one epoch, augmented (see :func:`_augment`)."""
    for b in range(0, len(order), batch_size):
        idx = order[b:b + batch_size]
        yield _augment(X[idx], gen).to(dev), Y[idx].to(dev)


def _val_accuracy(val: list, backend):
    """Whole-code accuracy on the validation crops, after correction."""
    def metrics(model):
        # One pass (no row shifts): a third of the cost, and enough to rank the epochs.
        readings = read_codes(model, [c["image"] for c in val], backend=backend, row_shifts_px=(0,))
        return {"val_accuracy": code_accuracy(readings, [c["text"] for c in val])}

    return metrics


def _history_row(row: dict) -> dict:
    return {"epoch": row["epoch"], "loss": row["train_loss"], "val_accuracy": row.get("val_accuracy", float("nan")),
            "cpu_s": row["cpu_s"]}


def _postfix(row: dict) -> dict:
    return {"loss": f"{row['loss']:.3f}", "val_accuracy": f"{row['val_accuracy']:.3f}"}
