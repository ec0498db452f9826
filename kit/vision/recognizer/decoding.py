"""Reading CTC frames as container codes: greedy decoding, then a search for the best valid ISO 6346 code.

:func:`decode_codes` searches the CTC frames for the most probable path
that spells a valid code (3 letters, U/J/Z, 6 digits and the right check
digit), so one misread character, a narrow letter lost to the blank or two
equal characters run together are usually put right; when the greedy
reading is already valid it is that path, and the search is skipped
(:class:`Reading` holds both).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kit.errors import InputDataError
from kit.vision.iso6346 import ALPHABET, CATEGORIES, is_valid

__all__ = ["MIN_CHAR_PROBABILITY", "Reading", "decode_codes", "decode_frames"]


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
    path_cost_nats : float, >= 0
        Log-probability given up by holding the path to a valid code: the
        best path's minus the decoded path's, nats (0 when the greedy
        reading is valid). Large when characters seen clearly were dropped
        to make a code, e.g. a code read together with the line below it.
    """

    code: str
    raw: str
    valid: bool
    raw_valid: bool
    confidence: float
    corrected: bool
    path_cost_nats: float = 0.0


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
    return [out[:3] for out in _decode(frame_logp, alphabet, categories)]


def _decode(frame_logp, alphabet: str = ALPHABET, categories: str = CATEGORIES):
    """:func:`decode_codes`, each result with the decoded path's log-probability as a fourth item."""
    lp = _frame_logp(frame_logp, alphabet)
    final, back, states = _viterbi(lp, *_code_lattice(alphabet, categories))
    best = final.argmax(-1)
    k_path, sym_path = _backtrack(back, states, best)
    out = []
    for i in range(len(lp)):
        if not np.isfinite(final[i, best[i]]):
            out.append(("", 0.0, 0.0, -np.inf))
            continue
        out.append(_spelling(lp[i], k_path[:, i], sym_path[:, i], alphabet) + (float(final[i, best[i]]),))
    return out


def _frame_logp(frame_logp, alphabet: str) -> np.ndarray:
    """The frames as a float32 ``(N, T, classes)`` array, checked."""
    from kit.backend import to_numpy

    lp = np.asarray(to_numpy(frame_logp), dtype=np.float64)
    if lp.ndim == 2:
        lp = lp[None]
    if lp.ndim != 3 or lp.shape[2] != len(alphabet) + 1:
        raise InputDataError(f"frame_logp has shape {lp.shape}; expected (B, T, {len(alphabet) + 1}) with the blank column 0")
    return lp.astype(np.float32)


def _viterbi(lp, cols, adds, check):
    """Best path score into every state after the last frame, and each frame's back-pointers.

    A state is (characters emitted 0..11, weighted sum modulo 11, last
    symbol); ``states[k, s, c]`` is its flat index.

    Returns
    -------
    (final, back, states) : array (N, 11 × classes), int32 array (T, N, 12, 11, classes), int32 array (12, 11, classes)
        ``final``: scores of the states with all 11 characters emitted.
    """
    N, T, C = lp.shape
    states = np.arange(12 * 11 * C, dtype=np.int32).reshape(12, 11, C)
    score = np.full((N, 12, 11, C), -np.inf, dtype=np.float32)
    score[:, 0, 0, 0] = 0.0
    back = np.empty((T, N, 12, 11, C), dtype=np.int32)  # previous state of each state, per frame
    for t in range(T):
        score = _advance(score, lp[:, t], back[t], t, T, states, cols, adds, check)
    return score[:, 11].reshape(N, -1), back, states


def _advance(score, f, prev, t: int, T: int, states, cols, adds, check):
    """Scores after frame ``t`` (log-probabilities ``f``, (N, classes)); writes the frame's back-pointers into ``prev``."""
    a1 = score.argmax(-1)
    m1 = np.take_along_axis(score, a1[..., None], -1)[..., 0]
    second = score.copy()
    np.put_along_axis(second, a1[..., None], -np.inf, -1)
    a2 = second.argmax(-1)
    m2 = np.take_along_axis(second, a2[..., None], -1)[..., 0]
    # Stay: a blank after anything, or the same character again (merged by CTC).
    new = score + f[:, None, None, :]
    new[..., 0] = m1 + f[:, None, None, 0]
    prev[...] = states
    prev[..., 0] = states[None, :, :, 0] + a1
    # Emit the next character (a different symbol than the last, or after a blank), from
    # positions reachable by now and from which the rest still fits in the frames left.
    for k in range(max(0, 10 - (T - 1 - t)), min(10, t) + 1):
        _emit(new, prev, k, f, (a1, m1, a2, m2), states, cols, adds, check)
    return new


