"""`kit run radiology_triage` with KIT_DEID_SECRET: the secret reaches no file of the run folder (slow)."""
import json
import os
import subprocess
import sys

import pydicom
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
SECRET = "run-folder-secret-7f3a9c2e5b8d1046"


def _run(out, cache, secret):
    env = {**os.environ, "KIT_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1"}
    env.pop("KIT_DEID_SECRET_FILE", None)
    if secret:
        env["KIT_DEID_SECRET"] = secret
    else:
        env.pop("KIT_DEID_SECRET", None)
    return subprocess.run([sys.executable, "-m", "kit.cli", "run", "radiology_triage", "-p", "scale", "0.05",
                           "-p", "epochs", "1", "--out", str(out), "--no-progress"],
                          capture_output=True, text=True, env=env, timeout=580)


def _pseudonyms(out):
    return sorted({str(pydicom.dcmread(p, stop_before_pixels=True).PatientID) for p in (out / "deid").rglob("*.dcm")})


def test_secret_gives_lasting_pseudonyms_and_is_written_nowhere(tmp_path):
    first = _run(tmp_path / "run1", tmp_path / "cache", SECRET)
    assert first.returncode == 0, first.stderr[-2000:]
    second = _run(tmp_path / "run2", tmp_path / "cache", SECRET)
    assert second.returncode == 0, second.stderr[-2000:]
    assert _pseudonyms(tmp_path / "run1") == _pseudonyms(tmp_path / "run2") and _pseudonyms(tmp_path / "run1")
    for folder in ("run1", "run2"):
        for path in (tmp_path / folder).rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), path
        metrics = json.loads((tmp_path / folder / "metrics.json").read_text())
        assert metrics["deid_pseudonyms"] == "persistent" and metrics["deid_profile"] == "basic"
    assert SECRET not in first.stdout + first.stderr
