"""An urgent head fine-tuned on torchxrayvision features: trains, stays frozen where it should, saves, and reports."""

import numpy as np
import pandas as pd
import pytest
import torch

from kit.medical import notebook as nbk
from kit.medical import xrv
from kit.medical.card import model_card
from kit.medical.evaluate import auroc
from kit.medical.xrv_finetune import XrvTriageClassifier
from tests.medical.xrv_weights import write_xrv_cache

SIZE = 64  # pixels: small for test speed; the notebook uses 224


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xrvhome")
    write_xrv_cache(folder, ("densenet121-res224-all", "resnet50-res512-all"), seed=1)
    return folder


def _images(n, seed):
    """Noise; the urgent half carries a bright blob in a random place (what features must pick up)."""
    rng = np.random.default_rng(seed)
    X = (0.3 + 0.1 * rng.standard_normal((n, SIZE, SIZE))).astype(np.float32)
    y = np.arange(n) % 2
    for i in np.flatnonzero(y):
        r, c = rng.integers(8, SIZE - 24, 2)
        X[i, r:r + 16, c:c + 16] += 0.5
    return np.clip(X, 0, 1), y


@pytest.fixture(scope="module")
def fitted(home):
    X, y = _images(96, 0)
    Xv, yv = _images(48, 1)
    torch.set_num_threads(1)
    clf = XrvTriageClassifier(home, image_size=SIZE, epochs=15, progress=False).fit(X, y, Xv, yv)
    return clf.calibrate(Xv, yv).set_operating_point(Xv, yv, 0.9), (X, y, Xv, yv)


def test_head_learns_urgent_on_frozen_features(fitted, home):
    clf, (X, y, Xv, yv) = fitted
    Xt, yt = _images(48, 2)
    assert auroc(yt, clf.decision_function(Xt)) > 0.85
    assert clf.history_[-1]["val_auroc"] > 0.85 and len(clf.history_) == 15
    assert clf.n_parameters() == 1024 + 1  # the head alone
    assert 0 < clf.predict(Xt).mean() < 1
    published = xrv.load_xrv_model(home)[0].state_dict()
    now = clf.model_.backbone.state_dict()
    assert all(torch.equal(now[k], published[k]) for k in published)  # torchxrayvision's weights untouched


def test_features_run_once_per_image(fitted):
    clf, (X, _, Xv, _) = fitted
    calls = []
    hook = clf.model_.backbone.features.conv0.register_forward_hook(lambda m, i, o: calls.append(len(o)))
    try:
        Xt, _ = _images(10, 5)
        clf.decision_function(Xt)
        clf.pathology_probabilities(Xt)
        clf.decision_function(np.concatenate([Xt, X[:5], Xv[:5]]))  # training and validation images: cached at fit
    finally:
        hook.remove()
    assert sum(calls) == 10


def test_last_block_trains_only_the_last_block(home):
    X, y = _images(32, 3)
    clf = XrvTriageClassifier(home / ".torchxrayvision" / "models_data" / xrv.file_names()["resnet50-res512-all"],
                              image_size=SIZE, trainable="last_block", epochs=2, progress=False).fit(X, y)
    published = xrv.load_xrv_model(clf.weights)[0].model.state_dict()
    now = clf.model_.backbone.model.state_dict()
    changed = {k for k in published if not torch.equal(now[k], published[k])}
    assert changed and all(k.startswith("layer4.") for k in changed)
    assert not any("running_" in k for k in changed)  # batch norm keeps torchxrayvision's statistics
    n_layer4 = sum(p.numel() for p in clf.model_.backbone.model.layer4.parameters())
    assert clf.n_parameters() == n_layer4 + 2048 + 1


def test_checkpoint_round_trip_without_the_weights_file(fitted, tmp_path, no_network):
    clf, (X, *_) = fitted
    path = clf.save(tmp_path / "model.pt")
    loaded = nbk.load_model(path, backend=None)
    assert isinstance(loaded, XrvTriageClassifier) and nbk.is_fitted(loaded)
    np.testing.assert_allclose(loaded.decision_function(X[:8]), clf.decision_function(X[:8]), rtol=1e-5, atol=1e-5)
    assert loaded.logit_threshold_ == clf.logit_threshold_ and loaded.temperature_ == clf.temperature_
    pd.testing.assert_frame_equal(loaded.pathology_probabilities(X[:4]), clf.pathology_probabilities(X[:4]))


