"""Urgent against routine on torchxrayvision features: a new head, fine-tuned on the department's studies.

:class:`XrvNet` wraps a torchxrayvision DenseNet-121 or ResNet-50 (loaded
offline by :func:`kit.medical.xrv.load_xrv_model`): images in [0, 1] are
scaled as ``xrv.datasets.normalize`` scales them ([-1024, 1024]), run through
its convolutions, pooled as its own ``features2`` / ``features`` pool them, and
go both to its pathology classifier (its 18 outputs, ``op_threshs``
calibrated as it does) and to a new one-logit urgent head.

:class:`XrvTriageClassifier` is the :class:`kit.medical.train.TriageClassifier`
of these networks: ``fit`` extracts the frozen features once and trains the
head (``trainable="head"``), or also the last block (``"last_block"``: the
maps before it are extracted once) through :func:`kit.ml.training.fit`; the
calibration, operating point and prediction are the triage classifier's.
Pooled features are cached per image, so the validation, test and worklist
images are run through the backbone once however often they are scored.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from kit.errors import ParameterError
from kit.i18n import _
from kit.medical import xrv as xrv_weights
from kit.medical.evaluate import auroc
from kit.medical.train import TriageClassifier, _history_row, _postfix, read_checkpoint, to_tensor

CHECKPOINT_FORMAT = "kit.medical.XrvTriageClassifier/1"
TRAINABLE = ("head", "last_block")


class XrvNet(nn.Module):
    """torchxrayvision backbone + its pathology classifier + a new urgent head (one logit from [0, 1] images)."""

    def __init__(self, backbone: nn.Module, dropout: float = 0.2):
        super().__init__()
        self.backbone = backbone
        self.dense = hasattr(backbone, "classifier")
        n = backbone.classifier.in_features if self.dense else backbone.model.fc.in_features
        self.register_buffer("feature_mean", torch.zeros(n))
        self.register_buffer("feature_scale", torch.ones(n))
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(n, 1))

    @property
    def features(self):
        """Convolution stages; ``features[-1]`` is the Grad-CAM layer (DenseNet ``norm5``, ResNet ``layer4``)."""
        return self.backbone.features if self.dense else [self.backbone.model.layer4]

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """[0, 1] images -> the maps entering the last block."""
        x = x * 2048.0 - 1024.0  # xrv.datasets.normalize(img, 1): [-1024, 1024]
        if self.dense:
            return self.backbone.features[:-2](x)
        m = self.backbone.model
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        return m.layer3(m.layer2(m.layer1(x)))

    def top(self, h: torch.Tensor) -> torch.Tensor:
        """The last block and the pooling torchxrayvision applies: ``(batch, channels)``."""
        if self.dense:
            f = F.relu(self.backbone.features[-2:](h))  # not in place: Grad-CAM keeps norm5's output
            return F.adaptive_avg_pool2d(f, 1).flatten(1)
        m = self.backbone.model
        return torch.flatten(m.avgpool(m.layer4(h)), 1)

    def urgent_logit(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.head((pooled - self.feature_mean) / self.feature_scale)[:, 0]

    def pathology_probabilities(self, pooled: torch.Tensor) -> torch.Tensor:
        """torchxrayvision's outputs: sigmoid, then rescaled so each ``op_threshs`` maps to 0.5."""
        logits = self.backbone.classifier(pooled) if self.dense else self.backbone.model.fc(pooled)
        out = torch.sigmoid(logits)
        op = getattr(self.backbone, "op_threshs", None)
        return xrv_weights.xrv().models.op_norm(out, op) if op is not None else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.urgent_logit(self.top(self.stem(x)))


class _Trainable(nn.Module):
    """What the training engine trains: the head alone on pooled features, or the last block and the head on maps.

    Batch norm keeps the statistics torchxrayvision learnt (eval mode) while the rest trains.
    """

    def __init__(self, net: XrvNet, last_block: bool):
        super().__init__()
        self.net, self.last_block = net, last_block

    def train(self, mode: bool = True):
        super().train(mode)
        for module in self.net.backbone.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        return self

    def forward(self, x):
        return self.net.urgent_logit(self.net.top(x) if self.last_block else x)


def _digest(image: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes() + str(image.shape).encode(), digest_size=16).digest()


