"""Training loop for the CenterNet-style detector.

AdamW with a one-cycle learning rate (warm-up, cosine decay), a progress bar,
a checkpoint of the best and the last epoch, early stopping on the validation
mAP@0.5, mixed precision where the hardware has it (float16 on a GPU,
bfloat16 on CPUs with native bfloat16 instructions), and the score threshold
for counting calibrated on validation images.

Images are decoded once and kept in memory as uint8 (600 scenes at 256 px
are about 120 MB); augmentations run on those tensors every epoch.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kit.errors import ParameterError

__all__ = ["TrainResult", "balanced_loss", "calibrate_count_threshold", "train_detector"]


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
    """

    model: object
    history: list
    best_epoch: int
    score_threshold: float
    class_thresholds: dict = field(default_factory=dict)
    stopped_early: bool = False
    checkpoint: Path | None = None
    precision: str = "fp32"


class _Cached:
    """A CocoDetection decoded once: uint8 images and boxes, augmented per access."""

    def __init__(self, dataset, transforms):
        import torch
        from torchvision import tv_tensors

        self.items = []
        for i in range(len(dataset)):
            s = dataset[i]
            if s is None:
                continue
            img = s["image"]
            if img.is_floating_point():
                img = (img * 255).round().to(torch.uint8)
            self.items.append((tv_tensors.Image(img), s["boxes"], s["labels"]))
        self.transforms = transforms

    def __len__(self):
        return len(self.items)

    def get(self, i):
        img, boxes, labels = self.items[i]
        s = {"image": img, "boxes": boxes, "labels": labels}
        return self.transforms(s) if self.transforms is not None else s


