"""The leak-detection notebook's glue on records the embedded scenario never produces.

A clean record (no flag at all), a record where every sensor is flagged,
and training windows given as dates or date-times.
"""
import pandas as pd
import pytest

from kit.errors import InputDataError, ParameterError
from kit.water import notebook as nbk
from kit.water.scada import FLAG_COLUMNS
from kit.water.synthetic import generate_scenario


@pytest.fixture(scope="module")
def clean(ltown, tmp_path_factory):
    """A one-day record without gaps, stuck sensors, duplicates or out-of-range values, local Moroccan time."""
    sc = generate_scenario(ltown, start="2024-03-01", days=1, n_leaks=0, mixed_units=False,
                           tz="Africa/Casablanca", seed=5)
    return sc.write(tmp_path_factory.mktemp("clean"))


def _params(paths, tmp_path, **over):
    values = dict(scada=str(paths["scada"]), sensors=str(paths["sensors"]), output_dir=str(tmp_path / "out"),
                  train_start="2024-03-01", train_end="2024-03-02")
    values.update(over)
    return nbk.PARAMETERS.validate(values)


def _check_flag_dtypes(flags):
    assert list(flags.columns) == FLAG_COLUMNS
    assert isinstance(flags["start"].dtype, pd.DatetimeTZDtype) and str(flags["start"].dt.tz) == "UTC"
    assert isinstance(flags["end"].dtype, pd.DatetimeTZDtype) and str(flags["end"].dt.tz) == "UTC"
    assert pd.api.types.is_integer_dtype(flags["count"])


def test_clean_record_has_typed_empty_flags(clean, tmp_path):
    inputs = nbk.load_inputs(_params(clean, tmp_path))
    flags = inputs.data.flags
    assert flags.empty
    _check_flag_dtypes(flags)
    assert nbk.data_summary(inputs.data).endswith("sensors; 0 data-quality flags")
    shown = nbk.flags_for_display(flags)  # the data-quality cell
    assert shown.empty and list(shown.columns) == FLAG_COLUMNS
    flags.to_csv(tmp_path / "flags.csv", index=False)
    assert (tmp_path / "flags.csv").read_text().strip() == ",".join(FLAG_COLUMNS)


def test_every_sensor_flagged(clean, tmp_path):
    scada = pd.read_csv(clean["scada"], dtype={"timestamp": str})
    sensors = [c for c in scada.columns if c != "timestamp"]
    scada.loc[10:14, sensors] = float("nan")  # a 25-min gap on every sensor
    scada.to_csv(tmp_path / "scada.csv", index=False)
    inputs = nbk.load_inputs(_params({"scada": tmp_path / "scada.csv", "sensors": clean["sensors"]}, tmp_path))
    flags = inputs.data.flags
    _check_flag_dtypes(flags)
    assert set(flags["sensor_id"]) == set(sensors) and set(flags["flag"]) == {"gap"}
    assert (flags["count"] == 5).all()
    assert nbk.data_summary(inputs.data).endswith(f"sensors; {len(sensors)} data-quality flags")
    shown = nbk.flags_for_display(flags)
    assert len(shown) == len(sensors) and shown["start"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d").all()


@pytest.mark.parametrize(
    "start,end,utc",
    [
        ("2024-03-01", "2024-03-02", ("2024-02-29 23:00", "2024-03-01 23:00")),
        ("2024-03-01 00:00:00", "2024-03-01 18:30", ("2024-02-29 23:00", "2024-03-01 17:30")),
        ("2024-03-01 06:00", "2024-03-01 12:00:30", ("2024-03-01 05:00", "2024-03-01 11:00:30")),
    ],
)
def test_training_window_as_dates_or_date_times(clean, tmp_path, start, end, utc):
    p = _params(clean, tmp_path, train_start=start, train_end=end)
    assert nbk.training_window(p) == tuple(pd.Timestamp(t, tz="UTC") for t in utc)  # local time is UTC+1
    nbk.load_inputs(p)  # inside the record: accepted


def test_training_window_refused_in_one_line(clean, tmp_path):
    with pytest.raises(ParameterError, match=r"^parameter 'train_end' expects a date YYYY-MM-DD or a date-time "
                                             r"YYYY-MM-DD HH:MM\[:SS\] \(local time, no offset\), got '2024/03/02'$"):
        _params(clean, tmp_path, train_end="2024/03/02")
    p = _params(clean, tmp_path, train_start="2024-03-01 12:00", train_end="2024-03-01 12:00")
    with pytest.raises(ParameterError, match="^train_end 2024-03-01 12:00 is not after train_start 2024-03-01 12:00; "
                                             "give train_end later"):
        nbk.load_inputs(p)


def test_record_shorter_than_training_window(clean, tmp_path):
    p = _params(clean, tmp_path, train_start="2024-03-01", train_end="2024-03-08")
    with pytest.raises(InputDataError) as err:
        nbk.load_inputs(p)
    assert str(err.value) == ("the record covers 2024-03-01 00:00 to 2024-03-02 00:05 (local); the training window "
                              "2024-03-01 00:00 to 2024-03-08 00:00 needs data in it: give train_start/train_end "
                              "inside the record")
    with pytest.raises(InputDataError, match="the training window 2024-02-20 00:00 to 2024-02-27 00:00 needs data"):
        nbk.load_inputs(_params(clean, tmp_path, train_start="2024-02-20", train_end="2024-02-27"))
