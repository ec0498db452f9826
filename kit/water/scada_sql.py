"""SCADA straight from a SQL historian: long rows ``timestamp, tag, value[, unit]`` over a SQLAlchemy URL.

The source is a SQLAlchemy URL (``postgresql://scada_reader@db:5432/historian``,
``sqlite:///historian.db``) and a table, or a ``SELECT`` with ``:start`` and
``:end``. Only the asked window travels: a table is filtered in SQL, then
the exact window is cut after parsing. Credentials never pass through kit:
a URL carrying a password is refused, and PostgreSQL finds it with libpq in
``~/.pgpass``, ``PGPASSFILE``, ``PGPASSWORD`` or a ``PGSERVICE`` entry.
Driver errors come back as one line without the URL's secrets.
"""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL

from kit.errors import InputDataError
from kit.i18n import _
from kit.water.scada_sql_connect import (_connection, _database_error, _public_url, _source, _sql_bounds, _window,
                                         check_url, describe_source)

__all__ = ["COLUMN_SPELLINGS", "check_url", "describe_source", "read_sql_long"]

#: Accepted spellings of each column, matched case-insensitively, first match wins.
COLUMN_SPELLINGS = {"timestamp": ("timestamp", "time", "ts", "datetime"), "tag": ("tag", "tagname", "point"),
                    "value": ("value", "val"), "unit": ("unit", "units", "uom")}
_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")


def _pick_columns(names, what: str) -> dict:
    """Role (``timestamp``, ``tag``, ``value``, ``unit``) to the column name that plays it."""
    lower = {str(n).lower(): n for n in reversed(list(names))}
    picked = {role: next((lower[s] for s in spellings if s in lower), None)
              for role, spellings in COLUMN_SPELLINGS.items()}
    missing = [role for role in ("timestamp", "tag", "value") if picked[role] is None]
    if missing:
        raise InputDataError(_("{what} has columns {columns} but no {missing}; name them {spellings}").format(
            what=what, columns=", ".join(map(str, names)), missing=" or ".join(missing),
            spellings=", ".join("/".join(COLUMN_SPELLINGS[r]) for r in missing)))
    return {role: name for role, name in picked.items() if name is not None}


def _find_table(conn, schema, name: str, url: URL):
    """The table (or view) as the database spells it, matched case-insensitively, and its columns."""
    inspector = sa.inspect(conn)
    if schema is not None:
        schema = next((s for s in inspector.get_schema_names() if s.lower() == schema.lower()), schema)
    known = inspector.get_table_names(schema=schema) + inspector.get_view_names(schema=schema)
    exact = [t for t in known if t == name] or [t for t in known if t.lower() == name.lower()]
    if not exact:
        shown = ", ".join(sorted(known)[:10]) or "none"
        raise InputDataError(_("SCADA table {table} not found in {url} (tables: {shown}); give table_or_query= a "
                               "table or a SELECT").format(table=".".join(p for p in (schema, name) if p),
                                                           url=_public_url(url), shown=shown))
    return schema, exact[0], inspector.get_columns(exact[0], schema=schema)


def _read_table(conn, url: URL, schema, name: str, window: tuple, tz: str) -> pd.DataFrame:
    schema, name, columns = _find_table(conn, schema, name, url)
    roles = _pick_columns([c["name"] for c in columns], _("SCADA table {table}").format(table=name))
    table = sa.table(name, *(sa.column(c) for c in roles.values()), schema=schema)
    ts = table.c[roles["timestamp"]]
    backend = url.get_backend_name()
    start, end = _sql_bounds(backend, window, tz, widen=backend == "sqlite")
    query = sa.select(*(table.c[c].label(role) for role, c in roles.items()))
    query = query.where(*([ts >= start] if start is not None else []), *([ts < end] if end is not None else []))
    frame = pd.DataFrame(conn.execute(query).fetchall(), columns=list(roles))
    if frame.empty:
        first, last, n = conn.execute(sa.select(sa.func.min(ts), sa.func.max(ts), sa.func.count())).one()
        raise InputDataError(_("SCADA table {table} has no rows in the window asked ({n} rows in all, from {first} "
                               "to {last}); move start/end, or write timestamps in ISO 8601").format(
            table=name, n=n, first=first, last=last))
    return frame


