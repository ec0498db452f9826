"""Training the CenterNet-style and torchvision detectors through the shared engine (:func:`kit.ml.training.fit`).

AdamW with a one-cycle learning rate (warm-up, cosine decay), a progress bar,
a checkpoint of the best and the last epoch, early stopping on the validation
mAP@0.5, mixed precision where the hardware has it (float16 on a GPU,
bfloat16 on CPUs with native bfloat16 instructions), and the score threshold
for counting calibrated on validation images
(:func:`kit.vision.counting.calibrate_count_threshold`). Batches come from
:mod:`kit.vision.batches`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from kit.errors import InputDataError, ParameterError
from kit.i18n import _
from kit.vision.finetune import frozen_backbone, param_parts, zero_shot

__all__ = ["TrainResult", "balanced_loss", "train_detector"]


@dataclass
class TrainResult:
    """What :func:`train_detector` returns.

    Attributes
    ----------
    model : torch.nn.Module
        Weights of the best validation epoch, in eval mode.
    history : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``val_map50`` (NaN without
        validation), ``lr``, ``cpu_s`` (process CPU seconds so far), ``wall_s``.
    best_epoch : int
    score_threshold : float
        Counting threshold: minimizes the mean absolute count error over the
        validation images, all classes together.
    class_thresholds : dict
        ``{label: threshold}`` calibrated per class the same way.
    stopped_early : bool
    checkpoint : pathlib.Path or None
        ``best.pt`` (``{"model": state_dict, "epoch", "val_map50", "score_threshold", ...}``).
    precision : str
        ``"fp32"``, ``"bf16"`` or ``"fp16"``: the autocast precision trained in
        (see :func:`kit.backend.train_precision`); weights are float32 either way.
    parts : dict
        For a network started from open weights: ``{part: {"lr": peak
        learning rate, "frozen_epochs": n}}`` for ``"backbone"`` and
        ``"neck and heads"``; empty otherwise.
    """

    model: object
    history: list
    best_epoch: int
    score_threshold: float
    class_thresholds: dict = field(default_factory=dict)
    stopped_early: bool = False
    checkpoint: Path | None = None
    precision: str = "fp32"
    parts: dict = field(default_factory=dict)


def balanced_loss(outputs: dict, targets: dict, size_weight: float = 0.1, offset_weight: float = 1.0):
    """CenterNet loss with the heatmap focal loss normalized per class.

    :func:`kit.vision.models.centernet_loss` divides the focal loss by the
    number of objects of all classes, so in yard scenes (80 % containers) the
    rare classes barely move the weights. Here each class's focal loss is
    divided by its own number of objects in the batch and the classes are
    averaged (classes absent from the batch contribute only their negatives),
    which is what mAP, a mean over classes, rewards.

    Returns
    -------
    (total, parts) : tensor, dict of floats
    """
    from kit.vision.models import centernet_loss

    return centernet_loss(outputs, targets, size_weight, offset_weight, class_balanced=True)


def train_detector(model, train, val=None, *, epochs: int = 30, batch_size: int = 8, lr: float = 4e-3,
                   weight_decay: float = 1e-4, image_size: int = 256, augment: dict | None = None,
                   patience: int = 8, min_epochs: int = 0, eval_every: int = 1, first_eval: int | None = None,
                   checkpoint_dir=None, backend=None,
                   seed: int = 0, progress: bool = True, max_cpu_seconds: float | None = None,
                   class_balanced: bool = True, crop_size=None, channels_last: bool | None = None,
                   regression: str = "dense", gaussian: str = "circle", prefetch: bool = True,
                   precision: str = "auto", freeze_backbone_epochs: int | None = None,
                   backbone_lr_factor: float = 0.1, box_weight: str = "equal",
                   ema_decay: float | None = None, distill=None) -> TrainResult:
    """Train a CenterNet-style detector on COCO splits.

    Parameters
    ----------
    model : kit.vision.models.CenterNet or kit.vision.models.TorchvisionDetector
        Fresh (``centernet(K)``, ``ssdlite(K, image_size)``, ...) or from a
        weight file. torchvision networks compute their own losses; the
        class-balanced loss, crops and channels-last apply to CenterNet.
    train, val : kit.vision.data.CocoDetection
        Training and validation splits served *without* transforms or with
        ``eval_transforms(image_size)`` (images are cached, then augmented
        here with ``train_transforms(image_size, **augment)``).
    epochs : int
        Upper bound; the learning rate follows a one-cycle schedule over them.
        0 for a detector built from torchvision's COCO checkpoint: nothing
        is trained and the classes carried over from COCO detect as they
        are (zero-shot; the others detect nothing); the counting threshold
        is 0.3 for every class, since nothing is calibrated without labels.
    batch_size : int
    lr : float
        Peak learning rate of AdamW.
    weight_decay : float
    image_size : int, px
        Square training size (multiple of 16).
    augment : dict, optional
        Keyword arguments for :func:`kit.vision.data.train_transforms`, over
        the defaults ``hflip=0.5, jitter=0.3, scale_jitter=0.15``, and
        ``copy_paste``: the probability that a training image gets 1 to 3
        whole objects of the split pasted in front of its own
        (:class:`kit.vision.copy_paste.CopyPaste`, CenterNet only). Default 0
        (off): at 0.5 on the synthetic yard scenes (float32) it scores no
        higher than without.
    patience : int
        Stop after this many evaluations without a better validation mAP@0.5.
    min_epochs : int
        Never stop before this epoch.
    eval_every : int
        Evaluate on ``val`` every this many epochs (and at the last one).
    first_eval : int, optional
        First epoch evaluated on ``val``; default: the first of the last
        quarter of the schedule (epoch 20 of 26): under the one-cycle
        schedule, whose learning rate is still high before, an earlier epoch
        is not the best one, and an evaluation of the synthetic validation
        split costs about 15 % of an epoch (six more of them cost about
        4 % of a 26-epoch run).
    checkpoint_dir : path, optional
        Where ``best.pt`` and ``last.pt`` are written (atomically).
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}
        Where the network trains: the notebook's Backend, or a device to
        resolve. Its ``precision`` is the autocast precision when
        ``precision`` is ``"auto"``.
    seed : int
    progress : bool
        Show a tqdm bar (steps, loss, validation mAP@0.5).
    max_cpu_seconds : float, optional
        Stop at the end of the epoch in which the process CPU time spent in
        training passes this budget.
    class_balanced : bool
        Use :func:`balanced_loss` (focal loss normalized per class) rather
        than the plain :func:`kit.vision.models.centernet_loss`.
    crop_size : int, "auto" or None, px
        Train on random ``crop_size`` squares cut from the ``image_size``
        images: objects keep their test-time size and a step costs
        ``(crop_size / image_size)²`` of a full image (validation and test
        run on whole images). ``"auto"``: 5/8 of ``image_size`` (a multiple
        of 16, at least 64 px); ``None`` (default): whole images, because on
        the synthetic yard scenes crops score no better at equal CPU time
        and cut large trucks.
    channels_last : bool, optional
        Train in the channels-last memory layout (about 1.4× faster for this
        network on x86 CPUs); default: on a CPU only. The model is returned
        in the usual layout.
    regression : {"dense", "center"}
        How boxes are learned, see :func:`kit.vision.models.encode_targets`.
        ``"dense"`` (default, TTFNet): every cell near an object's centre
        regresses its box with a GIoU loss, about 5× more regression samples
        per object; on the synthetic yard scenes it scores clearly higher
        (about 0.12 mAP@0.5), most for large boxes and people, for about
        10 % more CPU time per step. ``"center"``: L1 size and offset at the
        centre cell only (CenterNet).
    gaussian : {"circle", "ellipse"}
        Heatmap peak shape, see :func:`kit.vision.models.encode_targets`
        (with dense regression the ellipse scores the same as the circle).
    prefetch : bool
        Augment and encode the next batches in a background thread (one
        Torch thread) while the network trains; results are identical. It
        saves about a quarter of an epoch when training leaves a core free
        (one training thread on two cores) and nothing when every core
        trains. CenterNet only: torchvision networks draw random numbers
        while training, so their batches are prepared inline.
    precision : {"auto", "fp32", "bf16", "fp16"}
        Autocast precision of the forward pass (weights, losses and the
        optimizer stay float32), see :func:`kit.backend.train_precision`.
        ``"auto"``: float16 with gradient scaling on CUDA, bfloat16 on CPUs
        with native bfloat16 instructions, else float32. With AVX512-BF16 a
        CenterNet step takes about 40 % less time in bfloat16; at equal
        epochs it scores slightly below float32 (about 0.01 mAP@0.5), but
        the extra epochs that fit in the same time more than make up for it.
    freeze_backbone_epochs : int, optional
        For a torchvision network started from open weights (its
        ``weights_info``): the pretrained backbone is frozen for this many
        first epochs while the fresh layers settle; default 2 (fewer when
        ``epochs`` is small, never the last epoch). Ignored otherwise.
    backbone_lr_factor : float
        The pretrained backbone's peak learning rate, as a fraction of
        ``lr`` (the neck and heads get ``lr``); open weights only.
    box_weight : {"equal", "log_area"}
        Weight of each object in the GIoU box loss (dense regression), see
        :func:`kit.vision.models.encode_targets`: ``"log_area"`` (TTFNet)
        weighs an object by the log of its area, so large trucks count
        about twice as much as people. On the synthetic yard scenes it
        localizes trucks better and pallets and people worse, and scores no
        higher overall, so ``"equal"`` stays the default.
    ema_decay : float, optional
        Keep an exponential moving average of the weights (decay per step,
        :class:`kit.ml.step.WeightAverage`); validation, the best epoch's
        checkpoint and the returned model use the average. It costs a copy
        of the weights and under 1 % of a step. Off by default: under the
        one-cycle schedule, whose learning rate ends near zero, it scores
        no higher on the synthetic yard scenes.
    distill : kit.vision.distill.Distillation, optional
        CenterNet only: a frozen teacher whose soft targets add a
        distillation term to the loss, on the training images and on its
        unlabelled images (a batch of them joins every step); see
        :mod:`kit.vision.distill`. None (default): the supervised loss alone.

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> import tempfile
    >>> from kit.vision.synthetic import generate
    >>> from kit.vision.data import CocoDetection
    >>> from kit.vision.models import centernet
    >>> folder = generate(tempfile.mkdtemp(), n_images=6, image_size=64, n_code_crops=0, sequence_frames=0,
    ...                   split_fractions=(0.5, 0.5, 0.0))
    >>> r = train_detector(centernet(4), CocoDetection(folder, "train"), CocoDetection(folder, "val"),
    ...                    epochs=1, batch_size=2, image_size=64, progress=False)
    >>> len(r.history), 0.05 <= r.score_threshold <= 0.95
    (1, True)
    """
    import torch

    from kit.backend import as_backend
    from kit.ml.checkpoints import save_checkpoint
    from kit.ml.step import resolve_precision
    from kit.ml.training import Progress, fit, seed_everything
    from kit.vision.data import CocoDetection, eval_transforms

    if image_size % 16:
        raise ParameterError(f"image_size must be a multiple of 16 px, got {image_size}")
    if epochs < 0 or batch_size < 1:
        raise ParameterError(f"epochs must be >= 0 and batch_size >= 1, got {epochs} and {batch_size}")
    backend = as_backend(backend)
    precision = resolve_precision(backend, precision)
    if epochs == 0:
        model, per_class, ckpt = zero_shot(model, backend, checkpoint_dir, image_size)
        return TrainResult(model, [], 0, 0.3, per_class, False, ckpt, precision)
    generator = seed_everything(seed)
    model = model.to(backend.torch_device)
    if getattr(model, "available_labels", None) is not None:
        model.available_labels = None  # training reaches every class's rows, and validation scores them all
    aug = {"hflip": 0.5, "jitter": 0.3, "scale_jitter": 0.15, "copy_paste": 0.0, **(augment or {})}
    # Colour jitter runs on the whole batch at once (per-image ColorJitter costs as much as the rest of the pipeline).
    jitter = float(aug.pop("jitter"))
    # Copy-paste works on the cached images, before the box-aware transforms (CenterNet only).
    copy_paste = 0.0 if getattr(model, "outputs_detections", False) else float(aug.pop("copy_paste"))
    aug.pop("copy_paste", None)
    crop_size, layout = _crops_and_layout(model, image_size, crop_size, channels_last, backend.torch_device)
    model = model.to(memory_format=layout)
    batches = _epoch_batches(model, train, generator, image_size=image_size, crop_size=crop_size, augment=aug,
                             jitter=jitter, batch_size=batch_size, torch_device=backend.torch_device, layout=layout,
                             regression=regression, gaussian=gaussian, prefetch=prefetch, box_weight=box_weight,
                             copy_paste=copy_paste, seed=seed)
    if distill is not None:  # a teacher's unlabelled images beside each batch (kit.vision.distill)
        if getattr(model, "outputs_detections", False):
            raise ParameterError("distill trains a CenterNet student; a torchvision network can be the teacher, not the student")
        batches = distill.attach(batches)
    val_eval = CocoDetection.from_index(val.index, eval_transforms(image_size)) if val is not None else None
    first_eval = epochs - epochs // 4 if first_eval is None else max(1, int(first_eval))
    total_steps = epochs * math.ceil(len(batches.cached) / batch_size)
    parts = param_parts(model, lr, backbone_lr_factor, freeze_backbone_epochs, epochs)
    step = _train_step(model, lr, weight_decay, total_steps, class_balanced, backend.torch_device, precision, parts,
                       ema_decay, distill)
    validation = None if val_eval is None else _validation(val_eval, image_size, backend, first_eval, eval_every,
                                                            patience, min_epochs)
    with frozen_backbone(parts, batches) as epoch_batches:
        fitted = fit(model, epoch_batches, step, epochs=epochs, validation=validation, checkpoint_dir=checkpoint_dir,
                     max_cpu_seconds=max_cpu_seconds, progress=Progress(_("train"), _postfix, show=progress),
                     history_row=_history_row)
    model = fitted.model.to(memory_format=torch.contiguous_format)
    thr, per_class = _count_thresholds(model, val_eval, image_size, backend)
    ckpt = None
    if checkpoint_dir is not None:
        # -1.0: no validation split, or no evaluation scored (every validation mAP was NaN).
        best_map50 = -1.0 if fitted.best_score is None else fitted.best_score
        ckpt = save_checkpoint(Path(checkpoint_dir) / "best.pt", model.state_dict(), epoch=fitted.best_epoch,
                               val_map50=best_map50, score_threshold=thr, class_thresholds=per_class,
                               num_classes=model.num_classes, image_size=image_size)
    return TrainResult(model, fitted.history, fitted.best_epoch, thr, per_class, fitted.stopped_early, ckpt, precision,
                       {k: {"lr": v["lr"], "frozen_epochs": v["frozen_epochs"]} for k, v in parts.items()})


def _crops_and_layout(model, image_size: int, crop_size, channels_last, torch_device: str):
    """The training crop size (checked; ``"auto"`` resolved) and the memory layout the network trains in."""
    import torch

    # torchvision networks resize their input themselves: crops would change object scales for them.
    detections_out = bool(getattr(model, "outputs_detections", False))
    if detections_out and crop_size not in (None, "auto"):
        raise ParameterError("crop_size applies to CenterNet only: torchvision detectors resize their input themselves")
    if crop_size == "auto":
        crop_size = max(64, int(round(image_size * 5 / 8 / 16)) * 16) if image_size >= 128 and not detections_out else None
    if crop_size is not None and (int(crop_size) % 16 or not 16 <= int(crop_size) <= image_size):
        raise ParameterError(f"crop_size must be a multiple of 16 px up to image_size ({image_size}), got {crop_size}")
    on_cuda = torch_device.startswith("cuda")
    channels_last = not (on_cuda or detections_out) if channels_last is None else bool(channels_last)
    return crop_size, torch.channels_last if channels_last else torch.contiguous_format


def _epoch_batches(model, train, generator, *, image_size, crop_size, augment, jitter, batch_size, torch_device,
                   layout, regression, gaussian, prefetch, box_weight="equal", copy_paste=0.0, seed=0):
    """The training split decoded once, and the batches of each epoch (augmented, encoded for CenterNet)."""
    from kit.vision.batches import CachedImages, DetectorBatches
    from kit.vision.copy_paste import CopyPaste
    from kit.vision.data import train_transforms
    from kit.vision.models import encode_targets

    cached = CachedImages(train, train_transforms(image_size, jitter=0, crop_size=crop_size, **augment))
    if len(cached) == 0:
        raise InputDataError("the training split has no readable image; check the dataset folder")
    if copy_paste:
        cached.paste = CopyPaste(cached.items, cached.visibility, probability=copy_paste, seed=seed)
    train_size = image_size if crop_size is None else int(crop_size)
    detections_out = bool(getattr(model, "outputs_detections", False))
    K = model.num_classes

    def encode(boxes, labels):
        return encode_targets(boxes, labels, K, (train_size, train_size), regression=regression, gaussian=gaussian,
                              box_weight=box_weight)

    # torchvision networks draw random numbers in training (Faster R-CNN samples proposals): a second
    # thread drawing for augmentations at the same time would make runs differ, so they train inline.
    return DetectorBatches(cached, generator, batch_size, jitter, torch_device, layout,
                           encode=None if detections_out else encode, prefetch=prefetch and not detections_out)


def _train_step(model, lr, weight_decay, total_steps, class_balanced, torch_device, precision, parts=None,
                ema_decay=None, distill=None):
    """AdamW under a one-cycle schedule (per part when ``parts``), gradients clipped to norm 10, the network's loss."""
    import torch

    from kit.ml.step import TrainStep
    from kit.vision.models import centernet_loss

    groups = [{"params": v["params"], "lr": v["lr"]} for v in (parts or {}).values()] or model.parameters()
    opt = torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)
    max_lr = [v["lr"] for v in parts.values()] if parts else lr
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total_steps,
                                                pct_start=0.15, div_factor=10, final_div_factor=100)
    if getattr(model, "outputs_detections", False):
        forward, loss = _torchvision_forward, _torchvision_loss
    else:
        heatmap_loss = balanced_loss if class_balanced else centernet_loss

        def loss(outputs, batch):
            return heatmap_loss({k: v.float() for k, v in outputs.items()}, batch[3])[0]

        forward = _centernet_forward
        if distill is not None:
            forward, loss = distill.wrap(forward, loss)
    return TrainStep(opt, forward, loss, scheduler=sched, torch_device=torch_device, precision=precision,
                     clip_grad_norm=10.0, ema_decay=ema_decay)


