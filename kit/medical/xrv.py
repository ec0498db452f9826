"""Open chest-radiograph weights from torchxrayvision, found and loaded offline.

torchxrayvision (Cohen et al., Apache-2.0) publishes DenseNet-121 and
ResNet-50 pathology classifiers trained on public chest radiograph sets. Its
``get_weights`` keeps each file under ``~/.torchxrayvision/models_data/``
named as in its release URL (``models.model_urls[weights]["weights_url"]``),
and downloads a missing one. Here nothing is downloaded: the user gives a
file of one of those names, or a folder laid out like that cache, and the
weights are read with ``torch.load(weights_only=True)`` into torchxrayvision's
own classes, as its constructors would after their own load:

- DenseNet-121 files (``*-densenet121-d121-tw-lr001-rot45-tr15-sc15-seed0-best.pt``)
  are whole pickled ``xrv.models.DenseNet`` modules (its training script saves
  ``torch.save(model, ...)``); unpickled with only torchxrayvision's and
  torch.nn's layer classes allowed, so a file cannot run code. A state_dict
  of the same keys is accepted too.
- The ResNet-50 file (``pc-nih-rsna-siim-vin-resnet50-test512-e400-state.pt``)
  is the state_dict of torchvision's ``resnet50`` with a one-channel ``conv1``.

Inputs are what torchxrayvision expects: one channel, ``xrv.datasets.normalize``
scaling to [-1024, 1024], a square (centre-cropped) image.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from kit.errors import InputDataError

CACHE_SUBDIR = os.path.join(".torchxrayvision", "models_data")
# When a cache folder holds several files, the one used: the all-datasets models first.
PREFERENCE = ("densenet121-res224-all", "resnet50-res512-all", "densenet121-res224-nih", "densenet121-res224-pc",
              "densenet121-res224-chex", "densenet121-res224-rsna", "densenet121-res224-mimic_nb",
              "densenet121-res224-mimic_ch")
# Training sets of each weights string, as torchxrayvision's documentation names them.
TRAINING_SETS = {
    "densenet121-res224-all": ("NIH ChestX-ray14", "PadChest", "CheXpert", "MIMIC-CXR (CheXpert labels)",
                               "NIH Google labels", "OpenI", "RSNA Pneumonia Challenge"),
    "densenet121-res224-nih": ("NIH ChestX-ray14",),
    "densenet121-res224-pc": ("PadChest",),
    "densenet121-res224-chex": ("CheXpert",),
    "densenet121-res224-rsna": ("RSNA Pneumonia Challenge",),
    "densenet121-res224-mimic_nb": ("MIMIC-CXR (NegBio labels)",),
    "densenet121-res224-mimic_ch": ("MIMIC-CXR (CheXpert labels)",),
    "resnet50-res512-all": ("PadChest", "NIH ChestX-ray14", "RSNA Pneumonia Challenge", "SIIM-ACR Pneumothorax",
                            "VinDr-CXR"),
}
ORIGIN = ("torchxrayvision (Cohen J.P. et al., \"TorchXRayVision: A library of chest X-ray datasets and models\", "
          "MIDL 2022, arXiv:2111.00595; Cohen et al., \"On the limits of cross-domain generalization in automated "
          "X-ray prediction\", MIDL 2020, arXiv:2002.02497), release v1 of github.com/mlmed/torchxrayvision")
LICENSE = ("torchxrayvision code and released weights: Apache-2.0; the training sets keep their own terms "
           "(e.g. MIMIC-CXR: PhysioNet credentialed data use agreement; CheXpert: Stanford research use "
           "agreement), which bind use of models derived from them: check them before clinical or commercial use")


def xrv():
    """``torchxrayvision``, imported without its side effect on the warning filters.

    Its ``models`` module calls ``warnings.filterwarnings("ignore")`` at import,
    which would silence every warning of the process; the filters are restored.
    """
    with warnings.catch_warnings():
        import torchxrayvision

    return torchxrayvision


def file_names() -> dict[str, str]:
    """Weights string -> the file name torchxrayvision's cache keeps it under.

    Examples
    --------
    >>> file_names()["resnet50-res512-all"]
    'pc-nih-rsna-siim-vin-resnet50-test512-e400-state.pt'
    """
    urls = xrv().models.model_urls
    return {name: os.path.basename(urls[name]["weights_url"]) for name in PREFERENCE}


@dataclass(frozen=True)
class WeightsFile:
    """A torchxrayvision weights file found on disk: its weights string, path and architecture."""

    weights: str
    path: Path

    @property
    def arch(self) -> str:
        return "densenet121" if self.weights.startswith("densenet121") else "resnet50"

    @property
    def input_resolution(self) -> int:
        """Side of the images the weights were trained on, pixels."""
        return int(xrv().models.model_urls[self.weights]["input_resolution"])


def find_weights(path) -> WeightsFile:
    """The torchxrayvision weights file at ``path``: a file of a cache name, or a cache folder.

    A folder may be the cache itself (``models_data``), its parent
    (``.torchxrayvision``) or a home folder holding ``.torchxrayvision``; with
    several files the first of :data:`PREFERENCE` is used.

    Raises
    ------
    kit.errors.InputDataError
        Nothing of a torchxrayvision name is there.
    """
    path = Path(path).expanduser()
    by_file = {v: k for k, v in file_names().items()}
    if path.is_file():
        if path.name not in by_file:
            raise InputDataError(f"{path.name} is not a torchxrayvision weights file name; give the file as its "
                                 f"cache names it (e.g. {file_names()['densenet121-res224-all']}) or its folder")
        return WeightsFile(by_file[path.name], path)
    for folder in (path, path / "models_data", path / CACHE_SUBDIR):
        for weights in PREFERENCE:
            candidate = folder / file_names()[weights]
            if candidate.is_file():
                return WeightsFile(weights, candidate)
    raise InputDataError(f"no torchxrayvision weights file in {path}; give a file named as torchxrayvision's cache "
                         f"(~/{CACHE_SUBDIR}/) names it, e.g. {file_names()['densenet121-res224-all']}")


def is_weights_path(path) -> bool:
    """True when ``path`` is a torchxrayvision weights file or a folder holding one."""
    try:
        find_weights(path)
    except InputDataError:
        return False
    return True


def _allowed_classes():
    """The classes a published DenseNet pickle is made of: torchxrayvision's layers and torch.nn's."""
    from torch import nn

    models = xrv().models
    return [models.DenseNet, models._DenseBlock, models._DenseLayer, models._Transition, nn.Sequential, nn.Conv2d,
            nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.Linear, set]


def read_state_dict(found: WeightsFile) -> dict:
    """The tensors of a weights file, read with ``weights_only=True`` (no code from the file runs)."""
    import torch
    from torch import nn

    try:
        with torch.serialization.safe_globals(_allowed_classes()):
            obj = torch.load(found.path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputDataError(f"{found.path} cannot be read as torchxrayvision {found.weights} weights "
                             f"({str(exc).splitlines()[0][:160]}); give the file as torchxrayvision published "
                             "it, or its state_dict") from None
    state = obj.state_dict() if isinstance(obj, nn.Module) else obj
    if not isinstance(state, dict):
        raise InputDataError(f"{found.path} holds a {type(obj).__name__}, not {found.weights} weights; give the "
                             "file as torchxrayvision published it, or its state_dict")
    return state


def load_xrv_model(path):
    """torchxrayvision's model with the weights at ``path``, in eval mode, read offline.

    Parameters
    ----------
    path : str or Path
        A weights file named as torchxrayvision's cache names it, or a folder
        laid out like ``~/.torchxrayvision/models_data/``.

    Returns
    -------
    (torch.nn.Module, WeightsFile)
        ``xrv.models.DenseNet`` or ``xrv.models.ResNet`` with ``weights``,
        ``targets``/``pathologies``, ``op_threshs`` and ``input_resolution``
        set as its constructor sets them for those weights.

    Raises
    ------
    kit.errors.InputDataError
        No such file, unreadable, or keys or shapes that do not match the architecture.
    """
    found = find_weights(path)
    state = read_state_dict(found)
    model = _new_densenet() if found.arch == "densenet121" else _new_resnet(found.weights)
    target = model if found.arch == "densenet121" else model.model
    try:
        target.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise InputDataError(f"{found.path} does not fit torchxrayvision's {found.arch} "
                             f"({str(exc).splitlines()[1].strip()[:160] if len(str(exc).splitlines()) > 1 else exc}); "
                             f"give the {found.weights} file as published") from None
    _set_like_xrv(model, found.weights)
    return model.eval(), found


def _new_densenet():
    models = xrv().models
    return models.DenseNet(weights=None, num_classes=18, in_channels=1, **models.get_densenet_params("densenet121"))


def _new_resnet(weights: str):
    """``xrv.models.ResNet`` built as its ``__init__`` builds it, without its ``get_weights`` (which downloads)."""
    import torch
    import torchvision
    from torch import nn

    models = xrv().models
    model = models.ResNet.__new__(models.ResNet)
    nn.Module.__init__(model)
    model.weights, model.apply_sigmoid = weights, False
    model.weights_dict = models.model_urls[weights]
    model.model = torchvision.models.resnet50(num_classes=len(model.weights_dict["labels"]), weights=None)
    model.model.conv1 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return model


def _set_like_xrv(model, weights: str) -> None:
    """What torchxrayvision's constructors set after loading ``weights``: targets, op_threshs, resolution."""
    import torch

    spec = xrv().models.model_urls[weights]
    model.weights = weights
    model.targets = spec["labels"]
    model.pathologies = model.targets
    model.weights_filename_local = None
    if "op_threshs" in spec:
        if "op_threshs" in model._buffers:
            model.op_threshs = torch.tensor(spec["op_threshs"])
        else:
            model.register_buffer("op_threshs", torch.tensor(spec["op_threshs"]))
    model.input_resolution = int(spec["input_resolution"])


def weights_card(found: WeightsFile) -> dict:
    """What the model card says of the weights: name, file, origin, training sets, license."""
    return {"weights": found.weights, "file": found.path.name, "origin": ORIGIN,
            "training_sets": ", ".join(TRAINING_SETS[found.weights]), "license": LICENSE,
            "input_resolution": found.input_resolution}
