import os

import pytest

# Tests must not be steered by the developer's shell.
os.environ.pop("KIT_DEVICE", None)


@pytest.fixture
def no_kit_device(monkeypatch):
    monkeypatch.delenv("KIT_DEVICE", raising=False)
