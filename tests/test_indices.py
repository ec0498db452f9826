"""Spectral-index kernels give the same numbers on every array namespace."""
import array_api_strict as xps
import numpy as np
import pytest
import torch

from kit import raster
from kit.backend import to_numpy
from kit.raster.synthetic import demo_scene

RNG = np.random.default_rng(7)
BANDS = {name: RNG.uniform(0.0, 0.6, size=(37, 53)).astype(np.float32) for name in ("blue", "green", "red", "nir", "swir1")}
BANDS["blue"] *= 0.15  # blue is dark over land; EVI's denominator stays away from zero
BANDS["red"][0, :3] = 0.0
BANDS["nir"][0, :3] = 0.0  # zero denominators -> NaN

# Reference formulas, written out independently of the kernels.
REFERENCE = {
    "ndvi": (("nir", "red"), lambda n, r: (n - r) / (n + r)),
    "ndwi": (("green", "nir"), lambda g, n: (g - n) / (g + n)),
    "ndmi": (("nir", "swir1"), lambda n, s: (n - s) / (n + s)),
    "savi": (("nir", "red"), lambda n, r: 1.5 * (n - r) / (n + r + 0.5)),
    "evi": (("nir", "red", "blue"), lambda n, r, b: 2.5 * (n - r) / (n + 6 * r - 7.5 * b + 1)),
}


def _namespaces():
    yield "numpy", lambda a: a
    for dev in ("CPU_DEVICE", "device1", "no_float64"):
        yield f"array_api_strict:{dev}", lambda a, d=xps.Device(dev): xps.asarray(a, device=d)
    yield "torch:cpu", lambda a: torch.as_tensor(a)


NAMESPACES = list(_namespaces())


@pytest.mark.parametrize("index", sorted(REFERENCE))
@pytest.mark.parametrize("ns_name,convert", NAMESPACES, ids=[n for n, _ in NAMESPACES])
def test_index_matches_reference_on_every_namespace(index, ns_name, convert):
    bands, formula = REFERENCE[index]
    inputs = [BANDS[b] for b in bands]
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = formula(*[b.astype(np.float64) for b in inputs])
    expected[~np.isfinite(expected)] = np.nan
    converted = [convert(b) for b in inputs]
    out = getattr(raster, index)(*converted)
    # Results stay on the input's device: a kernel that silently moved data to
    # the default device would break on a GPU.
    if ns_name.startswith("array_api_strict"):
        assert out.device == converted[0].device
    host = to_numpy(out)
    assert host.dtype == np.float32
    np.testing.assert_allclose(host, expected, rtol=2e-6, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("index", sorted(REFERENCE))
def test_namespaces_agree_exactly(index):
    bands, _ = REFERENCE[index]
    results = [to_numpy(getattr(raster, index)(*[conv(BANDS[b]) for b in bands])) for _, conv in NAMESPACES]
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


def test_integer_digital_numbers_are_promoted():
    nir = np.array([[4000, 0]], dtype=np.uint16)
    red = np.array([[1000, 0]], dtype=np.uint16)
    out = raster.ndvi(nir, red)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, np.nan]], equal_nan=True)


def test_float64_stays_float64():
    out = raster.ndvi(np.array([0.4]), np.array([0.1]))
    assert out.dtype == np.float64


def test_dataarray_keeps_coords_and_crs():
    ds = demo_scene(24, seed=3)
    out = raster.ndvi(ds.nir, ds.red)
    assert out.name == "ndvi" and out.dims == ("y", "x")
    np.testing.assert_array_equal(out.x, ds.x)
    assert out.coords["spatial_ref"].attrs["crs_wkt"] == ds.coords["spatial_ref"].attrs["crs_wkt"]
    np.testing.assert_allclose(out.values, (ds.nir - ds.red).values / (ds.nir + ds.red).values, rtol=1e-6)


def test_dask_chunks_give_same_result():
    import dask.array as da

    nir = da.from_array(BANDS["nir"], chunks=(10, 20))
    red = da.from_array(BANDS["red"], chunks=(10, 20))
    lazy = raster.ndvi(nir, red)
    assert hasattr(lazy, "compute")
    np.testing.assert_array_equal(lazy.compute(), raster.ndvi(BANDS["nir"], BANDS["red"]))


def test_on_backend_returns_labeled_host_array():
    from kit.backend import get_backend
    from kit.labeled import on_backend

    ds = demo_scene(16, seed=0)
    out = on_backend(raster.ndvi, ds.nir, ds.red, backend=get_backend("cpu"))
    assert isinstance(out.data, np.ndarray) and "spatial_ref" in out.coords
    np.testing.assert_array_equal(out.values, raster.ndvi(ds.nir, ds.red).values)
