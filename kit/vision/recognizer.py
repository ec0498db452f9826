"""Container-code reader: a small convolutional CTC reader, decoded under the ISO 6346 check digit.

In the manner of CRNN (Shi, Bai and Yao, *An end-to-end trainable neural
network for image-based sequence recognition*, TPAMI 2017), a CNN turns a
32 × 160 crop (grey, standardized, paint made light on dark) into 40
feature columns of 4 px (each holding the top and bottom half of the crop),
read left to right; the recurrent layer is replaced by residual dilated
1-D convolutions over the columns (a GRU stays on the CTC blank plateau
for most of a CPU budget of minutes), and a 1 × 1 convolution scores the 36
characters plus the CTC blank per column (Graves et al., ICML 2006). Codes
painted on two lines (some scene crops) are not read in order by this design.

Training (:func:`train_reader`) adds to CTC a cross-entropy on the column
features pooled over one learned window per code position: the code's fixed
length tells the reader early where each character is, which shortens
the CTC all-blank plateau (no code read on validation) to one or two
epochs on the notebook's crops; CTC alone can stay on it for several, or
for a whole short schedule. The labelled crops are pooled with crops
rendered with uniformly drawn characters: codes hold 3 letters and 7
digits, so from labelled crops alone letters are seen too rarely and
misread about twice as often as digits.

Reading: :func:`decode_codes` searches the CTC frames for the most probable
path that spells a valid code (3 letters, U/J/Z, 6 digits and the right
check digit), so one misread character, a narrow letter lost to the blank
or two equal characters run together are usually put right; when the greedy
reading is already valid it is that path, and the search is skipped.
:func:`read_codes` averages the frames read at vertical shifts of -1, 0
and +1 px before decoding (a small test-time ensemble).

On the notebook's data (scale 1, 10 epochs, one thread, about 50
CPU-seconds) the whole-code test accuracy is 0.91 to 0.96, depending on
the seed.
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
from kit.vision.iso6346 import ALPHABET, CATEGORIES, is_valid, normalize

__all__ = ["CodeReader", "Reading", "code_accuracy", "code_reader", "decode_codes", "load_code_crops", "read_codes",
           "train_reader"]

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


@dataclass
class Reading:
    """One crop read.

    Attributes
    ----------
    code : str
        The most probable valid code (format and check digit) along the CTC
        frames; '' when none fits in the frames or when one of its characters
        has no frame above ``MIN_CHAR_PROBABILITY`` (inferred, not seen).
    raw : str
        Greedy CTC reading, before correction.
    valid : bool
        Whether ``code`` passes the ISO 6346 check (``raw_valid`` says it for the raw reading).
    raw_valid : bool
    confidence : float, 0–1
        Geometric mean over the 11 characters of ``code`` of their highest
        frame probability on the decoded path.
    corrected : bool
        Whether the correction changed the raw reading.
    """

    code: str
    raw: str
    valid: bool
    raw_valid: bool
    confidence: float
    corrected: bool


def _code_lattice(alphabet: str, categories: str):
    """Allowed columns and check-sum increments per code position, for :func:`decode_codes`."""
    from kit.vision.iso6346 import _VALUES, DIGITS, LETTERS

    col = {c: j + 1 for j, c in enumerate(alphabet)}
    sets = [LETTERS] * 3 + [categories] + [DIGITS] * 6
    cols = [np.array([col[c] for c in chars if c in col], dtype=np.int64) for chars in sets]
    adds = [np.array([(_VALUES[alphabet[j - 1]] << k) % 11 for j in cs], dtype=np.int64) for k, cs in enumerate(cols)]
    # The check digit is fixed by the weighted sum of the first ten: column per sum 0..10.
    check = np.array([col.get(str(r % 10), 0) for r in range(11)], dtype=np.int64)
    return cols, adds, check


def decode_codes(frame_logp, alphabet: str = ALPHABET, categories: str = CATEGORIES):
    """Most probable valid ISO 6346 code per crop, decoded from CTC frames.

    A Viterbi search over the CTC paths that spell exactly 11 characters in
    the code's format (3 letters, a category, 6 digits) whose check digit is
    right: the state is (characters emitted, weighted sum modulo 11, last
    symbol), so a dropped narrow letter, a merged double letter or one
    misread character is put right when the frames hold any evidence for it,
    which greedy decoding followed by a per-position correction cannot do.

    Parameters
    ----------
    frame_logp : array (B, T, len(alphabet) + 1)
        Log-probabilities per frame, blank in column 0.
    alphabet : str
    categories : str
        Allowed category identifiers.

    Returns
    -------
    list of (str, float, float)
        Per crop: the code ('' when no valid code fits in T frames), the
        geometric mean over its characters of their best frame probability,
        and the lowest of these probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> from kit.vision.iso6346 import ALPHABET
    >>> f = np.full((23, 37), 1e-3); f[::2, 0] = 1
    >>> for i, ch in enumerate("CSQU3054388"):     # check digit misread ...
    ...     f[2 * i + 1, 1 + ALPHABET.index(ch)] = 1
    >>> f[21, 1 + ALPHABET.index("3")] = 0.2         # ... with 3 as runner-up
    >>> code, conf, worst = decode_codes(np.log(f / f.sum(1, keepdims=True))[None])[0]
    >>> code, round(conf, 2), round(worst, 2)
    ('CSQU3054383', 0.82, 0.16)
    """
    from kit.backend import to_numpy

    lp = np.asarray(to_numpy(frame_logp), dtype=np.float64)
    if lp.ndim == 2:
        lp = lp[None]
    if lp.ndim != 3 or lp.shape[2] != len(alphabet) + 1:
        raise InputDataError(f"frame_logp has shape {lp.shape}; expected (B, T, {len(alphabet) + 1}) with the blank column 0")
    cols, adds, check = _code_lattice(alphabet, categories)
    N, T, C = lp.shape
    lp = lp.astype(np.float32)
    s_idx = np.arange(11)
    S = 12 * 11 * C                                   # states: (characters emitted, weighted sum mod 11, last symbol)
    flat = np.arange(S, dtype=np.int32).reshape(12, 11, C)
    score = np.full((N, 12, 11, C), -np.inf, dtype=np.float32)
    score[:, 0, 0, 0] = 0.0
    back = np.empty((T, N, 12, 11, C), dtype=np.int32)  # previous state of each state, per frame
    for t in range(T):
        f = lp[:, t]
        a1 = score.argmax(-1)
        m1 = np.take_along_axis(score, a1[..., None], -1)[..., 0]
        second = score.copy()
        np.put_along_axis(second, a1[..., None], -np.inf, -1)
        a2 = second.argmax(-1)
        m2 = np.take_along_axis(second, a2[..., None], -1)[..., 0]
        # Stay: a blank after anything, or the same character again (merged by CTC).
        new = score + f[:, None, None, :]
        new[..., 0] = m1 + f[:, None, None, 0]
        prev = back[t]
        prev[...] = flat
        prev[..., 0] = flat[None, :, :, 0] + a1
        # Emit the next character (a different symbol than the last, or after a blank), from
        # positions reachable by now and from which the rest still fits in the frames left.
        for k in range(max(0, 10 - (T - 1 - t)), min(10, t) + 1):
            cs = cols[k][None, :] if k < 10 else check[:, None]                 # (1, n) or (11, 1)
            tgt = (s_idx[:, None] + adds[k][None, :]) % 11 if k < 10 else s_idx[:, None]
            tcol = np.broadcast_to(cs, tgt.shape)
            same = a1[:, k, :, None] == cs[None]
            val = np.where(same, m2[:, k, :, None], m1[:, k, :, None]) + f[:, tcol]
            if k == 10:
                val[:, check == 0] = -np.inf                # a check digit missing from the alphabet
            cur = new[:, k + 1, tgt, tcol]
            better = val > cur
            if not better.any():
                continue
            src = flat[k, s_idx, 0][None, :, None] + np.where(same, a2[:, k, :, None], a1[:, k, :, None])
            new[:, k + 1, tgt, tcol] = np.where(better, val, cur)
            prev[:, k + 1, tgt, tcol] = np.where(better, src, prev[:, k + 1, tgt, tcol])
        score = new
    final = score[:, 11].reshape(N, -1)
    best = final.argmax(-1)
    state = flat[11].reshape(-1)[best]                 # (N,) final state per crop
    path = np.empty((T, N), dtype=np.int64)
    for t in range(T - 1, -1, -1):
        path[t] = state
        state = back[t].reshape(N, -1)[np.arange(N), state]
    k_path, sym_path = path // (11 * C), path % C
    out = []
    for i in range(N):
        if not np.isfinite(final[i, best[i]]):
            out.append(("", 0.0, 0.0))
            continue
        chars, probs = [], []
        for t in range(T):
            k, sym = k_path[t, i], sym_path[t, i]
            if sym == 0:
                continue
            p = math.exp(lp[i, t, sym])
            if len(chars) < k:
                chars.append(alphabet[sym - 1])
                probs.append(p)
            else:
                probs[-1] = max(probs[-1], p)
        probs = np.array(probs)
        out.append(("".join(chars), float(np.exp(np.log(probs).mean())), float(probs.min())))
    return out


#: A reading is reported as unread ('') rather than guessed when one of its characters has no
#: frame with at least this probability (it was not seen, only inferred from the others).
MIN_CHAR_PROBABILITY = 1e-3


def _interpret(frame_probs, alphabet) -> Reading:
    """One crop's frames (T, classes) as a :class:`Reading`."""
    return _readings(np.asarray(frame_probs)[None], alphabet)[0]