def _emit(new, prev, k: int, f, best_two, states, cols, adds, check) -> None:
    """Update ``new`` and ``prev`` in place with the paths that emit character ``k`` (0-based) at this frame."""
    a1, m1, a2, m2 = best_two
    s_idx = np.arange(11)
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
        return
    src = states[k, s_idx, 0][None, :, None] + np.where(same, a2[:, k, :, None], a1[:, k, :, None])
    new[:, k + 1, tgt, tcol] = np.where(better, val, cur)
    prev[:, k + 1, tgt, tcol] = np.where(better, src, prev[:, k + 1, tgt, tcol])


def _backtrack(back, states, best):
    """(characters emitted, symbol) per frame along each crop's best path: two int arrays (T, N)."""
    T, N = back.shape[:2]
    C = states.shape[-1]
    state = states[11].reshape(-1)[best]                 # (N,) final state per crop
    path = np.empty((T, N), dtype=np.int64)
    for t in range(T - 1, -1, -1):
        path[t] = state
        state = back[t].reshape(N, -1)[np.arange(N), state]
    return path // (11 * C), path % C


def _spelling(lp, k_path, sym_path, alphabet: str) -> tuple[str, float, float]:
    """One crop's code along its path, the geometric mean of its characters' best frame probabilities, and the lowest."""
    chars, probs = [], []
    for t in range(len(k_path)):
        k, sym = k_path[t], sym_path[t]
        if sym == 0:
            continue
        p = math.exp(lp[t, sym])
        if len(chars) < k:
            chars.append(alphabet[sym - 1])
            probs.append(p)
        else:
            probs[-1] = max(probs[-1], p)
    probs = np.array(probs)
    return "".join(chars), float(np.exp(np.log(probs).mean())), float(probs.min())


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
    """Crops' frame probabilities (N, T, classes) as :class:`Reading` s: greedy, then the lattice search where invalid."""
    frame_probs = np.asarray(frame_probs, dtype=np.float64)
    greedy = [_greedy(p, alphabet) for p in frame_probs]
    # The best path is the most probable of all paths, so when it spells a valid code that
    # code is also the best valid one: the lattice search runs only for the others.
    todo = [i for i, (raw, _) in enumerate(greedy) if not is_valid(raw)]
    decoded = {}
    if todo:
        with np.errstate(divide="ignore"):
            logp = np.log(frame_probs[todo])
        decoded = dict(zip(todo, _decode(logp, alphabet)))
    out = []
    for i, (raw, probs) in enumerate(greedy):
        cost = 0.0
        if i in decoded:
            code, conf, low_p, path_logp = decoded[i]
            with np.errstate(divide="ignore"):
                cost = float(np.log(frame_probs[i]).max(axis=1).sum() - path_logp)
        else:
            code, conf, low_p = raw, float(np.exp(np.log(probs).mean())), float(probs.min())
        if low_p < MIN_CHAR_PROBABILITY:
            code = ""
        out.append(Reading(code, raw, is_valid(code), is_valid(raw), float(conf), code != raw, cost))
    return out


def decode_frames(frame_probs, alphabet: str = ALPHABET) -> list:
    """Readings of lines from their CTC frame probabilities, by any recogniser.

    Parameters
    ----------
    frame_probs : array (N, T, len(alphabet) + 1)
        Probabilities per frame, blank in column 0 (the small reader's
        softmax, or the PP-OCRv4 recogniser's folded onto the code alphabet,
        :func:`kit.vision.ppocr.code_frames`).
    alphabet : str

    Returns
    -------
    list of Reading
        The greedy reading when it is a valid code, else the best valid path of :func:`decode_codes`.
    """
    return _readings(frame_probs, alphabet)
