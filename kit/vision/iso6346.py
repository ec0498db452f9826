"""ISO 6346 container identification codes: parse, normalize, check, correct.

A code is an owner code (3 letters), an equipment category identifier
(``U`` freight container, ``J`` detachable container-related equipment,
``Z`` trailer or chassis), a 6-digit serial number and a check digit, e.g.
``CSQU 305438 3``. The check digit is the weighted sum of the first ten
characters (letters valued 10..38 skipping multiples of 11, digits their
value; weights 2**position) modulo 11, with a remainder of 10 written as 0.

Codes are painted on doors and sides with spaces, a hyphen or a slash before
the check digit, and often a box around it; :func:`normalize` removes that
layout so ``"msku 123456-5"`` and ``"MSKU1234565"`` compare equal.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from kit.errors import InputDataError
from kit.i18n import _

__all__ = [
    "ALPHABET",
    "CATEGORIES",
    "ContainerCode",
    "Correction",
    "check_digit",
    "correct",
    "is_valid",
    "normalize",
    "parse",
    "positions_from_ctc",
]

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
#: Characters a code recognizer outputs, in class order (a CTC blank comes before them).
ALPHABET = DIGITS + LETTERS
#: Equipment category identifiers defined by ISO 6346.
CATEGORIES = "UJZ"

# Letter values start at 10 and skip 11, 22 and 33 (multiples of 11), so a
# letter never weighs the same as a multiple of the modulus.
_VALUES = {c: v for c, v in zip(LETTERS, (v for v in range(10, 40) if v % 11))}
_VALUES.update({d: int(d) for d in DIGITS})
_LAYOUT = re.compile(r"[\s\-/\\.,_:;|\[\](){}<>]+")
_FORMAT = re.compile(r"^[A-Z]{3}[UJZ][0-9]{7}$")


def normalize(code: str) -> str:
    """Remove the painted layout from a code: case, spaces, hyphens, slashes, boxes.

    Letters and digits are kept as they are (no O→0 guessing; that is the job
    of :func:`correct`, which uses the recognizer's probabilities).

    Parameters
    ----------
    code : str
        A code as read, e.g. ``"msku 123456-5"`` or ``"CSQU 305438 [3]"``.

    Returns
    -------
    str
        Upper-case letters and digits only.

    Examples
    --------
    >>> normalize("msku 123456-5")
    'MSKU1234565'
    >>> normalize(" CSQU/305438/[3] ")
    'CSQU3054383'
    """
    if not isinstance(code, str):
        raise InputDataError(_("container code must be a string, got {type} {code!r}").format(type=type(code).__name__, code=code))
    return _LAYOUT.sub("", code).upper()


def _weighted_remainder(first10: str) -> int:
    return sum(_VALUES[c] << i for i, c in enumerate(first10)) % 11


def check_digit(first10: str) -> int:
    """Check digit of the owner code, category identifier and serial number.

    Parameters
    ----------
    first10 : str
        The first ten characters (``"CSQU305438"``); layout such as spaces and
        lower case is accepted and normalized.

    Returns
    -------
    int
        0–9; a remainder of 10 gives 0, as ISO 6346 prescribes.

    Raises
    ------
    InputDataError
        ``first10`` is not 3 letters, ``U``/``J``/``Z`` and 6 digits.

    Examples
    --------
    >>> check_digit("CSQU305438")
    3
    >>> check_digit("gyou 404799")  # remainder 10, written 0
    0
    """
    s = normalize(first10)
    if not _FORMAT.match(s + "0"):
        raise InputDataError(
            f"container code prefix {first10!r} is not 3 letters, U/J/Z and 6 digits "
            "(e.g. 'CSQU305438'); give the first ten characters"
        )
    return _weighted_remainder(s) % 10


def is_valid(code: str) -> bool:
    """Whether ``code`` is a well-formed ISO 6346 code with the right check digit.

    Never raises: anything that is not a string, has the wrong format or the
    wrong check digit is ``False``.

    Examples
    --------
    >>> is_valid("CSQU3054383"), is_valid("csqu 305438-3"), is_valid("CSQU3054384")
    (True, True, False)
    """
    if not isinstance(code, str):
        return False
    s = normalize(code)
    return bool(_FORMAT.match(s)) and _weighted_remainder(s[:10]) % 10 == int(s[10])


@dataclass(frozen=True)
class ContainerCode:
    """A parsed container code.

    Attributes
    ----------
    owner : str
        Owner code, 3 letters (registered with the BIC).
    category : str
        ``U``, ``J`` or ``Z``.
    serial : str
        6 digits, leading zeros kept.
    check : int
        Check digit as read.
    """

    owner: str
    category: str
    serial: str
    check: int

    @property
    def code(self) -> str:
        """The 11-character code without layout."""
        return f"{self.owner}{self.category}{self.serial}{self.check}"

    @property
    def valid(self) -> bool:
        """Whether the check digit as read matches the one computed."""
        return check_digit(self.code[:10]) == self.check

    def __str__(self) -> str:
        # The layout used on container sides: owner+category, serial, check digit.
        return f"{self.owner}{self.category} {self.serial} {self.check}"


def parse(code: str) -> ContainerCode:
    """Split a code into owner, category, serial and check digit.

    The check digit is not verified here (see :attr:`ContainerCode.valid`),
    so a misread code can still be shown with its parts.

    Raises
    ------
    InputDataError
        The normalized code is not 11 characters of the form ``AAAU0000000``.

    Examples
    --------
    >>> c = parse("msku 123456-5")
    >>> c.owner, c.category, c.serial, c.check, c.valid
    ('MSK', 'U', '123456', 5, True)
    >>> str(c)
    'MSKU 123456 5'
    """
    s = normalize(code)
    if not _FORMAT.match(s):
        if len(s) != 11:  # whole sentences, not pieces: French word order differs
            why = _("container code {code!r} has {n} letters and digits, not 11; expected e.g. 'CSQU 305438 3'")
        elif not s[:3].isalpha() or not s[:3].isascii():
            why = _("container code {code!r} does not start with a 3-letter owner code; expected e.g. 'CSQU 305438 3'")
        elif s[3] not in CATEGORIES:
            why = _("container code {code!r} has category {category!r}, not U, J or Z; expected e.g. 'CSQU 305438 3'")
        else:
            why = _("container code {code!r} does not end with 7 digits (serial number and check digit); "
                    "expected e.g. 'CSQU 305438 3'")
        raise InputDataError(why.format(code=code, n=len(s), category=s[3] if len(s) > 3 else ""))
    return ContainerCode(s[:3], s[3], s[4:10], int(s[10]))


@dataclass(frozen=True)
class Correction:
    """Result of :func:`correct`.

    Attributes
    ----------
    code : str
        Most probable code whose check digit validates ('' if none is possible).
    probability : float
        Product of the per-character probabilities of ``code``.
    raw : str
        The per-position most probable characters, unconstrained.
    raw_valid : bool
        Whether ``raw`` was already a valid code.
    changed : tuple of int
        Positions (0–10) where ``code`` differs from ``raw``.
    """

    code: str
    probability: float
    raw: str
    raw_valid: bool
    changed: tuple[int, ...]


def correct(probs, alphabet: str = ALPHABET, categories: str = CATEGORIES) -> Correction:
    """Most probable valid code given a recognizer's per-character probabilities.

    Positions are treated as independent: the code maximizing the product of
    its 11 character probabilities is found exactly, subject to the format
    (letters, category, digits) and the check digit, by dynamic programming
    over the weighted sum modulo 11 (11 states per position).

    Parameters
    ----------
    probs : array of shape (11, len(alphabet))
        Probability (or any non-negative score) of each character at each
        position; rows need not sum to one. Torch tensors are accepted.
    alphabet : str
        Character of each column; characters outside ``0-9A-Z`` are ignored.
    categories : str
        Allowed category identifiers (``"U"`` to accept freight containers only).

    Returns
    -------
    Correction

    Examples
    --------
    >>> import numpy as np
    >>> p = np.full((11, len(ALPHABET)), 0.001)
    >>> for i, c in enumerate("CSQU3054388"):  # last digit misread as 8 ...
    ...     p[i, ALPHABET.index(c)] = 0.9
    >>> p[10, ALPHABET.index("3")] = 0.05     # ... with 3 as a runner-up
    >>> r = correct(p)
    >>> r.raw, r.raw_valid, r.code, r.changed
    ('CSQU3054388', False, 'CSQU3054383', (10,))
    """
    from kit.backend import to_numpy

    p = np.asarray(to_numpy(probs), dtype=np.float64)
    if p.ndim != 2 or p.shape != (11, len(alphabet)):
        raise InputDataError(
            f"probs has shape {p.shape}; expected (11, {len(alphabet)}): one row per code position, "
            "one column per alphabet character"
        )
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise InputDataError(_("probs has negative or non-finite values; pass probabilities (softmax output)"))
    with np.errstate(divide="ignore"):
        logp = np.log(p)
    raw = "".join(alphabet[j] for j in p.argmax(axis=1))

    allowed = [LETTERS] * 3 + [categories] + [DIGITS] * 7
    col = {c: j for j, c in enumerate(alphabet)}
    # best[s] = best log-probability of a prefix whose weighted sum is s mod 11.
    best = np.full(11, -np.inf)
    best[0] = 0.0
    back = []
    for i in range(10):
        new = np.full(11, -np.inf)
        choice = np.full((11, 2), -1, dtype=np.int64)  # (previous state, character index)
        for c in allowed[i]:
            if c not in col:
                continue
            lp = logp[i, col[c]]
            if lp == -np.inf:
                continue
            add = (_VALUES[c] << i) % 11
            for s in range(11):
                v = best[s] + lp
                t = (s + add) % 11
                if v > new[t]:
                    new[t] = v
                    choice[t] = (s, ord(c))
        best = new
        back.append(choice)
    # Last position: the check digit is fixed by the state.
    final = np.array([best[s] + (logp[10, col[str(s % 10)]] if str(s % 10) in col else -np.inf) for s in range(11)])
    s = int(np.argmax(final))
    if final[s] == -np.inf:
        return Correction("", 0.0, raw, is_valid(raw), ())
    chars = [str(s % 10)]
    for i in range(9, -1, -1):
        prev, c = back[i][s]
        chars.append(chr(c))
        s = int(prev)
    code = "".join(reversed(chars))
    changed = tuple(i for i, (a, b) in enumerate(zip(code, raw)) if a != b)
    return Correction(code, float(math.exp(final.max())), raw, is_valid(raw), changed)


def positions_from_ctc(frame_probs, alphabet: str = ALPHABET, blank: int = 0):
    """Per-character probabilities from CTC frame outputs, for :func:`correct`.

    Greedy CTC decoding (best class per frame, repeats merged, blanks
    dropped) gives the characters; each character's row is the mean of the
    frame probabilities over its run of frames, without the blank column and
    renormalized.

    Parameters
    ----------
    frame_probs : array of shape (T, len(alphabet) + 1)
        Softmax output per frame, blank at column ``blank``.
    alphabet : str
    blank : int

    Returns
    -------
    (text, rows) : str, array of shape (len(text), len(alphabet))
        ``rows`` has 11 rows exactly when the greedy reading has 11 characters,
        which is when :func:`correct` applies.

    Examples
    --------
    >>> import numpy as np
    >>> f = np.zeros((4, len(ALPHABET) + 1)); f[:, 0] = 1
    >>> f[1, 0], f[1, 1 + ALPHABET.index("A")] = 0.2, 0.8
    >>> text, rows = positions_from_ctc(f)
    >>> text, rows.shape, float(rows[0, ALPHABET.index("A")])
    ('A', (1, 36), 1.0)
    """
    from kit.backend import to_numpy

    f = np.asarray(to_numpy(frame_probs), dtype=np.float64)
    if f.ndim != 2 or f.shape[1] != len(alphabet) + 1:
        raise InputDataError(_("frame_probs has shape {shape}; expected (T, {columns}) with the blank column").format(
            shape=f.shape, columns=len(alphabet) + 1))
    best = f.argmax(axis=1)
    keep = [j for j in range(f.shape[1]) if j != blank]
    text, rows, t = [], [], 0
    while t < len(best):
        k = best[t]
        end = t
        while end + 1 < len(best) and best[end + 1] == k:
            end += 1
        if k != blank:
            row = f[t : end + 1][:, keep].mean(axis=0)
            rows.append(row / max(row.sum(), 1e-12))
            text.append(alphabet[keep.index(k)])
        t = end + 1
    return "".join(text), np.array(rows).reshape(len(rows), len(alphabet))
