"""Real radiographs through the whole flow: ingest, de-identification, then inference on what left it.

pydicom-data's NEMA chest CR (RG1, uncompressed and JPEG 2000 lossless) and its
extremity CR (RG3), both MONOCHROME1 and about 1,900 px a side, as a modality
wrote them: not the kit's synthetic files.
"""
import shutil

import numpy as np
import pydicom
import pytest

from kit.medical.deid import Deidentifier
from kit.medical.ingest import ingest_folder
from kit.medical.train import TriageClassifier

FILES = ("RG1_UNCR.dcm", "RG1_J2KR.dcm", "RG3_UNCR.dcm")
SIZE = 64


@pytest.fixture(scope="module")
def folder(tmp_path_factory, dicom_file):
    root = tmp_path_factory.mktemp("real")
    for name in FILES:
        shutil.copy(dicom_file(name), root / name)
    return root


@pytest.fixture(scope="module")
def classifier():
    """A small classifier trained on blobs: inference, not skill, is under test here."""
    rng = np.random.default_rng(0)
    x = rng.random((96, SIZE, SIZE), dtype=np.float32) * 0.3
    y = (np.arange(96) % 3 == 0).astype(int)
    for i in np.nonzero(y)[0]:
        r, c = rng.integers(4, SIZE - 16, 2)
        x[i, r:r + 12, c:c + 12] += 0.5
    return TriageClassifier(image_size=SIZE, epochs=3, width=8, batch_size=32, progress=False, seed=0).fit(x, y)


def test_extremity_is_set_aside_from_chest_triage(folder):
    result = ingest_folder(folder, image_size=SIZE)
    assert sorted(result.table["file"]) == ["RG1_J2KR.dcm", "RG1_UNCR.dcm"]
    reason = result.quarantine.set_index("file").loc["RG3_UNCR.dcm", "reason"]
    assert reason.startswith("not_chest_radiograph") and "EXTREMITY" in reason.upper()


def test_real_films_survive_deid_and_score_the_same_as_before_it(folder, tmp_path, classifier):
    before = ingest_folder(folder, image_size=SIZE, chest_only=False)
    assert len(before.table) == 3 and before.quarantine.empty
    assert np.isfinite(before.images).all() and before.images.min() >= 0 and before.images.max() <= 1
    out = tmp_path / "deid"
    result = Deidentifier(secret="a test secret of some length").run(
        [folder / f for f in before.table["file"]], out, root=folder)
    written = sorted(out.rglob("*.dcm"))
    assert len(written) == 3, result
    for path in written:
        ds = pydicom.dcmread(path)
        assert ds.PatientIdentityRemoved == "YES"
        assert "CompressedSamples" not in str(ds.get("PatientName", ""))
    after = ingest_folder(out, image_size=SIZE, chest_only=False)
    assert len(after.table) == 3
    # Same pixels, so the same scores: match films by their image, whatever their new names.
    p_before = classifier.predict_proba(before.images)[:, 1]
    p_after = classifier.predict_proba(after.images)[:, 1]
    assert np.isfinite(p_after).all() and ((p_after >= 0) & (p_after <= 1)).all()
    np.testing.assert_allclose(np.sort(p_after), np.sort(p_before), atol=1e-6)
    # The lossless JPEG 2000 copy decodes to the uncompressed film's pixels, so it scores the same.
    by_file = dict(zip(before.table["file"], p_before))
    assert by_file["RG1_J2KR.dcm"] == pytest.approx(by_file["RG1_UNCR.dcm"], abs=1e-6)
