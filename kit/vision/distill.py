"""Teacher → student distillation into the small CPU detector (CenterNet), on labelled and unlabelled images.

A frozen teacher — a wider CenterNet trained here (``"centernet_wide"``), or
a detector of an earlier run given as its checkpoint (a CenterNet of any
width, or a fine-tuned ssdlite, fcos or faster_rcnn) — sees every training
batch the student sees, after the same augmentations. Its maps (or its
boxes, drawn as soft peaks) become soft targets
(:mod:`kit.vision.distill_loss`), and the student's loss is

    supervised loss (labelled images) + ``weight`` × distillation loss (labelled and unlabelled images).

The unlabelled images (a data set whose boxes are withheld: they are never
read) join every step as a second batch, so the student sees more images
per step than without a teacher; :func:`kit.vision.train.train_detector`
does the rest (the same recipe, schedule, validation and checkpoints as
without one) through its ``distill`` argument.

:class:`DistilledDetector` is the estimator (``fit`` / ``predict`` /
``score``): it trains the teacher, then the student.

Measured by ``benchmarks/vision_distill.py`` at its defaults (synthetic
scenes at scale 0.25: about 110 labelled training images and as many
unlabelled ones, 256 px, 12 epochs, fp32, seeds 0 and 1): student test
mAP@0.5 0.343 / 0.308 alone, 0.517 / 0.368 distilled from a width-32
teacher (0.544 / 0.417), a ratio of 1.36 on the mean; the distilled
student's training costs about 2.9× the CPU time of the student alone
(twice the images per step and the teacher's forward pass), and the
teacher's training another 2.6×. Its int8 ONNX model keeps the gain
(0.510 against 0.347, seed 0): the student's network is unchanged. At
equal CPU time it does not pay on these scenes: the student alone trained
for 36 epochs (3.1–3.3 CPU-min, the distilled student's 3.6–3.7) reaches
0.705 / 0.622, well above the distilled one, without a teacher to train;
12 epochs leave the student under-trained, which is where a teacher helps.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from kit.errors import ParameterError

from kit.vision.teachers import TEACHERS, frozen, load_teacher, wide_teacher

__all__ = ["TEACHERS", "DistilledDetector", "Distillation", "Withheld", "for_notebook", "load_teacher", "unlabelled_scenes",
           "wide_teacher"]

class Withheld:
    """A detection data set with its labels withheld: each sample's image, with no boxes and no labels.

    Parameters
    ----------
    dataset : kit.vision.data.CocoDetection
        Served without transforms (as training splits are).
    """

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        import torch
        from torchvision import tv_tensors

        s = self.dataset[i]
        if s is None:
            return None
        return {"image": s["image"], "labels": torch.zeros(0, dtype=torch.int64),
                "boxes": tv_tensors.BoundingBoxes(torch.zeros(0, 4), format="XYXY", canvas_size=tuple(s["image"].shape[-2:]))}


@dataclass
class Distillation:
    """A frozen teacher's term in the student's loss, and the unlabelled images it sees.

    Given to :func:`kit.vision.train.train_detector` as ``distill``.

    Attributes
    ----------
    teacher : torch.nn.Module
        A CenterNet (its maps are the targets) or a
        :class:`kit.vision.models.TorchvisionDetector` (its boxes, drawn as
        soft peaks); frozen here.
    unlabelled : dataset, optional
        Images without labels (e.g. :class:`Withheld`), augmented like the
        training split; a batch of them joins every step.
    weight : float
        Weight of the distillation loss against the supervised loss.
    heatmap_weight, box_weight : float
        See :func:`kit.vision.distill_loss.distillation_loss`.
    unlabelled_batch_size : int, optional
        Unlabelled images per step; default the labelled batch size.
    min_score : float, 0–1
        A torchvision teacher's boxes scoring less are not drawn.
    """

    teacher: object
    unlabelled: object = None
    weight: float = 1.0
    heatmap_weight: float = 1.0
    box_weight: float = 0.1
    unlabelled_batch_size: int | None = None
    min_score: float = 0.05

    def __post_init__(self):
        self.teacher = frozen(self.teacher)
        if self.weight < 0:
            raise ParameterError(f"distillation weight must be >= 0, got {self.weight}")

    def soft_targets(self, images) -> dict:
        """The teacher's soft targets for a batch of images (B, 3, H, W) in [0, 1], without gradients."""
        import torch

        from kit.vision.distill_loss import centernet_soft_targets, render_detections

        self.teacher.eval()  # fit() puts only the student in training mode; this keeps batch norm frozen regardless
        with torch.no_grad():
            if getattr(self.teacher, "outputs_detections", False):
                return render_detections(self.teacher(images.contiguous()), self.teacher.num_classes,
                                         tuple(images.shape[-2:]), min_score=self.min_score)
            return centernet_soft_targets(self.teacher(images))

    def attach(self, batches):
        """``batches`` (:class:`kit.vision.batches.DetectorBatches`) with a batch of unlabelled images added to each."""
        if self.unlabelled is None:
            return batches
        from kit.vision.distill_batches import WithUnlabelled

        return WithUnlabelled.around(batches, self.unlabelled, self.unlabelled_batch_size)

    def wrap(self, forward, loss):
        """The student's ``(forward, loss)`` for :class:`kit.ml.step.TrainStep`, with the teacher's term added."""
        import torch

        from kit.vision.distill_loss import distillation_loss

        teacher_device = next(self.teacher.parameters()).device

        def distill_forward(model, batch):
            x = batch[0] if len(batch) == 4 else torch.cat([batch[0], batch[4]])
            if next(model.parameters()).device != teacher_device:
                raise ParameterError("the teacher and the student must be on the same device; build both with the same backend")
            return {"student": forward(model, (x, *batch[1:])), "soft": self.soft_targets(x)}

        def distill_loss(outputs, batch):
            n = batch[0].shape[0]
            student = outputs["student"]
            supervised = loss({k: v[:n] for k, v in student.items()}, batch)
            term, _ = distillation_loss({k: v.float() for k, v in student.items()}, outputs["soft"],
                                        self.heatmap_weight, self.box_weight)
            return supervised + self.weight * term

        return distill_forward, distill_loss


