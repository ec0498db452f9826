"""Candidate codes chosen by their CTC likelihood summed over views (kit.vision.recognizer.rescoring)."""
import itertools

import numpy as np
import pytest

from kit.errors import InputDataError
from kit.vision.iso6346 import ALPHABET
from kit.vision.recognizer.rescoring import best_candidate, ctc_log_likelihood


def _brute_force(p, text, alphabet):
    """Sum over every frame path that collapses (merge repeats, drop blanks) to ``text``."""
    total = 0.0
    for path in itertools.product(range(p.shape[1]), repeat=len(p)):
        collapsed = [k for j, k in enumerate(path) if k and (j == 0 or path[j - 1] != k)]
        if "".join(alphabet[k - 1] for k in collapsed) == text:
            total += np.prod([p[t, k] for t, k in enumerate(path)])
    return total


@pytest.mark.parametrize("text", ["A", "AB", "AA", "BAB", ""])
def test_forward_algorithm_equals_the_sum_over_paths(text):
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(3), size=5)  # 5 frames over (blank, A, B)
    assert np.exp(ctc_log_likelihood(p, text, "AB")) == pytest.approx(_brute_force(p, text, "AB"), rel=1e-9)


def test_a_code_too_long_for_the_frames_is_impossible():
    p = np.full((3, 3), 1 / 3)
    assert ctc_log_likelihood(p, "AA", "AB") > -np.inf     # A, blank, A
    assert ctc_log_likelihood(p, "AAA", "AB") == -np.inf   # needs 5 frames


def _frames(code, smudged=None, runner_up=None):
    """Frames spelling ``code`` (blank between characters); at ``smudged`` the code's character and ``runner_up`` share."""
    f = np.full((2 * len(code) + 1, len(ALPHABET) + 1), 1e-4)
    f[::2, 0] = 1.0
    for i, ch in enumerate(code):
        f[2 * i + 1, 1 + ALPHABET.index(ch)] = 1.0
        if i == smudged:
            f[2 * i + 1, 1 + ALPHABET.index(ch)] = 0.4
            f[2 * i + 1, 1 + ALPHABET.index(runner_up)] = 0.6
    return f / f.sum(axis=1, keepdims=True)


def test_the_views_outvote_one_smudged_view():
    # CSQU3054383 is valid; view 1 reads the 8 at position 9 mostly as 3 (it proposes another valid code).
    clear, smudged = _frames("CSQU3054383"), _frames("CSQU3054383", smudged=9, runner_up="3")
    code, scores = best_candidate([smudged, clear], ["CSQU3054333", "CSQU3054383"])
    assert code == "CSQU3054383" and scores[1] > scores[0]
    # Alone, the smudged view prefers its own reading.
    assert best_candidate([smudged], ["CSQU3054333", "CSQU3054383"])[0] == "CSQU3054333"
    assert best_candidate([clear], ["", ""]) == ("", pytest.approx(np.zeros(0)))


def test_bad_frames_or_text_are_one_line_errors():
    with pytest.raises(InputDataError, match="expected"):
        ctc_log_likelihood(np.ones((4, 5)), "A", "AB")
    with pytest.raises(InputDataError, match="outside the alphabet"):
        ctc_log_likelihood(np.full((4, 3), 1 / 3), "AC", "AB")
