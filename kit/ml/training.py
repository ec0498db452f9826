"""The Torch training engine of the kit's networks: one epoch, one evaluation, and the fit loop around them.

Split as in MONAI, ignite or Lightning Fabric: the sector code supplies what
differs between networks (the model, the batches of an epoch, the forward
pass and the loss, the validation metrics, the learning-rate schedule); the
engine does what is the same for all of them:

- :func:`seed_everything`: Torch's global random state (and Python's and
  NumPy's) and a generator for shuffling and augmentation, from one seed.
- :class:`kit.ml.step.TrainStep`: one optimizer update in the autocast
  precision of the run's :class:`kit.backend.Backend`.
- :func:`train_epoch` and :func:`evaluate`: one pass over the training
  batches; validation metrics in eval mode without gradients.
- :func:`fit`: the epochs, evaluation on a schedule (:class:`Validation`),
  the best epoch's weights kept in memory by a validation metric and
  optionally written (``best.pt``, ``last.pt``, see
  :mod:`kit.ml.checkpoints`), early stopping, a CPU-time budget, and a
  ``tqdm.auto`` progress bar (:class:`Progress`).
- :func:`prefetch`: batches prepared in a background thread.

The engine draws no random number itself: every draw happens in the sector's
batches and forward pass, in the order they make them, so a training run is
repeatable bit for bit on one machine. Torch is imported inside the
functions, so importing this module (or :mod:`kit.ml`) does not import it.
"""
from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kit.errors import ParameterError
from kit.ml.checkpoints import save_checkpoint

__all__ = ["FitResult", "Progress", "Validation", "evaluate", "fit", "prefetch", "seed_everything", "train_epoch"]


def seed_everything(seed: int, *, python_and_numpy: bool = True):
    """Seed Torch's global random state, and Python's and NumPy's, from ``seed``.

    Parameters
    ----------
    seed : int
    python_and_numpy : bool
        Also seed :mod:`random` and NumPy's global state (networks whose data
        pipeline may draw from them); ``False`` leaves them as they are.

    Returns
    -------
    torch.Generator
        A new CPU generator seeded with ``seed``, for shuffling and
        augmentation apart from the global state (which layers such as
        dropout, and torchvision's transforms, draw from).

    Examples
    --------
    >>> import torch
    >>> gen = seed_everything(3)
    >>> a, g = torch.rand(1), torch.rand(1, generator=gen)
    >>> gen = seed_everything(3)
    >>> bool(torch.rand(1) == a), bool(torch.rand(1, generator=gen) == g)
    (True, True)
    """
    import torch

    if python_and_numpy:
        random.seed(seed)
        np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def train_epoch(model, batches: Iterable, step, on_batch: Callable | None = None) -> float:
    """One pass over ``batches`` in training mode; the mean loss per sample.

    Parameters
    ----------
    model : torch.nn.Module
    batches : iterable of tuple
        Each batch is a tuple whose first item holds the inputs: its length
        is the number of samples the batch's loss is weighted by.
    step : kit.ml.step.TrainStep
    on_batch : callable, optional
        Called with 1 after every update (a per-batch progress bar).

    Returns
    -------
    float
        Sum over batches of loss × batch size, over the number of samples.
    """
    model.train()
    total, n = 0.0, 0
    for batch in batches:
        loss = step(model, batch)
        total += float(loss.detach()) * len(batch[0])
        n += len(batch[0])
        if on_batch is not None:
            on_batch(1)
    return total / max(n, 1)


def evaluate(model, metrics: Callable) -> dict:
    """Validation metrics of ``model``, computed in eval mode without gradients.

    Parameters
    ----------
    model : torch.nn.Module
    metrics : callable
        ``metrics(model) -> {name: value}`` (the sector's inference and
        scoring, e.g. mAP@0.5 or whole-code accuracy on the validation split).

    Returns
    -------
    dict
    """
    import torch

    model.eval()
    with torch.no_grad():
        return dict(metrics(model))


