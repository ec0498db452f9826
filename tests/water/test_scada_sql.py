"""read_sql_long against a real PostgreSQL server (started for the session) and SQLite files.

Expected rows are computed here from what was inserted, with the standard
library's zoneinfo for local times, never read back from the reader.
"""
import datetime as dt
import doctest
import hashlib
import importlib.util
import sqlite3
from contextlib import closing
from zoneinfo import ZoneInfo

import pytest

import kit.water.scada_sql as scada_sql
from kit.errors import InputDataError
from kit.water import scada_sql_connect
from kit.water.scada_sql import check_url, describe_source, read_sql_long
from tests.water.pg_server import _free_port, postgres_server  # noqa: F401  (the fixture)

UTC = dt.timezone.utc
CASA = ZoneInfo("Africa/Casablanca")


@pytest.fixture(autouse=True)
def no_libpq_env(monkeypatch, tmp_path):
    """The developer's libpq settings must not steer the tests (nor a ~/.pgpass of the machine)."""
    for name in ("PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE", "PGHOST", "PGPORT", "PGUSER",
                 "PGDATABASE", "PGSSLMODE", "PGCONNECT_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))


def rows_of(frame):
    cols = [c for c in ("timestamp", "tag", "value", "unit") if c in frame]
    return [(r[0].to_pydatetime(), *r[1:]) for r in frame[cols].itertuples(index=False)]


def expected(rows, start, end):
    """Rows (aware UTC time first) in ``start <= t < end``, sorted by time and tag."""
    return sorted((r for r in rows if start <= r[0] < end), key=lambda r: (r[0], r[1]))


def one_line(exc) -> str:
    message = str(exc.value)
    assert "\n" not in message and message.strip() == message
    return message


# --- PostgreSQL ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def historian(postgres_server):
    """Two tables: ``scada_tz`` (timestamptz, with units) and ``plant.scada_local`` (naive Casablanca time)."""
    aware = [(dt.datetime(2024, 1, 15, 0, tzinfo=UTC) + dt.timedelta(minutes=15 * i), tag, 40.0 + 0.25 * i + k,
              unit) for i in range(3 * 96) for k, (tag, unit) in enumerate([("P_inlet", "bar"), ("Q_main", "m3/h")])]
    # Every 30 min over the night Morocco's clock went back for Ramadan (2024-03-10 03:00 -> 02:00).
    utc_times = [dt.datetime(2024, 3, 9, 20, tzinfo=UTC) + dt.timedelta(minutes=30 * i) for i in range(24)]
    local = [(t, t.astimezone(CASA).replace(tzinfo=None), tag, round(3.5 + 0.125 * i + k, 3))
             for i, t in enumerate(utc_times) for k, tag in enumerate(["L_tank", "P_inlet"])]
    with postgres_server.connect() as conn:
        conn.execute("CREATE TABLE scada_tz (ts timestamptz, tagname text, val double precision, uom text)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO scada_tz VALUES (%s, %s, %s, %s)", aware)
            # Far outside any window asked: reading it would stop on the empty tag.
            cur.execute("INSERT INTO scada_tz VALUES ('2023-06-01 00:00+00', NULL, 1, 'bar')")
            cur.execute("CREATE SCHEMA plant")
            cur.execute('CREATE TABLE plant.scada_local ("Time" timestamp, point text, value numeric(8,3))')
            cur.executemany("INSERT INTO plant.scada_local VALUES (%s, %s, %s)", [r[1:] for r in local])
    return {"aware": aware, "local": local}


@pytest.fixture
def pgpass(postgres_server, tmp_path, monkeypatch):
    path = postgres_server.write_pgpass(tmp_path / "pgpass")
    monkeypatch.setenv("PGPASSFILE", str(path))
    return path


def test_timestamptz_table_reads_only_the_window(postgres_server, historian, pgpass):
    start, end = "2024-01-15T18:00:00+01:00", "2024-01-16 09:30"
    frame = read_sql_long(postgres_server.url(), "scada_tz", start=start, end=end)
    assert list(frame.columns) == ["timestamp", "tag", "value", "unit"]
    assert str(frame["timestamp"].dt.tz) == "UTC" and frame["value"].dtype == float
    want = expected(historian["aware"], dt.datetime(2024, 1, 15, 17, tzinfo=UTC),
                    dt.datetime(2024, 1, 16, 9, 30, tzinfo=UTC))
    assert len(want) == 2 * 66 and rows_of(frame) == want
    assert frame.attrs["flags"] == []


def test_naive_local_table_across_the_ramadan_clock_change(postgres_server, historian, pgpass):
    frame = read_sql_long(postgres_server.url("postgresql+psycopg"), "PLANT.Scada_Local",
                          start="2024-03-10 00:00", end="2024-03-10 05:00", tz="Africa/Casablanca")
    assert list(frame.columns) == ["timestamp", "tag", "value"]  # no unit column: none made up
    start = dt.datetime(2024, 3, 10, tzinfo=CASA)
    end = dt.datetime(2024, 3, 10, 5, tzinfo=CASA)
    want = expected([(t, tag, v) for t, _, tag, v in historian["local"]], start, end)
    assert len(want) == 2 * 12 and rows_of(frame) == want
    local_times = [(tag, naive) for t, naive, tag, _ in historian["local"] if start <= t < end]
    repeated = {tag: sum(local_times.count((tag, n)) > 1 for g, n in local_times if g == tag) for tag, _ in local_times}
    flags = {f[0]: f[4] for f in frame.attrs["flags"] if f[3] == "repeated_local_time"}
    assert flags == repeated == {"L_tank": 4, "P_inlet": 4}


def test_query_with_start_and_end(postgres_server, historian, pgpass):
    query = ("SELECT ts AS timestamp, tagname AS tag, val AS value FROM scada_tz "
             "WHERE tagname = 'Q_main' AND ts >= :start AND ts < :end")
    frame = read_sql_long(postgres_server.url(), query, start="2024-01-16", end="2024-01-16 01:00")
    want = [r[:3] for r in expected(historian["aware"], dt.datetime(2024, 1, 16, tzinfo=UTC),
                                    dt.datetime(2024, 1, 16, 1, tzinfo=UTC)) if r[1] == "Q_main"]
    assert len(want) == 4 and rows_of(frame) == want


def test_query_on_a_naive_column_compares_in_local_time(postgres_server, historian, pgpass):
    query = 'SELECT "Time", point, value FROM plant.scada_local WHERE "Time" >= :start AND "Time" < :end'
    frame = read_sql_long(postgres_server.url(), query, start="2024-03-09 23:00", end="2024-03-10 01:00",
                          tz="Africa/Casablanca")
    want = expected([(t, tag, v) for t, _, tag, v in historian["local"]], dt.datetime(2024, 3, 9, 23, tzinfo=CASA),
                    dt.datetime(2024, 3, 10, 1, tzinfo=CASA))
    assert len(want) == 2 * 4 and rows_of(frame) == want


def test_pgpassword_in_the_environment_works_and_stays_out_of_errors(postgres_server, historian, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    frame = read_sql_long(postgres_server.url(), "scada_tz", start="2024-01-15", end="2024-01-15 00:30")
    assert len(frame) == 4
    with pytest.raises(InputDataError) as exc:
        read_sql_long(postgres_server.url().replace("/historian", "/historain"), "scada_tz")
    message = one_line(exc)
    assert 'database "historain" does not exist' in message and postgres_server.password not in message


def test_query_without_bounds_is_still_cut_to_the_window(postgres_server, historian, pgpass):
    query = "SELECT ts, tagname, val FROM scada_tz WHERE tagname IS NOT NULL"
    frame = read_sql_long(postgres_server.url(), query, start="2024-01-17 23:00")
    assert rows_of(frame) == [r[:3] for r in expected(historian["aware"], dt.datetime(2024, 1, 17, 23, tzinfo=UTC),
                                                      dt.datetime(2100, 1, 1, tzinfo=UTC))]


def test_without_the_password_file_one_line_and_no_secret(postgres_server, historian):
    with pytest.raises(InputDataError) as exc:
        read_sql_long(postgres_server.url(), "scada_tz", start="2024-01-15", end="2024-01-16")
    message = one_line(exc)
    assert "scada_reader@127.0.0.1" in message and "pgpass" in message
    assert postgres_server.password not in message
    assert postgres_server.password not in repr(describe_source(postgres_server.url(), "scada_tz"))


def test_wrong_password_in_the_file_is_one_line(postgres_server, historian, tmp_path, monkeypatch):
    path = tmp_path / "pgpass"
    path.write_text(f"127.0.0.1:{postgres_server.port}:historian:scada_reader:not-{postgres_server.password}\n")
    path.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(path))
    with pytest.raises(InputDataError) as exc:
        read_sql_long(postgres_server.url(), "scada_tz")
    message = one_line(exc)
    assert "password authentication failed" in message and postgres_server.password not in message


@pytest.mark.parametrize("form", ["{user}:{password}@{host}:{port}/{db}", "{user}@{host}:{port}/{db}?password={password}"])
def test_a_password_in_the_url_is_refused(postgres_server, pgpass, form):
    s = postgres_server
    url = "postgresql://" + form.format(user=s.user, password=s.password, host=s.host, port=s.port, db=s.database)
    with pytest.raises(InputDataError) as exc:
        read_sql_long(url, "scada_tz")
    message = one_line(exc)
    assert "~/.pgpass" in message and "PGPASSWORD" in message and s.password not in message
    assert s.password not in repr(describe_source(url, "scada_tz"))


def test_missing_table_is_one_line(postgres_server, historian, pgpass):
    with pytest.raises(InputDataError) as exc:
        read_sql_long(postgres_server.url(), "scada_hist")
    message = one_line(exc)
    assert "scada_hist not found" in message and "scada_tz" in message


def test_missing_table_in_a_query_is_one_line(postgres_server, historian, pgpass):
    with pytest.raises(InputDataError) as exc:
        read_sql_long(postgres_server.url(), "SELECT ts, tag, value FROM nowhere")
    assert 'relation "nowhere" does not exist' in one_line(exc)


def test_unreachable_server_is_one_line(pgpass):
    with pytest.raises(InputDataError) as exc:
        read_sql_long(f"postgresql://scada_reader@127.0.0.1:{_free_port()}/historian")
    assert "could not connect" in one_line(exc) and "server runs" in str(exc.value)


def test_describe_source_says_where_and_what(postgres_server):
    d = describe_source(postgres_server.url(), "plant.scada_local")
    assert d == {"dialect": "postgresql", "driver": "psycopg", "host": "127.0.0.1", "port": postgres_server.port,
                 "database": "historian", "user": "scada_reader", "table": "plant.scada_local",
                 "url": f"postgresql+psycopg://scada_reader@127.0.0.1:{postgres_server.port}/historian"}
    query = "SELECT * FROM scada_tz"
    assert describe_source(postgres_server.url(), query)["query_sha256"] == hashlib.sha256(query.encode()).hexdigest()


# --- URL checks without a server -----------------------------------------------------------------------------------

def test_plain_postgresql_means_psycopg_3():
    assert check_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert check_url("postgres://u@h/db").drivername == "postgresql+psycopg"


def test_missing_driver_names_the_package():
    if importlib.util.find_spec("pymysql") is not None:
        pytest.skip("PyMySQL is installed here")
    with pytest.raises(InputDataError) as exc:
        check_url("mysql+pymysql://reader@db/historian")
    assert "pip install PyMySQL" in one_line(exc)


def test_unknown_dialect_is_one_line():
    with pytest.raises(InputDataError) as exc:
        check_url("historian://reader@db/x")
    assert "unknown database kind 'historian'" in one_line(exc)


def test_not_a_url():
    with pytest.raises(InputDataError) as exc:
        read_sql_long("C:/data/historian.db")
    assert "not a SQLAlchemy URL" in one_line(exc)


# --- SQLite --------------------------------------------------------------------------------------------------------

def sqlite_db(path, create, rows):
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(create)
        db.executemany(f"INSERT INTO {create.split()[2]} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    return f"sqlite:///{path}"


@pytest.fixture
def local_sqlite(tmp_path):
    """Naive Casablanca text, separators as different tools write them, spellings TS/TagName/Val/Units."""
    times = [dt.datetime(2024, 1, 14, 12, tzinfo=UTC) + dt.timedelta(hours=3 * i) for i in range(24)]
    rows = [(t, tag, 2.0 * i + k, unit) for i, t in enumerate(times) for k, (tag, unit) in enumerate([("P1", "m"),
                                                                                                      ("F1", "L/s")])]
    text = [((t.astimezone(CASA).strftime("%Y-%m-%dT%H:%M:%S" if i % 2 else "%Y-%m-%d %H:%M:%S")), tag, v, u)
            for i, (t, tag, v, u) in enumerate(rows)]
    text.append(("2024-01-01 00:00:00", None, 0.0, "m"))  # outside the window: must not travel
    url = sqlite_db(tmp_path / "historian.db", "CREATE TABLE Scada_Log (TS TEXT, TagName TEXT, Val REAL, Units TEXT)",
                    text)
    return url, rows


def test_sqlite_naive_text_is_local_time_and_only_the_window_comes(local_sqlite):
    url, rows = local_sqlite
    frame = read_sql_long(url, "scada_log", start="2024-01-15 10:00", end="2024-01-16 10:00", tz="Africa/Casablanca")
    want = expected(rows, dt.datetime(2024, 1, 15, 10, tzinfo=CASA), dt.datetime(2024, 1, 16, 10, tzinfo=CASA))
    assert len(want) == 16 and rows_of(frame) == want


def test_sqlite_query_compares_datetime_of_the_column(local_sqlite):
    url, rows = local_sqlite
    query = ("SELECT ts, tagname, val FROM scada_log WHERE tagname = 'F1' "
             "AND datetime(ts) >= :start AND datetime(ts) < :end")
    frame = read_sql_long(url, query, start="2024-01-15 10:00", end="2024-01-16 10:00", tz="Africa/Casablanca")
    want = [r[:3] for r in expected(rows, dt.datetime(2024, 1, 15, 10, tzinfo=CASA),
                                    dt.datetime(2024, 1, 16, 10, tzinfo=CASA)) if r[1] == "F1"]
    assert len(want) == 8 and rows_of(frame) == want


def test_sqlite_text_with_offsets_keeps_its_offsets(tmp_path):
    text = [("2024-01-15T23:30:00-05:00", "P1", 1.5), ("2024-01-16T00:15:00Z", "P1", 2.5),
            ("2024-01-16T23:59:00+01:00", "P1", 3.5), ("2024-01-17T00:00:00Z", "P1", 4.5)]
    url = sqlite_db(tmp_path / "h.db", "CREATE TABLE scada (timestamp TEXT, tag TEXT, value REAL)", text)
    frame = read_sql_long(url, start="2024-01-16", end="2024-01-17", tz="Africa/Casablanca")
    assert rows_of(frame) == [(dt.datetime(2024, 1, 16, 0, 15, tzinfo=UTC), "P1", 2.5),
                              (dt.datetime(2024, 1, 16, 4, 30, tzinfo=UTC), "P1", 1.5),
                              (dt.datetime(2024, 1, 16, 22, 59, tzinfo=UTC), "P1", 3.5)]


def test_sqlite_non_numeric_values_are_flagged(tmp_path):
    text = [("2024-01-16 00:00", "P1", "41.5"), ("2024-01-16 00:15", "P1", "n/a"), ("2024-01-16 00:15", "Q1", 3)]
    url = sqlite_db(tmp_path / "h.db", "CREATE TABLE scada (time TEXT, point TEXT, val)", text)
    frame = read_sql_long(url, start="2024-01-16", end="2024-01-17")
    assert rows_of(frame)[::2] == [(dt.datetime(2024, 1, 16, tzinfo=UTC), "P1", 41.5),
                                   (dt.datetime(2024, 1, 16, 0, 15, tzinfo=UTC), "Q1", 3.0)]
    assert frame["value"].isna().sum() == 1 and frame.attrs["flags"] == [("P1", None, None, "bad_value", 1)]


@pytest.mark.parametrize("text, expect", [
    ([("2024-01-16 00:00", "P1", 1.0), ("2024-01-16T01:00+01:00", "P1", 2.0)], "no UTC offset while others"),
    ([("2024-01-16 00:00", "P1", 1.0), ("2024-01-16 25:00", "P1", 2.0)], "'2024-01-16 25:00' cannot be parsed"),
])
def test_sqlite_bad_timestamps_are_one_line(tmp_path, text, expect):
    url = sqlite_db(tmp_path / "h.db", "CREATE TABLE scada (ts TEXT, tag TEXT, value REAL)", text)
    with pytest.raises(InputDataError) as exc:
        read_sql_long(url, start="2024-01-15", end="2024-01-17")
    assert expect in one_line(exc)


def test_sqlite_errors_read_in_french(tmp_path):
    from kit import i18n

    text = [("2024-01-16 00:00", "P1", 1.0), ("2024-01-16 25:00", "P1", 2.0)]
    url = sqlite_db(tmp_path / "h.db", "CREATE TABLE scada (ts TEXT, tag TEXT, value REAL)", text)
    with i18n.using("fr"), pytest.raises(InputDataError, match="'2024-01-16 25:00' est illisible ; écrivez-le en ISO"):
        read_sql_long(url, start="2024-01-15", end="2024-01-17")


def test_sqlite_empty_window_says_what_the_table_holds(local_sqlite):
    with pytest.raises(InputDataError) as exc:
        read_sql_long(local_sqlite[0], "Scada_Log", start="2025-01-01", end="2025-01-02")
    assert "no rows in the window" in one_line(exc) and "49 rows in all, from 2024-01-01 00:00:00" in str(exc.value)


@pytest.mark.parametrize("table_or_query, expect", [
    ("scada; DROP TABLE scada_log", "neither a table name"),
    ("main.scada", "SCADA table main.scada not found"),
    ("SELECT ts, tagname, val FROM scada_log WHERE tagname = :tag", "uses :tag; only :start and :end"),
    ("SELECT ts, tagname, val FROM scada_log WHERE datetime(ts) >= :start", "uses :start but start= was not given"),
    ("SELECT ts, tagname FROM scada_log", "no value; name them value/val"),
])
def test_sqlite_source_problems_are_one_line(local_sqlite, table_or_query, expect):
    with pytest.raises(InputDataError) as exc:
        read_sql_long(local_sqlite[0], table_or_query, end="2024-01-16")
    assert expect in one_line(exc)


def test_missing_sqlite_file_is_not_created(tmp_path):
    with pytest.raises(InputDataError) as exc:
        read_sql_long(f"sqlite:///{tmp_path / 'histrian.db'}")
    assert "does not exist" in one_line(exc) and not (tmp_path / "histrian.db").exists()


def test_docstring_examples_run():
    assert doctest.testmod(scada_sql, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
    assert doctest.testmod(scada_sql_connect, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def test_password_in_the_url_is_refused_in_french():
    from kit.i18n import using

    with using("fr"), pytest.raises(InputDataError, match=r"^l’URL scada postgresql\+psycopg://reader@db/historian contient un "
                                                           r"mot de passe\u202f; retirez-le et mettez-le dans ~/\.pgpass"):
        check_url("postgresql://reader:s3cret@db/historian")
