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
import hashlib
import os
import re
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from kit.errors import InputDataError

__all__ = ["COLUMN_SPELLINGS", "check_url", "describe_source", "read_sql_long"]

#: Accepted spellings of each column, matched case-insensitively, first match wins.
COLUMN_SPELLINGS = {"timestamp": ("timestamp", "time", "ts", "datetime"), "tag": ("tag", "tagname", "point"),
                    "value": ("value", "val"), "unit": ("unit", "units", "uom")}
# pip names of the drivers SQLAlchemy knows, where they differ from the module name.
_DRIVER_PACKAGES = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "pymysql": "PyMySQL",
                    "mysqldb": "mysqlclient", "mysqlconnector": "mysql-connector-python"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?")
_QUERY = re.compile(r"\s*\(?\s*(select|with)\b", re.IGNORECASE)
_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$")
_PASSWORD_KEYS = ("password", "passwd", "pwd", "sslpassword")  # ?passfile= names a file: welcome
_PASSWORD_FIX = "leave it out and put it in ~/.pgpass (or PGPASSFILE / PGPASSWORD), which the driver reads itself"


def _parse_url(url) -> URL:
    """The URL parsed, ``postgresql``/``postgres`` without a driver meaning psycopg 3."""
    try:
        parsed = make_url(url if isinstance(url, URL) else str(url))
    except sa.exc.ArgumentError:
        raise InputDataError("scada is not a SQLAlchemy URL; write e.g. postgresql://user@host:5432/database "
                             "or sqlite:///path/historian.db") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _public_url(url: URL) -> str:
    """The URL without password nor query options, for messages and manifests."""
    return URL.create(url.drivername, url.username, None, url.host, url.port, url.database).render_as_string()


def check_url(url) -> URL:
    """Parse and check a historian URL: no password in it, a known dialect, its driver installed.

    Plain ``postgresql://`` (or ``postgres://``) comes back as ``postgresql+psycopg://``.

    Examples
    --------
    >>> check_url("postgresql://scada_reader@db.example:5432/historian").drivername
    'postgresql+psycopg'
    """
    parsed = _parse_url(url)
    secret_keys = [k for k in parsed.query if k.lower() in _PASSWORD_KEYS]
    if parsed.password is not None or secret_keys:
        raise InputDataError(f"scada URL {_public_url(parsed)} carries a password; {_PASSWORD_FIX}")
    try:
        dialect = parsed.get_dialect()
    except sa.exc.NoSuchModuleError:
        raise InputDataError(f"scada URL names an unknown database kind {parsed.drivername!r}; write postgresql://, "
                             "sqlite:///, mysql+pymysql:// or another SQLAlchemy dialect") from None
    try:
        dialect.import_dbapi()
    except ImportError:
        package = _DRIVER_PACKAGES.get(dialect.driver, dialect.driver)
        psycopg3 = " (or write postgresql:// for psycopg 3)" if parsed.get_backend_name() == "postgresql" else ""
        raise InputDataError(f"scada URL {parsed.drivername}:// needs the driver {dialect.driver}, which is not "
                             f"installed; pip install {package}{psycopg3}") from None
    return parsed


def _source(table_or_query: str) -> tuple:
    """``("query", text)`` or ``("table", schema or None, name)``."""
    text = str(table_or_query).strip()
    if _QUERY.match(text):
        return ("query", text)
    if not _IDENTIFIER.fullmatch(text):
        raise InputDataError(f"table_or_query={text[:60]!r} is neither a table name (letters, digits, _; "
                             "optionally schema.table) nor a SELECT query")
    schema, _, name = text.rpartition(".")
    return ("table", schema or None, name)


def describe_source(url, table_or_query: str = "scada") -> dict:
    """What a run's manifest records about the historian: where, who, what; nothing secret.

    Examples
    --------
    >>> d = describe_source("postgresql://scada_reader@db.example:5432/historian", "public.scada")
    >>> d["dialect"], d["host"], d["port"], d["database"], d["user"], d["table"]
    ('postgresql', 'db.example', 5432, 'historian', 'scada_reader', 'public.scada')
    >>> sorted(describe_source("sqlite:///h.db", "SELECT * FROM scada"))
    ['database', 'dialect', 'driver', 'host', 'port', 'query_sha256', 'url', 'user']
    """
    parsed = _parse_url(url)
    source = _source(table_or_query)
    described = {"dialect": parsed.get_backend_name(), "driver": parsed.get_driver_name(), "host": parsed.host,
                 "port": parsed.port, "database": parsed.database, "user": parsed.username,
                 "url": _public_url(parsed)}
    if source[0] == "query":
        described["query_sha256"] = hashlib.sha256(source[1].encode("utf-8")).hexdigest()
    else:
        described["table"] = ".".join(p for p in source[1:] if p)
    return described


