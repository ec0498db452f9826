import numpy as np
import pandas as pd
import pydicom
import pytest

from kit.errors import ParameterError
from kit.medical.synthetic import FINDINGS, render_chest, synth_chest_xrays


@pytest.mark.parametrize("finding, direction", [("opacity", +1), ("effusion", +1), ("pneumothorax", -1)])
@pytest.mark.parametrize("view", ["PA", "AP"])
def test_each_finding_changes_its_region_in_the_expected_direction_more_with_severity(finding, direction, view):
    for seed in range(5):
        normal, _ = render_chest(np.random.default_rng(seed), 128, None, view=view)
        deltas = []
        for severity in (0.0, 1.0):
            sick, mask = render_chest(np.random.default_rng(seed), 128, finding, severity=severity, view=view)
            assert mask.sum() > 0.002 * mask.size  # even the subtlest is a finding, not a speck
            deltas.append(float(sick[mask].mean() - normal[mask].mean()))
            # Away from the finding the anatomy is the same picture.
            assert np.abs(sick[~mask] - normal[~mask]).mean() < 0.02
        subtle, obvious = deltas
        assert direction * obvious > 0.05, (finding, seed, deltas)
        assert 0 < direction * subtle < direction * obvious, (finding, seed, deltas)


def test_look_alikes_follow_sex_age_and_view():
    """Breast shadows densify women's lower zones; age adds specks; AP films add leads, lines and scapulae."""
    lower_f, lower_m, old_vs_young, ap_vs_pa = [], [], [], []
    for seed in range(8):
        def film(**kw):
            return render_chest(np.random.default_rng(seed), 128, None, **kw)[0]
        f, m = film(sex="F"), film(sex="M")
        lower_f.append(f[75:100, 20:50].mean() + f[75:100, 78:108].mean())
        lower_m.append(m[75:100, 20:50].mean() + m[75:100, 78:108].mean())
        # The same chest at 25 and 85 years: the old one's lungs are coarser (more high-frequency energy).
        young, old = film(age_years=25), film(age_years=85)
        rough = [np.abs(np.diff(im[40:90, 20:50], axis=1)).mean() for im in (young, old)]
        old_vs_young.append(rough[1] - rough[0])
        ap, pa = film(view="AP"), film(view="PA")
        ap_vs_pa.append(ap[30:60, 15:45].mean() - pa[30:60, 15:45].mean())  # scapula over the upper lung
    assert np.mean(np.array(lower_f) > np.array(lower_m)) >= 7 / 8
    assert np.mean(np.array(old_vs_young) > 0) >= 7 / 8
    assert np.mean(np.array(ap_vs_pa) > 0) >= 6 / 8


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
    on_film = labels.finding != "none"
    se = np.sqrt(0.3 * 0.7 / 300)
    assert abs(on_film.mean() - 0.3) < 3 * se
    assert set(labels.finding[on_film]) == set(FINDINGS)
    # The label is the film's truth except where the reference reader erred (label_flipped).
    assert ((labels.label == 1) == (on_film != labels.label_flipped)).all()
    assert ((labels.severity > 0) == on_film).all() and labels.severity.between(0, 1).all()
    on_disk = pd.read_csv(tmp_path / "labels.csv", dtype={"StudyInstanceUID": str})
    assert list(on_disk.StudyInstanceUID) == list(labels.StudyInstanceUID)
    assert labels.StudyInstanceUID.is_unique


def test_label_noise_rate_and_portable_films_by_site_and_age(tmp_path):
    labels = synth_chest_xrays(tmp_path, n_studies=600, image_size=32, prevalence=0.4, n_sites=3,
                               label_noise=0.1, seed=4)
    assert abs(labels.label_flipped.mean() - 0.1) < 3 * np.sqrt(0.1 * 0.9 / 600)
    ap = labels.view == "AP"
    by_site = ap.groupby(labels.site).mean()
    # The third site (inpatients) takes the most bedside films; older patients are more often in bed.
    assert by_site.idxmax() == "Polyclinique du Saiss" and by_site.max() > 2 * by_site.min()
    assert ap[labels.age_years >= 65].mean() > ap[labels.age_years < 40].mean()
    clean = synth_chest_xrays(tmp_path / "clean", n_studies=50, image_size=32, label_noise=0.0, seed=4)
    assert not clean.label_flipped.any()


def test_brightness_alone_does_not_separate_urgent_films(tmp_path):
    """The set is not solvable by a global statistic: mean film density barely ranks urgent above routine."""
    from kit.medical import ingest_folder
    from kit.medical.evaluate import auroc

    labels = synth_chest_xrays(tmp_path, n_studies=300, image_size=64, prevalence=0.4, n_sites=3, seed=8)
    data = ingest_folder(tmp_path, image_size=32)
    truth = data.table.study_uid.map(labels.set_index("StudyInstanceUID").finding.ne("none")).to_numpy()
    density = data.images.reshape(len(data.images), -1).mean(1)
    assert 0.3 < auroc(truth.astype(int), density) < 0.7


def test_files_are_plausible_dicom_across_sites_and_scanners(synth_dir):
    folder, labels = synth_dir
    assert labels.site.nunique() == 5 and labels.scanner.nunique() >= 4
    seen = set()
    for f in labels.file:
        ds = pydicom.dcmread(folder / f)
        assert ds.Modality in ("CR", "DX") and ds.BodyPartExamined == "CHEST"
        assert ds.ViewPosition == labels.set_index("file").view[f] and ds.ViewPosition in ("PA", "AP")
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
    with pytest.raises(ParameterError, match="severity"):
        render_chest(np.random.default_rng(0), 32, "opacity", severity=1.5)
    with pytest.raises(ParameterError, match="view"):
        render_chest(np.random.default_rng(0), 32, None, view="LAT")
    with pytest.raises(ParameterError, match="label_noise"):
        synth_chest_xrays(tmp_path, n_studies=2, label_noise=0.7)
