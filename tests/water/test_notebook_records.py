"""Awkward SCADA records through the leak-detection notebook's glue: each is flagged or refused in one line.

Duplicated and unsorted stamps, a sensor without data, a sensor on an
element the network lacks, and local wall-clock stamps across Morocco's
Ramadan clock changes.
"""
import pandas as pd
import pytest

from kit.errors import InputDataError
from kit.water import notebook as nbk
from kit.water.synthetic import generate_scenario

STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d"


def _scenario(ltown, folder, start):
    sc = generate_scenario(ltown, start=start, days=1, n_leaks=0, mixed_units=False, tz="Africa/Casablanca",
                           seed=5)
    return sc.write(folder)


@pytest.fixture(scope="module")
def clean(ltown, tmp_path_factory):
    return _scenario(ltown, tmp_path_factory.mktemp("clean"), "2024-03-01")


def _load(scada, sensors, tmp_path, start="2024-03-01", end="2024-03-02"):
    p = nbk.PARAMETERS.validate(dict(scada=str(scada), sensors=str(sensors), output_dir=str(tmp_path / "out"),
                                     train_start=start, train_end=end))
    return nbk.load_inputs(p).data


def _edited(paths, tmp_path, edit):
    table = pd.read_csv(paths["scada"], dtype={"timestamp": str})
    table = edit(table)
    table.to_csv(tmp_path / "scada.csv", index=False)
    return tmp_path / "scada.csv"


def test_duplicated_stamps_are_flagged_and_counted(clean, tmp_path):
    scada = _edited(clean, tmp_path, lambda t: pd.concat([t, t.iloc[20:23]]).sort_index(kind="stable"))
    data = _load(scada, clean["sensors"], tmp_path)
    assert data.flags[["sensor_id", "flag", "count"]].values.tolist() == [["*", "duplicate_timestamp", 3]]
    assert nbk.data_summary(data).endswith("sensors; 1 data-quality flags")
    assert len(data.values) == 289


def test_unsorted_stamps_stop_with_the_fix(clean, tmp_path):
    scada = _edited(clean, tmp_path, lambda t: t.iloc[[*range(30), 31, 30, *range(32, len(t))]])
    with pytest.raises(InputDataError) as err:
        _load(scada, clean["sensors"], tmp_path)
    message = str(err.value)
    assert "\n" not in message
    assert message.endswith("row 33: timestamp 2024-03-01T02:30:00+01:00 is earlier than the row before; "
                            "sort the file by time (duplicated stamps are allowed)")


def test_sensor_without_data_is_flagged(clean, tmp_path):
    sensors = pd.read_csv(clean["sensors"])
    absent, empty = sensors["sensor_id"].iloc[0], sensors["sensor_id"].iloc[1]

    def edit(t):
        t = t.drop(columns=[absent])
        t[empty] = float("nan")
        return t

    data = _load(_edited(clean, tmp_path, edit), clean["sensors"], tmp_path)
    f = data.flags.set_index("sensor_id")
    assert f.loc[absent, "flag"] == "no_data" and pd.isna(f.loc[absent, "start"])
    assert f.loc[empty, "flag"] == "gap" and f.loc[empty, "count"] == 289
    assert len(f) == 2 and nbk.data_summary(data).endswith("sensors; 2 data-quality flags")
    assert absent not in data.values.columns and data.values[empty].isna().all()
    shown = nbk.flags_for_display(data.flags).set_index("sensor_id")
    assert pd.isna(shown.loc[absent, "start"])
    assert pd.Series(shown.loc[empty, ["start", "end"]]).str.fullmatch(STAMP).all()


