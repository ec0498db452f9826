"""A map-style dataset of ingested radiographs, MONAI style: each item is a dict.

It needs no Torch (``len`` and indexing only), so a ``torch.utils.data.DataLoader``
can wrap it and a scikit-learn pipeline can read it alike.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kit.errors import InputDataError
from kit.io import read_csv_table

_KEY_NAMES = ("StudyInstanceUID", "study_instance_uid", "study_uid")


def read_labels(path_or_frame) -> pd.Series:
    """Read a labels table keyed by Study Instance UID and return ``label`` (0/1) indexed by UID.

    The key column may be called ``StudyInstanceUID``, ``study_instance_uid``
    or ``study_uid``; the label column ``label`` (1 = urgent finding).

    Examples
    --------
    >>> import pandas as pd
    >>> read_labels(pd.DataFrame({"StudyInstanceUID": ["1.2.3"], "label": [1]})).to_dict()
    {'1.2.3': 1}
    """
    frame = path_or_frame
    if not isinstance(frame, pd.DataFrame):
        frame = read_csv_table(path_or_frame, "labels", "a CSV with StudyInstanceUID,label",
                               dtype={k: str for k in _KEY_NAMES})
    key = next((k for k in _KEY_NAMES if k in frame.columns), None)
    if key is None:
        raise InputDataError(
            f"labels table has no StudyInstanceUID column (columns: {', '.join(map(str, frame.columns))}); "
            "add one named StudyInstanceUID"
        )
    if "label" not in frame.columns:
        raise InputDataError("labels table has no 'label' column; add one with 1 for urgent and 0 otherwise")
    labels = pd.to_numeric(frame["label"], errors="coerce")
    bad = frame.index[labels.isna() | ~labels.isin([0, 1])]
    if len(bad):
        row = int(bad[0])
        raise InputDataError(
            f"labels table row {row + 2}: label {frame['label'].iloc[row]!r} is not 0 or 1; fix that row"
        )
    keys = frame[key].astype(str).str.strip()
    if keys.duplicated().any():
        dup = keys[keys.duplicated()].iloc[0]
        raise InputDataError(f"labels table lists StudyInstanceUID {dup} twice; keep one row per study")
    return pd.Series(labels.astype(int).to_numpy(), index=keys.to_numpy(), name="label")


class DicomImageDataset:
    """Items ``{"image", "study_uid", "site", "scanner", "sex", "label", "file"}`` for a classifier.

    Parameters
    ----------
    table : DataFrame
        :attr:`IngestResult.table` (or a subset of its rows).
    images : ndarray, optional
        :attr:`IngestResult.images` aligned with the *full* ingest table;
        rows are picked by ``table.index``. Without it, images are read from
        ``root / table.file`` on access.
    labels : Series, DataFrame or path, optional
        Labels keyed by Study Instance UID (see :func:`read_labels`);
        studies without a label get ``-1``.
    root : path, optional
        Folder the ``file`` column is relative to (needed without ``images``).
    image_size : int, pixels
        Used when reading from files.
    transform : callable, optional
        Applied to each item dict (augmentations).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> table = pd.DataFrame({"file": ["a.dcm"], "study_uid": ["1.2"], "site": ["A"],
    ...                       "scanner": ["X"], "sex": ["F"]})
    >>> ds = DicomImageDataset(table, images=np.zeros((1, 8, 8), np.float32), labels={"1.2": 1})
    >>> item = ds[0]
    >>> item["image"].shape, item["label"], item["site"]
    ((8, 8), 1, 'A')
    """

    def __init__(self, table, images=None, labels=None, root=None, image_size=128, transform=None):
        self.table = table
        self.images = images
        self.root = Path(root) if root is not None else None
        self.image_size = image_size
        self.transform = transform
        if images is None and self.root is None:
            raise InputDataError("DicomImageDataset needs either images (from ingest_folder) or root to read files")
        if labels is None:
            self.labels = {}
        elif isinstance(labels, dict):
            self.labels = labels
        else:
            self.labels = read_labels(labels).to_dict()

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, i: int) -> dict:
        row = self.table.iloc[i]
        if self.images is not None:
            image = np.asarray(self.images[self.table.index[i]], dtype=np.float32)
        else:
            from kit.medical.ingest import load_image

            image = load_image(self.root / row["file"], self.image_size)
        item = {
            "image": image,
            "study_uid": str(row["study_uid"]),
            "site": str(row.get("site", "")),
            "scanner": str(row.get("scanner", "")),
            "sex": str(row.get("sex", "")),
            "label": int(self.labels.get(str(row["study_uid"]), -1)),
            "file": str(row["file"]),
        }
        return self.transform(item) if self.transform is not None else item