@dataclass
class Validation:
    """When a fit evaluates, which metric picks the best epoch, and when it stops early.

    Attributes
    ----------
    metrics : callable
        ``metrics(model) -> {name: value}``, see :func:`evaluate`.
    monitor : str, optional
        Metric (larger is better) whose best epoch's weights are kept and
        restored at the end; ``None`` keeps the last epoch's weights.
    first_epoch : int
        First epoch evaluated; after it, every ``every`` epochs, and always
        the last epoch run.
    every : int
    patience : int, optional
        Stop after this many evaluations in a row without a better
        ``monitor``; ``None`` never stops early.
    min_epochs : int
        Never stop early before this epoch.
    """

    metrics: Callable
    monitor: str | None = None
    first_epoch: int = 1
    every: int = 1
    patience: int | None = None
    min_epochs: int = 0

    def due(self, epoch: int, last: bool) -> bool:
        """Whether ``epoch`` is evaluated."""
        return last or (epoch >= self.first_epoch and (epoch - self.first_epoch) % self.every == 0)


@dataclass
class Progress:
    """A ``tqdm.auto`` bar over a fit.

    Attributes
    ----------
    desc : str
        The bar's label.
    postfix : callable, optional
        ``postfix(history_row) -> {name: value}`` shown beside the bar after every epoch.
    batches : int, optional
        Count batches, this many in the whole fit (the bar then updates on
        tqdm's timer); ``None`` counts epochs, one line per epoch, so a
        stored notebook output has the same lines on every run.
    show : bool
    """

    desc: str
    postfix: Callable | None = None
    batches: int | None = None
    show: bool = True

    def open(self, epochs: int):
        from tqdm.auto import tqdm

        if self.batches is not None:
            return tqdm(total=self.batches, desc=self.desc, unit="batch", disable=not self.show)
        return tqdm(total=epochs, disable=not self.show, desc=self.desc, unit="epoch", mininterval=0)

    def epoch_done(self, bar, row: dict) -> None:
        """Show the epoch's postfix (and count the epoch, on an epoch bar)."""
        if self.batches is not None:
            if self.postfix is not None:
                bar.set_postfix(self.postfix(row))
            return
        if self.postfix is not None:
            bar.set_postfix(self.postfix(row), refresh=False)
        bar.update(1)


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    model : torch.nn.Module
        In eval mode, with the best epoch's weights when a metric was monitored.
    history : list of dict
        One row per epoch run (see ``history_row`` of :func:`fit`).
    best_epoch : int
        The epoch whose weights ``model`` holds (the last one when no
        evaluation improved on the ones before or nothing was monitored).
    best_score : float or None
        The monitored metric at ``best_epoch``; ``None`` when no evaluation improved.
    stopped_early : bool
    """

    model: object
    history: list
    best_epoch: int
    best_score: float | None = None
    stopped_early: bool = False


@dataclass
class _Best:
    """The best epoch so far by one metric, its weights, and the evaluations since."""

    validation: Validation
    checkpoint_dir: Path | None
    score: float = -float("inf")
    epoch: int | None = None
    state: dict | None = None
    evaluations_since: int = 0

    def update(self, epoch: int, metrics: dict, model) -> None:
        score = metrics[self.validation.monitor]
        if score > self.score:  # NaN never improves
            self.score, self.epoch, self.evaluations_since = score, epoch, 0
            self.state = copy.deepcopy(model.state_dict())
            if self.checkpoint_dir is not None:
                save_checkpoint(self.checkpoint_dir / "best.pt", self.state, epoch=epoch,
                                **{self.validation.monitor: score})
        else:
            self.evaluations_since += 1

    def patience_ran_out(self, epoch: int) -> bool:
        v = self.validation
        return v.patience is not None and self.evaluations_since >= v.patience and epoch >= v.min_epochs


def fit(model, batches: Callable, step, *, epochs: int, validation: Validation | None = None,
        checkpoint_dir=None, max_cpu_seconds: float | None = None, cpu_start: float | None = None,
        progress: Progress | None = None, history_row: Callable | None = None) -> FitResult:
    """Train ``model`` for up to ``epochs`` epochs.

    Per epoch: :func:`train_epoch` over ``batches(epoch)``; the CPU budget
    checked; an evaluation when ``validation`` says it is due (and at the last
    epoch run), which may keep the weights as the best so far; the progress
    bar and the history row; ``last.pt``; then the stop checks (last epoch,
    CPU budget, patience). At the end the best weights are restored.

    Parameters
    ----------
    model : torch.nn.Module
        On its device already.
    batches : callable
        ``batches(epoch) -> iterable`` of batches (see :func:`train_epoch`),
        called at the start of each epoch, so an epoch's shuffle is drawn
        after the previous epoch's augmentations.
    step : kit.ml.step.TrainStep
    epochs : int
    validation : Validation, optional
    checkpoint_dir : path, optional
        Where ``best.pt`` (at every improvement: ``{"model": state_dict,
        "epoch", <monitor>: score}``) and ``last.pt`` (every epoch:
        ``{"model", "epoch"}``) are written atomically, see
        :func:`kit.ml.checkpoints.save_checkpoint`.
    max_cpu_seconds : float, optional
        Stop after the epoch in which the process CPU time since
        ``cpu_start`` reaches this budget.
    cpu_start : float, optional
        ``time.process_time()`` the budget counts from (default: now).
    progress : Progress, optional
        No bar when omitted.
    history_row : callable, optional
        ``history_row(row) -> dict`` turning the engine's row (``epoch``,
        ``train_loss``, the metrics when evaluated, ``lr``, ``cpu_s``,
        ``wall_s``) into the sector's.

    Returns
    -------
    FitResult
    """
    if epochs < 1:
        raise ParameterError(f"epochs must be >= 1, got {epochs}")
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    best = _Best(validation, ckpt_dir) if validation is not None and validation.monitor is not None else None
    progress = progress if progress is not None else Progress("train", show=False)
    bar = progress.open(epochs)
    cpu0 = time.process_time() if cpu_start is None else cpu_start
    wall0 = time.perf_counter()
    history, stopped, epoch = [], False, 0
    for epoch in range(1, epochs + 1):
        train_loss = train_epoch(model, batches(epoch), step, bar.update if progress.batches is not None else None)
        out_of_time = max_cpu_seconds is not None and time.process_time() - cpu0 >= max_cpu_seconds
        last = epoch == epochs or out_of_time
        metrics = {}
        scored = step.scored_model(model) if hasattr(step, "scored_model") else model
        if validation is not None and validation.due(epoch, last):
            metrics = evaluate(scored, validation.metrics)
            if best is not None:
                best.update(epoch, metrics, scored)
        row = {"epoch": epoch, "train_loss": train_loss, **metrics, "lr": step.lr,
               "cpu_s": time.process_time() - cpu0, "wall_s": time.perf_counter() - wall0}
        row = history_row(row) if history_row is not None else row
        progress.epoch_done(bar, row)
        history.append(row)
        if ckpt_dir is not None:
            save_checkpoint(ckpt_dir / "last.pt", scored.state_dict(), epoch=epoch)
        if last:
            break
        if best is not None and best.patience_ran_out(epoch):
            stopped = True
            break
    bar.close()
    if scored is not model:  # a weight average: the model returned holds it
        model.load_state_dict(scored.state_dict())
    return _finish(model, history, best, epoch, stopped)


def _finish(model, history, best: _Best | None, last_epoch: int, stopped: bool) -> FitResult:
    """Restore the best weights (if any epoch improved), switch to eval mode, and report."""
    if best is not None and best.state is not None:
        model.load_state_dict(best.state)
        best_epoch, best_score = best.epoch, best.score
    else:
        best_epoch, best_score = last_epoch, None
    model.eval()
    return FitResult(model, history, best_epoch, best_score, stopped)


def prefetch(items: Iterable, depth: int = 2):
    """Iterate ``items`` while a background thread prepares the next ``depth`` ones.

    Batches are augmented and encoded in that thread while the main one
    trains on the previous batch (Torch releases the GIL in its kernels), in
    the same order and with the same random draws as without it, so results
    do not change, provided the training step itself draws from no random
    state the batches draw from. An error in the thread is raised here.
    """
    import queue
    import threading

    import torch

    q = queue.Queue(maxsize=depth)
    end = object()
    threads = torch.get_num_threads()

    def work():
        # One thread here: a second OpenMP team beside the training one slows a 2-thread epoch by about 30 %.
        torch.set_num_threads(1)
        try:
            for item in items:
                q.put((True, item))
        except BaseException as exc:  # handed to the consumer, which raises it
            q.put((False, exc))
        finally:
            torch.set_num_threads(threads)  # the count new threads start from, as the caller had it
        q.put((True, end))

    threading.Thread(target=work, daemon=True).start()
    while True:
        ok, item = q.get()
        if not ok:
            raise item
        if item is end:
            return
        yield item