def _window(start, end, tz: str) -> tuple:
    """``start, end`` as UTC Timestamps (None stays None); naive ones are local times of ``tz``."""
    try:
        ZoneInfo(tz)
    except (ValueError, KeyError):
        raise InputDataError(f"tz={tz!r} is not a time zone name; write e.g. 'Africa/Casablanca' or 'UTC'") from None
    bounds = []
    for name, value in (("start", start), ("end", end)):
        if value is None:
            bounds.append(None)
            continue
        try:
            t = pd.Timestamp(value)
        except (ValueError, TypeError):
            raise InputDataError(f"{name}={value!r} is not a date-time; write e.g. '2024-03-10 06:00'") from None
        if t.tzinfo is None:
            t = t.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
        bounds.append(t.tz_convert("UTC"))
    if None not in bounds and bounds[0] >= bounds[1]:
        raise InputDataError(f"start={start!r} is not before end={end!r}; give a window of positive length")
    return tuple(bounds)


def _sql_bounds(backend: str, window: tuple, tz: str, widen: bool = False) -> tuple:
    """The window as the database compares it.

    PostgreSQL gets aware date-times (its session time zone is ``tz``, so naive
    columns compare as local times). SQLite gets text ``YYYY-MM-DD HH:MM:SS``
    in local time, or with ``widen`` dates two days out, which bound any ISO
    text whatever its separator or offset. Others get naive local date-times.
    """
    out = []
    for i, t in enumerate(window):
        if t is None:
            out.append(None)
        elif backend == "postgresql":
            out.append(t.to_pydatetime())
        elif backend == "sqlite" and widen:
            out.append((t.tz_convert(tz).date() + dt.timedelta(days=3 if i else -2)).isoformat())
        else:
            local = t.tz_convert(tz).tz_localize(None)
            out.append(local.strftime("%Y-%m-%d %H:%M:%S") if backend == "sqlite" else local.to_pydatetime())
    return tuple(out)


def _database_error(exc: Exception, url: URL, doing: str) -> InputDataError:
    """One line for a driver error: what failed where, and the fix."""
    orig = getattr(exc, "orig", None) or exc
    first = " ".join(str(orig).split("\n")[0].split("[SQL:")[0].split())
    if os.environ.get("PGPASSWORD"):  # libpq does not echo it; a future driver might
        first = first.replace(os.environ["PGPASSWORD"], "***")
    where = _public_url(url)
    if re.search(r"password|authentication", first, re.IGNORECASE):
        fix = "check the user name, and that ~/.pgpass (or PGPASSFILE / PGPASSWORD) has its password"
    elif doing == "connect":
        fix = "check the host, port and database name, and that the server runs"
    else:
        fix = "check the table and column names"
    return InputDataError(f"SCADA database {where}: could not {doing} ({first}); {fix}")


@contextmanager
def _connection(url: URL, tz: str):
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not url.database.startswith("file:") and not Path(url.database).is_file():
            raise InputDataError(f"SQLite historian {url.database} does not exist; give the path of the .db file "
                                 "(sqlite:///relative/path.db or sqlite:////absolute/path.db)")
    connect_args = {}
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        connect_args = {"connect_timeout": 10, "application_name": "sector-kit"}
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args=connect_args)
    try:
        try:
            conn = engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise _database_error(exc, url, "connect") from None
        with conn:
            if url.get_backend_name() == "postgresql":  # naive columns then compare as local times of tz
                conn.execute(sa.text("SELECT set_config('TimeZone', :tz, false)"), {"tz": tz})
            yield conn
    finally:
        engine.dispose()


