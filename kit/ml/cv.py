"""Cross-validation that cannot leak: whole years and whole field groups are held out.

A split is a pair ``(train_index, test_index)``. :func:`check_split` refuses
one where a test year (or spatial group) also appears in training, which
is what makes random K-fold over field-years optimistic: the model has
seen the same season's weather, and its neighbours, in training.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.errors import KitError

__all__ = ["LeakingSplitError", "check_split", "cross_val_predict", "leave_one_group_out", "leave_one_year_out",
           "year_and_group_folds"]


class LeakingSplitError(KitError, ValueError):
    """A cross-validation split has a test year or group that also appears in training."""


def check_split(train_index, test_index, *, years=None, groups=None) -> None:
    """Raise :class:`LeakingSplitError` unless training shares no year and no group with the test rows.

    Parameters
    ----------
    train_index, test_index : integer arrays (row positions)
    years, groups : array-like, one value per row, optional
        Leaking on either is refused.

    Examples
    --------
    >>> check_split([0, 1], [2], years=[2020, 2021, 2022])
    >>> check_split([0, 1], [2], years=[2020, 2022, 2022])
    Traceback (most recent call last):
    ...
    kit.ml.cv.LeakingSplitError: split leaks: test year 2022 is also in training (1 rows); hold whole years out (leave_one_year_out)
    """
    train, test = np.asarray(train_index), np.asarray(test_index)
    if np.intersect1d(train, test).size:
        raise LeakingSplitError("split leaks: the same rows are in training and test; use disjoint row sets")
    for name, labels in (("year", years), ("group", groups)):
        if labels is None:
            continue
        labels = np.asarray(labels)
        shared = np.intersect1d(labels[train], labels[test])
        if shared.size:
            n = int(np.isin(labels[train], shared).sum())
            fix = "hold whole years out (leave_one_year_out)" if name == "year" else "hold whole groups out (leave_one_group_out)"
            raise LeakingSplitError(f"split leaks: test {name} {shared[0]} is also in training ({n} rows); {fix}")


def leave_one_year_out(years) -> list:
    """One split per year: train on the other years, test on that year.

    Examples
    --------
    >>> [(tr.tolist(), te.tolist()) for tr, te in leave_one_year_out([2020, 2021, 2020])]
    [([1], [0, 2]), ([0, 2], [1])]
    """
    years = np.asarray(years)
    return [(np.flatnonzero(years != y), np.flatnonzero(years == y)) for y in np.unique(years)]


def leave_one_group_out(groups) -> list:
    """One split per spatial group (commune, block): train on the other groups."""
    return leave_one_year_out(groups)


def year_and_group_folds(years, groups) -> list:
    """Test on one (year, group); train on rows of *other* years *and* other groups (the strictest split)."""
    years, groups = np.asarray(years), np.asarray(groups)
    out = []
    for y in np.unique(years):
        for g in np.unique(groups):
            test = np.flatnonzero((years == y) & (groups == g))
            if test.size:
                out.append((np.flatnonzero((years != y) & (groups != g)), test))
    return out


def cross_val_predict(make_model, X: pd.DataFrame, y, splits, *, years=None, groups=None, fold_names=None) -> pd.DataFrame:
    """Out-of-fold predictions of a fresh model per split, every split checked for leaks first.

    Parameters
    ----------
    make_model : callable returning an estimator with ``fit(X, y)`` and ``predict(X)``
        (``predict`` may return a DataFrame of several columns, e.g. quantiles).
    X : pandas.DataFrame
    y : array-like
    splits : list of (train_index, test_index)
    years, groups : array-like, optional
        Passed to :func:`check_split`; a leaking split raises before any fit.
    fold_names : list, optional
        Label of each split in the ``fold`` column (default 0, 1, ...).

    Returns
    -------
    pandas.DataFrame
        One row per test row (index of ``X``), ``fold`` and the prediction column(s).
    """
    for train, test in splits:
        check_split(train, test, years=years, groups=groups)
    y = np.asarray(y, dtype=float)
    parts = []
    for k, (train, test) in enumerate(splits):
        model = make_model()
        model.fit(X.iloc[train], y[train])
        pred = model.predict(X.iloc[test])
        frame = pred if isinstance(pred, pd.DataFrame) else pd.DataFrame({"prediction": np.asarray(pred)})
        frame.index = X.index[test]
        frame.insert(0, "fold", fold_names[k] if fold_names is not None else k)
        parts.append(frame)
    out = pd.concat(parts)
    tested = np.zeros(len(X), bool)
    tested[np.concatenate([np.asarray(te) for _, te in splits])] = True
    return out.loc[X.index[tested]]  # in the order of X
