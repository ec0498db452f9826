"""Tiny run folders as the notebooks' deployment steps leave them (checkpoint, ONNX fp32 and int8, benchmark sample)."""
import numpy as np
import pytest

from tests.medical.blobs import squares


@pytest.fixture(scope="session")
def triage_run(tmp_path_factory):
    """A radiology_triage run folder: model.pt, bench_samples, model_fp32.onnx and model_int8.onnx."""
    from kit.medical import onnx
    from kit.medical.train import TriageClassifier

    folder = tmp_path_factory.mktemp("triage_run")
    x, y = squares()
    xv, yv = squares(n=48, seed=1)
    clf = TriageClassifier(image_size=32, epochs=3, width=4, batch_size=32, progress=False, seed=0).fit(x, y)
    clf.calibrate(xv, yv).set_operating_point(xv, yv, 0.9)
    clf.save(folder / "model.pt")  # writes bench_samples.npz/.json beside it
    fp32 = onnx.export_onnx(clf.model_, folder / "model_fp32.onnx", 32)
    onnx.quantize_int8(fp32, folder / "model_int8.onnx", xv[:32])
    return folder


@pytest.fixture(scope="session")
def detector_run(tmp_path_factory):
    """A logistics_vision run folder: a small untrained CenterNet exported whole, its int8 copy and the sample."""
    import torch

    from kit import onnx
    from kit.vision.bench_sample import write_detector_sample
    from kit.vision.data import CocoDetection, eval_transforms
    from kit.vision.models.anchor_free import centernet
    from kit.vision.synthetic import generate

    data = generate(tmp_path_factory.mktemp("scenes"), n_images=12, image_size=64, n_code_crops=0, sequence_frames=0)
    folder = tmp_path_factory.mktemp("detector_run")
    test = CocoDetection(data, None, transforms=eval_transforms(32))
    torch.manual_seed(0)
    model = centernet(len(test.index.categories), width=4, head_channels=8).eval()
    path = onnx.export_onnx(model, folder / "model.onnx", torch.rand(1, 3, 32, 32),
                            output_names=("heatmap", "size", "offset"))
    calib = torch.stack([test[i]["image"].as_subclass(torch.Tensor) for i in range(8)]).numpy()
    onnx.quantize_int8(path, folder / "model_int8.onnx", calib)
    write_detector_sample(model, test, folder, image_size=32, split=False, n_images=8)
    return folder


def _code_crops(n, rng):
    from kit.vision.synthetic import random_code, render_code_crop

    return [{"image": np.asarray(render_code_crop(code, rng, 32, 160)), "text": code, "file_name": f"{i}.png"}
            for i, code in enumerate(random_code(rng) for _ in range(n))]


@pytest.fixture(scope="session")
def logistics_run(detector_run, tmp_path_factory):
    """A logistics_vision run folder with both models: the detector's files and a code reader trained for one step."""
    import shutil

    import torch

    from kit.vision.codes import read_test_codes

    folder = tmp_path_factory.mktemp("logistics_run") / "run"
    shutil.copytree(detector_run, folder)
    rng = np.random.default_rng(0)
    crops = {"train": _code_crops(8, rng), "val": _code_crops(4, rng), "test": _code_crops(12, rng)}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:  # the notebook's call, one epoch of 8 crops: one step
        codes, _ = read_test_codes("small", crops, epochs=1, output_dir=folder)
    finally:
        torch.set_num_threads(threads)
    return folder, codes
