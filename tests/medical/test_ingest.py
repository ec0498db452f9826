import shutil
import tracemalloc

import numpy as np
import pandas as pd
import pydicom
import pytest

from kit.medical import DicomImageDataset, ingest_folder, load_image, read_image_file, window_to_unit
from kit.medical.reader import QuarantineError

EXPECTED_REASON = {
    "truncated_header": "truncated",
    "truncated_pixels": "truncated",
    "zero_byte": "zero-byte",
    "not_dicom": "not a DICOM file",
    "no_pixels": "no pixel data",
    "absurd_size": "refused",
    "undecodable": "undecodable",
}


def test_real_cr_monochrome1_window_matches_pydicom_pipeline(dicom_file):
    # RG1_UNCR: real CR chest radiograph, MONOCHROME1, 15 bits stored, window 15000/30000.
    path = dicom_file("RG1_UNCR.dcm")
    ds = pydicom.dcmread(path)
    assert ds.PhotometricInterpretation == "MONOCHROME1" and ds.BitsStored == 15
    ours = load_image(path, image_size=None)
    # Independent reference: pydicom's own windowing, output range [0, 2**15 - 1], then inverted.
    from pydicom.pixels import apply_voi_lut

    ref = apply_voi_lut(ds.pixel_array, ds).astype(np.float64) / (2**15 - 1)
    ref = 1.0 - ref
    assert ours.shape == (1955, 1841) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=2e-4)


def test_real_cr_anatomy_is_displayed_bone_white(dicom_file):
    img = load_image(dicom_file("RG1_UNCR.dcm"), image_size=128)
    assert img.shape == (128, 128)
    rows = slice(int(0.35 * 128), int(0.6 * 128))
    mediastinum = img[rows, int(0.46 * 128):int(0.54 * 128)].mean()
    lungs = (img[rows, int(0.22 * 128):int(0.34 * 128)].mean() + img[rows, int(0.66 * 128):int(0.78 * 128)].mean()) / 2
    # If MONOCHROME1 were not inverted, the lungs would come out brighter than the mediastinum.
    assert mediastinum > lungs + 0.1


@pytest.mark.parametrize(
    "compressed, reference",
    [
        ("RG1_J2KR.dcm", "RG1_UNCR.dcm"),  # JPEG 2000 lossless (pylibjpeg-openjpeg)
        ("emri_small_RLE.dcm", "emri_small.dcm"),  # RLE lossless
        ("emri_small_jpeg_ls_lossless.dcm", "emri_small.dcm"),  # JPEG-LS lossless (pylibjpeg-libjpeg)
        ("emri_small_big_endian.dcm", "emri_small.dcm"),  # Explicit VR big endian
        ("emri_small_jpeg_2k_lossless.dcm", "emri_small.dcm"),
    ],
)
def test_lossless_transfer_syntaxes_decode_to_the_same_pixels(compressed, reference, dicom_file):
    a = read_image_file(dicom_file(compressed))
    b = read_image_file(dicom_file(reference))
    assert a.dataset.file_meta.TransferSyntaxUID != b.dataset.file_meta.TransferSyntaxUID
    np.testing.assert_array_equal(a.pixels.astype(np.int64), b.pixels.astype(np.int64))


@pytest.mark.parametrize(
    "name, shape",
    [("JPGLosslessP14SV1_1s_1f_8b.dcm", (768, 1024)), ("image_dfl.dcm", (512, 512)), ("JPEG-LL.dcm", (1024, 256))],
)
def test_jpeg_lossless_and_deflate_decode(name, shape, dicom_file):
    item = read_image_file(dicom_file(name))
    assert item.pixels.shape == shape
    img = load_image(dicom_file(name), 64)
    assert img.shape == (64, 64) and 0.0 <= img.min() and img.max() <= 1.0 and img.std() > 0.01


def test_jpeg_baseline_monochrome_decodes_close_to_source(tmp_path):
    import io

    from PIL import Image
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate

    yy, xx = np.mgrid[0:64, 0:96]
    source = ((xx * 2 + yy) % 256).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(source, mode="L").save(buf, format="JPEG", quality=95)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.50"
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", "1.2.3.4.5"
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 64, 96, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = encapsulate([buf.getvalue()])
    ds["PixelData"].VR = "OB"
    path = tmp_path / "jpeg_baseline.dcm"
    ds.save_as(path, enforce_file_format=True)
    item = read_image_file(path)
    assert np.abs(item.pixels.astype(int) - source.astype(int)).mean() < 3.0


