"""The leak notebook's inputs straight from a SQL historian: SQLite and a real PostgreSQL server.

A two-day simulated record is written as a historian would hold it (one
row per reading, tags that are not element ids, units per row) and read
back through the notebook's own glue with ``scada`` a URL, ``scada_table``
and a tag mapping. The readings must equal those the same record gives
from its wide CSV, and nothing secret may reach the manifest.
"""
import json
import sqlite3
from contextlib import closing

import numpy as np
import pandas as pd
import pytest

import kit.report
from kit.errors import ParameterError
from kit.water import notebook as nbk
from kit.water.synthetic import generate_scenario
from tests.water.pg_server import postgres_server  # noqa: F401  (the fixture)


@pytest.fixture(scope="module")
def record(ltown, tmp_path_factory):
    """The scenario's files, its long rows (UTC, tag = 'TAG_' + sensor id) and the tag mapping CSV."""
    sc = generate_scenario(ltown, start="2024-03-01", days=2, n_leaks=0, mixed_units=True,
                           tz="Africa/Casablanca", seed=11)
    folder = tmp_path_factory.mktemp("sql_record")
    paths = sc.write(folder)
    wide = pd.read_csv(paths["scada"], dtype={"timestamp": str})
    stamps = pd.to_datetime(wide.pop("timestamp"), format="ISO8601", utc=True)
    long = wide.assign(timestamp=stamps).melt("timestamp", var_name="sensor_id", value_name="value").dropna()
    units = sc.sensors.set_index("sensor_id")["unit"]
    long = long.assign(tag="TAG_" + long["sensor_id"], unit=long["sensor_id"].map(units))
    mapping = sc.sensors.assign(tag="TAG_" + sc.sensors["sensor_id"])[["tag", "element", "kind"]]
    mapping.to_csv(folder / "tags.csv", index=False)
    return dict(paths=paths, long=long[["timestamp", "tag", "value", "unit"]], mapping=folder / "tags.csv",
                folder=folder)


def _params(url, record, tmp_path, **over):
    values = dict(scada=url, scada_table="nb_historian", sensors=str(record["mapping"]),
                  output_dir=str(tmp_path / "out"), train_start="2024-03-01", train_end="2024-03-03")
    values.update(over)
    return nbk.PARAMETERS.validate(values)


def _same_readings(from_sql, record):
    wide = nbk.load_inputs(nbk.PARAMETERS.validate(dict(
        scada=str(record["paths"]["scada"]), sensors=str(record["paths"]["sensors"]),
        output_dir=str(record["folder"] / "wide_out"), train_start="2024-03-01", train_end="2024-03-03"))).data
    ids = dict(zip("TAG_" + wide.sensors["sensor_id"], wide.sensors["sensor_id"]))
    got = from_sql.values.rename(columns=ids)[wide.values.columns]
    assert got.index.equals(wide.values.index)
    np.testing.assert_allclose(got.to_numpy(), wide.values.to_numpy(), rtol=1e-12, atol=1e-9)


def test_sqlite_historian_through_the_notebook(record, tmp_path):
    db = tmp_path / "historian.db"
    rows = record["long"].assign(timestamp=record["long"]["timestamp"].map(lambda t: t.isoformat()))
    with closing(sqlite3.connect(db)) as conn:
        rows.to_sql("nb_historian", conn, index=False)
    kit.report.bind(tmp_path / "out")
    inputs = nbk.load_inputs(_params(f"sqlite:///{db}", record, tmp_path))
    _same_readings(inputs.data, record)
    assert "scada" not in inputs.files  # no file to checksum: the source is described instead
    manifest = json.loads((tmp_path / "out" / "inputs.json").read_text())
    assert manifest["scada"]["dialect"] == "sqlite" and manifest["scada"]["readings"] > 0


def test_postgresql_historian_through_the_notebook(record, tmp_path, monkeypatch, postgres_server):  # noqa: F811
    with postgres_server.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE nb_historian (ts timestamptz, tagname text, val double precision, uom text)")
        with cur.copy("COPY nb_historian (ts, tagname, val, uom) FROM STDIN") as copy:
            for r in record["long"].itertuples(index=False):
                copy.write_row((r.timestamp.to_pydatetime(), r.tag, float(r.value), r.unit))
        conn.commit()
    monkeypatch.setenv("PGPASSFILE", str(postgres_server.write_pgpass(tmp_path / "pgpass")))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    kit.report.bind(tmp_path / "out")
    inputs = nbk.load_inputs(_params(postgres_server.url(), record, tmp_path))
    _same_readings(inputs.data, record)
    written = (tmp_path / "out" / "inputs.json").read_text()
    assert postgres_server.password not in written
    assert json.loads(written)["scada"]["database"] == postgres_server.database


def test_password_in_url_refused_without_echo(record, tmp_path):
    with pytest.raises(ParameterError) as err:
        _params("postgresql://reader:s3cr3t@127.0.0.1:5432/historian", record, tmp_path)
    assert "s3cr3t" not in str(err.value) and "pgpass" in str(err.value)
