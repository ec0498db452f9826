"""Small file helpers: atomic writes, checksums and a guarded CSV read."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target):
    """Yield a temporary path beside ``target``; rename it into place on success.

    A crash or an exception leaves ``target`` as it was (absent or old), never
    half written.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_path(out) as tmp:
    ...     pd.DataFrame({"a": [1]}).to_csv(tmp, index=False)
    >>> out.read_text().splitlines()
    ['a', '1']
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent)
    os.close(fd)
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)  # mkstemp's 0600 is stricter than any file the user writes
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path, obj) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")
    return Path(path)


def _json_default(value):
    # NumPy scalars and arrays, dates and paths appear in metrics and manifests.
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def sha256(path) -> str:
    """SHA-256 of a file, or of a folder's files (names and contents, sorted)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        if path.is_dir():
            digest.update(f.relative_to(path).as_posix().encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_csv_table(path, what: str, expect: str, **read_csv_kwargs):
    """Read a user's CSV, or fail with one line that names the file, the problem and the fix.

    Comment lines (``#``) are skipped, spaces after commas ignored and
    column names stripped, because hand-edited and spreadsheet-exported
    files have them.

    Parameters
    ----------
    path : str or Path
    what : str
        What the file is, as the user knows it ("weather", "yields").
    expect : str
        What to give instead, completing "give ..." in the missing-file message.
    **read_csv_kwargs
        Passed to :func:`pandas.read_csv` (``dtype``, for example).

    Returns
    -------
    pandas.DataFrame with ``attrs["source"]`` set to the path.

    Raises
    ------
    kit.errors.InputDataError
        The file does not exist, or is not readable CSV text.

    Examples
    --------
    >>> read_csv_table("no/such.csv", "weather", "a CSV with columns date, tmin_c, tmax_c")
    Traceback (most recent call last):
    ...
    kit.errors.InputDataError: weather file no/such.csv does not exist; give a CSV with columns date, tmin_c, tmax_c
    """
    import pandas as pd

    from kit.errors import InputDataError

    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"{what} file {path} does not exist; give {expect}")
    try:
        df = pd.read_csv(path, comment="#", skipinitialspace=True, **read_csv_kwargs)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputDataError(f"{what} file {path} is not a readable CSV ({str(exc).splitlines()[0]}); "
                             "save it as comma-separated UTF-8 text") from None
    df.columns = [str(c).strip() for c in df.columns]
    df.attrs["source"] = str(path)
    return df


def read_torch_file(path, what: str, expect: str):
    """``torch.load`` a local file (tensors and plain containers only), or fail with one line.

    Parameters
    ----------
    path : str or Path
    what : str
        What the file is, as the user knows it ("weights file", "model checkpoint").
    expect : str
        What to give instead, completing "give ...".

    Returns
    -------
    object
        What the file holds, on the CPU.

    Raises
    ------
    kit.errors.InputDataError
        The file does not exist, or ``torch.load`` cannot read it.

    Examples
    --------
    >>> read_torch_file("no/such.pt", "weights file", "a local .pt state_dict")
    Traceback (most recent call last):
    ...
    kit.errors.InputDataError: weights file no/such.pt does not exist; give a local .pt state_dict
    """
    import torch

    from kit.errors import InputDataError

    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"{what} {path} does not exist; give {expect}")
    try:
        # weights_only: a .pt file can run code when unpickled; tensors and containers are all we need.
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputDataError(f"{what} {path} cannot be read by torch.load ({str(exc).splitlines()[0]}); "
                             f"give {expect}") from None
