"""The persistent secret: KIT_DEID_SECRET / KIT_DEID_SECRET_FILE give the same pseudonyms run after run, and are never written."""
import pydicom
import pytest

from kit.errors import InputDataError, ParameterError
from kit.medical import notebook as nbk
from kit.medical.deid import SECRET_ENV, SECRET_FILE_ENV, secret_from_env

SECRET = "s3cret-for-follow-up-0123456789abcdef"


@pytest.fixture()
def good_files(synth_dir):
    from kit.medical import ingest_folder

    folder, labels = synth_dir
    ingested = ingest_folder(folder, image_size=None)
    return [ingested.root / f for f in ingested.table.file], ingested.root


def _run(files, root, out):
    result = nbk.deidentify_into(files, root, out / "deid", out / "deid_audit.csv", profile="basic")
    ids = {}
    for row in result.table.itertuples():
        ds = pydicom.dcmread(out / "deid" / row.deid_file, stop_before_pixels=True)
        ids[row.file] = (str(ds.PatientID), ds.StudyInstanceUID, ds.SOPInstanceUID)
    return result, ids


def test_same_secret_same_pseudonyms_other_secret_other_ones(good_files, tmp_path, monkeypatch):
    files, root = good_files
    monkeypatch.delenv(SECRET_FILE_ENV, raising=False)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    first, a = _run(files, root, tmp_path / "day1")
    second, b = _run(files, root, tmp_path / "day2")
    assert not first.single_use and "persistent" in first.notice
    assert a == b and len(a) == len(first.table) == len(files) - len(first.quarantine) > 30
    assert len({v[0] for v in a.values()}) > 1  # several patients, each with their own pseudonym
    monkeypatch.setenv(SECRET_ENV, SECRET[::-1])
    _, c = _run(files, root, tmp_path / "other")
    assert all(c[k][0] != a[k][0] and c[k][1] != a[k][1] for k in a)
    # A key file holding the same secret (with its final newline) is the same secret.
    key = tmp_path / "deid.key"
    key.write_text(SECRET + "\n")
    monkeypatch.delenv(SECRET_ENV)
    monkeypatch.setenv(SECRET_FILE_ENV, str(key))
    _, d = _run(files, root, tmp_path / "keyfile")
    assert d == a
    # The secret is in no file of any output folder.
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != key:
            assert SECRET.encode() not in path.read_bytes(), path


def test_without_a_secret_the_run_says_its_pseudonyms_are_single_use(good_files, tmp_path, monkeypatch):
    files, root = good_files
    monkeypatch.delenv(SECRET_ENV, raising=False)
    monkeypatch.delenv(SECRET_FILE_ENV, raising=False)
    first, a = _run(files, root, tmp_path / "day1")
    _, b = _run(files, root, tmp_path / "day2")
    assert first.single_use and "single-use" in first.notice and SECRET_ENV in first.notice
    assert all(a[k][0] != b[k][0] for k in a)


def test_bad_secret_settings_are_named(tmp_path):
    assert secret_from_env({}) is None
    with pytest.raises(ParameterError, match="at least 16"):
        secret_from_env({SECRET_ENV: "short"})
    with pytest.raises(ParameterError, match="keep one"):
        secret_from_env({SECRET_ENV: SECRET, SECRET_FILE_ENV: str(tmp_path / "k")})
    with pytest.raises(InputDataError, match="cannot be read"):
        secret_from_env({SECRET_FILE_ENV: str(tmp_path / "missing.key")})
    assert secret_from_env({SECRET_ENV: SECRET}) == SECRET.encode()


def test_date_shifts_and_pseudonyms_follow_the_secret_alone():
    from kit.medical import Deidentifier

    a, b = Deidentifier(SECRET), Deidentifier(SECRET.encode())
    other = Deidentifier(SECRET + "!")
    keys = [f"id:P{i}" for i in range(50)]
    assert [a.date_shift(k) for k in keys] == [b.date_shift(k) for k in keys]
    assert [a.pseudonym(k) for k in keys] == [b.pseudonym(k) for k in keys]
    assert sum(a.date_shift(k) != other.date_shift(k) for k in keys) > 40
    assert not {a.pseudonym(k) for k in keys} & {other.pseudonym(k) for k in keys}
    assert all(-1095 <= a.date_shift(k) <= -30 for k in keys)
