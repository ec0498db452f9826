"""The small code reader deployed for kit bench: ONNX fp32 and int8, its weights and its benchmark sample."""
import numpy as np
import pytest
import torch

from kit.bench_samples import read_bench_samples, sample_names
from kit.onnx import OrtRunner, max_abs_diff, ort_session
from kit.vision.iso6346 import ALPHABET, check_digit
from kit.vision.recognizer import code_reader, read_codes
from kit.vision.recognizer.deploy import deploy_reader, frame_probabilities, rebuild_reader, whole_code_accuracy
from kit.vision.synthetic import random_code, render_code_crop


def _crops(n, seed):
    rng = np.random.default_rng(seed)
    return [{"image": np.asarray(render_code_crop(c, rng, 32, 160)), "text": c, "file_name": f"{i}.png"}
            for i, c in enumerate(random_code(rng) for _ in range(n))]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    torch.manual_seed(0)
    reader = code_reader(width=4, hidden=16, seed=3).eval()
    with torch.no_grad():  # BatchNorm statistics away from their initial values, as after training
        for m in reader.modules():
            if isinstance(m, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    folder = tmp_path_factory.mktemp("reader_run")
    test = _crops(10, 1)
    return reader, folder, test, deploy_reader(reader, _crops(8, 0), test, folder, n_samples=6, n_calibration=8)


def test_deploy_writes_the_models_weights_and_sample(deployed):
    reader, folder, test, out = deployed
    assert {p.name for p in folder.iterdir()} == {"code_reader.onnx", "code_reader_int8.onnx", "code_reader_weights.pt",
                                                 "code_reader_bench_samples.npz", "code_reader_bench_samples.json"}
    assert sample_names(folder) == ["code_reader"]
    arrays, meta = read_bench_samples(folder, "code_reader")
    assert arrays["inputs"].shape == (6, 3, 32, 160) and list(arrays["labels"]) == [c["text"] for c in test[:6]]
    assert meta["task"] == "code_reading" and meta["alphabet"] == ALPHABET and meta["crop_size"] == [32, 160]
    assert out["onnx_max_abs_diff"] < 1e-4 and meta["onnx_max_abs_diff"] == out["onnx_max_abs_diff"]
    x = arrays["inputs"]
    with torch.no_grad():
        ref = reader(torch.from_numpy(x)).numpy()
        again = rebuild_reader(folder, meta)(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(again, ref)  # the saved state_dict rebuilds the same network
    int8 = OrtRunner(ort_session(out["int8"])).numpy(x)[0]
    assert int8.shape == ref.shape and 0 < max_abs_diff(int8, ref) < 0.5 * np.abs(ref).max()


def test_sample_accuracy_is_read_codes_single_pass(deployed):
    reader, folder, test, _ = deployed
    arrays, meta = read_bench_samples(folder, "code_reader")
    with torch.no_grad():
        probs = frame_probabilities(reader(torch.from_numpy(arrays["inputs"])))
    readings = read_codes(reader, [c["image"] for c in test[:6]], row_shifts_px=(0,))
    expected = np.mean([r.code == c["text"] for r, c in zip(readings, test)])
    assert whole_code_accuracy(probs, arrays, meta) == pytest.approx(expected)


def test_whole_code_accuracy_decodes_under_the_check_digit():
    def frames(code, strength=12.0):
        z = np.zeros((40, len(ALPHABET) + 1))
        z[:, 0] = strength
        for i, ch in enumerate(code):
            z[2 * i + 1, 0], z[2 * i + 1, 1 + ALPHABET.index(ch)] = 0, strength
        return z

    codes = [f + str(check_digit(f)) for f in ("CSQU305438", "MSKU123456", "TGHU987654", "ABCU111111")]
    wrong = str((check_digit("TGHU987654") + 1) % 10)
    spelled = [frames(codes[0]), frames(codes[1]), frames("TGHU987654" + wrong), frames(codes[0])]
    spelled[2][21, 1 + ALPHABET.index(codes[2][-1])] = 9.0  # check digit misread, the true one runner-up: put right
    arrays, meta = {"labels": np.array(codes)}, {"alphabet": ALPHABET}
    assert whole_code_accuracy(frame_probabilities(np.stack(spelled)), arrays, meta) == pytest.approx(0.75)
