"""End to end on generated DICOM files, at a reduced size (slow): AUROC and operating point, int8 agreement and speed, Grad-CAM."""
import numpy as np
import pytest
import torch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from kit.medical import ingest_folder, read_labels, synth_chest_xrays
    from kit.medical.notebook import attach_labels, split_by_patient
    from kit.medical.train import TriageClassifier

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("pacs")
    # The easier end of the set (no subtle findings, clean labels): this tests the pipeline, not the set's
    # difficulty (benchmarks/medical_synthetic_difficulty.py and notebook 05's floors measure that).
    synth_chest_xrays(folder, n_studies=1000, image_size=128, prevalence=0.4, seed=21, min_severity=0.6,
                      label_noise=0.0)
    data = ingest_folder(folder, image_size=64)
    y = attach_labels(data.table, read_labels(folder / "labels.csv"))
    split = split_by_patient(data.table, fractions=(0.6, 0.2, 0.2), seed=21)
    tr, va, te = (split == s for s in ("train", "val", "test"))
    clf = TriageClassifier(image_size=64, epochs=8, progress=False, seed=21).fit(data.images[tr], y[tr])
    clf.calibrate(data.images[va], y[va]).set_operating_point(data.images[va], y[va], 0.9)
    return clf, data.images, y, va, te, tmp_path_factory.mktemp("onnx")


def test_auroc_and_operating_point_on_held_out_patients(trained):
    from kit.medical.evaluate import auroc_bootstrap, operating_point_metrics

    clf, X, y, _, te, _ = trained
    z = clf.decision_function(X[te])
    auc, low, high = auroc_bootstrap(y[te], z, n_boot=500)
    assert auc >= 0.9 and low <= auc <= high
    op = operating_point_metrics(y[te], z, clf.logit_threshold_)
    # ~80 urgent studies in each of validation and test: sampling alone gives a standard deviation
    # of about 4.7 points on the test sensitivity, so 12 points is 2.5 standard deviations.
    assert abs(op["sensitivity"] - 0.9) <= 0.12


def test_int8_keeps_auroc_and_is_faster_than_torch(trained):
    from kit.medical.evaluate import auroc
    from kit.medical.onnx import OnnxTriageModel, export_onnx, images_per_second, quantize_int8, torch_predictor

    clf, X, y, va, te, folder = trained
    fp32 = export_onnx(clf.model_, folder / "m.onnx", 64)
    int8 = quantize_int8(fp32, folder / "m8.onnx", X[va][:200])
    ort8 = OnnxTriageModel(int8)
    assert abs(auroc(y[te], ort8.decision_function(X[te])) - auroc(y[te], clf.decision_function(X[te]))) <= 0.01
    torch_ips = images_per_second(torch_predictor(clf.model_, 64, threads=1), X[te], min_seconds=0.3)
    int8_ips = images_per_second(ort8.decision_function, X[te], min_seconds=0.3)
    assert int8_ips > 1.5 * torch_ips  # target >= 2x; margin for a shared machine (benchmarks/ prints the ratio)


def test_grad_cam_points_at_the_finding(trained):
    from kit.medical.gradcam import grad_cam, heatmap_mass_in
    from kit.medical.synthetic import render_chest

    clf = trained[0]
    rng = np.random.default_rng(5)
    images, masks = [], []
    for i in range(24):
        img, mask = render_chest(rng, 64, ("opacity", "effusion", "pneumothorax")[i % 3])
        images.append(img)
        masks.append(mask)
    images, masks = np.stack(images).astype(np.float32), np.stack(masks)
    cams = grad_cam(clf.model_, images)
    inside = heatmap_mass_in(cams, masks)
    area = masks.reshape(len(masks), -1).mean(1)
    # The heatmap puts far more of its weight on the finding than its share of the image.
    assert np.nanmean(inside) > 2 * area.mean()