def _greedy(p, alphabet):
    """Best path: the characters and each one's highest frame probability."""
    best = p.argmax(axis=1)
    chars, probs = [], []
    for t, k in enumerate(best):
        if k == 0:
            continue
        if t and best[t - 1] == k:
            probs[-1] = max(probs[-1], p[t, k])
        else:
            chars.append(alphabet[k - 1])
            probs.append(p[t, k])
    return "".join(chars), np.array(probs)


def _readings(frame_probs, alphabet) -> list:
    frame_probs = np.asarray(frame_probs, dtype=np.float64)
    greedy = [_greedy(p, alphabet) for p in frame_probs]
    # The best path is the most probable of all paths, so when it spells a valid code that
    # code is also the best valid one: the lattice search runs only for the others.
    todo = [i for i, (raw, _) in enumerate(greedy) if not is_valid(raw)]
    decoded = {}
    if todo:
        with np.errstate(divide="ignore"):
            logp = np.log(frame_probs[todo])
        decoded = dict(zip(todo, decode_codes(logp, alphabet)))
    out = []
    for i, (raw, probs) in enumerate(greedy):
        if i in decoded:
            code, conf, low_p = decoded[i]
        else:
            code, conf, low_p = raw, float(np.exp(np.log(probs).mean())), float(probs.min())
        if low_p < MIN_CHAR_PROBABILITY:
            code = ""
        out.append(Reading(code, raw, is_valid(code), is_valid(raw), float(conf), code != raw))
    return out