def calibrate_count_threshold(detections, index, image_ids=None, grid=None) -> tuple[float, dict]:
    """Score threshold that makes counts right on validation images.

    Parameters
    ----------
    detections : list of dict
        Low-threshold detections (``predict(..., score_threshold=0.01)``).
    index : kit.vision.data.CocoIndex
        The validation split.
    image_ids : list of int, optional
    grid : array, optional
        Thresholds tried (default 0.05 to 0.95 by 0.01).

    Returns
    -------
    (threshold, per_class) : float, dict
        The threshold minimizing the mean absolute count error summed over
        classes, and ``{label: threshold}`` per class (ties go to the
        middle of the best range, which is the most robust choice).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> idx = SimpleNamespace(categories=[{"id": 1}], images=[{"id": 1}], labels=[np.array([1, 1])])
    >>> det = [{"scores": np.array([0.9, 0.8, 0.3]), "labels": np.array([1, 1, 1])}]
    >>> thr, per = calibrate_count_threshold(det, idx)
    >>> 0.3 < thr <= 0.8, 0.3 < per[1] <= 0.8
    (True, True)
    """
    from kit.vision.evaluate import count_errors

    grid = np.round(np.arange(0.05, 0.951, 0.01), 2) if grid is None else np.asarray(grid, dtype=float)
    err = count_errors(detections, index, grid, image_ids)

    def pick(e):
        best = np.flatnonzero(e <= e.min() + 1e-12)
        return float(grid[best[len(best) // 2]])

    return pick(err.sum(axis=1)), {k + 1: pick(err[:, k]) for k in range(err.shape[1])}


def _colour_jitter(x, strength, gen):
    """Per-image brightness, contrast and saturation gains in [1 - s, 1 + s] on a float batch in [0, 1]."""
    import torch

    if not strength:
        return x
    B = x.shape[0]
    g = lambda: 1 + strength * (2 * torch.rand(B, 1, 1, 1, generator=gen) - 1)  # noqa: E731
    x = x * g()
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * g() + mean
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * g() + grey
    return x.clamp(0, 1)


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


def _prefetch(items, depth: int = 2):
    """Iterate ``items`` while a background thread prepares the next ``depth`` ones.

    Batches are augmented and encoded in that thread while the main one
    trains on the previous batch (Torch releases the GIL in its kernels), in
    the same order and with the same random draws as without it, so results
    do not change. An error in the thread is raised here.
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


def _seed_all(seed):
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def train_detector(model, train, val=None, *, epochs: int = 30, batch_size: int = 8, lr: float = 4e-3,
                   weight_decay: float = 1e-4, image_size: int = 256, augment: dict | None = None,
                   patience: int = 8, min_epochs: int = 0, eval_every: int = 1, first_eval: int | None = None,
                   checkpoint_dir=None, backend=None,
                   seed: int = 0, progress: bool = True, max_cpu_seconds: float | None = None,
                   class_balanced: bool = True, crop_size=None, channels_last: bool | None = None,
                   regression: str = "dense", gaussian: str = "circle", prefetch: bool = True,
                   precision: str = "auto") -> TrainResult:
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
    batch_size : int
    lr : float
        Peak learning rate of AdamW.
    weight_decay : float
    image_size : int, px
        Square training size (multiple of 16).
    augment : dict, optional
        Keyword arguments for :func:`kit.vision.data.train_transforms`.
    patience : int
        Stop after this many evaluations without a better validation mAP@0.5.
    min_epochs : int
        Never stop before this epoch.
    eval_every : int
        Evaluate on ``val`` every this many epochs (and at the last one).
    first_eval : int, optional
        First epoch evaluated on ``val``; default: the first of the second
        half of the schedule: under the one-cycle schedule an early epoch is
        never the best one, and an evaluation of the synthetic validation
        split costs about 15 % of an epoch.
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

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> import tempfile
    >>> from kit.vision.synth import generate
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
    from tqdm.auto import tqdm

    from kit.backend import as_backend, train_precision
    from kit.io import atomic_path
    from kit.vision.data import eval_transforms, train_transforms
    from kit.vision.evaluate import coco_evaluate, predict
    from kit.vision.models import centernet_loss, encode_targets

    if image_size % 16:
        raise ParameterError(f"image_size must be a multiple of 16 px, got {image_size}")
    if epochs < 1 or batch_size < 1:
        raise ParameterError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    backend = as_backend(backend)
    torch_device = backend.torch_device
    precision = backend.precision if precision == "auto" else train_precision(torch_device, precision)[0]
    amp_dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    use_amp = amp_dtype is not None
    amp_device = "cuda" if torch_device.startswith("cuda") else "cpu"
    _seed_all(seed)
    model = model.to(torch_device)
    K = model.num_classes
    aug = {"hflip": 0.5, "jitter": 0.3, "scale_jitter": 0.15, **(augment or {})}
    # Colour jitter runs on the whole batch at once (per-image ColorJitter costs as much as the rest of the pipeline).
    jitter = float(aug.pop("jitter"))
    # torchvision networks resize their input themselves: crops would change object scales for them.
    detections_out = bool(getattr(model, "outputs_detections", False))
    if detections_out and crop_size not in (None, "auto"):
        raise ParameterError("crop_size applies to CenterNet only: torchvision detectors resize their input themselves")
    if crop_size == "auto":
        crop_size = max(64, int(round(image_size * 5 / 8 / 16)) * 16) if image_size >= 128 and not detections_out else None
    if crop_size is not None and (int(crop_size) % 16 or not 16 <= int(crop_size) <= image_size):
        raise ParameterError(f"crop_size must be a multiple of 16 px up to image_size ({image_size}), got {crop_size}")
    train_size = image_size if crop_size is None else int(crop_size)
    channels_last = not (amp_device == "cuda" or detections_out) if channels_last is None else bool(channels_last)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=layout)
    cached = _Cached(train, train_transforms(image_size, jitter=0, crop_size=crop_size, **aug))
    if len(cached) == 0:
        from kit.errors import InputDataError

        raise InputDataError("the training split has no readable image; check the dataset folder")
    val_eval = None
    if val is not None:
        from kit.vision.data import CocoDetection

        val_eval = CocoDetection.__new__(CocoDetection)
        val_eval.index, val_eval.transforms = val.index, eval_transforms(image_size)

    first_eval = epochs // 2 + 1 if first_eval is None else max(1, int(first_eval))
    steps_per_epoch = math.ceil(len(cached) / batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch,
                                                pct_start=0.15, div_factor=10, final_div_factor=100)
    # bfloat16 has float32's exponent range: only float16 needs its gradients scaled.
    scaler = torch.amp.GradScaler(amp_device, enabled=precision == "fp16")
    gen = torch.Generator().manual_seed(seed)
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None

    def save(name, state, **meta):
        if ckpt_dir is None:
            return None
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(ckpt_dir / name) as tmp:
            torch.save({"model": state, **meta}, tmp)
        return ckpt_dir / name

    history, best, best_state, best_epoch, bad, stopped = [], -1.0, None, 0, 0, False
    cpu0, wall0 = time.process_time(), time.perf_counter()
    # One update per epoch: a bar that updates on a timer would store a different number of lines per run.
    bar = tqdm(total=epochs, disable=not progress, desc="train", unit="epoch", mininterval=0)
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(cached), generator=gen).tolist()
        total, n = 0.0, 0

        def batches(order=order):
            for b in range(0, len(order), batch_size):
                samples = [cached.get(i) for i in order[b:b + batch_size]]
                x = _colour_jitter(torch.stack([s["image"].as_subclass(torch.Tensor) for s in samples]), jitter, gen)
                x = x.to(torch_device).contiguous(memory_format=layout)
                boxes = [s["boxes"].as_subclass(torch.Tensor).to(torch_device) for s in samples]
                labels = [s["labels"].to(torch_device) for s in samples]
                targets = None if detections_out else encode_targets(boxes, labels, K, (train_size, train_size),
                                                                     regression=regression, gaussian=gaussian)
                yield x, boxes, labels, targets

        # One epoch at a time, so the next epoch's shuffle is drawn after this epoch's augmentations.
        # torchvision networks draw random numbers in training (Faster R-CNN samples proposals): a second
        # thread drawing for augmentations at the same time would make runs differ, so they train inline.
        for x, boxes, labels, targets in (_prefetch(batches()) if prefetch and not detections_out else batches()):
            if detections_out:  # torchvision network: it computes its own losses
                with torch.autocast(amp_device, dtype=amp_dtype, enabled=use_amp):
                    losses = model(x, [{"boxes": b, "labels": lab} for b, lab in zip(boxes, labels)])
                loss = sum(v.float() for v in losses.values())
            else:
                with torch.autocast(amp_device, dtype=amp_dtype, enabled=use_amp):
                    out = model(x)
                loss, _ = (balanced_loss if class_balanced else centernet_loss)({k: v.float() for k, v in out.items()}, targets)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            scaler.step(opt)
            scaler.update()
            sched.step()
            total += float(loss.detach()) * len(x)
            n += len(x)
        out_of_time = max_cpu_seconds is not None and time.process_time() - cpu0 >= max_cpu_seconds
        last = epoch == epochs or out_of_time
        map50 = float("nan")
        if val_eval is not None and ((epoch >= first_eval and (epoch - first_eval) % eval_every == 0) or last):
            ids, dets = predict(model, val_eval, image_size=image_size, backend=backend)
            from kit.vision.evaluate import to_coco_results

            map50 = coco_evaluate(to_coco_results(dets, ids, val.index.category_ids), val.index).map50
            if map50 > best:
                best, best_epoch, bad = map50, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
                save("best.pt", best_state, epoch=epoch, val_map50=map50)
            else:
                bad += 1
        bar.set_postfix(loss=f"{total / n:.3f}", val_map50=f"{map50:.3f}", refresh=False)
        bar.update(1)
        history.append({"epoch": epoch, "train_loss": total / max(n, 1), "val_map50": map50, "lr": sched.get_last_lr()[0],
                        "cpu_s": time.process_time() - cpu0, "wall_s": time.perf_counter() - wall0})
        save("last.pt", model.state_dict(), epoch=epoch)
        if last:
            break
        if val_eval is not None and bad >= patience and epoch >= min_epochs:
            stopped = True
            break
    bar.close()
    model = model.to(memory_format=torch.contiguous_format)
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch = history[-1]["epoch"]
    model.eval()
    thr, per_class = 0.3, {k: 0.3 for k in range(1, K + 1)}
    if val_eval is not None:
        ids, dets = predict(model, val_eval, image_size=image_size, backend=backend, score_threshold=0.05)
        thr, per_class = calibrate_count_threshold(dets, val.index, ids)
    ckpt = None
    if ckpt_dir is not None:
        ckpt = save("best.pt", model.state_dict(), epoch=best_epoch, val_map50=best, score_threshold=thr,
                    class_thresholds=per_class, num_classes=K, image_size=image_size)
    return TrainResult(model, history, best_epoch, thr, per_class, stopped, ckpt, precision)