class DistilledDetector:
    """The CenterNet student trained with a teacher's soft targets: ``fit``, ``predict``, ``score``.

    Parameters
    ----------
    teacher : {"centernet_wide", "none"}, path or torch.nn.Module
        ``"centernet_wide"``: a wider CenterNet (``teacher_width``,
        ``teacher_head_channels``) trained first on the same labelled split,
        for ``teacher_epochs``; ``"none"``: the student alone (the
        baseline, through the same code); a path: a checkpoint,
        see :func:`load_teacher`; a module: a trained teacher.
    student_width : int
        The student's :func:`kit.vision.models.centernet` width (16: the kit's default detector).
    teacher_width, teacher_head_channels : int
    weight, heatmap_weight, box_weight : float
        See :class:`Distillation`.
    epochs : int
        The student's epochs (early stopping as :func:`kit.vision.train.train_detector`).
    teacher_epochs : int, optional
        Default ``epochs``.
    image_size : int, px
    batch_size : int
        Labelled images per step (and unlabelled images per step, when given).
    lr : float
        Peak learning rate (student and teacher).
    patience : int
    seed : int
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}
    progress : bool
    train_options : dict, optional
        Further keywords for :func:`kit.vision.train.train_detector` (student and teacher).

    Attributes
    ----------
    model_ : CenterNet
        The trained student, eval mode.
    result_ : kit.vision.train.TrainResult
        The student's training.
    teacher_ : torch.nn.Module or None
        The frozen teacher.
    teacher_result_ : TrainResult or None
        The teacher's training, when trained here.
    teacher_train_s_ : dict
        ``{"wall": s, "cpu": process CPU s}`` spent training the teacher (0 when given).
    student_train_s_ : dict
        The same for the student.
    """

    def __init__(self, teacher="centernet_wide", *, student_width: int = 16, teacher_width: int = 32,
                 teacher_head_channels: int = 64, weight: float = 1.0, heatmap_weight: float = 1.0,
                 box_weight: float = 0.1, epochs: int = 26, teacher_epochs: int | None = None, image_size: int = 256,
                 batch_size: int = 4, lr: float = 3e-3, patience: int = 4, seed: int = 0, backend=None,
                 progress: bool = False, train_options: dict | None = None):
        self.teacher, self.student_width = teacher, student_width
        self.teacher_width, self.teacher_head_channels = teacher_width, teacher_head_channels
        self.weight, self.heatmap_weight, self.box_weight = weight, heatmap_weight, box_weight
        self.epochs, self.teacher_epochs, self.image_size = epochs, teacher_epochs, image_size
        self.batch_size, self.lr, self.patience, self.seed = batch_size, lr, patience, seed
        self.backend, self.progress, self.train_options = backend, progress, train_options

    def _train(self, model, train, val, epochs, distill=None, checkpoint_dir=None):
        from kit.vision.train import train_detector

        cpu0, t0 = time.process_time(), time.perf_counter()
        result = train_detector(model, train, val, epochs=epochs, image_size=self.image_size, backend=self.backend,
                                seed=self.seed, batch_size=self.batch_size, lr=self.lr, patience=self.patience,
                                progress=self.progress, checkpoint_dir=checkpoint_dir, distill=distill,
                                **(self.train_options or {}))
        return result, {"wall": time.perf_counter() - t0, "cpu": time.process_time() - cpu0}

    def fit_teacher(self, train, val=None, checkpoint_dir=None):
        """Train the teacher (``"centernet_wide"``) or load it (a path); sets ``teacher_`` and its times.

        Parameters
        ----------
        train, val : kit.vision.data.CocoDetection
            Labelled splits (the teacher never sees the unlabelled images' labels: they have none).
        checkpoint_dir : path, optional
            The teacher's ``best.pt`` and ``last.pt``.

        Returns
        -------
        self
        """
        K = len(train.label_names)
        self.teacher_, self.teacher_result_, self.teacher_train_s_ = None, None, {"wall": 0.0, "cpu": 0.0}
        if isinstance(self.teacher, str) and self.teacher == "centernet_wide":
            wide = wide_teacher(K, self.teacher_width, self.teacher_head_channels, backend=self.backend)
            self.teacher_result_, self.teacher_train_s_ = self._train(wide, train, val, self.teacher_epochs or self.epochs,
                                                                      checkpoint_dir=checkpoint_dir)
            self.teacher_ = self.teacher_result_.model
        elif hasattr(self.teacher, "parameters"):
            self.teacher_ = self.teacher
        elif not (isinstance(self.teacher, str) and self.teacher == "none"):
            self.teacher_ = load_teacher(self.teacher, K, self.image_size, backend=self.backend)
        return self

    def fit(self, train, val=None, unlabelled=None, checkpoint_dir=None):
        """Train the teacher (when named), then the student with it.

        Parameters
        ----------
        train, val : kit.vision.data.CocoDetection
            Labelled splits, as :func:`kit.vision.train.train_detector` takes them.
        unlabelled : dataset, optional
            Images whose labels are not used (wrapped in :class:`Withheld`
            here): the teacher labels them for the student.
        checkpoint_dir : path, optional
            The student's ``best.pt`` and ``last.pt``; the teacher's under ``teacher/``.

        Returns
        -------
        self
        """
        from pathlib import Path

        from kit.vision.models import centernet

        self.fit_teacher(train, val, None if checkpoint_dir is None else Path(checkpoint_dir) / "teacher")
        distill = None
        if self.teacher_ is not None:
            if unlabelled is not None and not isinstance(unlabelled, Withheld):
                unlabelled = Withheld(unlabelled)  # its labels are never read
            distill = Distillation(self.teacher_, unlabelled, self.weight,
                                   self.heatmap_weight, self.box_weight)
        student = centernet(len(train.label_names), width=self.student_width, backend=self.backend)
        self.result_, self.student_train_s_ = self._train(student, train, val, self.epochs, distill, checkpoint_dir)
        self.model_ = self.result_.model
        return self

    def predict(self, dataset, **kwargs):
        """:func:`kit.vision.evaluate.predict` with the student: ``(image_ids, detections)``, boxes in original pixels."""
        from kit.vision.evaluate import predict

        self._check_fitted()
        return predict(self.model_, dataset, image_size=self.image_size, backend=self.backend, **kwargs)

    def score(self, dataset) -> float:
        """The student's mAP@0.5 on ``dataset`` (served with ``eval_transforms(image_size)``)."""
        from kit.vision.evaluate import coco_evaluate, to_coco_results

        ids, dets = self.predict(dataset)
        return coco_evaluate(to_coco_results(dets, ids, dataset.index.category_ids), dataset.index).map50

    def _check_fitted(self):
        if not hasattr(self, "model_"):
            raise ParameterError("this DistilledDetector is not fitted yet; call fit(train, val) first")


