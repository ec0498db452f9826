import os

import pytest

pytest_plugins = ("pytester",)

# Tests must not be steered by the developer's shell.
os.environ.pop("KIT_DEVICE", None)


@pytest.fixture(autouse=True)
def no_kit_precision(monkeypatch):
    """Unit tests choose their precision; ``KIT_PRECISION`` steers the notebooks' kernels only."""
    monkeypatch.delenv("KIT_PRECISION", raising=False)


@pytest.fixture
def no_kit_device(monkeypatch):
    monkeypatch.delenv("KIT_DEVICE", raising=False)


@pytest.fixture
def one_torch_thread():
    """Torch on one thread: two threads on a shared 2-core machine can run several times slower."""
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def kit_run():
    """``kit run NAME --out OUT -p KEY VALUE ...`` in this process; returns its exit code."""
    import warnings

    from kit.cli import main

    def run(name, out, **params):
        args = ["run", name, "--out", str(out), "--no-progress"]
        for key, value in params.items():
            args += ["-p", key, str(value)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # readers' warnings about the inputs land in the report, not here
            return main(args)

    return run
