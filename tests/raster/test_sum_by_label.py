"""kit.backend.sum_by_label, the one scatter-add primitive, on every namespace."""
import numpy as np
import pytest
import torch

from kit.backend import array_namespace, sum_by_label, to_numpy

RNG = np.random.default_rng(11)
LABELS = RNG.integers(0, 7, size=(23, 19)).astype(np.int64)
VALUES = RNG.normal(0.3, 0.1, size=(23, 19))



def _loop(values, labels, n):
    """One masked sum per label with math.fsum: independent of bincount and index_add_."""
    import math

    return np.array([math.fsum(values[labels == k].tolist()) for k in range(n)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sums_match_loop_on_every_namespace(namespace, dtype):
    name, convert = namespace
    values, labels = convert(VALUES.astype(dtype)), convert(LABELS)
    out = sum_by_label(values, labels, 9)  # two labels more than occur: their sums are 0
    assert array_namespace(out) is array_namespace(values)
    assert out.shape == (9,) and out.dtype == values.dtype
    if name.startswith("array_api_strict"):
        assert out.device == values.device  # the host fallback returns to the input's device
    expected = _loop(VALUES.astype(dtype).astype(np.float64), LABELS, 9)
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-12 if dtype == np.float64 else 2e-6)
    assert to_numpy(out)[7:].tolist() == [0.0, 0.0]


def test_nan_is_summed_not_skipped():
    out = sum_by_label(np.array([1.0, np.nan, 2.0]), np.array([0, 0, 1]), 2)
    assert np.isnan(out[0]) and out[1] == 2.0


def test_torch_and_numpy_agree_on_a_large_label_count():
    labels = RNG.integers(0, 5000, size=200_000)
    values = RNG.uniform(0, 1, size=200_000)
    ours = sum_by_label(values, labels, 5000)
    theirs = to_numpy(sum_by_label(torch.as_tensor(values), torch.as_tensor(labels), 5000))
    np.testing.assert_allclose(theirs, ours, rtol=1e-10)