def unlabelled_scenes(folder, n_images: int, seed: int, image_size: int = 256):
    """Synthetic scenes of ``seed`` written to ``folder`` (reused when already there), served with their labels withheld.

    Parameters
    ----------
    folder : path
    n_images : int
    seed : int
        Give another seed than the labelled scenes' (the notebook and the
        benchmark use theirs + 1000), so no labelled scene recurs.
    image_size : int, px

    Returns
    -------
    Withheld
    """
    import json
    from pathlib import Path

    from kit.vision.data import CocoDetection
    from kit.vision.synthetic import DATA_VERSION, generate

    marker = Path(folder) / "annotations.json"
    coco = json.loads(marker.read_text()) if marker.is_file() else {}
    info = coco.get("info", {})
    # Same parameters, same files (the generator is deterministic): reuse them.
    if (info.get("seed"), info.get("image_size"), info.get("version"), len(coco.get("images", []))) != (
            seed, image_size, DATA_VERSION, n_images):
        generate(folder, n_images=n_images, image_size=image_size, seed=seed, split_fractions=(1.0, 0.0, 0.0),
                 n_code_crops=0, sequence_frames=0)
    return Withheld(CocoDetection(folder, "train"))


def for_notebook(teacher: str, train, val, *, dataset, output_dir, seed: int, image_size: int, epochs: int,
                 backend=None, batch_size: int = 4, lr: float = 3e-3, patience: int = 4):
    """The notebook's ``teacher`` parameter as the ``distill`` argument of :func:`kit.vision.train.train_detector`.

    Parameters
    ----------
    teacher : str
        ``"none"`` (returns None: nothing changes), ``"centernet_wide"``
        (trained here on ``train`` and ``val`` with the notebook's recipe,
        its checkpoints under ``output_dir/checkpoints/teacher``) or a
        checkpoint file (:func:`load_teacher`).
    train, val : kit.vision.data.CocoDetection
    dataset : path or None
        The notebook's ``dataset``: for synthetic data (None) the teacher
        also teaches on as many unlabelled scenes as the training split
        (seed ``seed + 1000``, under ``output_dir/synthetic_unlabelled``);
        on the user's data set on the training images only.
    output_dir : path
    seed, image_size, epochs, backend, batch_size, lr, patience
        As the notebook trains its detector (``epochs`` is the teacher's too).

    Returns
    -------
    Distillation or None
        Printed: the teacher's size, training time and the images it
        teaches on; recorded in ``metrics.json``: ``teacher`` (its name or
        file name) and ``teacher_train_cpu_s``.
    """
    from pathlib import Path

    if teacher == "none":
        return None
    est = DistilledDetector(teacher, epochs=epochs, image_size=image_size, batch_size=batch_size, lr=lr,
                            patience=patience, seed=seed, backend=backend)
    est.fit_teacher(train, val, Path(output_dir) / "checkpoints" / "teacher")
    unlabelled = None if dataset is not None else unlabelled_scenes(
        Path(output_dir) / "synthetic_unlabelled", len(train), seed + 1000, image_size)
    n_params = sum(p.numel() for p in est.teacher_.parameters())
    spent = est.teacher_train_s_
    trained = f", trained in {spent['wall'] / 60:.1f} min ({spent['cpu'] / 60:.1f} CPU-min)" if spent["cpu"] else ""
    print(f"teacher {teacher}: {n_params / 1e6:.2f} M parameters{trained}; teaching on {len(train)} training images"
          + (f" and {len(unlabelled)} unlabelled ones" if unlabelled is not None else ""))
    from kit import report

    report.record("teacher", teacher if teacher in TEACHERS else Path(teacher).name)
    report.record("teacher_train_cpu_s", round(spent["cpu"], 1))
    return Distillation(est.teacher_, unlabelled)
