"""Ingestion: unit conversions against hand values, flags, and one-line errors."""
import numpy as np
import pandas as pd
import pytest

from kit.errors import InputDataError
from kit.water.scada import read_scada
from kit.water.units import canonical_unit, to_si_factor


def write(tmp_path, sensors, scada, name="scada.csv"):
    s = tmp_path / "sensors.csv"
    s.write_text(sensors)
    x = tmp_path / name
    x.write_text(scada)
    return x, s


SENSORS = "sensor_id,kind,element,unit\nP1,pressure,n1,{}\n"


@pytest.mark.parametrize(
    "unit, raw, metres",
    [("m", 30.0, 30.0), ("bar", 3.0, 30.5915), ("kPa", 300.0, 30.5915), ("psi", 50.0, 35.1535),
     ("mH2O", 12.5, 12.5)],
)
def test_pressure_units(tmp_path, unit, raw, metres):
    # Hand values: 1 bar = 1e5 Pa / (1000 kg/m3 * 9.80665 m/s2) = 10.19716 m; 1 psi = 6894.757 Pa = 0.703070 m.
    x, s = write(tmp_path, SENSORS.format(unit), f"timestamp,P1\n2024-01-01T00:00,{raw}\n2024-01-01T00:05,{raw}\n")
    assert read_scada(x, s).values["P1"].iloc[0] == pytest.approx(metres, abs=1e-4)


@pytest.mark.parametrize("unit, raw, lps", [("L/s", 12.0, 12.0), ("m3/h", 36.0, 10.0), ("m³/h", 72.0, 20.0),
                                            ("m3/s", 0.015, 15.0)])
def test_flow_units(tmp_path, unit, raw, lps):
    x, s = write(tmp_path, f"sensor_id,kind,element,unit\nQ1,flow,p227,{unit}\n",
                 f"timestamp,Q1\n2024-01-01T00:00,{raw}\n2024-01-01T00:05,{raw}\n")
    assert read_scada(x, s).values["Q1"].iloc[0] == pytest.approx(lps, rel=1e-12)


def test_level_and_unknown_units():
    assert to_si_factor("level", "m") == 1.0
    with pytest.raises(InputDataError, match="use one of m"):
        canonical_unit("level", "ft")
    with pytest.raises(InputDataError, match="kind 'temperature'"):
        canonical_unit("temperature", "C")


def test_unknown_unit_error_names_row_and_fix(tmp_path):
    x, s = write(tmp_path, SENSORS.format("mbar"), "timestamp,P1\n2024-01-01T00:00,1\n")
    with pytest.raises(InputDataError) as err:
        read_scada(x, s)
    msg = str(err.value)
    assert "row 2" in msg and "'mbar'" in msg and "m, bar, kPa, psi" in msg and "\n" not in msg


def test_sensor_not_in_table(tmp_path):
    x, s = write(tmp_path, SENSORS.format("m"), "timestamp,P1,P9\n2024-01-01T00:00,1,2\n")
    with pytest.raises(InputDataError, match="column 'P9' is not in the sensors table.*add a row"):
        read_scada(x, s)


def test_element_not_in_network(tmp_path, ltown):
    x, s = write(tmp_path, "sensor_id,kind,element,unit\nP1,pressure,n1,m\nQ1,flow,n2,L/s\n",
                 "timestamp,P1,Q1\n2024-01-01T00:00,1,2\n")
    with pytest.raises(InputDataError, match="row 3.*element 'n2' is not a link"):
        read_scada(x, s, ltown)
    x, s = write(tmp_path, "sensor_id,kind,element,unit\nP1,pressure,n99999,m\n", "timestamp,P1\n2024-01-01,1\n")
    with pytest.raises(InputDataError, match="'n99999' is not a node"):
        read_scada(x, s, ltown)


def test_unparseable_and_backward_timestamps(tmp_path):
    x, s = write(tmp_path, SENSORS.format("m"),
                 "timestamp,P1\n2024-01-01T00:00,1\nyesterday,1\n")
    with pytest.raises(InputDataError, match="row 3: timestamp 'yesterday' cannot be parsed.*ISO 8601"):
        read_scada(x, s)
    x, s = write(tmp_path, SENSORS.format("m"),
                 "timestamp,P1\n2024-01-01T00:00,1\n2024-01-01T00:10,1\n2024-01-01T00:05,1\n")
    with pytest.raises(InputDataError, match="row 4.*earlier than the row before; sort the file"):
        read_scada(x, s)
    x, s = write(tmp_path, SENSORS.format("m"),
                 "timestamp,P1\n2024-01-01T00:00+01:00,1\n2024-01-01T00:05,1\n")
    with pytest.raises(InputDataError, match="no UTC offset"):
        read_scada(x, s)
    from kit.i18n import using

    with using("fr"), pytest.raises(InputDataError, match=r"^fichier SCADA \S+ ligne 3\u00a0: l’horodatage .* n’a pas de "
                                                        r"décalage UTC .*\(par exemple \+01:00\)$"):
        read_scada(x, s)  # a French run's reader speaks French


