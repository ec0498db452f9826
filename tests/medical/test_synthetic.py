import numpy as np
import pandas as pd
import pydicom
import pytest

from kit.errors import ParameterError
from kit.medical.synthetic import FINDINGS, render_chest, synth_chest_xrays


@pytest.mark.parametrize("finding, direction", [("opacity", +1), ("effusion", +1), ("pneumothorax", -1)])
def test_each_finding_changes_its_region_in_the_expected_direction(finding, direction):
    for seed in range(5):
        normal, _ = render_chest(np.random.default_rng(seed), 128, None)
        sick, mask = render_chest(np.random.default_rng(seed), 128, finding)
        assert mask.sum() > 0.005 * mask.size  # a large finding, not a speck
        delta = float(sick[mask].mean() - normal[mask].mean())
        assert direction * delta > 0.08, (finding, seed, delta)
        # Away from the finding the anatomy is the same picture.
        assert np.abs(sick[~mask] - normal[~mask]).mean() < 0.02


def test_anatomy_lungs_dark_mediastinum_and_abdomen_dense():
    img, _ = render_chest(np.random.default_rng(0), 128, None)
    lungs = (img[45:75, 25:40].mean() + img[45:75, 88:103].mean()) / 2
    assert img[45:75, 60:68].mean() > lungs + 0.2
    assert img[115:125, 30:98].mean() > lungs + 0.2
    assert img[:, :3].mean() < 0.05  # air outside the body


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = synth_chest_xrays(tmp_path / "a", n_studies=6, image_size=48, n_broken=7, seed=5)
    b = synth_chest_xrays(tmp_path / "b", n_studies=6, image_size=48, n_broken=7, seed=5)
    c = synth_chest_xrays(tmp_path / "c", n_studies=6, image_size=48, seed=6)
    pd.testing.assert_frame_equal(a, b)
    for f in list(a.file) + list(a.attrs["broken"].file):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert set(a.StudyInstanceUID).isdisjoint(c.StudyInstanceUID)


def test_prevalence_and_labels_csv(tmp_path):
    labels = synth_chest_xrays(tmp_path, n_studies=300, image_size=32, prevalence=0.3, n_sites=3, seed=2)
    se = np.sqrt(0.3 * 0.7 / 300)
    assert abs(labels.label.mean() - 0.3) < 3 * se
    assert set(labels.finding[labels.label == 1]) == set(FINDINGS)
    assert (labels.finding[labels.label == 0] == "none").all()
    on_disk = pd.read_csv(tmp_path / "labels.csv", dtype={"StudyInstanceUID": str})
    assert list(on_disk.StudyInstanceUID) == list(labels.StudyInstanceUID)
    assert labels.StudyInstanceUID.is_unique


def test_files_are_plausible_dicom_across_sites_and_scanners(synth_dir):
    folder, labels = synth_dir
    assert labels.site.nunique() == 5 and labels.scanner.nunique() >= 4
    seen = set()
    for f in labels.file:
        ds = pydicom.dcmread(folder / f)
        assert ds.Modality in ("CR", "DX") and ds.BodyPartExamined == "CHEST" and ds.ViewPosition == "PA"
        assert ds.PatientName and ds.PatientID and ds.InstitutionName and ds.DeviceSerialNumber
        assert ds.pixel_array.shape == (64, 64)
        assert int(ds.pixel_array.max()) < 2 ** int(ds.BitsStored)
        seen.add((ds.Modality, ds.PhotometricInterpretation, str(ds.file_meta.TransferSyntaxUID)))
    assert {m for m, _, _ in seen} == {"CR", "DX"}
    assert {p for _, p, _ in seen} == {"MONOCHROME1", "MONOCHROME2"}
    assert len({t for _, _, t in seen}) >= 3  # implicit/explicit little endian, deflate, RLE


def test_bad_parameters_are_refused(tmp_path):
    with pytest.raises(ParameterError, match="prevalence"):
        synth_chest_xrays(tmp_path, n_studies=2, prevalence=1.5)
    with pytest.raises(ParameterError, match="finding"):
        render_chest(np.random.default_rng(0), 32, "fracture")
