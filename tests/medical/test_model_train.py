import numpy as np
import pytest
import torch
from sklearn.base import clone

from kit.errors import InputDataError, ParameterError
from kit.medical.augment import (Compose, GaussianNoise, RandomAffine, RandomContrast, RandomGamma,
                                 RandomHorizontalFlip, default_augmentation)
from kit.medical.evaluate import auroc
from kit.medical.model import build_model, mobilenet_v3_small, small_cnn
from kit.medical.train import TriageClassifier
from tests.medical.blobs import squares


def test_small_cnn_is_about_0_4_m_parameters_and_mobilenet_takes_one_channel():
    n = sum(p.numel() for p in small_cnn().parameters())
    assert 0.3e6 < n < 0.5e6
    assert small_cnn()(torch.rand(3, 1, 64, 64)).shape == (3,)
    net = mobilenet_v3_small().eval()
    assert net(torch.rand(2, 1, 128, 128)).shape == (2,)
    with pytest.raises(ParameterError, match="resnet"):
        build_model("resnet18")


def test_augmentations_are_seeded_bounded_and_identity_when_neutral():
    x = torch.rand(4, 1, 32, 32)
    aug = default_augmentation()
    a = aug(x, torch.Generator().manual_seed(3))
    b = aug(x, torch.Generator().manual_seed(3))
    c = aug(x, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() <= 1
    neutral = Compose([RandomAffine(0, 0, (1, 1)), RandomGamma(0), RandomContrast((1, 1), 0), GaussianNoise(0)])
    torch.testing.assert_close(neutral(x, torch.Generator().manual_seed(0)), x, atol=1e-5, rtol=0)
    flipped = RandomHorizontalFlip(p=1.0)(x, torch.Generator())
    assert torch.equal(flipped, x.flip(-1))


@pytest.fixture(scope="module")
def fitted():
    x, y = squares()
    clf = TriageClassifier(image_size=32, epochs=8, width=8, batch_size=32, progress=False, seed=1)
    return clf.fit(x, y), x, y


def test_fit_learns_and_proba_is_well_formed(fitted):
    clf, x, y = fitted
    xt, yt = squares(seed=5)
    assert auroc(yt, clf.decision_function(xt)) > 0.95
    proba = clf.predict_proba(xt)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert clf.history_[-1]["train_loss"] < clf.history_[0]["train_loss"]
    assert clone(clf).get_params() == clf.get_params()


def test_same_seed_same_model():
    x, y = squares(n=48)
    a = TriageClassifier(image_size=32, epochs=2, width=4, progress=False, seed=7).fit(x, y)
    b = TriageClassifier(image_size=32, epochs=2, width=4, progress=False, seed=7).fit(x, y)
    np.testing.assert_array_equal(a.decision_function(x), b.decision_function(x))


def test_calibrate_operating_point_save_load_roundtrip(fitted, tmp_path):
    clf, x, y = fitted
    xv, yv = squares(seed=9)
    z_before = clf.decision_function(xv)
    clf.calibrate(xv, yv).set_operating_point(xv, yv, 0.9)
    assert np.array_equal(np.argsort(clf.predict_proba(xv)[:, 1]), np.argsort(z_before))  # ranking unchanged
    sens = clf.predict(xv)[yv == 1].mean()
    assert abs(sens - 0.9) < 1 / yv.sum() + 1e-9  # on the data it was chosen on
    path = clf.save(tmp_path / "model.pt")
    loaded = TriageClassifier.load(path)
    np.testing.assert_array_equal(loaded.decision_function(xv), clf.decision_function(xv))
    assert (loaded.temperature_, loaded.threshold_, loaded.logit_threshold_) == (
        clf.temperature_, clf.threshold_, clf.logit_threshold_)


def test_bad_input_is_refused(tmp_path):
    x, y = squares(n=12)
    with pytest.raises(InputDataError, match="0 or 1"):
        TriageClassifier(image_size=32, epochs=1, progress=False).fit(x, np.full(12, -1))
    with pytest.raises(InputDataError, match="labels"):
        TriageClassifier(image_size=32, epochs=1, progress=False).fit(x, y[:5])
    with pytest.raises(ParameterError, match="arch"):
        TriageClassifier(arch="vgg", progress=False).fit(x, y)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputDataError, match="checkpoint"):
        TriageClassifier.load(tmp_path / "junk.pt")
    with pytest.raises(InputDataError, match="does not exist"):
        TriageClassifier.load(tmp_path / "missing.pt")