def test_load_model_tells_the_three_kinds_apart(home, tmp_path, no_network):
    from kit.errors import InputDataError
    from kit.medical.train import TriageClassifier

    fresh = nbk.load_model(home, backend=None)
    assert isinstance(fresh, XrvTriageClassifier) and not nbk.is_fitted(fresh)
    X, y = _images(16, 4)
    small = TriageClassifier(image_size=32, epochs=1, width=4, progress=False).fit(X, y)
    small.save(tmp_path / "cnn.pt")
    assert type(nbk.load_model(tmp_path / "cnn.pt", backend=None)) is TriageClassifier
    assert nbk.load_model(None, backend=None) is None
    with pytest.raises(InputDataError, match="torchxrayvision weights"):
        nbk.load_model(tmp_path / "nothing-here", backend=None)


def test_pathology_table_beside_ours(fitted, tmp_path):
    clf, (X, *_) = fitted
    table = pd.DataFrame({"study_uid": ["s1", "s1", "s2", "s3"]})
    z = clf.decision_function(X[:4])
    studies = nbk.study_scores(table, z, clf.temperature_)
    new_id = pd.Series({"s1": "d1", "s2": "d2", "s3": "d3"})
    view = nbk.pathology_table(clf, X[:4], table, studies, new_id, tmp_path / "xrv_pathologies.csv")
    assert sorted(view.deid_study_uid) == ["d1", "d2", "d3"]
    assert list(view.columns) == ["deid_study_uid", "p_urgent", "xrv_1", "xrv_2", "xrv_3"]
    saved = pd.read_csv(tmp_path / "xrv_pathologies.csv")
    probs = clf.pathology_probabilities(X[:4])
    assert list(saved.columns) == ["deid_study_uid", "p_urgent", *probs.columns] and len(probs.columns) == 18
    # study s1 is represented by its higher-scoring image, as the worklist is
    pick = int(np.argmax(z[:2]))
    row = saved.set_index("deid_study_uid").loc["d1"]
    np.testing.assert_allclose(row[probs.columns].to_numpy(float), probs.iloc[pick].to_numpy(), atol=1e-4)
    top = view.set_index("deid_study_uid").loc["d1", "xrv_1"]
    best = probs.iloc[pick].idxmax()
    assert top.startswith(best) or probs.iloc[pick][top.rsplit(" ", 1)[0]] == probs.iloc[pick].max()
    assert nbk.pathology_table(object(), X[:4], table, studies, new_id) is None


def test_model_card_names_the_weights(fitted):
    clf, _ = fitted
    card = model_card({"auroc": 0.9}, pd.DataFrame(), data={"source": "synthetic"},
                      model={"arch": clf.arch, "n_parameters": clf.n_parameters(), "image_size": SIZE,
                             "epochs": clf.epochs, **nbk.card_extras(clf)})
    assert "torchxrayvision `densenet121-res224-all`" in card and "fine-tuned (head)" in card
    assert "NIH ChestX-ray14, PadChest, CheXpert" in card and "Apache-2.0" in card and "Cohen" in card
    assert "trained from scratch" not in card


def test_grad_cam_and_onnx_export_of_the_fine_tuned_network(fitted, tmp_path):
    from kit.medical import gradcam, onnx
    from kit.medical.train import to_tensor

    clf, (X, *_) = fitted
    x = to_tensor(X[:4], SIZE)
    cams = gradcam.grad_cam(clf.model_, x)
    assert cams.shape == (4, SIZE, SIZE) and np.isfinite(cams).all() and cams.max() > 0
    path = onnx.export_onnx(clf.model_, tmp_path / "xrv.onnx", SIZE)
    np.testing.assert_allclose(onnx.OnnxTriageModel(path).decision_function(X[:4]), clf.decision_function(X[:4]),
                               rtol=1e-3, atol=1e-3)


def test_each_classifier_refuses_the_others_checkpoint(tmp_path):
    from kit.errors import InputDataError
    from kit.medical.train import CHECKPOINT_FORMAT, TriageClassifier

    ours = tmp_path / "ours.pt"
    torch.save({"format": CHECKPOINT_FORMAT}, ours)
    with pytest.raises(InputDataError, match="not a kit.medical torchxrayvision triage checkpoint; give a file "
                                             "written by XrvTriageClassifier.save"):
        XrvTriageClassifier.load(ours)
    theirs = tmp_path / "theirs.pt"
    torch.save({"format": "kit.medical.XrvTriageClassifier/1"}, theirs)
    with pytest.raises(InputDataError, match="not a kit.medical triage checkpoint; give a file written by "
                                             "TriageClassifier.save"):
        TriageClassifier.load(theirs)