def _read_query(conn, url: URL, query: str, window: tuple, tz: str) -> pd.DataFrame:
    statement = sa.text(query)
    used = set(statement.compile().params)
    extra = used - {"start", "end"}
    if extra:
        raise InputDataError(_("the SCADA query uses :{names}; only :start and :end are bound").format(
            names=", :".join(sorted(extra))))
    bounds = dict(zip(("start", "end"), _sql_bounds(url.get_backend_name(), window, tz)))
    unset = [k for k in sorted(used) if bounds[k] is None]
    if unset:
        raise InputDataError(_("the SCADA query uses :{name} but {name}= was not given; give it").format(name=unset[0]))
    result = conn.execute(statement, {k: bounds[k] for k in used})
    raw = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    roles = _pick_columns(raw.columns, _("the SCADA query's result"))
    frame = raw[list(roles.values())].set_axis(list(roles), axis=1)
    if frame.empty:
        raise InputDataError(_("the SCADA query returned no rows in the window asked; check its WHERE clause "
                               "compares the timestamp column with :start and :end"))
    return frame


def _parse_timestamps(raw: pd.Series) -> pd.Series:
    """Date-times as the database gave them: aware where it said the offset, naive otherwise."""
    if raw.isna().any():
        raise InputDataError(_("the SCADA source has rows with an empty timestamp; filter them out "
                               "(a query with WHERE timestamp IS NOT NULL)"))
    if pd.api.types.is_datetime64_any_dtype(raw):
        return raw
    if pd.api.types.is_numeric_dtype(raw):
        raise InputDataError(_("the SCADA timestamps are numbers; convert them in a query, e.g. SQLite "
                               "strftime('%Y-%m-%dT%H:%M:%SZ', ts, 'unixepoch') AS timestamp"))
    if isinstance(raw.iloc[0], dt.datetime):
        return pd.to_datetime(raw, utc=raw.iloc[0].tzinfo is not None)
    text = raw.astype(str).str.strip()
    has_offset = text.str.contains(_OFFSET)
    if has_offset.any() and not has_offset.all():
        i = int(np.flatnonzero(~has_offset.to_numpy())[0])
        raise InputDataError(_("SCADA timestamp {stamp!r} has no UTC offset while others have one; write every "
                               "timestamp with its offset, or none").format(stamp=text.iloc[i]))
    t = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=bool(has_offset.any()))
    if t.isna().any():
        i = int(np.flatnonzero(t.isna().to_numpy())[0])
        raise InputDataError(_("SCADA timestamp {stamp!r} cannot be parsed; write ISO 8601, e.g. 2024-03-10 06:00:00 "
                               "or 2024-03-10T06:00:00+01:00").format(stamp=text.iloc[i]))
    return t


def _localize_by_tag(naive: pd.Series, tags: pd.Series, tz: str, flags: list) -> pd.Series:
    """Naive local times of ``tz`` as aware; a repeated hour is read in each tag's order of rows.

    When the clock goes back (Morocco for Ramadan, European autumn) a tag's
    rows repeat an hour: in the order the database returns them the first
    run is the earlier offset (flag ``repeated_local_time``). What order
    cannot settle, and local times the clock skips, are dropped (flag
    ``ambiguous_local_time``).
    """
    aware = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    unsure = aware.isna()
    for tag in tags[unsure].unique():
        rows = (tags == tag).to_numpy()
        try:
            aware[rows] = naive[rows].dt.tz_localize(tz, ambiguous="infer", nonexistent="NaT")
        except ValueError:  # the repeated hour cannot be read in order
            pass
        near = naive[rows & unsure.to_numpy()].dt.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
        resolved, lost = int(aware[rows & unsure.to_numpy()].notna().sum()), int(aware[rows].isna().sum())
        for flag, count in (("repeated_local_time", resolved), ("ambiguous_local_time", lost)):
            if count:
                flags.append((str(tag), near.min().tz_convert("UTC"), near.max().tz_convert("UTC"), flag, count))
    return aware


