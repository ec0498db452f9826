"""torchxrayvision weight files with random weights, written offline in the layout of its cache."""


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
