"""The leak-detection notebook's glue on records the embedded scenario never produces.

A clean record (no flag at all), a record where every sensor is flagged,
and training windows given as dates or date-times.
"""
import pandas as pd
import pytest

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