def test_sensor_on_an_element_the_network_lacks(clean, tmp_path):
    sensors = pd.read_csv(clean["sensors"])
    row = sensors.index[sensors["kind"] == "pressure"][0]
    sid = sensors.loc[row, "sensor_id"]
    sensors.loc[row, "element"] = "no_such_node"
    sensors.to_csv(tmp_path / "sensors.csv", index=False)
    with pytest.raises(InputDataError) as err:
        _load(clean["scada"], tmp_path / "sensors.csv", tmp_path)
    message = str(err.value)
    assert "\n" not in message
    assert message.endswith(f"row {row + 2}, sensor {sid!r}: element 'no_such_node' is not a node of network L-TOWN; "
                            "use the id of a node of the .inp file")


def _wall_clock(paths, tmp_path):
    """The record as a logger writing Moroccan wall-clock time without offset would write it."""
    return _edited(paths, tmp_path, lambda t: t.assign(timestamp=t["timestamp"].str.slice(0, 19)))


def test_ramadan_repeated_hour_is_kept_in_order_and_said(ltown, tmp_path):
    # 2024-03-10 03:00 +01:00 -> 02:00 +00:00: the wall clock repeats 02:00-02:55
    paths = _scenario(ltown, tmp_path / "sc", "2024-03-09 12:00")
    with_offset = _load(paths["scada"], paths["sensors"], tmp_path, "2024-03-09 12:00", "2024-03-10 11:00")
    scada = _wall_clock(paths, tmp_path)
    assert pd.read_csv(scada)["timestamp"].duplicated().sum() == 12
    data = _load(scada, paths["sensors"], tmp_path, "2024-03-09 12:00", "2024-03-10 11:00")
    assert data.flags[["sensor_id", "flag", "count"]].values.tolist() == [["*", "repeated_local_time", 24]]
    pd.testing.assert_frame_equal(data.values, with_offset.values)  # every reading at its true UTC time
    assert nbk.data_summary(data).endswith("sensors; 1 data-quality flags")


def test_ramadan_skipped_hour_needs_nothing(ltown, tmp_path):
    # 2024-04-14 02:00 +00:00 -> 03:00 +01:00: the wall clock jumps from 01:55 to 03:00
    paths = _scenario(ltown, tmp_path / "sc", "2024-04-13 12:00")
    data = _load(_wall_clock(paths, tmp_path), paths["sensors"], tmp_path, "2024-04-13 12:00", "2024-04-14 12:00")
    assert data.flags.empty and len(data.values) == 289 and data.values.index.freq == "5min"


@pytest.mark.parametrize("written,kept,dropped", [("partly", 12 + 5, 0), ("once", 0, 12)])
def test_repeated_hour_partly_or_once_written(ltown, tmp_path, written, kept, dropped):
    paths = _scenario(ltown, tmp_path / "sc", "2024-03-09 12:00")
    scada = _wall_clock(paths, tmp_path)
    table = pd.read_csv(scada, dtype={"timestamp": str})
    twice = table["timestamp"].duplicated(keep=False)
    first, second = table.index[twice][:12], table.index[twice][12:]
    # partly: the second 02:25-02:55 never written (order still tells); once: only the second run, its offset unknown
    table.drop(index=second[5:] if written == "partly" else first).to_csv(scada, index=False)
    data = _load(scada, paths["sensors"], tmp_path, "2024-03-09 12:00", "2024-03-10 11:00")
    counts = data.flags.groupby("flag")["count"].sum().to_dict()
    assert counts.get("repeated_local_time", 0) == kept and counts.get("ambiguous_local_time", 0) == dropped
    gaps = data.flags[data.flags["flag"] == "gap"]
    assert len(gaps) == len(data.sensors) and set(gaps["count"]) == {7 if written == "partly" else 24}


def test_training_window_bounds_across_the_clock_changes():
    assert nbk.local_stamp("2024-03-10 02:30") == pd.Timestamp("2024-03-10 01:30", tz="UTC")  # first occurrence
    assert nbk.local_stamp("2024-04-14 02:30") == pd.Timestamp("2024-04-14 02:00", tz="UTC")  # moved to 03:00 local