def _tidy(frame: pd.DataFrame, window: tuple, tz: str) -> pd.DataFrame:
    """Typed columns, UTC times, the exact window, sorted by timestamp and tag; flags in ``attrs``."""
    if frame["tag"].isna().any():
        raise InputDataError(_("the SCADA source has rows with an empty tag; filter them out (WHERE tag IS NOT NULL)"))
    flags = []
    tags = frame["tag"].astype(str)
    t = _parse_timestamps(frame["timestamp"])
    if t.dt.tz is None:
        t = _localize_by_tag(t, tags, tz, flags)
    value = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    for tag, count in tags[value.isna() & frame["value"].notna()].value_counts().items():
        flags.append((tag, None, None, "bad_value", int(count)))
    out = pd.DataFrame({"timestamp": t.dt.tz_convert("UTC"), "tag": tags, "value": value})
    if "unit" in frame:
        out["unit"] = frame["unit"].astype(str)
    keep = out["timestamp"].notna()
    if window[0] is not None:
        keep &= out["timestamp"] >= window[0]
    if window[1] is not None:
        keep &= out["timestamp"] < window[1]
    out = out[keep].sort_values(["timestamp", "tag"], kind="stable").reset_index(drop=True)
    out.attrs["flags"] = flags
    return out


def read_sql_long(url, table_or_query: str = "scada", *, start=None, end=None, tz: str = "UTC") -> pd.DataFrame:
    """Read SCADA readings in the long historian format from a SQL database.

    Parameters
    ----------
    url : str or sqlalchemy.engine.URL
        SQLAlchemy URL without a password (see :func:`check_url`); plain
        ``postgresql://`` uses psycopg 3.
    table_or_query : str, default ``"scada"``
        A table or view (``name`` or ``schema.name``, matched case-insensitively)
        with columns spelt ``timestamp/time/ts/datetime``, ``tag/tagname/point``,
        ``value/val`` and optionally ``unit/units/uom``; or a ``SELECT``
        returning them, which may use ``:start`` and ``:end`` (PostgreSQL:
        aware date-times; SQLite: text ``YYYY-MM-DD HH:MM:SS`` local to ``tz``,
        to compare with ``datetime(ts)``).
    start, end : str or datetime, optional
        The window ``start <= timestamp < end``; naive values are local times of ``tz``.
    tz : str, default ``"UTC"``
        Time zone of naive timestamps (``timestamp`` without time zone, SQLite text without offset).

    Returns
    -------
    pandas.DataFrame
        ``timestamp`` (UTC), ``tag`` (str), ``value`` (float, in the tag's unit)
        and ``unit`` when the source has it, sorted by timestamp and tag.
        ``attrs["flags"]`` lists ``(tag, start, end, flag, count)``:
        ``repeated_local_time``, ``ambiguous_local_time`` (rows dropped),
        ``bad_value`` (non-numeric values, now NaN).

    Examples
    --------
    >>> import sqlite3, tempfile
    >>> from contextlib import closing
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "historian.db"
    >>> with closing(sqlite3.connect(path)) as db, db:
    ...     _ = db.execute("CREATE TABLE scada (TS TEXT, TagName TEXT, Val REAL)")
    ...     _ = db.executemany("INSERT INTO scada VALUES (?, ?, ?)", [("2024-01-14 23:00:00", "P1", 40.0),
    ...         ("2024-01-15 06:00:00", "P1", 41.5), ("2024-01-15 06:00:00", "Q1", 12.25)])
    >>> read_sql_long(f"sqlite:///{path}", start="2024-01-15", end="2024-01-16", tz="Africa/Casablanca")
                      timestamp tag  value
    0 2024-01-15 05:00:00+00:00  P1  41.50
    1 2024-01-15 05:00:00+00:00  Q1  12.25
    """
    parsed = check_url(url)
    source = _source(table_or_query)
    window = _window(start, end, tz)
    try:
        with _connection(parsed, tz) as conn:
            if source[0] == "query":
                frame = _read_query(conn, parsed, source[1], window, tz)
            else:
                frame = _read_table(conn, parsed, source[1], source[2], window, tz)
    except sa.exc.SQLAlchemyError as exc:
        raise _database_error(exc, parsed, "read") from None
    return _tidy(frame, window, tz)