def read_codes(model, images, *, batch_size: int = 64, backend=None, runner=None,
               row_shifts_px: tuple = (0, -1, 1)) -> list:
    """Read container codes from crops.

    Each crop is read once per vertical shift in ``row_shifts_px`` (rolled
    round, as in training, where crops are shifted up to 2 px); the per-frame
    log-probabilities are averaged before decoding. The frames stay aligned
    (a vertical shift moves no column), so the average is a small ensemble:
    on the notebook's test crops, shifts of -1, 0 and 1 px put right about
    one misread code in ten (0.5 to 1 point of whole-code accuracy), for
    three forward passes.

    Parameters
    ----------
    model : CodeReader
    images : list of uint8 arrays (32, 160, 3)
        Crops (``load_code_crops(...)[i]["image"]``); other sizes are resized.
    batch_size : int
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}
        Where the network runs: the notebook's Backend, or a device to resolve.
    runner : callable, optional
        ``(B, 3, 32, 160) tensor -> (B, T, C) logits``, e.g. an ONNX Runtime session.
    row_shifts_px : tuple of int
        Vertical shifts, px, whose readings are averaged; ``(0,)`` reads each crop once.

    Returns
    -------
    list of Reading
    """
    from PIL import Image

    imgs = [a if a.shape[:2] == CROP_SIZE else np.asarray(Image.fromarray(a).resize(CROP_SIZE[::-1], Image.BILINEAR)) for a in images]
    if runner is None:
        from kit.backend import as_backend

        model.eval()
        torch_device = as_backend(backend).torch_device

        def runner(x):
            with torch.no_grad():
                return model(x.to(torch_device)).float().cpu()

    if not row_shifts_px:
        raise ParameterError("row_shifts_px must hold at least one shift, e.g. (0,)")
    alphabet = model.alphabet if model is not None else ALPHABET
    out = []
    for b in range(0, len(imgs), batch_size):
        x = _to_batch(imgs[b:b + batch_size])
        logp = sum(torch.as_tensor(runner(torch.roll(x, int(dy), dims=2) if dy else x)).double().log_softmax(-1)
                   for dy in row_shifts_px) / len(row_shifts_px)
        out += _readings(torch.softmax(logp, dim=-1).numpy(), alphabet)
    return out


