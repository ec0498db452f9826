"""Reading files a person hands in (a challenge submission): the first problem in one line, never a traceback.

Each reader raises :class:`kit.errors.InputDataError` naming the file, the
row (CSV rows count the header as row 1) and what is wrong, so a
leaderboard can list the reason next to the team.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kit.errors import InputDataError

__all__ = ["finite_numbers", "first_line", "read_csv_submission", "require_columns"]


def first_line(exc: Exception) -> str:
    """The first line of an exception's message (its type's name when the message is empty)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_csv_submission(path) -> pd.DataFrame:
    """A submission CSV, or InputDataError with the reason (missing, empty, not CSV)."""
    path = Path(path)
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise InputDataError(f"{path.name}: file not found") from None
    except IsADirectoryError:
        raise InputDataError(f"{path.name}: is a folder, not a CSV file") from None
    except pd.errors.EmptyDataError:
        raise InputDataError(f"{path.name}: empty file; start from submission_template.csv") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputDataError(f"{path.name}: not a readable CSV ({first_line(exc)})") from None


def require_columns(sub: pd.DataFrame, name: str, columns) -> None:
    """Refuse a submission ``name`` without one of ``columns``."""
    missing = [c for c in columns if c not in sub.columns]
    if missing:
        raise InputDataError(f"{name}: missing column {missing[0]!r}; columns must be {', '.join(columns)}")


def finite_numbers(values: pd.Series, name: str, column: str) -> np.ndarray:
    """Finite floats, or the first bad row (CSV row numbers count the header as row 1)."""
    num = pd.to_numeric(values, errors="coerce").astype(float)
    bad = ~np.isfinite(num.to_numpy())
    if bad.any():
        row = int(np.argmax(bad)) + 2
        raise InputDataError(f"{name}: row {row}: {column} is not a number ({values.iloc[row - 2]!r})")
    return num.to_numpy()
