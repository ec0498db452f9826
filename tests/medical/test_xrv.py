"""torchxrayvision weights read offline: names and layout of its cache, every key landed, same outputs as its loader."""
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from kit.errors import InputDataError
from kit.medical import xrv
from tests.medical.xrv_weights import write_xrv_cache

DENSENET_ALL = "nih-pc-chex-mimic_ch-google-openi-kaggle-densenet121-d121-tw-lr001-rot45-tr15-sc15-seed0-best.pt"
RESNET_ALL = "pc-nih-rsna-siim-vin-resnet50-test512-e400-state.pt"


@pytest.fixture(scope="module")
def cache_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("xrvhome")
    write_xrv_cache(home, ("densenet121-res224-all", "resnet50-res512-all"), seed=3)
    return home


def test_file_names_are_torchxrayvision_cache_names():
    names = xrv.file_names()
    assert names["densenet121-res224-all"] == DENSENET_ALL
    assert names["resnet50-res512-all"] == RESNET_ALL
    assert names["densenet121-res224-nih"] == "nih-densenet121-d121-tw-lr001-rot45-tr15-sc15-seed0-best.pt"
    assert set(names) == set(xrv.TRAINING_SETS)


def test_import_leaves_the_warning_filters_alone():
    before = list(warnings.filters)
    xrv.xrv()
    assert warnings.filters == before


def test_found_from_a_file_the_cache_or_its_parents(cache_home):
    cache = cache_home / ".torchxrayvision" / "models_data"
    for path in (cache, cache.parent, cache_home, cache / DENSENET_ALL):
        found = xrv.find_weights(path)
        assert found.weights == "densenet121-res224-all" and found.path == cache / DENSENET_ALL
    assert xrv.find_weights(cache / RESNET_ALL).weights == "resnet50-res512-all"
    assert xrv.find_weights(cache / RESNET_ALL).input_resolution == 512


@pytest.mark.parametrize("name", [DENSENET_ALL, RESNET_ALL])
def test_every_key_lands_offline(cache_home, no_network, name):
    path = cache_home / ".torchxrayvision" / "models_data" / name
    saved = torch.load(path, map_location="cpu", weights_only=False)
    saved = saved.state_dict() if isinstance(saved, torch.nn.Module) else saved
    model, found = xrv.load_xrv_model(path)
    loaded = (model if found.arch == "densenet121" else model.model).state_dict()
    assert set(loaded) - {"op_threshs"} == set(saved) and len(saved) > 300  # op_threshs: set after, as xrv does
    assert all(torch.equal(loaded[k], saved[k]) for k in saved)
    kind = xrv.xrv().models.DenseNet if found.arch == "densenet121" else xrv.xrv().models.ResNet
    assert isinstance(model, kind) and not model.training
    spec = xrv.xrv().models.model_urls[found.weights]
    assert model.targets == spec["labels"] and model.input_resolution == spec["input_resolution"]
    np.testing.assert_allclose(model.op_threshs.numpy(), np.array(spec["op_threshs"], dtype=np.float32))
    assert not list(Path(no_network).iterdir())  # nothing cached into the (temporary) home


@pytest.mark.parametrize("weights", ["densenet121-res224-all", "resnet50-res512-all"])
def test_same_pathology_outputs_as_torchxrayvision_loading_the_file(cache_home, no_network, weights, one_torch_thread):
    """Its own constructor, pointed at the cache (the file is there: it downloads nothing), agrees with ours."""
    from kit.medical.xrv_finetune import XrvNet

    folder = cache_home / ".torchxrayvision" / "models_data"
    theirs = xrv.xrv().models.get_model(weights, cache_dir=str(folder))
    ours = XrvNet(xrv.load_xrv_model(folder / xrv.file_names()[weights])[0]).eval()
    side = theirs.input_resolution
    x01 = torch.rand(2, 1, side, side, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = theirs(x01 * 2048 - 1024)  # xrv.datasets.normalize(img, 1)
        got = ours.pathology_probabilities(ours.top(ours.stem(x01)))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_bad_weights_get_one_line(tmp_path, cache_home):
    other = tmp_path / "weights.pt"
    other.write_bytes(b"x")
    with pytest.raises(InputDataError, match="not a torchxrayvision weights file name"):
        xrv.find_weights(other)
    with pytest.raises(InputDataError, match="no torchxrayvision weights file in"):
        xrv.find_weights(tmp_path / "empty")
    broken = tmp_path / DENSENET_ALL
    broken.write_bytes(b"not a torch file")
    with pytest.raises(InputDataError, match="cannot be read as torchxrayvision densenet121-res224-all") as err:
        xrv.load_xrv_model(broken)
    assert "\n" not in str(err.value)
    wrong = tmp_path / RESNET_ALL  # a DenseNet under the ResNet-50's name
    src = cache_home / ".torchxrayvision" / "models_data" / DENSENET_ALL
    torch.save(torch.load(src, weights_only=False).state_dict(), wrong)
    with pytest.raises(InputDataError, match="does not fit torchxrayvision's resnet50"):
        xrv.load_xrv_model(wrong)


class _Payload:
    """Unpickling this would create ``marker``: a file that runs code when loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_file_that_would_run_code_is_refused_unrun(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / DENSENET_ALL
    with open(path, "wb") as f:
        torch.save({"features.conv0.weight": _Payload(marker)}, f, pickle_module=pickle)
    with pytest.raises(InputDataError, match="cannot be read"):
        xrv.load_xrv_model(path)
    assert not marker.exists()


def test_weights_card_names_origin_sets_and_license(cache_home):
    card = xrv.weights_card(xrv.find_weights(cache_home))
    assert "Cohen" in card["origin"] and "mlmed/torchxrayvision" in card["origin"]
    for name in ("NIH ChestX-ray14", "PadChest", "CheXpert", "MIMIC-CXR", "OpenI", "RSNA"):
        assert name in card["training_sets"]
    assert "Apache-2.0" in card["license"] and card["file"] == DENSENET_ALL
