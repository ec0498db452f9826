import datetime as dt

import pytest

from kit import report
from kit.errors import ParameterError
from kit.params import Param, Spec, validate

SPEC = Spec(
    (
        Param("seed", "int", 0, "random seed", min=0),
        Param("rate", "float", 0.5, "rate, 1/day", min=0, max=1),
        Param("site", "str", "agadir", "site", choices=("agadir", "meknes")),
        Param("start", "date", "2024-09-01", "season start"),
        Param("weather", "path", None, "weather CSV, None for embedded"),
        Param("verbose", "bool", False, "say more"),
    )
)


def test_defaults_fill_in():
    p = SPEC.validate({})
    assert dict(p) == {"seed": 0, "rate": 0.5, "site": "agadir", "start": "2024-09-01", "weather": None, "verbose": False}


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("seed", "3", "'seed' expects int, got str"),
        ("seed", True, "'seed' expects int, got bool"),
        ("seed", -1, "'seed' must be >= 0"),
        ("rate", 2, "'rate' must be <= 1"),
        ("site", "rabat", "'site' must be one of 'agadir', 'meknes'"),
        ("start", "2024-13-01", "'start' expects a date YYYY-MM-DD"),
        ("weather", "/no/such/file.csv", "'weather': /no/such/file.csv does not exist"),
        ("verbose", "yes", "'verbose' expects bool"),
    ],
)
def test_bad_values_name_the_parameter(name, value, message):
    with pytest.raises(ParameterError, match=message):
        SPEC.validate({name: value})


def test_conversions():
    p = SPEC.validate({"rate": 1, "seed": 4.0, "start": dt.date(2025, 1, 2)})
    assert p.rate == 1.0 and isinstance(p.rate, float)
    assert p.seed == 4 and p.start == "2025-01-02"


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ParameterError, match="unknown parameter 'sede'; valid parameters: seed, rate, site"):
        SPEC.check_names(["sede"])


def test_existing_path_accepted(tmp_path):
    f = tmp_path / "w.csv"
    f.write_text("date\n")
    assert SPEC.validate({"weather": str(f)}).weather == str(f)


def test_validate_binds_output_dir_for_metrics(tmp_path):
    spec = Spec((Param("output_dir", "output_dir", "out", "folder"),))
    out = tmp_path / "deep" / "out"
    params = validate({"output_dir": str(out), "unrelated": 1}, spec)
    assert params.output_dir == str(out)
    report.record("answer", 42)
    assert (out / "metrics.json").read_text().strip().startswith("{")
    assert report.metrics() == {"answer": 42}


def test_unwritable_output_dir_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    spec = Spec((Param("output_dir", "output_dir", "out", "folder"),))
    with pytest.raises(ParameterError, match="is a file, not a folder"):
        spec.validate({"output_dir": str(blocker / "sub")})


def test_params_html_table():
    html = SPEC.validate({})._repr_html_()
    assert "<td><code>seed</code></td><td>0</td><td>random seed</td>" in html


DATETIME_SPEC = Spec((Param("train_start", "datetime", "2024-01-01", "start of the window (local)"),))


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2025-05-12", "2025-05-12"),
        ("2025-05-12 00:00:00", "2025-05-12 00:00"),
        ("2025-05-12 06:30", "2025-05-12 06:30"),
        ("2025-05-12T06:30:15", "2025-05-12 06:30:15"),
        (" 2025-05-12 06:30 ", "2025-05-12 06:30"),
        (dt.date(2025, 5, 12), "2025-05-12"),
        (dt.datetime(2025, 5, 12, 6, 30), "2025-05-12 06:30"),
    ],
)
def test_datetime_kind_takes_dates_and_date_times(value, expected):
    assert DATETIME_SPEC.validate({"train_start": value}).train_start == expected


@pytest.mark.parametrize(
    "value,message",
    [
        ("12/05/2025", "'train_start' expects a date YYYY-MM-DD or a date-time YYYY-MM-DD HH:MM\\[:SS\\]"),
        ("2025-05-12 06:30+01:00", "'train_start' expects a date YYYY-MM-DD or a date-time"),
        ("2025-02-30", "'train_start': '2025-02-30' is not a calendar date-time"),
        ("2025-05-12 25:00", "is not a calendar date-time"),
        (dt.datetime(2025, 5, 12, tzinfo=dt.timezone.utc), "without UTC offset"),
        (20250512, "'train_start' expects str \\(YYYY-MM-DD or YYYY-MM-DD HH:MM\\[:SS\\]\\), got int"),
    ],
)
def test_datetime_kind_refusals_name_parameter_and_form(value, message):
    with pytest.raises(ParameterError, match=message):
        DATETIME_SPEC.validate({"train_start": value})


# -- source: a path or a database URL ---------------------------------------

def test_source_takes_a_url_or_an_existing_path(tmp_path):
    from kit.errors import InputMissing

    p = Param("scada", "source", None, "readings file or SQLAlchemy URL")
    assert p.check("postgresql://reader@127.0.0.1:5432/historian") == "postgresql://reader@127.0.0.1:5432/historian"
    assert p.check(f"sqlite:///{tmp_path}/h.db").startswith("sqlite:///")  # the reader checks the file
    f = tmp_path / "s.csv"
    f.write_text("x\n")
    assert p.check(str(f)) == str(f)
    with pytest.raises(InputMissing):
        p.check(str(tmp_path / "missing.csv"))


@pytest.mark.parametrize("url", ["postgresql://reader:hunter2@db/historian",
                                 "postgresql+psycopg://reader:hunter2@db:5432/historian?sslmode=require",
                                 "postgresql://reader@db/historian?password=hunter2"])
def test_source_url_with_a_password_is_refused_without_repeating_it(url):
    p = Param("scada", "source", None, "readings")
    with pytest.raises(ParameterError) as err:
        p.check(url)
    assert "hunter2" not in str(err.value) and "~/.pgpass" in str(err.value)
