"""The weather input contract: every bad input named by line and column."""
import numpy as np
import pandas as pd
import pytest

from kit.agro import GapFillWarning, read_weather
from kit.errors import InputDataError


def table(n=10, **cols):
    df = pd.DataFrame({
        "date": pd.date_range("2024-03-01", periods=n).strftime("%Y-%m-%d"),
        "tmin_c": np.linspace(8, 12, n), "tmax_c": np.linspace(20, 26, n),
        "rh_min_pct": 40.0, "rh_max_pct": 85.0, "wind_ms": 2.5, "rain_mm": 0.0,
    })
    for k, v in cols.items():
        df[k] = v
    return df


def write(tmp_path, df):
    p = tmp_path / "weather.csv"
    df.to_csv(p, index=False)
    return p


def test_reads_csv_with_site_columns(tmp_path):
    df = table(lat_deg=31.62, elevation_m=466.0)
    w = read_weather(write(tmp_path, df))
    assert w.attrs["lat_deg"] == 31.62 and w.attrs["elevation_m"] == 466.0
    assert len(w) == 10 and w.index.name == "date" and not w["filled"].any()
    assert w["wind_height_m"].eq(2.0).all() and w["rs_mj_m2"].isna().all()
    # An argument overrides the column.
    assert read_weather(df, lat_deg=30.0).attrs["lat_deg"] == 30.0


def test_missing_required_column(tmp_path):
    with pytest.raises(InputDataError, match=r"missing required column\(s\) tmax_c"):
        read_weather(write(tmp_path, table().drop(columns="tmax_c")))


def test_tmax_below_tmin_names_line_and_column(tmp_path):
    df = table()
    df.loc[4, "tmax_c"] = 5.0
    with pytest.raises(InputDataError, match=r"line 6 \(date 2024-03-05\), column tmax_c") as err:
        read_weather(write(tmp_path, df))
    assert "\n" not in str(err.value)
    from kit.i18n import using

    with using("fr"), pytest.raises(InputDataError, match=r"^\S+ ligne 6 \(date 2024-03-05\), colonne tmax_c\u00a0: 5\u202f°C "
                                                        r"est inférieur à tmin_c .*inversées$"):
        read_weather(tmp_path / "weather.csv")  # a French run's reader speaks French


@pytest.mark.parametrize("col,value,what", [
    ("rh_min_pct", 120.0, "outside 0-100"), ("rh_max_pct", -3.0, "outside 0-100"),
    ("rain_mm", -1.0, "negative"), ("wind_ms", -0.5, "negative"), ("tmin_c", "abc", "not a number"),
])
def test_bad_values_name_line_and_column(tmp_path, col, value, what):
    df = table()
    df[col] = df[col].astype(object)
    df.loc[2, col] = value
    with pytest.raises(InputDataError, match=rf"line 4 \(date 2024-03-03\), column {col}: .*{what}"):
        read_weather(write(tmp_path, df))


def test_duplicated_dates(tmp_path):
    df = table()
    df.loc[5, "date"] = df.loc[4, "date"]
    with pytest.raises(InputDataError, match=r"lines 6, 7, column date: 2024-03-05 appears more than once"):
        read_weather(write(tmp_path, df))


def test_short_gap_filled_with_counted_warning(tmp_path):
    df = table(rain_mm=4.0).drop(index=[3, 4])
    with pytest.warns(GapFillWarning, match=r"filled 2 missing date\(s\) in 1 gap"):
        w = read_weather(write(tmp_path, df))
    assert len(w) == 10 and w["filled"].sum() == 2
    assert w.loc["2024-03-04", "rain_mm"] == 0.0
    np.testing.assert_allclose(w["tmin_c"], np.linspace(8, 12, 10))  # linear series interpolates exactly


def test_long_gap_is_an_error(tmp_path):
    df = table(20).drop(index=[5, 6, 7, 8])
    with pytest.raises(InputDataError, match=r"4 missing days from 2024-03-06 to 2024-03-09 \(at most 3"):
        read_weather(write(tmp_path, df))


def test_missing_file_and_unparsable_date(tmp_path):
    with pytest.raises(InputDataError, match="does not exist"):
        read_weather(tmp_path / "nope.csv")
    df = table()
    df.loc[1, "date"] = "2024-13-45"
    with pytest.raises(InputDataError, match=r"line 3, column date: '2024-13-45' is not a date"):
        read_weather(write(tmp_path, df))


def test_empty_optional_cell_stays_missing(tmp_path):
    df = table()
    df.loc[3, "rh_min_pct"] = np.nan
    w = read_weather(write(tmp_path, df))
    assert np.isnan(w["rh_min_pct"].iloc[3])
