import itertools

import numpy as np
import pytest

from kit.errors import InputDataError
from kit.vision import iso6346
from kit.vision.iso6346 import ALPHABET, check_digit, correct, is_valid, normalize, parse, positions_from_ctc

# Published codes: the ISO 6346 example on Wikipedia (CSQU3054383); the test
# set of python-stdnum's stdnum.iso6346 (TCNU7200794, TOLU4734787,
# GYOU4047990, whose remainder is 10 and check digit 0); the example in the
# calc-ilu-check-digit README (ZEPU 003725 5).
PUBLISHED_VALID = ["CSQU3054383", "TCNU7200794", "TOLU4734787", "GYOU4047990", "ZEPU0037255"]


@pytest.mark.parametrize("code", PUBLISHED_VALID)
def test_published_codes_are_valid(code):
    assert is_valid(code)
    assert check_digit(code[:10]) == int(code[10])


def test_wikipedia_worked_sum():
    # Wikipedia's worked example: weighted sum 6185, 6185 mod 11 = 3.
    values = [13, 30, 28, 32, 3, 0, 5, 4, 3, 8]
    assert sum(v * 2**i for i, v in enumerate(values)) == 6185
    assert iso6346._weighted_remainder("CSQU305438") == 6185 % 11 == 3


def test_remainder_ten_gives_zero():
    assert iso6346._weighted_remainder("GYOU404799") == 10
    assert check_digit("GYOU404799") == 0
    assert is_valid("GYOU4047990")
    assert not is_valid("GYOU4047991")


def test_letter_values_skip_multiples_of_eleven():
    values = [iso6346._VALUES[c] for c in iso6346.LETTERS]
    assert values[0] == 10 and values[-1] == 38
    assert not any(v % 11 == 0 for v in values)
    assert iso6346._VALUES["K"] == 21 and iso6346._VALUES["L"] == 23 and iso6346._VALUES["V"] == 34


@pytest.mark.parametrize(
    "code",
    [
        "CSQU3054384",  # wrong check digit (stdnum test)
        "CSQU305438",  # too short
        "CSQU3054Z83",  # letter in the serial (stdnum test)
        "CSQA3054383",  # category must be U, J or Z
        "CSQU30543833",  # too long
        "C5QU3054383",  # digit in the owner code
        "",
        None,
        3054383,
    ],
)
def test_invalid_codes(code):
    assert is_valid(code) is False


def test_single_digit_changes_detected_unless_remainder_is_ten():
    # Every single substitution in the serial or check digit is caught when the
    # remainder is 0-9. With remainder 10 (written 0) a change that moves the
    # remainder to 0 passes unnoticed: the reason ISO 6346 advises owners not
    # to use such serial numbers.
    for code in PUBLISHED_VALID:
        missed = []
        for i in range(4, 11):
            for d in "0123456789":
                if d != code[i]:
                    wrong = code[:i] + d + code[i + 1 :]
                    if is_valid(wrong):
                        missed.append(wrong)
        if iso6346._weighted_remainder(code[:10]) == 10:
            assert missed and all(iso6346._weighted_remainder(m[:10]) == 0 for m in missed)
        else:
            assert missed == []
    # 4 -> 2 at position 4 moves the sum by -2 * 2**4 = -32, i.e. +1 mod 11: 10 -> 0.
    assert is_valid("GYOU2047990")


def test_adjacent_transpositions_detected_in_serial():
    code = "CSQU3054383"
    for i in range(4, 9):
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        if swapped != code:
            assert not is_valid(swapped)


@pytest.mark.parametrize(
    "painted",
    ["msku 123456-5", "MSKU 123456 5", "MSKU123456/5", "MSKU 123456 [5]", " msku-123456-5\n", "MSKU.123456.5"],
)
def test_normalization_of_painted_layouts(painted):
    assert normalize(painted) == "MSKU1234565"
    assert is_valid(painted)


def test_parse_parts_and_errors():
    c = parse("tcnu 720079 4")
    assert (c.owner, c.category, c.serial, c.check, c.valid) == ("TCN", "U", "720079", 4, True)
    assert c.code == "TCNU7200794" and str(c) == "TCNU 720079 4"
    assert parse("CSQU3054384").valid is False  # parsed, but flagged
    with pytest.raises(InputDataError, match="category 'A'"):
        parse("CSQA3054383")
    with pytest.raises(InputDataError, match="10 letters and digits"):
        parse("CSQU305438")
    with pytest.raises(InputDataError, match="7 digits"):
        parse("CSQU3054Z83")
    with pytest.raises(InputDataError):
        check_digit("CSQU30543")