class XrvTriageClassifier(TriageClassifier):
    """Urgent-finding classifier on torchxrayvision features (scikit-learn style).

    Parameters
    ----------
    weights : str or Path
        A torchxrayvision weights file (named as its cache names it) or a
        folder laid out like ``~/.torchxrayvision/models_data/``; read offline.
    image_size : int, pixels
        Side the images are resized to (224, the DenseNet's training size; the
        ResNet-50 was trained at 512 and runs at this size too, for cost).
    trainable : {"head", "last_block"}
        What is trained: the new head on frozen features, or the last block too.
    epochs, batch_size, lr, weight_decay : training of the trainable part (AdamW, one-cycle).
    dropout : float
        Before the head's linear layer.
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}
    seed : int
    progress : bool

    Attributes
    ----------
    model_ : XrvNet
    weights_file_ : kit.medical.xrv.WeightsFile
    pathologies_ : list of str
        torchxrayvision's targets of these weights ('' where they predict none).
    temperature_, threshold_, logit_threshold_, history_ : as :class:`TriageClassifier`.
    """

    def __init__(self, weights=None, image_size: int = 224, trainable: str = "head", epochs: int = 30,
                 batch_size: int = 32, lr: float = 3e-3, weight_decay: float = 1e-2, dropout: float = 0.5,
                 backend=None, seed: int = 0, progress: bool = True):
        self.weights = weights
        self.image_size = image_size
        self.trainable = trainable
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.backend = backend
        self.seed = seed
        self.progress = progress

    @property
    def arch(self) -> str:
        """The network's name in reports: the torchxrayvision weights and what was trained."""
        found = getattr(self, "weights_file_", None)
        name = found.weights if found is not None else "torchxrayvision"
        return f"{name} + urgent head ({self.trainable})"

    def _check_params(self):
        if self.weights is None:
            raise ParameterError("weights is required: a torchxrayvision weights file or its cache folder")
        if self.trainable not in TRAINABLE:
            raise ParameterError(f"trainable must be one of {', '.join(TRAINABLE)}, got {self.trainable!r}")
        if not isinstance(self.image_size, int) or self.image_size < 64:
            raise ParameterError(f"image_size must be an int >= 64 pixels, got {self.image_size!r}")
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ParameterError(f"epochs must be an int >= 1, got {self.epochs!r}")

    def n_parameters(self) -> int:
        """Parameters trained here (the head, and the last block with ``trainable="last_block"``)."""
        self._check_fitted()
        return self.n_trained_

    # -- features ---------------------------------------------------------------------------------
    @torch.no_grad()
    def _run(self, net: XrvNet, X, stage, batch_size: int = 32) -> torch.Tensor:
        """``stage(images)`` over ``X`` in batches, on the CPU afterwards."""
        xt = to_tensor(X, self.image_size)
        dev = next(net.parameters()).device
        net.eval()
        out = [stage(xt[i:i + batch_size].to(dev)).float().cpu() for i in range(0, len(xt), batch_size)]
        return torch.cat(out) if out else torch.zeros(0)

    def pooled_features(self, X) -> torch.Tensor:
        """Pooled backbone features ``(n, channels)``, from the per-image cache where possible."""
        self._check_fitted()
        cache = self.__dict__.setdefault("_feature_cache", {})
        x = np.asarray(X, dtype=np.float32)
        keys = [_digest(img) for img in x]
        todo = [i for i, k in enumerate(keys) if k not in cache]
        if todo:
            net = self.model_
            fresh = self._run(net, x[todo], lambda b: net.top(net.stem(b)))
            cache.update(zip((keys[i] for i in todo), fresh))
        dim = self.model_.feature_mean.numel()
        return torch.stack([cache[k] for k in keys]) if keys else torch.zeros(0, dim)

    # -- training ---------------------------------------------------------------------------------
    def fit(self, X, y, X_val=None, y_val=None):
        """Load the weights offline, extract the frozen part once, train the head (and the last block)."""
        from kit.backend import as_backend
        from kit.ml import training

        self._check_params()
        yt = torch.from_numpy(self._labels(y, len(X)))
        dev = torch.device(as_backend(self.backend).torch_device)
        gen = training.seed_everything(self.seed, python_and_numpy=False)
        backbone, self.weights_file_ = xrv_weights.load_xrv_model(self.weights)
        net = XrvNet(backbone, self.dropout).to(dev)
        last_block = self.trainable == "last_block"
        for name, param in net.backbone.named_parameters():
            param.requires_grad_(last_block and _in_last_block(net, name))
        stage = net.stem if last_block else (lambda b: net.top(net.stem(b)))
        inputs = self._run(net, X, stage)
        pooled = self._run_top(net, inputs) if last_block else inputs
        net.feature_mean.copy_(pooled.mean(0).to(dev))
        std = pooled.std(0)
        # A floor relative to the typical spread: near-constant features (dead units) must not blow up on new images.
        net.feature_scale.copy_(std.clamp_min(0.1 * float(std.median()) + 1e-6).to(dev))
        val_inputs = None if X_val is None else self._run(net, X_val, stage)
        module = _Trainable(net, last_block)
        steps = -(-len(inputs) // self.batch_size)
        step = self._train_step(module, steps, dev)
        validation = None if X_val is None else training.Validation(
            lambda m: _val_metrics(m, val_inputs, self._labels(y_val, len(val_inputs)), dev))
        bar = training.Progress(_("fine-tune {arch}").format(arch=self.arch), _postfix, batches=self.epochs * steps, show=self.progress)
        fitted = training.fit(module, lambda epoch: self._feature_batches(inputs, yt, gen, dev), step,
                              epochs=self.epochs, validation=validation, progress=bar, history_row=_history_row)
        self.history_ = fitted.history
        self.n_trained_ = int(sum(p.numel() for p in module.parameters() if p.requires_grad))
        net.requires_grad_(True)  # frozen for training only: Grad-CAM needs gradients through the backbone
        self.model_ = net.eval()
        self.pathologies_ = list(backbone.targets)
        self.classes_ = np.array([0, 1])
        self.temperature_ = 1.0
        self.threshold_, self.logit_threshold_ = 0.5, 0.0
        self.n_features_in_ = int(np.prod(np.shape(X)[1:]))
        cache = self.__dict__["_feature_cache"] = {}
        if not last_block:  # the backbone did not change: its features of X and X_val stay valid
            for images, feats in ((X, inputs), (X_val, val_inputs)):
                if images is not None:
                    cache.update(zip((_digest(img) for img in np.asarray(images, dtype=np.float32)), feats))
        return self

    @torch.no_grad()
    def _run_top(self, net, maps, batch_size: int = 32) -> torch.Tensor:
        dev = next(net.parameters()).device
        return torch.cat([net.top(maps[i:i + batch_size].to(dev)).cpu() for i in range(0, len(maps), batch_size)])

    def _feature_batches(self, inputs, yt, gen, dev):
        order = torch.randperm(len(inputs), generator=gen)
        for i in range(-(-len(inputs) // self.batch_size)):
            idx = order[i * self.batch_size:(i + 1) * self.batch_size]
            yield inputs[idx].to(dev), yt[idx].to(dev)

    # -- inference --------------------------------------------------------------------------------
    @torch.no_grad()
    def decision_function(self, X, batch_size: int = 256) -> np.ndarray:
        """Uncalibrated urgent logits ``(n,)`` (float64)."""
        pooled = self.pooled_features(X)
        if not len(pooled):
            return np.zeros(0)
        self.model_.eval()
        dev = next(self.model_.parameters()).device
        return self.model_.urgent_logit(pooled.to(dev)).float().cpu().numpy().astype(np.float64)

    @torch.no_grad()
    def pathology_probabilities(self, X) -> pd.DataFrame:
        """torchxrayvision's pathology outputs per image, one column per named target."""
        pooled = self.pooled_features(X)
        dev = next(self.model_.parameters()).device
        probs = self.model_.pathology_probabilities(pooled.to(dev)).float().cpu().numpy() if len(pooled) else \
            np.zeros((0, len(self.pathologies_)), np.float32)
        keep = [i for i, name in enumerate(self.pathologies_) if name]
        return pd.DataFrame(probs[:, keep], columns=[self.pathologies_[i] for i in keep])

    # -- checkpoints ------------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write backbone, head, calibration and operating point atomically (the weights file is not needed again)."""
        from kit.io import atomic_path

        self._check_fitted()
        params = {k: v for k, v in self.get_params().items() if k != "backend"}
        params["weights"] = str(params["weights"])
        state = {"format": CHECKPOINT_FORMAT, "params": params, "xrv_weights": self.weights_file_.weights,
                 "weights_file": str(self.weights_file_.path),
                 "state_dict": {k: v.detach().cpu() for k, v in self.model_.state_dict().items()},
                 **self._operating_state(), "n_trained": self.n_trained_}
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
        return Path(path)

    @classmethod
    def load(cls, path, backend=None) -> "XrvTriageClassifier":
        """Read a checkpoint written by :meth:`save` (no torchxrayvision weights file needed)."""
        from kit.backend import as_backend

        state = read_checkpoint(path, CHECKPOINT_FORMAT, "XrvTriageClassifier", "kit.medical torchxrayvision triage")
        backend = as_backend(backend)
        clf = cls(**{**state["params"], "backend": backend})
        name = state["xrv_weights"]
        backbone = xrv_weights._new_densenet() if name.startswith("densenet") else xrv_weights._new_resnet(name)
        xrv_weights._set_like_xrv(backbone, name)
        net = XrvNet(backbone, clf.dropout)
        net.load_state_dict(state["state_dict"])
        clf.model_ = net.to(torch.device(backend.torch_device)).eval()
        clf.weights_file_ = xrv_weights.WeightsFile(name, Path(state["weights_file"]))
        clf.pathologies_ = list(backbone.targets)
        clf._set_operating_state(state)
        clf.n_trained_ = int(state["n_trained"])
        return clf


def _in_last_block(net: XrvNet, param_name: str) -> bool:
    """Whether a backbone parameter belongs to the last block (DenseNet denseblock4/norm5, ResNet layer4)."""
    prefixes = ("features.denseblock4.", "features.norm5.") if net.dense else ("model.layer4.",)
    return param_name.startswith(prefixes)


@torch.no_grad()
def _val_metrics(module: _Trainable, inputs, y_val: np.ndarray, dev) -> dict:
    """Validation loss and AUROC of the head (and last block) on the pre-extracted validation inputs."""
    module.eval()
    z = torch.cat([module(inputs[i:i + 256].to(dev)).float().cpu() for i in range(0, len(inputs), 256)])
    yv = torch.from_numpy(y_val)
    return {"val_loss": float(F.binary_cross_entropy_with_logits(z, yv)), "val_auroc": auroc(y_val, z.numpy())}
