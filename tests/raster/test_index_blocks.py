"""Index kernels on tiles larger than one block: the blocked path equals the formula everywhere."""
import numpy as np
import pytest
import torch

import kit.raster.indices as indices
from kit import raster
from kit.backend import to_numpy

RNG = np.random.default_rng(21)


@pytest.fixture
def small_blocks(monkeypatch):
    # 50 elements per block: a 3 x 23 x 17 stack is walked layer by layer in 2-row blocks
    # with a short last block, which is the path a full Sentinel-2 tile takes.
    monkeypatch.setattr(indices, "BLOCK_ELEMENTS", 50)


def _bands(shape, integer):
    if integer:  # digital numbers, with a pixel where both bands are 0
        nir = RNG.integers(0, 10_000, size=shape).astype(np.uint16)
        red = RNG.integers(0, 10_000, size=shape).astype(np.uint16)
        nir[..., 0, 0] = red[..., 0, 0] = 0
    else:
        nir = RNG.uniform(0, 0.6, size=shape).astype(np.float32)
        red = RNG.uniform(0, 0.3, size=shape).astype(np.float32)
        nir[..., -1, -1] = red[..., -1, -1] = 0
    return nir, red


@pytest.mark.parametrize("integer", [False, True], ids=["float32", "uint16"])
def test_blocked_ndvi_equals_formula(small_blocks, namespace, integer):
    _, convert = namespace
    nir, red = _bands((3, 23, 17), integer)
    n64, r64 = nir.astype(np.float64), red.astype(np.float64)
    with np.errstate(invalid="ignore"):
        expected = (n64 - r64) / (n64 + r64)
    out = raster.ndvi(convert(nir), convert(red))
    host = to_numpy(out)
    assert host.dtype == np.float32 and host.shape == nir.shape
    np.testing.assert_allclose(host, expected, rtol=2e-6, atol=1e-7, equal_nan=True)
    assert np.isnan(host).sum() == 3  # one zero denominator per layer, nothing else


@pytest.mark.parametrize("index,bands", [("ndvi", 2), ("savi", 2), ("ndwi", 2), ("ndmi", 2), ("evi", 3)])
def test_blocked_equals_single_block_bit_for_bit(monkeypatch, namespace, index, bands):
    _, convert = namespace
    arrays = [RNG.uniform(0.01, 0.5, size=(41, 29)).astype(np.float32) for _ in range(bands)]
    whole = getattr(raster, index)(*arrays)  # 1189 elements: one block
    monkeypatch.setattr(indices, "BLOCK_ELEMENTS", 64)
    blocked = to_numpy(getattr(raster, index)(*[convert(a) for a in arrays]))
    np.testing.assert_array_equal(blocked, whole)


def test_inputs_are_not_modified(small_blocks):
    nir, red = _bands((23, 17), integer=False)
    keep = nir.copy(), red.copy()
    raster.evi(nir, red, red * 0.2)
    np.testing.assert_array_equal(nir, keep[0])
    np.testing.assert_array_equal(red, keep[1])


def test_broadcast_band_and_one_dimensional_input(small_blocks):
    nir = RNG.uniform(0.1, 0.5, size=(12, 10)).astype(np.float32)
    red_row = np.linspace(0.05, 0.2, 10, dtype=np.float32)  # broadcast over rows
    np.testing.assert_allclose(raster.ndvi(nir, red_row), (nir - red_row) / (nir + red_row), rtol=1e-6)
    flat_nir, flat_red = nir.ravel(), np.resize(red_row, 120)
    np.testing.assert_allclose(raster.ndvi(flat_nir, flat_red), (flat_nir - flat_red) / (flat_nir + flat_red), rtol=1e-6)


def test_blocks_tile_the_array_exactly_once():
    for shape, target in [((3, 23, 17), 50), ((7,), 3), ((5, 4), 100), ((2, 3, 4, 5), 7)]:
        hits = np.zeros(shape, int)
        for key in indices._blocks(shape, target):
            hits[key] += 1
            assert hits[key].size <= max(target, shape[-1])
        assert (hits == 1).all(), shape


@pytest.mark.parametrize("index,bands", [("ndvi", 2), ("savi", 2), ("evi", 3)])
@pytest.mark.parametrize("shape", [(3, 23, 17), (4, 5)], ids=["blocked", "one-block"])
def test_out_buffer_receives_the_result_and_is_reused(small_blocks, namespace, index, bands, shape):
    _, convert = namespace
    digital = [RNG.integers(1, 10_000, size=shape).astype(np.uint16) for _ in range(bands)]
    arrays = [convert(a / 10_000 if index == "evi" else a) for a in digital]  # EVI needs reflectance
    fresh = to_numpy(getattr(raster, index)(*arrays))
    buf = convert(np.full(shape, 7.0, np.float32 if index != "evi" else fresh.dtype))
    for _ in range(2):  # the same buffer twice: nothing of the last call leaks into the next
        got = getattr(raster, index)(*arrays, out=buf)
        assert got is buf
        np.testing.assert_array_equal(to_numpy(buf), fresh)


def test_out_buffer_of_wrong_shape_dtype_or_namespace_is_refused():
    nir, red = _bands((6, 5), integer=True)
    with pytest.raises(ValueError, match=r"out= has shape \(5, 6\).*needs shape \(6, 5\)"):
        raster.ndvi(nir, red, out=np.empty((5, 6), np.float32))
    with pytest.raises(ValueError, match="dtype float64.*dtype float32"):
        raster.ndvi(nir, red, out=np.empty((6, 5), np.float64))
    with pytest.raises(TypeError, match="allocate out on the bands' namespace"):
        raster.ndvi(nir, red, out=torch.empty((6, 5)))


def test_out_buffer_through_dataarrays():
    import xarray as xr

    nir, red = _bands((6, 5), integer=True)
    nir_da, red_da = xr.DataArray(nir, dims=("y", "x")), xr.DataArray(red, dims=("y", "x"))
    buf = np.empty((6, 5), np.float32)
    got = raster.ndvi(nir_da, red_da, out=buf)
    assert got.name == "ndvi" and np.shares_memory(got.data, buf)
    np.testing.assert_array_equal(buf, raster.ndvi(nir, red))


def test_blocks_computed_in_the_output_equal_blocks_copied_into_it(monkeypatch, small_blocks):
    nir, red = _bands((3, 23, 17), integer=True)
    in_place = raster.ndvi(nir, red)
    monkeypatch.setattr(indices, "_slices_write_through", lambda xp, out: False)
    np.testing.assert_array_equal(raster.ndvi(nir, red), in_place)
