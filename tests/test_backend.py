import pytest

from kit import backend
from kit.errors import DeviceUnavailable, ParameterError

GPU_PRESENT = any(ok for ok, _ in backend.cuda_status().values())


def test_cpu_is_always_available(no_kit_device):
    b = backend.get_backend("cpu")
    assert b.device == "cpu" and b.torch_device == "cpu"
    assert b.xp.__name__ == "array_api_compat.numpy"


@pytest.mark.skipif(GPU_PRESENT, reason="a GPU is present: auto would pick it")
def test_auto_falls_back_to_cpu_and_says_why(no_kit_device):
    device, reason = backend.resolve_device("auto")
    assert device == "cpu"
    assert "no GPU" in reason and "Torch" in reason


@pytest.mark.skipif(GPU_PRESENT, reason="a GPU is present")
def test_cuda_without_gpu_is_a_clear_error(no_kit_device):
    with pytest.raises(DeviceUnavailable, match="not usable here: .*CuPy.*Torch"):
        backend.resolve_device("cuda")


@pytest.mark.skipif(GPU_PRESENT, reason="a GPU is present: auto would pick it")
def test_the_reason_is_english_where_stored_and_french_where_shown(no_kit_device):
    import json
    import pickle

    from kit import i18n

    device, reason = backend.resolve_device("auto")
    assert json.loads(json.dumps(reason)) == reason and reason.startswith("requested auto: no GPU (")
    french = pickle.loads(pickle.dumps(reason)).shown("fr")  # a Backend crosses to workers pickled
    assert french.startswith("demandé auto\u00a0: pas de GPU (") and "sees no CUDA" not in french
    with i18n.using("fr"), pytest.raises(DeviceUnavailable, match="n’est pas utilisable ici.*Utilisez device='cpu'"):
        backend.resolve_device("cuda")
    assert i18n.shown("plain text") == "plain text"


def test_env_overrides_parameter(monkeypatch):
    monkeypatch.setenv("KIT_DEVICE", "cpu")
    device, reason = backend.resolve_device("cuda")
    assert device == "cpu" and "KIT_DEVICE=cpu" in reason


def test_unknown_device_names_choices(no_kit_device):
    with pytest.raises(ParameterError, match="auto, cpu, cuda"):
        backend.resolve_device("tpu")


def test_to_numpy_from_torch_and_strict():
    import array_api_strict as xps
    import numpy as np
    import torch

    assert backend.to_numpy(torch.arange(3.0)).tolist() == [0.0, 1.0, 2.0]
    dev = xps.Device("device1")
    np.testing.assert_array_equal(backend.to_numpy(xps.asarray([1.0, 2.0], device=dev)), [1.0, 2.0])


def test_train_precision_follows_the_hardware():
    import torch

    assert backend.train_precision("cpu", "fp32") == ("fp32", "requested fp32")
    assert backend.train_precision("cuda:0")[0] == "fp16"
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    assert backend.train_precision("cpu")[0] == ("bf16" if native else "fp32")
    with pytest.raises(ParameterError, match="precision must be one of auto, fp32, bf16, fp16, got 'half'"):
        backend.train_precision("cpu", "half")


def test_kit_precision_overrides_the_parameter(monkeypatch):
    monkeypatch.setenv("KIT_PRECISION", "fp32")
    assert backend.train_precision("cpu", "bf16") == ("fp32", "KIT_PRECISION=fp32 overrides the parameter; fp32")
    assert backend.train_precision("cuda:0")[0] == "fp32"
    monkeypatch.setenv("KIT_PRECISION", "half")
    with pytest.raises(ParameterError, match="KIT_PRECISION must be one of auto, fp32, bf16, fp16, got 'half'"):
        backend.train_precision("cpu")


def test_onednn_isa_cap_means_no_bf16(monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    precision, reason = backend.train_precision("cpu")
    assert precision == "fp32" and "ONEDNN_MAX_CPU_ISA=AVX2" in reason
    assert backend.train_precision("cpu", "bf16")[0] == "bf16"  # asked for, it is still given


def test_resolving_the_backend_for_yield_does_not_import_torch(no_kit_device):
    # Torch costs about 0.6 GB of memory; the yield notebook trains no network, so picking a precision must wait.
    import subprocess
    import sys

    code = ("import sys, kit.yieldpred, kit.yieldpred.notebook\n"
            "from kit.backend import as_backend, get_backend\n"
            "d = as_backend(None).describe(), get_backend('cpu').describe()\n"
            "print('torch' in sys.modules, d[0]['precision'], d[1]['precision'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "auto", "auto"]


def test_a_lazy_precision_is_the_one_train_precision_picks(no_kit_device, monkeypatch):
    import pickle

    monkeypatch.delenv(backend.PRECISION_ENV_VAR, raising=False)
    b = backend.get_backend("cpu")
    assert b.requested_precision_reason is None  # not resolved yet
    assert (b.precision, b.precision_reason) == backend.train_precision("cpu")
    assert b.describe()["precision"] == b.precision  # Torch is imported in this process: recorded resolved
    assert pickle.loads(pickle.dumps(b)).precision == b.precision
    assert backend.get_backend("cpu", "bf16").precision == "bf16"
    monkeypatch.setenv(backend.PRECISION_ENV_VAR, "half")
    with pytest.raises(ParameterError, match="KIT_PRECISION must be one of"):  # refused when resolving, not at training
        backend.get_backend("cpu")
