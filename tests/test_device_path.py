"""One device path: the notebook resolves a Backend once; nothing below it resolves again."""
import ast
from pathlib import Path

import numpy as np
import pytest

from kit import backend as kb
from kit.errors import KitError

KIT = Path(__file__).resolve().parents[1] / "kit"
RESOLVERS = {"resolve_device", "get_backend"}


def _resolver_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name in RESOLVERS:
                found.append(f"{path.relative_to(KIT.parent)}:{node.lineno} calls {name}")
    return found


def test_no_library_module_resolves_the_device():
    calls = [c for p in sorted(KIT.rglob("*.py")) if p.name != "backend.py" for c in _resolver_calls(p)]
    assert calls == [], "resolve once in the notebook and pass backend= down:\n" + "\n".join(calls)


@pytest.fixture
def cpu_backend(monkeypatch):
    """A CPU Backend resolved once, then any further resolution fails the test."""
    b = kb.get_backend("cpu")

    def refuse(*args, **kwargs):
        raise AssertionError("the device was resolved again below the notebook")

    monkeypatch.setattr(kb, "resolve_device", refuse)
    return b


def test_backend_survives_pickle_and_clone():
    import pickle

    from sklearn.base import clone

    from kit.medical.train import TriageClassifier

    b = kb.get_backend("cpu")
    again = pickle.loads(pickle.dumps(b))
    assert again == b and again.xp is b.xp
    assert clone(TriageClassifier(backend=b)).backend == b


def test_as_backend_refuses_what_is_not_a_device():
    with pytest.raises(KitError, match="backend must be a kit.backend.Backend, None or one of auto, cpu, cuda, got 3"):
        kb.as_backend(3)


def test_agro_entry_points_take_the_backend(cpu_backend):
    from kit import agro

    weather = agro.synthetic.weather("marrakech", seasons=1, seed=0)
    fields = agro.synthetic.fields("marrakech", n=3, seed=0)
    et0 = agro.et0(weather, backend=cpu_backend)
    assert np.isfinite(et0["et0_mm"]).all()
    plan = agro.schedule(fields, weather, "mad", start="2021-10-01", end="2022-06-30", backend=cpu_backend)
    assert plan.water_used_m3 > 0
    balance = agro.water_balance(fields, weather, start="2021-10-01", end="2022-06-30", backend=cpu_backend)
    assert float(balance["etc_mm"].sum()) > 0


def test_array_api_strict_backend_reaches_the_kernels():
    """A non-NumPy namespace given as a Backend is used as it is (et0 on array-api-strict equals NumPy)."""
    xps = pytest.importorskip("array_api_strict")
    from kit import agro

    weather = agro.synthetic.weather("agadir", seasons=1, seed=1)
    strict = kb.Backend("cpu", xps, "cpu", "test: array-api-strict")
    a = agro.et0(weather, backend=strict)["et0_mm"].to_numpy()
    b = agro.et0(weather, backend=kb.get_backend("cpu"))["et0_mm"].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.timeout(300)
def test_vision_and_medical_entry_points_take_the_backend(cpu_backend, tmp_path, one_torch_thread):
    from kit.medical.train import TriageClassifier
    from kit.vision import evaluate, recognizer
    from kit.vision.data import CocoDetection, eval_transforms
    from kit.vision.models import build_detector
    from kit.vision.synthetic import generate
    from kit.vision.train import train_detector

    folder = generate(tmp_path / "yard", n_images=6, image_size=64, n_code_crops=0, sequence_frames=0,
                      split_fractions=(0.5, 0.5, 0.0))
    det = build_detector("centernet", 4, image_size=64, backend=cpu_backend)
    result = train_detector(det, CocoDetection(folder, "train"), CocoDetection(folder, "val"), epochs=1, batch_size=2,
                            image_size=64, progress=False, backend=cpu_backend)
    assert result.precision == cpu_backend.precision
    ids, dets = evaluate.predict(result.model, CocoDetection(folder, "val", transforms=eval_transforms(64)),
                                 image_size=64, backend=cpu_backend)
    assert len(ids) == 3
    reader = recognizer.code_reader(backend=cpu_backend)
    readings = recognizer.read_codes(reader, [np.zeros((32, 160, 3), np.uint8)], backend=cpu_backend)
    assert len(readings) == 1

    rng = np.random.default_rng(0)
    x, y = rng.random((24, 32, 32), dtype=np.float32), np.arange(24) % 2
    clf = TriageClassifier(image_size=32, epochs=1, width=4, batch_size=8, progress=False, backend=cpu_backend).fit(x, y)
    clf.calibrate(x, y)
    clf.set_operating_point(x, y, 0.9)
    loaded = TriageClassifier.load(clf.save(tmp_path / "m.pt"), backend=cpu_backend)
    np.testing.assert_allclose(loaded.decision_function(x), clf.decision_function(x), rtol=1e-6)


def test_a_cuda_backend_reaches_torch_untouched(monkeypatch):
    """A Backend whose torch_device is ``cuda:0`` goes to Torch as it is, never through the device
    parser (which once refused ``"cuda:0"``). With no GPU here, Torch itself is what says no."""
    import array_api_compat.numpy as xp

    from kit.vision import recognizer
    from kit.vision.models import build_detector

    gpu = kb.Backend("cuda", xp, "cuda:0", "test: a GPU backend on a machine without one")
    monkeypatch.setattr(kb, "resolve_device", lambda *a, **k: pytest.fail("resolved again"))
    if any(ok for ok, _ in kb.cuda_status().values()):
        pytest.skip("a GPU is present: the models would really move there")
    for build in (lambda: recognizer.code_reader(backend=gpu), lambda: build_detector("centernet", 4, backend=gpu)):
        with pytest.raises((RuntimeError, AssertionError)) as err:
            build()
        assert not isinstance(err.value, KitError)
        assert "cuda" in str(err.value).lower() or "nvidia" in str(err.value).lower()