def _pick_columns(names, what: str) -> dict:
    """Role (``timestamp``, ``tag``, ``value``, ``unit``) to the column name that plays it."""
    lower = {str(n).lower(): n for n in reversed(list(names))}
    picked = {role: next((lower[s] for s in spellings if s in lower), None)
              for role, spellings in COLUMN_SPELLINGS.items()}
    missing = [role for role in ("timestamp", "tag", "value") if picked[role] is None]
    if missing:
        raise InputDataError(f"{what} has columns {', '.join(map(str, names))} but no {' or '.join(missing)}; "
                             f"name them {', '.join('/'.join(COLUMN_SPELLINGS[r]) for r in missing)}")
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
        raise InputDataError(f"SCADA table {'.'.join(p for p in (schema, name) if p)} not found in "
                             f"{_public_url(url)} (tables: {shown}); give table_or_query= a table or a SELECT")
    return schema, exact[0], inspector.get_columns(exact[0], schema=schema)


def _read_table(conn, url: URL, schema, name: str, window: tuple, tz: str) -> pd.DataFrame:
    schema, name, columns = _find_table(conn, schema, name, url)
    roles = _pick_columns([c["name"] for c in columns], f"SCADA table {name}")
    table = sa.table(name, *(sa.column(c) for c in roles.values()), schema=schema)
    ts = table.c[roles["timestamp"]]
    backend = url.get_backend_name()
    start, end = _sql_bounds(backend, window, tz, widen=backend == "sqlite")
    query = sa.select(*(table.c[c].label(role) for role, c in roles.items()))
    query = query.where(*([ts >= start] if start is not None else []), *([ts < end] if end is not None else []))
    frame = pd.DataFrame(conn.execute(query).fetchall(), columns=list(roles))
    if frame.empty:
        first, last, n = conn.execute(sa.select(sa.func.min(ts), sa.func.max(ts), sa.func.count())).one()
        raise InputDataError(f"SCADA table {name} has no rows in the window asked ({n} rows in all, from "
                             f"{first} to {last}); move start/end, or write timestamps in ISO 8601")
    return frame


def _read_query(conn, url: URL, query: str, window: tuple, tz: str) -> pd.DataFrame:
    statement = sa.text(query)
    used = set(statement.compile().params)
    extra = used - {"start", "end"}
    if extra:
        raise InputDataError(f"the SCADA query uses :{', :'.join(sorted(extra))}; only :start and :end are bound")
    bounds = dict(zip(("start", "end"), _sql_bounds(url.get_backend_name(), window, tz)))
    unset = [k for k in sorted(used) if bounds[k] is None]
    if unset:
        raise InputDataError(f"the SCADA query uses :{unset[0]} but {unset[0]}= was not given; give it")
    result = conn.execute(statement, {k: bounds[k] for k in used})
    raw = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    roles = _pick_columns(raw.columns, "the SCADA query's result")
    frame = raw[list(roles.values())].set_axis(list(roles), axis=1)
    if frame.empty:
        raise InputDataError("the SCADA query returned no rows in the window asked; check its WHERE clause "
                             "compares the timestamp column with :start and :end")
    return frame


def _parse_timestamps(raw: pd.Series) -> pd.Series:
    """Date-times as the database gave them: aware where it said the offset, naive otherwise."""
    if raw.isna().any():
        raise InputDataError("the SCADA source has rows with an empty timestamp; filter them out "
                             "(a query with WHERE timestamp IS NOT NULL)")
    if pd.api.types.is_datetime64_any_dtype(raw):
        return raw
    if pd.api.types.is_numeric_dtype(raw):
        raise InputDataError("the SCADA timestamps are numbers; convert them in a query, e.g. SQLite "
                             "strftime('%Y-%m-%dT%H:%M:%SZ', ts, 'unixepoch') AS timestamp")
    if isinstance(raw.iloc[0], dt.datetime):
        return pd.to_datetime(raw, utc=raw.iloc[0].tzinfo is not None)
    text = raw.astype(str).str.strip()
    has_offset = text.str.contains(_OFFSET)
    if has_offset.any() and not has_offset.all():
        i = int(np.flatnonzero(~has_offset.to_numpy())[0])
        raise InputDataError(f"SCADA timestamp {text.iloc[i]!r} has no UTC offset while others have one; "
                             "write every timestamp with its offset, or none")
    t = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=bool(has_offset.any()))
    if t.isna().any():
        i = int(np.flatnonzero(t.isna().to_numpy())[0])
        raise InputDataError(f"SCADA timestamp {text.iloc[i]!r} cannot be parsed; write ISO 8601, "
                             "e.g. 2024-03-10 06:00:00 or 2024-03-10T06:00:00+01:00")
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
        raise InputDataError("the SCADA source has rows with an empty tag; filter them out (WHERE tag IS NOT NULL)")
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
