import pytest

from kit.water import load_network


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than 30 s")


@pytest.fixture(scope="session")
def ltown():
    return load_network()