def _centernet_forward(model, batch):
    return model(batch[0])


def _torchvision_forward(model, batch):
    """A torchvision network in training mode computes its own losses from the targets."""
    x, boxes, labels, _ids = batch
    return model(x, [{"boxes": b, "labels": lab} for b, lab in zip(boxes, labels)])


def _torchvision_loss(losses, batch):
    return sum(v.float() for v in losses.values())


def _validation(val_eval, image_size, backend, first_eval, eval_every, patience, min_epochs):
    """Validation mAP@0.5 from ``first_eval`` on, every ``eval_every`` epochs; the best epoch's weights are kept."""
    from kit.ml.training import Validation
    from kit.vision.evaluate import coco_evaluate, predict, to_coco_results

    index = val_eval.index

    def metrics(model):
        # Without flip averaging: it would double the cost of every validation.
        ids, dets = predict(model, val_eval, image_size=image_size, backend=backend, flip=False)
        return {"val_map50": coco_evaluate(to_coco_results(dets, ids, index.category_ids), index).map50}

    return Validation(metrics, "val_map50", first_eval, eval_every, patience, min_epochs)


def _history_row(row: dict) -> dict:
    return {"epoch": row["epoch"], "train_loss": row["train_loss"], "val_map50": row.get("val_map50", float("nan")),
            "lr": row["lr"], "cpu_s": row["cpu_s"], "wall_s": row["wall_s"]}


def _postfix(row: dict) -> dict:
    return {"loss": f"{row['train_loss']:.3f}", "val_map50": f"{row['val_map50']:.3f}"}


def _count_thresholds(model, val_eval, image_size, backend) -> tuple[float, dict]:
    """Counting thresholds calibrated on the validation split; 0.3 for every class without one."""
    from kit.vision.counting import calibrate_count_threshold
    from kit.vision.evaluate import predict

    if val_eval is None:
        return 0.3, {k: 0.3 for k in range(1, model.num_classes + 1)}
    ids, dets = predict(model, val_eval, image_size=image_size, backend=backend, score_threshold=0.05, flip=False)
    return calibrate_count_threshold(dets, val_eval.index, ids)
