import pytest


def _find(name: str) -> str:
    # download=False: offline machines hang when pydicom tries to fetch test files.
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)
    assert path is not None, f"{name} not found: install pydicom-data (pip install pydicom-data)"
    return path


@pytest.fixture(scope="session")
def dicom_file():
    """Function giving the path of a pydicom / pydicom-data test file, without downloading."""
    return _find


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory):
    """40 good studies over 5 sites, 10% burned-in, plus one broken file of each kind."""
    from kit.medical.synthetic import BROKEN_KINDS, synth_chest_xrays

    folder = tmp_path_factory.mktemp("synth")
    labels = synth_chest_xrays(folder, n_studies=40, image_size=64, prevalence=0.4, n_sites=5,
                               burned_in_fraction=0.1, n_broken=len(BROKEN_KINDS), seed=11)
    return folder, labels


def write_xrv_cache(home, weights=("densenet121-res224-all",), seed=0):
    """A ``~/.torchxrayvision/models_data/`` under ``home`` holding random-weight files as torchxrayvision publishes them.

    DenseNet-121 files are whole pickled ``xrv.models.DenseNet`` modules (its
    training script's ``torch.save(model, ...)``); the ResNet-50 file is the
    state_dict of torchvision's resnet50 with a one-channel ``conv1`` (what
    ``xrv.models.ResNet`` loads into ``self.model``). Built offline with the
    library's own constructors (``weights=None``): nothing is downloaded.
    """
    from pathlib import Path

    import torch
    import torchvision

    from kit.medical.xrv import CACHE_SUBDIR, file_names, xrv

    models = xrv().models
    folder = Path(home) / CACHE_SUBDIR
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    for name in weights:
        n_out = len(models.model_urls[name]["labels"])
        if name.startswith("densenet"):
            net = models.DenseNet(num_classes=n_out, in_channels=1, **models.get_densenet_params("densenet121"))
            for module in net.modules():  # trained-looking batch-norm statistics, so every key is checkable
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.running_mean.normal_(0, 0.1)
                    module.running_var.uniform_(0.5, 1.5)
            torch.save(net, folder / file_names()[name])
        else:
            net = torchvision.models.resnet50(num_classes=n_out, weights=None)
            net.conv1 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
            torch.save(net.state_dict(), folder / file_names()[name])
    return folder


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """No socket may connect, and HOME is an empty temporary folder (no real ~/.torchxrayvision)."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[1:] if len(args) > 1 else args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home
