"""The array namespaces every raster kernel must give the same answer on, for all raster tests."""
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
