"""What was read per split: images, images without objects, objects per class, items set aside."""
from __future__ import annotations

import numpy as np


def split_summary(splits: dict):
    """A table of what each split holds, for the notebook to show.

    Parameters
    ----------
    splits : dict
        ``{split name: CocoDetection or CocoIndex}``, e.g. ``{"train": train, "val": val, "test": test}``.

    Returns
    -------
    pandas.DataFrame
        One row per split: ``images``, ``without objects`` (negatives),
        ``objects`` and one column per class (objects trained on and scored),
        ``ignored`` (crowd or VOC ``difficult`` regions), ``set aside``
        (images and annotations dropped, see the split's ``report``) and
        ``split drawn`` (images whose split was drawn because the export
        named none, see :func:`kit.vision.formats.common.fill_splits`).

    Examples
    --------
    >>> import tempfile
    >>> from kit.vision.synthetic import generate
    >>> from kit.vision.data import load_coco
    >>> folder = generate(tempfile.mkdtemp(), n_images=6, image_size=64, n_code_crops=0, sequence_frames=0)
    >>> table = split_summary({"all": load_coco(folder)})
    >>> int(table.loc["all", "images"]), list(table.columns[:3])
    (6, ['images', 'without objects', 'objects'])
    """
    import pandas as pd

    rows = {}
    for name, ds in splits.items():
        index = getattr(ds, "index", ds)
        names = index.label_names
        labels = np.concatenate([np.asarray(lab, dtype=np.int64) for lab in index.labels] or [np.zeros(0, np.int64)])
        per_class = np.bincount(labels, minlength=len(names) + 1)
        row = {"images": len(index.images), "without objects": sum(len(b) == 0 for b in index.boxes),
               "objects": int(labels.size)}
        row.update({names[k]: int(per_class[k]) for k in sorted(names)})
        row["ignored"] = int(sum(len(c) for c in index.crowd))
        row["set aside"] = int(index.report.dropped - index.report.counts.get("crowd", 0))
        row["split drawn"] = int(sum(bool(im.get("split_drawn")) for im in index.images))
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index").fillna(0).astype(int)