def _probs_for(text, p_true=0.9, floor=1e-3):
    p = np.full((11, len(ALPHABET)), floor)
    for i, c in enumerate(text):
        p[i, ALPHABET.index(c)] = p_true
    return p


def test_correct_keeps_valid_reading():
    r = correct(_probs_for("CSQU3054383"))
    assert r.code == "CSQU3054383" and r.raw_valid and r.changed == ()
    assert r.probability == pytest.approx(0.9**11)


def test_correct_fixes_confused_character_using_runner_up():
    # O read instead of 0 in the serial, and 8 instead of 3 elsewhere with 3 a close second.
    p = _probs_for("CSQU3O54383")
    p[5, ALPHABET.index("0")] = 0.3  # a digit position: O is impossible there
    r = correct(p)
    assert r.raw == "CSQU3O54383" and not r.raw_valid
    assert r.code == "CSQU3054383" and r.changed == (5,)

    p = _probs_for("CSQU3054883")
    p[8, ALPHABET.index("3")] = 0.4
    r = correct(p)
    assert r.code == "CSQU3054383" and r.changed == (8,)


def test_correct_matches_brute_force():
    # Independent check of the dynamic programme: two candidate characters
    # per position, all 2**11 combinations scored directly.
    rng = np.random.default_rng(0)
    for trial in range(20):
        cands = []
        for i in range(11):
            pool = iso6346.LETTERS if i < 3 else ("UJ" if i == 3 else iso6346.DIGITS)
            cands.append(rng.choice(list(pool), size=2, replace=False))
        p = np.zeros((11, len(ALPHABET)))
        for i, (a, b) in enumerate(cands):
            w = rng.uniform(0.05, 1.0, size=2)
            p[i, ALPHABET.index(a)], p[i, ALPHABET.index(b)] = w
        best, best_code = -1.0, ""
        for combo in itertools.product(*cands):
            code = "".join(combo)
            if is_valid(code):
                score = np.prod([p[i, ALPHABET.index(c)] for i, c in enumerate(code)])
                if score > best:
                    best, best_code = score, code
        r = correct(p)
        if best < 0:
            assert r.code == ""
        else:
            assert r.probability == pytest.approx(best)
            assert r.code == best_code


def test_correct_restricts_categories_and_checks_shape():
    p = _probs_for("CSQJ3054383")
    r = correct(p, categories="U")
    assert r.code[3] == "U" and is_valid(r.code)
    with pytest.raises(InputDataError, match="shape"):
        correct(np.ones((10, len(ALPHABET))))
    with pytest.raises(InputDataError, match="negative"):
        correct(-np.ones((11, len(ALPHABET))))


def test_correct_accepts_torch_and_custom_alphabet():
    torch = pytest.importorskip("torch")
    alphabet = ALPHABET[::-1]
    p = np.full((11, 36), 1e-3)
    for i, c in enumerate("TOLU4734787"):
        p[i, alphabet.index(c)] = 0.8
    assert correct(torch.tensor(p), alphabet=alphabet).code == "TOLU4734787"


def test_positions_from_ctc_greedy_runs():
    text = "ZEPU0037255"
    frames = []
    for c in text:  # each character for two frames, then a blank frame
        row = np.full(len(ALPHABET) + 1, 0.01)
        row[1 + ALPHABET.index(c)] = 0.9
        frames += [row, row, np.eye(len(ALPHABET) + 1)[0]]
    got, rows = positions_from_ctc(np.array(frames))
    assert got == text and rows.shape == (11, 36)
    np.testing.assert_allclose(rows.sum(axis=1), 1.0)
    assert correct(rows).code == text


def test_parse_error_in_french():
    from kit.i18n import using

    with using("fr"), pytest.raises(InputDataError, match=r"^le code conteneur 'CSQA 305438 3' a la catégorie 'A', "
                                                           r"ni U, ni J, ni Z\u202f; attendu p\. ex\. 'CSQU 305438 3'$"):
        parse("CSQA 305438 3")
