"""Shared fixtures of the raster tests: the array namespaces every kernel must agree on, and Sentinel-2 products as distributed."""
import array_api_strict as xps
import pytest
import torch

#: name -> convert (a NumPy array to the same values on that namespace and device)
NAMESPACES = {
    "numpy": lambda a: a,
    "array_api_strict": lambda a: xps.asarray(a),
    "array_api_strict:device1": lambda a: xps.asarray(a, device=xps.Device("device1")),
    "torch": lambda a: torch.as_tensor(a),
}


@pytest.fixture(params=list(NAMESPACES))
def namespace(request):
    """``(name, convert)`` for each namespace in turn."""
    return request.param, NAMESPACES[request.param]


# --------------------------------------------------------------------------- Sentinel-2 products as distributed

from tests.raster.s2_fixtures import Sentinel2Layouts  # noqa: E402


@pytest.fixture
def s2(tmp_path):
    """A :class:`Sentinel2Layouts` writing under the test's ``tmp_path``."""
    return Sentinel2Layouts(tmp_path)