def code_accuracy(readings, texts) -> float:
    """Share of crops whose code is read exactly (whole code, after correction)."""
    if not texts:
        return float("nan")
    return float(np.mean([r.code == t for r, t in zip(readings, texts)]))


def _rendered_training_crops(n: int, alphabet: str, seed: int):
    """``n`` crops rendered by :func:`kit.vision.synth.render_code_crop`, each spelling 11 characters drawn uniformly.

    Augmentation for :func:`train_reader`: a code holds 3 owner letters and 7
    digits, so in the labelled crops each letter is painted about
    ``3 / 26`` as often as each digit (``7 / 10``), and the reader misread
    letters about twice as often as digits. Uniform strings over the whole
    alphabet paint every character as often; the format (letters, category,
    digits) is not needed in training, since :func:`decode_codes` imposes it.

    Returns
    -------
    (images, texts) : uint8 array (n, 32, 160, 3), list of str
    """
    from kit.vision.synth import render_code_crop

    rng = np.random.default_rng([seed, 7])
    chars = np.array(list(alphabet))
    texts = ["".join(rng.choice(chars, size=11)) for _ in range(n)]
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
        From :func:`load_code_crops` (``image``, ``text``).
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
        initial weights are seeded by :func:`code_reader`).
    progress : bool
    max_cpu_seconds : float, optional
        Stop after the epoch in which this much process CPU time was spent.

    Returns
    -------
    (model, history) : CodeReader with the best validation weights, list of dict
        ``history`` rows: ``epoch``, ``loss`` (CTC plus the weighted per-position term), ``val_accuracy``
        (after correction, read without the row shifts of :func:`read_codes`), ``cpu_s``.
    """
    import copy

    from tqdm.auto import tqdm

    from kit.backend import as_backend

    backend = as_backend(backend)
    items = [c for c in train if c["text"]]
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
    cpu0 = time.process_time()
    dev = backend.torch_device
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = model.to(dev)
    index = {c: i + 1 for i, c in enumerate(model.alphabet)}
    extra_images, extra_texts = _rendered_training_crops(rendered_crops, model.alphabet, seed)
    X = _to_batch([c["image"] for c in items])
    if rendered_crops:
        X = torch.cat([X, _to_batch(extra_images)])
    Y = torch.tensor([[index[ch] for ch in t] for t in [c["text"] for c in items] + extra_texts])
    steps = math.ceil(len(items) / batch_size)
    T = CROP_SIZE[1] // 4                                  # frames of the reader
    centre = T * (0.08 + 0.84 * torch.arange(11.0) / 10)
    # Log-weights of a Gaussian window (2 columns) per position, learned with the model.
    window = nn.Parameter((-(torch.arange(float(T))[None] - centre[:, None]) ** 2 / 8).to(dev))
    opt = torch.optim.AdamW([*model.parameters(), window], lr=lr, weight_decay=1e-4)
    # Short warm-up, then a long stretch near the peak rate to leave the CTC blank plateau.
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps, pct_start=0.05,
                                                anneal_strategy="cos", div_factor=5)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    history, best, best_state = [], -1.0, None
    bar = tqdm(total=epochs, disable=not progress, desc="code reader", unit="epoch", mininterval=0)
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(X), generator=gen)[:len(items)]
        total = 0.0
        for b in range(0, len(items), batch_size):
            idx = order[b:b + batch_size]
            x = _augment(X[idx], gen).to(dev)
            y = Y[idx].to(dev)
            h = model.features(x)                                                         # (B, hidden, T)
            logp = model.fc(nn.functional.dropout(h, dropout)).log_softmax(1).permute(2, 0, 1)  # (T, B, C)
            B = logp.shape[1]
            loss = ctc(logp, y, torch.full((B,), T, dtype=torch.long), torch.full((B,), 11, dtype=torch.long))
            if position_weight:
                at = model.fc(h @ window.softmax(-1).T)                                   # (B, C, 11)
                loss = loss + position_weight * nn.functional.cross_entropy(at, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        out_of_time = max_cpu_seconds is not None and time.process_time() - cpu0 >= max_cpu_seconds
        acc = float("nan")
        if val:
            # One pass (no row shifts): a third of the cost, and enough to rank the epochs.
            acc = code_accuracy(read_codes(model, [c["image"] for c in val], backend=backend, row_shifts_px=(0,)),
                                [c["text"] for c in val])
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
