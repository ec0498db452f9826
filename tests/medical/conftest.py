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
