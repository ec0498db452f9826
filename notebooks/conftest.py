"""nbval cells get more time than unit tests: a training cell on a CPU without bfloat16
(fp32, AVX2) takes about 14 minutes when the other test worker is busy, near the 900 s that
pyproject.toml gives a unit test."""
import pytest

NOTEBOOK_CELL_TIMEOUT_S = 2400


def pytest_collection_modifyitems(items):
    for item in items:
        if item.nodeid.endswith(".ipynb") or ".ipynb::" in item.nodeid:
            item.add_marker(pytest.mark.timeout(NOTEBOOK_CELL_TIMEOUT_S))
