"""The shared Torch training engine: epochs, evaluation schedule, early stopping, best weights, checkpoints, precision."""
import math

import array_api_compat.numpy as xp
import pytest
import torch

from kit.backend import Backend
from kit.errors import InputDataError, ParameterError
from kit.ml.checkpoints import load_checkpoint
from kit.ml.step import TrainStep, autocast, resolve_precision
from kit.ml.training import Validation, evaluate, fit, prefetch, seed_everything, train_epoch


def _data(n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    return x, x @ torch.tensor([[1.0], [-2.0], [0.5]])


def _setup(lr=0.05, precision="fp32", seen=None):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    x, y = _data()

    def forward(m, batch):
        if seen is not None:
            seen.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
        return m(batch[0])

    step = TrainStep(torch.optim.SGD(model.parameters(), lr=lr), forward,
                     lambda out, batch: ((out.float() - batch[1]) ** 2).mean(), precision=precision)
    return model, step, lambda epoch: [(x[:8], y[:8]), (x[8:], y[8:])]


class Scripted:
    """Validation metrics read from a list, one per evaluation; remembers the weights it saw."""

    def __init__(self, scores):
        self.scores, self.seen, self.weights = list(scores), [], []

    def __call__(self, model):
        self.weights.append(model.weight.detach().clone())
        score = self.scores[len(self.seen)]
        self.seen.append(score)
        return {"val_score": score}


def test_patience_stops_at_the_right_epoch_and_the_best_weights_come_back():
    model, step, batches = _setup()
    metrics = Scripted([0.2, 0.5, 0.4, 0.45, 0.3, 0.9])
    r = fit(model, batches, step, epochs=6, validation=Validation(metrics, "val_score", patience=2))
    assert r.stopped_early and [h["epoch"] for h in r.history] == [1, 2, 3, 4]
    assert r.best_epoch == 2 and r.best_score == 0.5
    assert [h["val_score"] for h in r.history] == [0.2, 0.5, 0.4, 0.45]
    assert torch.equal(r.model.weight, metrics.weights[1])          # epoch 2's weights, not the last ones
    assert not torch.equal(r.model.weight, metrics.weights[-1])
    assert not r.model.training


def test_min_epochs_postpones_the_stop_and_nan_never_improves():
    model, step, batches = _setup()
    r = fit(model, batches, step, epochs=8,
            validation=Validation(Scripted([0.2, 0.5, 0.4, 0.45, 0.3, 0.9, 0.1, 0.1]), "val_score", patience=2,
                                  min_epochs=5))
    assert r.stopped_early and len(r.history) == 5 and r.best_epoch == 2
    model, step, batches = _setup()
    r = fit(model, batches, step, epochs=3, validation=Validation(Scripted([math.nan] * 3), "val_score", patience=2))
    assert r.stopped_early and len(r.history) == 2 and r.best_score is None and r.best_epoch == 2  # NaN counts as no gain


def test_evaluation_schedule_and_cpu_budget():
    model, step, batches = _setup()
    metrics = Scripted([0.1, 0.2, 0.3])
    r = fit(model, batches, step, epochs=6, validation=Validation(metrics, "val_score", first_epoch=3, every=2))
    assert [h["epoch"] for h in r.history if "val_score" in h] == [3, 5, 6]    # and always the last epoch
    assert not r.stopped_early and r.best_epoch == 6
    model, step, batches = _setup()
    r = fit(model, batches, step, epochs=6, max_cpu_seconds=0.0, validation=Validation(Scripted([0.4]), "val_score",
                                                                                      first_epoch=4))
    assert len(r.history) == 1 and r.history[0]["val_score"] == 0.4 and not r.stopped_early


def test_without_a_monitor_the_last_weights_stay():
    model, step, batches = _setup()
    metrics = Scripted([0.9, 0.1, 0.1])
    r = fit(model, batches, step, epochs=3, validation=Validation(metrics), history_row=lambda row: {"e": row["epoch"]})
    assert r.best_epoch == 3 and r.best_score is None and r.history == [{"e": 1}, {"e": 2}, {"e": 3}]
    assert torch.equal(r.model.weight, metrics.weights[-1])


def test_checkpoints_are_written_and_reload(tmp_path):
    model, step, batches = _setup()
    r = fit(model, batches, step, epochs=4, checkpoint_dir=tmp_path / "ck",
            validation=Validation(Scripted([0.3, 0.6, 0.5, 0.4]), "val_score"))
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["best.pt", "last.pt"]
    fresh = torch.nn.Linear(3, 1)
    best = load_checkpoint(tmp_path / "ck" / "best.pt", fresh)
    assert best["epoch"] == 2 and best["val_score"] == 0.6
    assert torch.equal(fresh.weight, r.model.weight) and torch.equal(fresh.bias, r.model.bias)
    assert load_checkpoint(tmp_path / "ck" / "last.pt")["epoch"] == 4
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputDataError, match="checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def _backend(precision):
    return Backend("cpu", xp, "cpu", "test", precision, "test")


def test_the_backend_precision_decides_the_autocast():
    assert resolve_precision(_backend("bf16")) == "bf16" and resolve_precision(_backend("fp32")) == "fp32"
    runs = {}
    for precision in ("fp32", "bf16"):
        seen = []
        model, step, batches = _setup(precision=resolve_precision(_backend(precision)), seen=seen)
        runs[precision] = fit(model, batches, step, epochs=1).history[0]["train_loss"]
        assert seen and all(s == seen[0] for s in seen)
        enabled, dtype = seen[0]
        assert enabled == (precision == "bf16")
        if enabled:
            assert dtype == torch.bfloat16
        assert all(p.dtype == torch.float32 for p in model.parameters())   # weights stay float32
    assert runs["fp32"] != runs["bf16"]
    with pytest.raises(ParameterError, match="precision must be one of"):
        autocast("cpu", "int8")


def test_bf16_steps_get_the_float32_gradient_of_convolutions_on_maps_smaller_than_their_stride():
    """oneDNN's bfloat16 weight gradient of a stride-2 convolution on a 1 x 1 map is unwritten memory (NaN or up
    to 1e30) in most draws: the step computes those in float32, and every weight gets its float32 gradient."""
    torch.manual_seed(0)
    for _ in range(8):
        net = torch.nn.Sequential(torch.nn.Conv2d(32, 32, 3, stride=2, padding=1), torch.nn.Conv2d(32, 8, 1),
                                  torch.nn.Flatten(), torch.nn.Linear(8, 1))
        x = torch.randn(2, 32, 1, 1)
        net(x).sum().backward()
        want = [p.grad.clone() for p in net.parameters()]
        seen = []
        handle = net[1].register_forward_hook(lambda m, a, out: seen.append(out.dtype))
        step = TrainStep(torch.optim.SGD(net.parameters(), lr=0.0), lambda m, b: m(b[0]), lambda out, b: out.sum(),
                         precision="bf16")
        step(net, (x,))
        handle.remove()
        assert seen == [torch.bfloat16]  # the layers on larger-than-stride inputs stay in bfloat16
        for p, g in zip(net.parameters(), want):
            torch.testing.assert_close(p.grad, g, rtol=0.05, atol=0.05)


def test_train_epoch_weights_the_loss_by_batch_size():
    model = torch.nn.Linear(1, 1, bias=False)
    step = TrainStep(torch.optim.SGD(model.parameters(), lr=0.0), lambda m, b: m(b[0]),
                     lambda out, b: out.mean() * 0 + b[1])
    batches = [(torch.zeros(3, 1), torch.tensor(1.0)), (torch.zeros(1, 1), torch.tensor(5.0))]
    assert train_epoch(model, batches, step) == pytest.approx((3 * 1 + 1 * 5) / 4)
    assert model.training
    assert evaluate(model, lambda m: {"grad": torch.is_grad_enabled(), "training": m.training}) == {
        "grad": False, "training": False}


def test_seeding_repeats_the_draws_and_fit_refuses_no_epochs():
    gen = seed_everything(5)
    a, g = torch.rand(2), torch.rand(2, generator=gen)
    gen = seed_everything(5, python_and_numpy=False)
    assert torch.equal(torch.rand(2), a) and torch.equal(torch.rand(2, generator=gen), g)
    model, step, batches = _setup()
    with pytest.raises(ParameterError, match="epochs"):
        fit(model, batches, step, epochs=0)


def test_prefetch_keeps_the_order_and_raises_errors():
    assert list(prefetch(iter(range(7)), depth=2)) == list(range(7))

    def broken():
        yield 1
        raise ValueError("corrupt sample")

    with pytest.raises(ValueError, match="corrupt sample"):
        list(prefetch(broken()))


def test_weight_average_is_evaluated_kept_and_returned():
    from kit.ml.step import WeightAverage

    model, _, batches = _setup()
    step = TrainStep(torch.optim.SGD(model.parameters(), lr=0.05), lambda m, b: m(b[0]),
                     lambda out, b: ((out.float() - b[1]) ** 2).mean(), ema_decay=0.5)
    raw = []
    metrics = Scripted([0.1, 0.2, 0.3])
    # Track the raw weights after each update by hand: the average follows d = min(0.5, (1+n)/(10+n)).
    torch.manual_seed(0)
    ref = torch.nn.Linear(3, 1)
    avg = None
    opt = torch.optim.SGD(ref.parameters(), lr=0.05)
    n = 0
    for _ in range(3):
        for x, y in batches(0):
            opt.zero_grad()
            ((ref(x) - y) ** 2).mean().backward()
            opt.step()
            n += 1
            w = ref.weight.detach().clone()
            avg = w if avg is None else avg.lerp(w, 1 - min(0.5, (1 + n) / (10 + n)))
            raw.append(w)
    r = fit(model, batches, step, epochs=3, validation=Validation(metrics, "val_score"))
    torch.testing.assert_close(metrics.weights[-1], avg)          # the average is what was evaluated
    torch.testing.assert_close(r.model.weight, avg)                # and what comes back
    assert not torch.allclose(r.model.weight, raw[-1])
    with pytest.raises(ParameterError, match="ema_decay"):
        WeightAverage(1.0)
