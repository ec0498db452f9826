import pytest
import torch

from kit.vision.data import CocoDetection
from kit.vision.models import centernet
from kit.vision.train import train_detector


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from kit.vision.synthetic import generate

    return generate(tmp_path_factory.mktemp("tr"), n_images=10, image_size=64, seed=5, n_code_crops=0, sequence_frames=0,
                    split_fractions=(0.6, 0.4, 0.0))


def test_checkpoints_history_and_threshold(folder, tmp_path):
    torch.set_num_threads(1)
    torch.manual_seed(0)  # the network's initial weights; train_detector seeds everything after that itself
    r = train_detector(centernet(4, width=8, head_channels=16), CocoDetection(folder, "train"), CocoDetection(folder, "val"),
                       epochs=2, batch_size=4, image_size=64, checkpoint_dir=tmp_path, progress=False, seed=1)
    assert [h["epoch"] for h in r.history] == [1, 2]
    assert r.history[1]["train_loss"] < r.history[0]["train_loss"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]
    ck = torch.load(r.checkpoint, weights_only=True)
    assert ck["epoch"] == r.best_epoch and ck["score_threshold"] == r.score_threshold
    m = centernet(4, width=8, head_channels=16)
    m.load_state_dict(ck["model"])
    m.eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(m(x)["heatmap"], r.model(x)["heatmap"])  # the best weights are returned
    assert not r.model.training


def test_early_stopping_when_validation_does_not_improve(folder):
    # A learning rate of ~0 cannot improve validation mAP after the first evaluation.
    r = train_detector(centernet(4, width=8, head_channels=16), CocoDetection(folder, "train"), CocoDetection(folder, "val"),
                       epochs=6, batch_size=4, image_size=64, lr=1e-12, patience=1, first_eval=1, progress=False)
    assert r.stopped_early and len(r.history) == 2 and r.best_epoch == 1


def test_validation_starts_in_the_last_quarter_by_default(folder):
    r = train_detector(centernet(4, width=8, head_channels=16), CocoDetection(folder, "train"), CocoDetection(folder, "val"),
                       epochs=8, batch_size=4, image_size=64, eval_every=2, patience=9, progress=False)
    evaluated = [h["epoch"] for h in r.history if h["val_map50"] == h["val_map50"]]  # NaN where not evaluated
    assert evaluated == [6, 8] and r.best_epoch in (6, 8)


def test_training_is_deterministic(folder):
    def run(disturb):
        torch.manual_seed(0)
        m = centernet(4, width=8, head_channels=16)
        torch.rand(disturb)  # the global RNG state differs; train_detector seeds shuffling and augmentation itself
        return train_detector(m, CocoDetection(folder, "train"), None, epochs=1, batch_size=4, image_size=64,
                              progress=False, seed=3).history[0]["train_loss"]

    assert run(1) == run(5)


def test_balanced_loss_weights_rare_classes_up():
    from kit.vision.models import centernet_loss, encode_targets
    from kit.vision.train import balanced_loss

    torch.manual_seed(0)
    out = {k: torch.randn(1, c, 16, 16) for k, c in (("heatmap", 2), ("size", 2), ("offset", 2))}
    # One object per class: the per-class normalization is the plain one.
    t = encode_targets([torch.tensor([[4.0, 4, 20, 20], [36, 36, 60, 52]])], [torch.tensor([1, 2])], 2, (64, 64))
    assert float(balanced_loss(out, t)[0]) == pytest.approx(float(centernet_loss(out, t)[0]), rel=1e-6)
    # Three containers and one truck: the truck's focal loss counts 1/1, not 1/4.
    boxes = torch.tensor([[0.0, 0, 12, 12], [20, 0, 32, 12], [40, 0, 52, 12], [10, 30, 40, 60]])
    t = encode_targets([boxes], [torch.tensor([1, 1, 1, 2])], 2, (64, 64))
    only_truck = {**out, "heatmap": out["heatmap"].clone()}
    only_truck["heatmap"][:, 0] = torch.where(t["heatmap"][:, 0] == 1, 20.0, -20.0)  # containers perfect
    plain, bal = centernet_loss(only_truck, t)[1]["heatmap"], balanced_loss(only_truck, t)[1]["heatmap"]
    assert bal == pytest.approx(plain * 4 / 2, rel=1e-3)  # truck loss / 1 averaged over 2 classes vs / 4


def test_prefetching_batches_changes_nothing(folder):
    def run(prefetch):
        torch.manual_seed(0)
        r = train_detector(centernet(4, width=8, head_channels=16), CocoDetection(folder, "train"), CocoDetection(folder, "val"),
                           epochs=2, batch_size=2, image_size=64, progress=False, seed=2, first_eval=1, prefetch=prefetch)
        return [(h["train_loss"], h["val_map50"]) for h in r.history], r.model.heatmap.weight.detach().clone()

    (h0, w0), (h1, w1) = run(False), run(True)
    assert h0 == h1 and torch.equal(w0, w1)


def test_an_error_while_preparing_batches_reaches_the_caller():
    from kit.ml.training import prefetch

    def items():
        yield 1
        raise ValueError("corrupt sample")

    got = []
    with pytest.raises(ValueError, match="corrupt sample"):
        for i in prefetch(items()):
            got.append(i)
    assert got == [1]


def test_bfloat16_autocast_trains_float32_weights(folder):
    def run(precision):
        torch.manual_seed(0)
        return train_detector(centernet(4, width=8, head_channels=16), CocoDetection(folder, "train"), None,
                              epochs=2, batch_size=2, image_size=64, progress=False, seed=3, precision=precision)

    fp32, bf16 = run("fp32"), run("bf16")
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    assert all(p.dtype == torch.float32 for p in bf16.model.parameters())
    assert bf16.history[1]["train_loss"] < bf16.history[0]["train_loss"]
    # The forward pass really ran in bfloat16 (8 bits of mantissa): losses differ from float32's, but not by much.
    assert fp32.history[0]["train_loss"] != bf16.history[0]["train_loss"]
    assert bf16.history[0]["train_loss"] == pytest.approx(fp32.history[0]["train_loss"], rel=0.05)


def test_an_unknown_precision_is_refused_before_training(folder):
    from kit.errors import ParameterError

    with pytest.raises(ParameterError, match="precision must be one of"):
        train_detector(centernet(4), CocoDetection(folder, "train"), None, epochs=1, precision="int8", progress=False)
