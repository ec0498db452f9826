"""The SQL historian's connection: the SQLAlchemy URL checked (no password in it), the source named, the window bounded.

Credentials never pass through kit: a URL carrying a password is refused, and
PostgreSQL finds it with libpq in ``~/.pgpass``, ``PGPASSFILE``,
``PGPASSWORD`` or a ``PGSERVICE`` entry. Driver errors come back as one line
without the URL's secrets. :mod:`kit.water.scada_sql` reads the rows.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from kit.errors import InputDataError
from kit.i18n import N_, _


__all__ = ["check_url", "describe_source"]

# pip names of the drivers SQLAlchemy knows, where they differ from the module name.
_DRIVER_PACKAGES = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "pymysql": "PyMySQL",
                    "mysqldb": "mysqlclient", "mysqlconnector": "mysql-connector-python"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?")
_QUERY = re.compile(r"\s*\(?\s*(select|with)\b", re.IGNORECASE)
_PASSWORD_KEYS = ("password", "passwd", "pwd", "sslpassword")  # ?passfile= names a file: welcome
_PASSWORD_FIX = N_("leave it out and put it in ~/.pgpass (or PGPASSFILE / PGPASSWORD), which the driver reads itself")

def _parse_url(url) -> URL:
    """The URL parsed, ``postgresql``/``postgres`` without a driver meaning psycopg 3."""
    try:
        parsed = make_url(url if isinstance(url, URL) else str(url))
    except sa.exc.ArgumentError:
        raise InputDataError(_("scada is not a SQLAlchemy URL; write e.g. postgresql://user@host:5432/database "
                               "or sqlite:///path/historian.db")) from None
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
        raise InputDataError(_("scada URL {url} carries a password; {fix}").format(
            url=_public_url(parsed), fix=_(_PASSWORD_FIX)))
    try:
        dialect = parsed.get_dialect()
    except sa.exc.NoSuchModuleError:
        raise InputDataError(_("scada URL names an unknown database kind {kind!r}; write postgresql://, "
                               "sqlite:///, mysql+pymysql:// or another SQLAlchemy dialect").format(kind=parsed.drivername)) from None
    try:
        dialect.import_dbapi()
    except ImportError:
        package = _DRIVER_PACKAGES.get(dialect.driver, dialect.driver)
        psycopg3 = _(" (or write postgresql:// for psycopg 3)") if parsed.get_backend_name() == "postgresql" else ""
        raise InputDataError(_("scada URL {kind}:// needs the driver {driver}, which is not installed; pip install "
                               "{package}{psycopg3}").format(kind=parsed.drivername, driver=dialect.driver,
                                                             package=package, psycopg3=psycopg3)) from None
    return parsed


def _source(table_or_query: str) -> tuple:
    """``("query", text)`` or ``("table", schema or None, name)``."""
    text = str(table_or_query).strip()
    if _QUERY.match(text):
        return ("query", text)
    if not _IDENTIFIER.fullmatch(text):
        raise InputDataError(_("table_or_query={text!r} is neither a table name (letters, digits, _; "
                               "optionally schema.table) nor a SELECT query").format(text=text[:60]))
    schema, _dot, name = text.rpartition(".")
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
        raise InputDataError(_("tz={tz!r} is not a time zone name; write e.g. 'Africa/Casablanca' or 'UTC'").format(tz=tz)) from None
    bounds = []
    for name, value in (("start", start), ("end", end)):
        if value is None:
            bounds.append(None)
            continue
        try:
            t = pd.Timestamp(value)
        except (ValueError, TypeError):
            raise InputDataError(_("{name}={value!r} is not a date-time; write e.g. '2024-03-10 06:00'").format(
                name=name, value=value)) from None
        if t.tzinfo is None:
            t = t.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
        bounds.append(t.tz_convert("UTC"))
    if None not in bounds and bounds[0] >= bounds[1]:
        raise InputDataError(_("start={start!r} is not before end={end!r}; give a window of positive length").format(
            start=start, end=end))
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
            raise InputDataError(_("SQLite historian {path} does not exist; give the path of the .db file "
                                   "(sqlite:///relative/path.db or sqlite:////absolute/path.db)").format(path=url.database))
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