def test_time_zones_and_resampling(tmp_path):
    # Local Casablanca times (UTC+1 in January) without offset, every 1 min, resampled to 5 min.
    times = pd.date_range("2024-01-10 08:00", periods=10, freq="1min")
    body = "".join(f"{t:%Y-%m-%d %H:%M:%S},{v}\n" for t, v in zip(times, range(10)))
    x, s = write(tmp_path, SENSORS.format("m"), "timestamp,P1\n" + body)
    data = read_scada(x, s, step="5min", tz="Africa/Casablanca")
    assert str(data.values.index[0]) == "2024-01-10 07:00:00+00:00"
    assert data.values["P1"].tolist() == [2.0, 7.0]  # means of 0..4 and 5..9
    assert data.step == pd.Timedelta("5min")


def test_flags_duplicates_gaps_stuck_out_of_range_bad_values(tmp_path, ltown):
    t = pd.date_range("2024-01-01", periods=60, freq="5min", tz="UTC")
    rng = np.random.default_rng(0)
    p = 30 + rng.normal(0, 0.1, 60)
    p[10:40] = p[9]  # stuck for 31 readings = 2.5 h
    lvl = 3 + rng.normal(0, 0.01, 60)
    lvl[5] = 9.0  # above T1's 4 m maximum level
    q = rng.normal(20, 1, 60).round(3).astype(object)
    q[50] = "ERR"
    q[20:26] = np.nan  # 30-minute gap
    pump = np.zeros(60)  # a stopped pump reads exactly 0: not stuck
    rows = [f"{a.isoformat()},{b},{c},{d},{e}" for a, b, c, d, e in zip(t, p, lvl, q, pump)]
    rows.insert(31, rows[30])  # one duplicated stamp
    x, s = write(tmp_path, "sensor_id,kind,element,unit\nP1,pressure,n1,m\nL1,level,T1,m\nQ1,flow,p227,L/s\n"
                 "Q2,flow,PUMP_1,L/s\nP2,pressure,n4,m\n",
                 "timestamp,P1,L1,Q1,Q2\n" + "\n".join(rows).replace("nan", "") + "\n")
    data = read_scada(x, s, ltown)
    f = data.flags.set_index(["sensor_id", "flag"])
    assert f.loc[("*", "duplicate_timestamp"), "count"] == 1
    assert f.loc[("P1", "stuck"), "count"] == 31 and f.loc[("P1", "stuck"), "start"] == t[9]
    assert data.values["P1"].iloc[9:40].isna().all() and data.values["P1"].iloc[8] == pytest.approx(p[8])
    assert f.loc[("L1", "out_of_range"), "count"] == 1 and np.isnan(data.values["L1"].iloc[5])
    assert f.loc[("Q1", "gap"), "count"] == 6 and f.loc[("Q1", "gap"), "start"] == t[20]
    assert f.loc[("Q1", "bad_value"), "count"] == 1
    assert ("P2", "no_data") in f.index
    assert ("Q2", "stuck") not in f.index
    assert list(data.flags.columns) == ["sensor_id", "start", "end", "flag", "count"]
    assert len(data.values) == 60


def test_parquet_with_datetime_column(tmp_path):
    t = pd.date_range("2024-01-01", periods=4, freq="15min", tz="Africa/Casablanca")
    df = pd.DataFrame({"timestamp": t, "P1": [1.0, 1.1, 1.2, 1.3]})
    df.to_parquet(tmp_path / "x.parquet")
    (tmp_path / "s.csv").write_text(SENSORS.format("bar"))
    data = read_scada(tmp_path / "x.parquet", tmp_path / "s.csv")
    assert data.step == pd.Timedelta("15min")
    assert data.values.index[0] == pd.Timestamp("2023-12-31 23:00", tz="UTC")
    assert data.values["P1"].iloc[-1] == pytest.approx(1.3 * 10.19716, rel=1e-5)
