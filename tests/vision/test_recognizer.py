import json

import numpy as np
import pytest
import torch
from PIL import Image

from kit.vision.data import SkipReport
from kit.vision.iso6346 import ALPHABET, is_valid
from kit.vision.recognizer import _interpret, code_accuracy, code_reader, load_code_crops, read_codes, train_reader


def _frames(text, wrong_at=None, wrong_char=None, runner_up=0.3):
    """CTC frame probabilities spelling ``text`` with blanks between characters."""
    C = len(ALPHABET) + 1
    f = np.full((2 * len(text) + 1, C), 1e-4)
    f[:, 0] = 1.0
    for i, ch in enumerate(text):
        row = f[2 * i + 1]
        row[0] = 1e-4
        if i == wrong_at:
            row[1 + ALPHABET.index(wrong_char)] = 1 - runner_up
            row[1 + ALPHABET.index(ch)] = runner_up
        else:
            row[1 + ALPHABET.index(ch)] = 1.0
    return f / f.sum(axis=1, keepdims=True)


def test_interpretation_fixes_one_misread_digit_with_the_check_digit():
    r = _interpret(_frames("CSQU3054383", wrong_at=6, wrong_char="8"), ALPHABET)  # 5 read as 8
    assert r.raw == "CSQU3084383" and not r.raw_valid
    assert r.code == "CSQU3054383" and r.valid and r.corrected
    ok = _interpret(_frames("CSQU3054383"), ALPHABET)
    assert ok.code == ok.raw == "CSQU3054383" and not ok.corrected and ok.confidence > 0.9
    short = _interpret(_frames("CSQU305438"), ALPHABET)
    assert short.code == "" and not short.valid


def test_load_code_crops_sets_bad_items_aside(tmp_path):
    (tmp_path / "crops").mkdir()
    Image.new("RGB", (160, 32), (200, 30, 30)).save(tmp_path / "crops" / "1.png")
    Image.new("RGB", (80, 16)).save(tmp_path / "crops" / "2.png")  # other size: resized
    (tmp_path / "crops" / "3.png").write_bytes(b"not a png")
    crops = [{"id": 1, "file_name": "crops/1.png", "text": "CSQU 305438 3", "split": "test"},
             {"id": 2, "file_name": "crops/2.png", "text": "MSKU1234565", "split": "test"},
             {"id": 3, "file_name": "crops/3.png", "text": "MSKU1234565", "split": "test"},
             {"id": 4, "file_name": "crops/4.png", "text": "MSKU1234565", "split": "test"},
             {"id": 5, "file_name": "crops/1.png", "text": "MSKU12", "split": "test"},
             {"id": 6, "file_name": "crops/1.png", "text": "MSKU1234565", "split": "train"}]
    (tmp_path / "code_crops.json").write_text(json.dumps({"crops": crops}))
    rep = SkipReport()
    got = load_code_crops(tmp_path, "test", report=rep)
    assert [c["id"] for c in got] == [1, 2]
    assert got[0]["text"] == "CSQU3054383" and got[1]["image"].shape == (32, 160, 3)
    assert dict(rep.counts) == {"unreadable_image": 1, "missing_image": 1, "bad_annotation": 1}


def test_reader_learns_on_synthetic_crops(tmp_path):
    from kit.vision.synth import generate

    torch.set_num_threads(1)
    folder = generate(tmp_path, n_images=0, n_code_crops=96, sequence_frames=0, seed=2)
    crops = load_code_crops(folder)
    assert all(is_valid(c["text"]) for c in crops)
    model, hist = train_reader(code_reader(width=16, hidden=48), crops, None, epochs=3, batch_size=32, progress=False)
    assert hist[-1]["loss"] < hist[0]["loss"]
    readings = read_codes(model, [c["image"] for c in crops[:8]])
    assert len(readings) == 8 and 0 <= code_accuracy(readings, [c["text"] for c in crops[:8]]) <= 1
