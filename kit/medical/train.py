"""A scikit-learn style estimator around the triage network: fit, calibrate, predict_proba.

``X`` is a stack of display images ``(n, H, W)`` float32 in [0, 1] (as
:func:`kit.medical.ingest_folder` returns them); ``y`` is 0/1 (1 = urgent).
Images of another size are resized to ``image_size`` with area averaging.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin

from kit.errors import InputDataError, ParameterError
from kit.i18n import _
from kit.medical.augment import default_augmentation
from kit.medical.calibrate import apply_temperature, fit_temperature
from kit.medical.evaluate import auroc, operating_threshold
from kit.medical.model import ARCHITECTURES, build_model

CHECKPOINT_FORMAT = "kit.medical.TriageClassifier/1"


def _history_row(row: dict) -> dict:
    """``epoch, train_loss`` and, with validation images, ``val_loss, val_auroc``."""
    return {k: row[k] for k in ("epoch", "train_loss", "val_loss", "val_auroc") if k in row}


def _postfix(row: dict) -> dict:
    return {k: round(v, 3) for k, v in row.items() if k != "epoch"}


def read_checkpoint(path, fmt: str, writer: str, kind: str) -> dict:
    """A triage checkpoint's state, or a one-line error naming the class whose ``save`` writes it.

    ``fmt`` is the ``format`` entry the checkpoint must carry; ``kind`` names
    it in the error (e.g. ``"kit.medical triage"``).
    """
    from kit.io import read_torch_file

    state = read_torch_file(path, "model checkpoint", f"a file written by {writer}.save")
    if not isinstance(state, dict) or state.get("format") != fmt:
        raise InputDataError(f"{path} is not a {kind} checkpoint; give a file written by {writer}.save")
    return state


def to_tensor(X, image_size: int) -> torch.Tensor:
    """``(n, H, W)`` array -> ``(n, 1, image_size, image_size)`` float32 tensor on the CPU."""
    x = np.asarray(X, dtype=np.float32)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3:
        raise InputDataError(f"images must be an (n, height, width) stack, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise InputDataError("images contain NaN or infinite values; re-ingest the folder")
    t = torch.from_numpy(np.ascontiguousarray(x))[:, None]
    if t.shape[-2:] != (image_size, image_size):
        t = F.interpolate(t, size=(image_size, image_size), mode="area" if t.shape[-1] > image_size else "bilinear")
    return t


class TriageClassifier(ClassifierMixin, BaseEstimator):
    """Urgent-finding classifier for chest radiographs, trained from scratch.

    Parameters
    ----------
    arch : {"small_cnn", "mobilenet_v3_small"}
    image_size : int, pixels
        Side the images are resized to (64 for ``small_cnn``, 128 for MobileNet).
    epochs : int
    batch_size : int
    lr : float
        Peak learning rate of the one-cycle schedule (AdamW).
    weight_decay : float
    augment : bool
        Apply :func:`kit.medical.augment.default_augmentation` to training batches.
    width : int, optional
        ``small_cnn`` width (channels of the first stage).
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}
        Where the network trains: the notebook's Backend, or a device to resolve.
    seed : int
        Seeds initialisation, shuffling and augmentation.
    progress : bool
        Show a tqdm bar over the training batches.

    Attributes
    ----------
    model_ : torch.nn.Module
    temperature_ : float
        Set by :meth:`calibrate` (1.0 before).
    threshold_ : float
        Probability threshold of :meth:`predict`, set by :meth:`set_operating_point` (0.5 before).
    logit_threshold_ : float
        The same threshold on the uncalibrated logits (what :meth:`predict` compares).
    history_ : list of dict
        ``epoch, train_loss, val_loss, val_auroc`` per epoch.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((64, 32, 32), dtype=np.float32) * 0.2
    >>> y = np.arange(64) % 2
    >>> X[y == 1, 8:24, 8:24] += 0.6  # a bright square marks the positives
    >>> clf = TriageClassifier(image_size=32, epochs=10, batch_size=16, width=8, progress=False).fit(X, y)
    >>> clf.predict_proba(X).shape, clf.score(X, y) > 0.9
    ((64, 2), True)
    """

    def __init__(self, arch: str = "small_cnn", image_size: int = 64, epochs: int = 12, batch_size: int = 64,
                 lr: float = 3e-3, weight_decay: float = 1e-4, augment: bool = True, width: int | None = None,
                 backend=None, seed: int = 0, progress: bool = True):
        self.arch = arch
        self.image_size = image_size
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.augment = augment
        self.width = width
        self.backend = backend
        self.seed = seed
        self.progress = progress

    # -- training ---------------------------------------------------------------------------------
    def _check_params(self):
        if self.arch not in ARCHITECTURES:
            raise ParameterError(f"arch must be one of {', '.join(ARCHITECTURES)}, got {self.arch!r}")
        if not isinstance(self.image_size, int) or self.image_size < 16:
            raise ParameterError(f"image_size must be an int >= 16 pixels, got {self.image_size!r}")
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ParameterError(f"epochs must be an int >= 1, got {self.epochs!r}")

    def _new_model(self):
        kwargs = {"width": self.width} if (self.arch == "small_cnn" and self.width) else {}
        return build_model(self.arch, **kwargs)

    @staticmethod
    def _labels(y, n):
        y = np.asarray(y).ravel()
        if y.size != n:
            raise InputDataError(f"{n} images but {y.size} labels; give one 0/1 label per image")
        if not np.isin(y, (0, 1)).all():
            raise InputDataError("training labels must be 0 or 1; drop studies without a label (-1) first")
        if len(np.unique(y)) < 2:
            raise InputDataError("training needs both urgent (1) and non-urgent (0) studies")
        return y.astype(np.float32)

    def fit(self, X, y, X_val=None, y_val=None):
        """Train from scratch; with ``X_val, y_val`` the validation loss and AUROC are logged per epoch.

        The network trains in float32 (no autocast) through :func:`kit.ml.training.fit`
        and keeps the last epoch's weights.
        """
        from kit.backend import as_backend
        from kit.ml import training

        self._check_params()
        yt = torch.from_numpy(self._labels(y, len(X)))
        xt = to_tensor(X, self.image_size)
        dev = torch.device(as_backend(self.backend).torch_device)
        gen = training.seed_everything(self.seed, python_and_numpy=False)
        model = self._new_model().to(dev)
        steps = -(-len(xt) // self.batch_size)
        step = self._train_step(model, steps, dev)
        aug = default_augmentation() if self.augment else None
        validation = None if X_val is None else training.Validation(lambda m: self._val_metrics(m, X_val, y_val))
        bar = training.Progress(_("train {arch}").format(arch=self.arch), _postfix, batches=self.epochs * steps, show=self.progress)
        fitted = training.fit(model, lambda epoch: self._batches(xt, yt, gen, aug, dev), step, epochs=self.epochs,
                              validation=validation, progress=bar, history_row=_history_row)
        self.history_ = fitted.history
        self.model_ = fitted.model
        self.classes_ = np.array([0, 1])
        self.temperature_ = 1.0
        self.threshold_, self.logit_threshold_ = 0.5, 0.0
        self.n_features_in_ = int(np.prod(np.shape(X)[1:]))
        return self

    def _train_step(self, model, steps: int, dev):
        """AdamW; a one-cycle schedule, or a constant rate when there are too few steps for one."""
        from kit.ml.step import TrainStep

        opt = torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        if self.epochs * steps >= 10:
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, total_steps=self.epochs * steps,
                                                        pct_start=0.25)
        else:  # too few steps for a warm-up and an annealing phase: constant rate
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _step: 1.0)
        return TrainStep(opt, lambda m, batch: m(batch[0]),
                         lambda logits, batch: F.binary_cross_entropy_with_logits(logits, batch[1]),
                         scheduler=sched, torch_device=str(dev), precision="fp32")

    def _batches(self, xt, yt, gen, aug, dev):
        """One epoch's ``(images, labels)`` batches in a fresh order, augmented when ``aug`` is given."""
        order = torch.randperm(len(xt), generator=gen)
        for i in range(-(-len(xt) // self.batch_size)):
            idx = order[i * self.batch_size:(i + 1) * self.batch_size]
            xb = xt[idx]
            if aug is not None:
                xb = aug(xb, gen)
            yield xb.to(dev), yt[idx].to(dev)

    def _val_metrics(self, model, X_val, y_val) -> dict:
        """Validation loss and AUROC of ``model`` (set as ``model_`` so :meth:`decision_function` runs it)."""
        self.model_ = model
        z = self.decision_function(X_val)
        yv = self._labels(y_val, len(z))
        return {"val_loss": float(F.binary_cross_entropy_with_logits(torch.from_numpy(z), torch.from_numpy(yv))),
                "val_auroc": auroc(yv, z)}

    # -- inference --------------------------------------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("TriageClassifier is not fitted; call fit() or TriageClassifier.load(checkpoint)")

    @torch.no_grad()
    def decision_function(self, X, batch_size: int = 256) -> np.ndarray:
        """Uncalibrated logits ``(n,)`` (float64)."""
        self._check_fitted()
        xt = to_tensor(X, self.image_size)
        self.model_.eval()
        dev = next(self.model_.parameters()).device
        out = [self.model_(xt[i:i + batch_size].to(dev)).float().cpu() for i in range(0, len(xt), batch_size)]
        return torch.cat(out).numpy().astype(np.float64) if out else np.zeros(0)

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated probabilities ``(n, 2)``: column 1 is ``p_urgent``."""
        p = apply_temperature(self.decision_function(X), self.temperature_)
        return np.stack([1 - p, p], axis=1)

    def predict(self, X) -> np.ndarray:
        """1 where ``p_urgent >= threshold_`` (the operating point), else 0.

        The comparison is made on the logits (``logit_threshold_``): near-certain
        probabilities round to exactly 1.0 in floating point and would tie.
        """
        return (self.decision_function(X) >= self.logit_threshold_).astype(int)

    # -- after training ---------------------------------------------------------------------------
    def calibrate(self, X_val, y_val):
        """Fit the temperature on validation images (ranking, hence AUROC, unchanged)."""
        self.temperature_ = fit_temperature(self.decision_function(X_val), y_val)
        return self

    def set_operating_point(self, X_val, y_val, target_sensitivity: float, rule: str = "quantile"):
        """Set ``threshold_`` at ``target_sensitivity`` on the validation images.

        ``rule="quantile"``: the validation sensitivity is the target;
        ``"lower_bound"``: its 95 % Wilson lower bound is (a margin for sampling error,
        see :func:`kit.medical.evaluate.threshold_at_sensitivity_bound`).
        """
        z = self.decision_function(X_val)
        self.logit_threshold_ = operating_threshold(y_val, z, target_sensitivity, rule)
        self.operating_rule_ = rule
        self.threshold_ = float(apply_temperature(self.logit_threshold_, self.temperature_))
        self.target_sensitivity_ = float(target_sensitivity)
        from kit.medical.bench_sample import pick  # kit bench's fixed sample, written by save()

        self.bench_sample_ = pick(X_val, y_val, lambda x: to_tensor(x, self.image_size).numpy())
        return self

    def n_parameters(self) -> int:
        """Trainable parameters of the network."""
        self._check_fitted()
        return int(sum(p.numel() for p in self.model_.parameters() if p.requires_grad))

    def save(self, path) -> Path:
        """Write a checkpoint (weights, parameters, temperature, threshold) atomically.

        After :meth:`set_operating_point`, ``bench_samples.npz``/``.json`` (the
        fixed sample ``kit bench`` measures) are written beside it.
        """
        from kit.io import atomic_path

        self._check_fitted()
        state = {
            "format": CHECKPOINT_FORMAT,
            # The backend is this machine's, not the model's: load() takes its own.
            "params": {k: v for k, v in self.get_params().items() if k != "backend"},
            "state_dict": {k: v.detach().cpu() for k, v in self.model_.state_dict().items()},
            **self._operating_state(),
        }
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
        from kit.medical.bench_sample import write_triage_sample

        write_triage_sample(self, path)
        return Path(path)

    @classmethod
    def load(cls, path, backend=None) -> "TriageClassifier":
        """Read a checkpoint written by :meth:`save` onto ``backend`` (a Backend or a device)."""
        from kit.backend import as_backend

        state = read_checkpoint(path, CHECKPOINT_FORMAT, "TriageClassifier", "kit.medical triage")
        backend = as_backend(backend)
        params = {k: v for k, v in state["params"].items() if k != "device"}  # "device": checkpoints before Backend
        params["backend"] = backend
        clf = cls(**params)
        model = clf._new_model()
        model.load_state_dict(state["state_dict"])
        clf.model_ = model.to(torch.device(backend.torch_device)).eval()
        clf._set_operating_state(state)
        return clf

    def _operating_state(self) -> dict:
        """Calibration, operating point and training history as a checkpoint stores them."""
        return {"temperature": self.temperature_, "threshold": self.threshold_,
                "logit_threshold": self.logit_threshold_,
                "target_sensitivity": getattr(self, "target_sensitivity_", None),
                "operating_rule": getattr(self, "operating_rule_", None), "history": self.history_}

    def _set_operating_state(self, state: dict) -> None:
        """Restore what :meth:`_operating_state` stored (keys older checkpoints lack stay unset)."""
        self.temperature_ = float(state["temperature"])
        self.threshold_ = float(state["threshold"])
        self.logit_threshold_ = float(state["logit_threshold"])
        if state.get("target_sensitivity") is not None:
            self.target_sensitivity_ = float(state["target_sensitivity"])
        if state.get("operating_rule") is not None:
            self.operating_rule_ = str(state["operating_rule"])
        self.history_ = list(state.get("history") or [])
        self.classes_ = np.array([0, 1])