def test_mixed_folder_ingests_every_good_file_and_lists_every_bad_one(synth_dir, tmp_path, dicom_file):
    folder, labels = synth_dir
    work = tmp_path / "pacs"
    shutil.copytree(folder, work)
    shutil.copy(dicom_file("RG1_UNCR.dcm"), work / "RG1_UNCR.dcm")
    result = ingest_folder(work, image_size=64)
    good = set(labels["file"]) | {"RG1_UNCR.dcm"}
    assert set(result.table["file"]) == good
    assert set(result.table.loc[result.table.file != "RG1_UNCR.dcm", "study_uid"]) == set(labels.StudyInstanceUID)
    broken = labels.attrs["broken"]
    assert set(result.quarantine["file"]) == set(broken["file"])
    reasons = result.quarantine.set_index("file")["reason"]
    for file, kind in zip(broken["file"], broken["kind"]):
        assert EXPECTED_REASON[kind] in reasons[file], (kind, reasons[file])
    assert result.images.shape == (len(good), 64, 64) and result.images.dtype == np.float32
    assert np.isfinite(result.images).all() and result.images.min() >= 0 and result.images.max() <= 1
    out = result.write_quarantine(tmp_path / "quarantine.csv")
    assert list(pd.read_csv(out).columns) == ["file", "reason"]


def test_synthetic_images_show_dense_mediastinum_for_both_photometrics(synth_dir):
    folder, labels = synth_dir
    result = ingest_folder(folder, image_size=64)
    assert set(result.table.photometric) == {"MONOCHROME1", "MONOCHROME2"}
    centre = result.images[:, 22:38, 29:35].mean(axis=(1, 2))
    lateral = (result.images[:, 22:38, 12:20].mean(axis=(1, 2)) + result.images[:, 22:38, 44:52].mean(axis=(1, 2))) / 2
    # Each scanner stores the picture differently; after ingest bone and mediastinum are white on all.
    assert (centre > lateral).all()


def test_truncation_detected_at_every_cut_point(tmp_path, dicom_file):
    raw = open(dicom_file("emri_small.dcm"), "rb").read()
    for cut in list(range(140, 1200, 23)) + [len(raw) // 2, len(raw) - 1]:
        path = tmp_path / f"cut{cut}.dcm"
        path.write_bytes(raw[:cut])
        with pytest.raises(QuarantineError, match="truncated"):
            read_image_file(path)


def test_absurd_header_refused_before_allocating(synth_dir):
    folder, labels = synth_dir
    broken = labels.attrs["broken"]
    absurd = folder / broken.loc[broken.kind == "absurd_size", "file"].iloc[0]
    tracemalloc.start()
    with pytest.raises(QuarantineError, match="refused") as info:
        read_image_file(absurd)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "65535 × 65535" in str(info.value)
    assert peak < 20 * 1024**2  # the claimed buffer is ~80 TiB


def test_window_kernel_follows_ps33_and_runs_on_array_api_strict():
    import array_api_strict as xps

    x = np.array([-100.0, 39.5, 40.0, 90.0, 200.0])
    ours = window_to_unit(x, center=40.0, width=100.0)
    expected = np.clip((x - 39.5) / 99.0 + 0.5, 0, 1)
    np.testing.assert_allclose(ours, expected)
    strict = window_to_unit(xps.asarray(x), center=40.0, width=100.0)
    np.testing.assert_allclose(np.asarray(strict), expected)
    sig = window_to_unit(np.array([40.0]), 40.0, 100.0, "SIGMOID")
    assert sig[0] == pytest.approx(0.5)


def test_dataset_items_for_a_classifier(synth_dir):
    folder, labels = synth_dir
    result = ingest_folder(folder, image_size=32)
    ds = DicomImageDataset(result.table, images=result.images, labels=folder / "labels.csv")
    assert len(ds) == len(labels)
    truth = labels.set_index("StudyInstanceUID")
    for i in (0, 7, len(ds) - 1):
        item = ds[i]
        assert item["image"].shape == (32, 32) and item["image"].dtype == np.float32
        assert item["label"] == truth.loc[item["study_uid"], "label"]
        assert item["site"] == truth.loc[item["study_uid"], "site"]
        assert item["sex"] == truth.loc[item["study_uid"], "sex"]
    lazy = DicomImageDataset(result.table, root=folder, image_size=32, labels=folder / "labels.csv")
    np.testing.assert_allclose(lazy[3]["image"], ds[3]["image"])
