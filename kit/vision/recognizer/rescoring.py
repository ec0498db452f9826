"""Choosing among candidate codes by their whole CTC likelihood, summed over several views of one line.

The lattice search of :func:`kit.vision.recognizer.decode_codes` gives the
best *path* to a valid code in one set of frames. When a line is read in
several views (the crop as it is, padded, widened: each gives frames of its
own length, so frames cannot be averaged), each view proposes its code; the
candidates are then scored by their CTC likelihood, the probability summed
over every alignment of the code to the frames (the forward algorithm,
Graves et al. 2006), added in log over the views: a product of experts. A
code one view misreads because a digit was smudged in that view loses to
the code the other views agree on, and the check digit still decides, since
every candidate is a valid code.
"""
from __future__ import annotations

import numpy as np

from kit.errors import InputDataError
from kit.vision.iso6346 import ALPHABET

__all__ = ["best_candidate", "ctc_log_likelihood"]


def ctc_log_likelihood(frame_probs, text: str, alphabet: str = ALPHABET) -> float:
    """Log-probability (nats) that CTC frames spell ``text``, summed over all alignments.

    Parameters
    ----------
    frame_probs : array (T, len(alphabet) + 1)
        Probabilities per frame, blank in column 0.
    text : str
        Characters of ``alphabet``; a repeated character needs a blank between its frames, as CTC does.
    alphabet : str

    Returns
    -------
    float, <= 0
        ``-inf`` when ``text`` cannot fit in the frames.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[0.1, 0.9, 0.0], [0.6, 0.4, 0.0]])   # alphabet "AB": frames over (blank, A, B)
    >>> round(float(np.exp(ctc_log_likelihood(p, "A", "AB"))), 2)   # A-, AA, -A: .54 + .36 + .04
    0.94
    """
    p = np.asarray(frame_probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != len(alphabet) + 1:
        raise InputDataError(f"frame_probs has shape {p.shape}; expected (T, {len(alphabet) + 1}) with the blank column 0")
    unknown = set(text) - set(alphabet)
    if unknown:
        raise InputDataError(f"text {text!r} has characters outside the alphabet: {sorted(unknown)}")
    with np.errstate(divide="ignore"):
        logp = np.log(p)
    labels = np.zeros(2 * len(text) + 1, dtype=np.int64)           # blank, c1, blank, c2, ..., blank
    labels[1::2] = [alphabet.index(c) + 1 for c in text]
    S = len(labels)
    # A jump over a blank is allowed onto a character that differs from the one two states back.
    skip = np.zeros(S, dtype=bool)
    skip[3::2] = labels[3::2] != labels[1:-2:2]
    alpha = np.full(S, -np.inf)
    alpha[0] = logp[0, 0]
    if S > 1:
        alpha[1] = logp[0, labels[1]]
    for t in range(1, len(p)):
        stay = alpha
        step = np.r_[-np.inf, alpha[:-1]]
        jump = np.full(S, -np.inf)
        jump[2:] = np.where(skip[2:], alpha[:-2], -np.inf)
        alpha = np.logaddexp(np.logaddexp(stay, step), jump) + logp[t, labels]
    return float(np.logaddexp(alpha[-1], alpha[-2]) if S > 1 else alpha[-1])


def best_candidate(view_frames, candidates, alphabet: str = ALPHABET) -> tuple[str, np.ndarray]:
    """The candidate with the highest CTC log-likelihood summed over the views' frames.

    Parameters
    ----------
    view_frames : list of arrays (T_v, len(alphabet) + 1)
        One line's frame probabilities in each view (lengths may differ).
    candidates : sequence of str
        Codes proposed (by each view's lattice search); duplicates are scored once.

    Returns
    -------
    (str, float array (n_candidates,))
        The winner ('' when there is no candidate) and each distinct candidate's summed log-likelihood, nats,
        in order of first appearance.
    """
    distinct = list(dict.fromkeys(c for c in candidates if c))
    if not distinct:
        return "", np.zeros(0)
    scores = np.array([sum(ctc_log_likelihood(f, c, alphabet) for f in view_frames) for c in distinct])
    return distinct[int(np.argmax(scores))], scores
