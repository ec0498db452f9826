"""Letter-balanced rendered training crops and the row-shift ensemble of read_codes."""
import numpy as np
import pytest
import torch

from kit.errors import ParameterError
from kit.vision.iso6346 import ALPHABET, LETTERS
from kit.vision.recognizer import read_codes, train_reader
from kit.vision.recognizer.training import _rendered_training_crops


def test_rendered_training_crops_paint_every_character_about_equally():
    images, texts = _rendered_training_crops(216, ALPHABET, seed=5)
    assert images.shape == (216, 32, 160, 3) and images.dtype == np.uint8
    assert all(len(t) == 11 and set(t) <= set(ALPHABET) for t in texts)
    chars = "".join(texts)
    counts = np.array([chars.count(c) for c in ALPHABET])
    # 2376 characters over 36 classes: 66 expected each; a binomial sd of about 8.
    assert counts.min() >= 35 and counts.max() <= 100
    letter_share = sum(chars.count(c) for c in LETTERS) / len(chars)
    assert 0.68 < letter_share < 0.76          # 26/36 = 0.72; in codes it is 3/11 = 0.27
    # Letters appear at the serial positions too (the decoder, not training, imposes the format).
    assert sum(t[5] in LETTERS for t in texts) > 100
    again, texts2 = _rendered_training_crops(216, ALPHABET, seed=5)
    assert texts2 == texts and np.array_equal(again, images)
    assert _rendered_training_crops(4, ALPHABET, seed=6)[1] != texts[:4]
    assert _rendered_training_crops(0, ALPHABET, seed=5)[0].shape == (0, 32, 160, 3)


def _spelling_logits(code, strength=12.0):
    """(T=40, 37) logits spelling ``code`` on odd frames, blank elsewhere."""
    z = np.zeros((40, len(ALPHABET) + 1))
    z[:, 0] = strength
    for i, ch in enumerate(code):
        z[2 * i + 1, 0] = 0
        z[2 * i + 1, 1 + ALPHABET.index(ch)] = strength
    return torch.tensor(z)


def test_read_codes_averages_the_row_shifted_readings():
    # A bright line at row 10; the runner reads one code where it sees the line at row 10 and
    # another (also valid) when the crop has been shifted by a row: two of three passes agree.
    img = np.zeros((32, 160, 3), np.uint8)
    img[10] = 255
    seen = []

    def runner(x):
        rows = x[:, 0, :, 0].argmax(dim=1)
        seen.extend(int(r) for r in rows)
        return torch.stack([_spelling_logits("TCNU7200794" if r == 10 else "CSQU3054383") for r in rows])

    once = read_codes(None, [img], runner=runner, row_shifts_px=(0,))
    assert seen == [10] and once[0].code == "TCNU7200794"
    seen.clear()
    ensemble = read_codes(None, [img, img], runner=runner)
    assert sorted(seen) == [9, 9, 10, 10, 11, 11]       # shifts -1, 0, +1 px, vertical, each crop
    assert [r.code for r in ensemble] == ["CSQU3054383"] * 2
    assert all(r.valid and not r.corrected for r in ensemble)
    with pytest.raises(ParameterError):
        read_codes(None, [img], runner=runner, row_shifts_px=())


def test_train_reader_rejects_a_negative_number_of_rendered_crops():
    crops = [{"image": np.zeros((32, 160, 3), np.uint8), "text": "CSQU3054383"}]
    from kit.vision.recognizer import code_reader

    with pytest.raises(ParameterError, match="rendered_crops"):
        train_reader(code_reader(width=8, hidden=16), crops, epochs=1, rendered_crops=-1, progress=False)


@pytest.mark.parametrize("rendered", [0, 40])
def test_rendered_crops_join_the_pool_without_lengthening_an_epoch(rendered):
    torch.set_num_threads(1)
    from kit.vision.recognizer import code_reader

    # Labelled crops of one flat grey: any crop with texture in a batch was rendered.
    crops = [{"image": np.full((32, 160, 3), 128, np.uint8), "text": "CSQU3054383"}] * 24
    sizes, textured = [], []
    model = code_reader(width=8, hidden=16)
    orig = model.features

    def spy(x):
        sizes.append(x.shape[0])
        textured.append(int((x.std(dim=(2, 3)).amax(dim=1) > 1e-3).sum()))  # colour casts leave grey flat
        return orig(x)

    model.features = spy
    train_reader(model, crops, epochs=1, batch_size=8, rendered_crops=rendered, progress=False)
    assert sizes == [8, 8, 8]                      # 24 crops per epoch, whatever the pool
    if rendered:
        assert 8 <= sum(textured) <= 22            # 24 drawn from 24 grey + 40 rendered: 15 expected
    else:
        assert sum(textured) == 0


@pytest.mark.parametrize("steps", [2, 3, 20])
def test_the_schedule_runs_any_number_of_steps(steps):
    # 20 steps once broke OneCycleLR: its 5 % warm-up was exactly one step (division by zero).
    from kit.vision.recognizer import code_reader

    crops = [{"image": np.full((32, 160, 3), 128, np.uint8), "text": "CSQU3054383"}] * 4
    _, history = train_reader(code_reader(width=8, hidden=16), crops, epochs=steps, batch_size=4,
                              rendered_crops=0, progress=False)
    assert len(history) == steps
