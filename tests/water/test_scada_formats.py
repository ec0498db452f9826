"""SCADA as utilities hand it over: BattLeDIM's workbook and CSVs, historian exports, through ``read_scada``.

Fixtures are written as the tools write them: the workbook as BattLeDIM's
dataset generator does (pandas + xlsxwriter, one ``to_excel`` per sheet,
``Timestamp`` as date-time cells, values rounded to 2 decimals in m, m³/h,
L/h), the CSVs as its published ``2019_SCADA_*.csv`` (``;``, decimal
commas, CRLF, ``Timestamp`` as ``2019-01-01 00:00``), the long export as a
historian's (one row per reading, sorted by tag). Values are compared with
the scenario's simulated SCADA readings (m and L/s, with sensor noise: a
noise-free pressure behind a PRV rounded to 2 decimals would rightly read
as stuck) within the rounding written.
"""
import numpy as np
import pandas as pd
import pytest

from kit.errors import InputDataError
from kit.water import notebook as nbk
from kit.water.detect import LeakDetector
from kit.water.scada import read_scada, scada_from_table, wide_from_long
from kit.water.synthetic import generate_scenario

TZ = "Africa/Casablanca"
M3H_PER_LPS = 3.6
BAR_M = 1e5 / (1000 * 9.80665)  # metres of water per bar (standard gravity, 1000 kg/m3)


@pytest.fixture(scope="module")
def scenario(ltown):
    sc = generate_scenario(ltown, start="2024-03-01", days=2, n_leaks=0, mixed_units=False, tz=TZ, seed=11)
    sc.readings = sc.scada.set_index("timestamp")  # what the loggers recorded, m and L/s (mixed_units=False)
    return sc


def _kinds(sc):
    return {k: list(sc.sensors.loc[sc.sensors.kind == k, "sensor_id"]) for k in ("pressure", "flow", "level")}


def _demands(sc):
    """AMR readings at three nodes in L/h (n1 also has a pressure logger, as in BattLeDIM); n3 reads 0 for 4 h."""
    t = np.arange(len(sc.readings))
    return pd.DataFrame({"n1": 20 + 10 * np.sin(t / 30), "n2": 15 + 3 * np.cos(t / 11),
                         "n3": np.where(t % 288 < 48, 0.0, 30 + 5 * np.sin(t / 7))}, index=sc.readings.index)


def battledim_sheets(sc, demands=True):
    """The sheets of BattLeDIM's workbook: naive local Timestamp, values rounded to 2 decimals."""
    stamps = sc.readings.index.tz_localize(None)
    kinds = _kinds(sc)
    sheets = {"Pressures (m)": sc.readings[kinds["pressure"]].round(2),
              "Flows (m3_h)": (sc.readings[kinds["flow"]] * M3H_PER_LPS).round(2),
              "Levels (m)": sc.readings[kinds["level"]].round(2)}
    if demands:
        sheets["Demands (L_h)"] = _demands(sc).round(2)
    return {name: pd.concat([pd.Series(stamps, name="Timestamp"), df.reset_index(drop=True)], axis=1)
            for name, df in sheets.items()}


def write_workbook(path, sheets, order):
    with pd.ExcelWriter(path, engine="xlsxwriter") as writer:  # what BattLeDIM's generator uses
        for name in order:
            sheets[name].to_excel(writer, sheet_name=name, index=False)
    return path


def write_battledim_csv(path, table, headers=None, decimals=2):
    """``;``-separated, decimal commas, CRLF, Timestamp as ``YYYY-MM-DD HH:MM``."""
    cols = [c for c in table.columns if c != "Timestamp"]
    lines = [";".join(["Timestamp", *(headers or cols)])]
    for row in table.itertuples(index=False):
        values = [f"{v:.{decimals}f}".replace(".", ",") for v in row[1:]]
        lines.append(";".join([f"{row[0]:%Y-%m-%d %H:%M}", *values]))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def _check_values(data, sc, kinds):
    """Converted values against the simulated readings, within the 2-decimal rounding of each unit."""
    for kind, tol in (("pressure", 0.005 + 1e-9), ("level", 0.005 + 1e-9), ("flow", 0.005 / M3H_PER_LPS + 1e-9)):
        got = data.values[kinds[kind]]
        want = sc.readings[kinds[kind]].tz_convert("UTC")
        assert np.abs(got.to_numpy() - want.to_numpy()).max() <= tol, kind
    assert data.values.index.equals(sc.readings.index.tz_convert("UTC"))


def test_workbook_sheets_in_another_order_without_demands(scenario, ltown, tmp_path):
    sheets = battledim_sheets(scenario, demands=False)
    book = write_workbook(tmp_path / "export from the utility.xlsx", sheets,
                          ["Levels (m)", "Flows (m3_h)", "Pressures (m)"])
    data = read_scada(book, None, ltown, tz=TZ)
    kinds = _kinds(scenario)
    assert set(data.sensors.kind) == {"pressure", "flow", "level"} and len(data.sensors) == 37
    assert data.sensors.set_index("sensor_id").loc["p227", "unit"] == "m3/h"
    _check_values(data, scenario, kinds)
    assert data.flags.empty and data.step == pd.Timedelta("5min")
    # the same workbook under a CSV name is still read as a workbook: content decides, not the name
    (tmp_path / "scada.csv").write_bytes(book.read_bytes())
    pd.testing.assert_frame_equal(read_scada(tmp_path / "scada.csv", None, ltown, tz=TZ).values, data.values)


def test_workbook_demands_read_converted_and_kept(scenario, ltown, tmp_path):
    sheets = battledim_sheets(scenario)
    book = write_workbook(tmp_path / "2019_SCADA.xlsx", sheets,
                          ["Pressures (m)", "Demands (L_h)", "Flows (m3_h)", "Levels (m)"])
    data = read_scada(book, None, ltown, tz=TZ)
    demand = data.sensors[data.sensors.kind == "demand"].set_index("sensor_id")
    assert list(demand.index) == ["demand_n1", "demand_n2", "demand_n3"] and set(demand.element) == {"n1", "n2", "n3"}
    assert "n1" in data.of_kind("pressure").columns  # the pressure logger on the same node keeps its id
    want = _demands(scenario).round(2) / 3600.0
    assert np.allclose(data.of_kind("demand").to_numpy(), want.to_numpy(), atol=1e-12)
    assert data.flags.empty  # a meter reading 0 for 4 h is an empty house, not a stuck meter


def test_workbook_unknown_column_and_sheets(scenario, ltown, tmp_path):
    sheets = battledim_sheets(scenario, demands=False)
    sheets["Pressures (m)"]["n99999"] = 30.0
    book = write_workbook(tmp_path / "w.xlsx", sheets, list(sheets))
    with pytest.raises(InputDataError) as err:
        read_scada(book, None, ltown)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith(f"sheet 'Pressures (m)' of SCADA workbook {book}: column 'n99999' is not a node "
                                     "of network L-TOWN")
    other = write_workbook(tmp_path / "o.xlsx", {"Sheet1": sheets["Levels (m)"]}, ["Sheet1"])
    with pytest.raises(InputDataError, match=r"has no sheet named 'Pressures \(m\)'.*its sheets: Sheet1"):
        read_scada(other, None, ltown)


def test_workbook_with_a_sensors_table_that_overrides(scenario, ltown, tmp_path):
    sheets = battledim_sheets(scenario, demands=False)
    sheets["Pressures (m)"] = sheets["Pressures (m)"].rename(columns={"n1": "PT-101"})
    sheets["Pressures (m)"]["PT-101"] = (sheets["Pressures (m)"]["PT-101"] / BAR_M).round(4)  # this one in bar
    book = write_workbook(tmp_path / "w.xlsx", sheets, list(sheets))
    (tmp_path / "s.csv").write_text("sensor_id,kind,element,unit\nPT-101,pressure,n1,bar\n")
    data = read_scada(book, tmp_path / "s.csv", ltown, tz=TZ)
    assert data.sensors.set_index("sensor_id").loc["PT-101", ["element", "unit"]].tolist() == ["n1", "bar"]
    assert np.abs(data.values["PT-101"].to_numpy() - scenario.readings["n1"].to_numpy()).max() < 0.01


def test_csv_folder_semicolons_decimal_commas_crlf(scenario, ltown, tmp_path):
    sheets = battledim_sheets(scenario)
    folder = tmp_path / "2024"
    folder.mkdir()
    for name, file in (("Pressures (m)", "Pressures"), ("Flows (m3_h)", "Flows"), ("Levels (m)", "Levels"),
                       ("Demands (L_h)", "Demands")):
        write_battledim_csv(folder / f"2024_SCADA_{file}.csv", sheets[name])
    (folder / "2024_Leakages.csv").write_bytes(b"Timestamp;p257\r\n2024-03-01 00:00;0,00\r\n")  # not SCADA: ignored
    raw = (folder / "2024_SCADA_Pressures.csv").read_bytes()
    assert raw.count(b"\r\n") == len(scenario.readings) + 1 and b"," in raw and b"." not in raw.split(b"\r\n")[1][17:]
    assert pd.read_csv(folder / "2024_SCADA_Pressures.csv").shape[1] == 1  # pandas' defaults: one silent column
    data = read_scada(folder, None, ltown, tz=TZ)
    _check_values(data, scenario, _kinds(scenario))
    assert data.sensors.kind.value_counts().to_dict() == {"pressure": 33, "flow": 3, "demand": 3, "level": 1}


def test_csv_folder_units_in_file_name_and_header(scenario, ltown, tmp_path):
    sheets = battledim_sheets(scenario, demands=False)
    kinds = _kinds(scenario)
    pressures = sheets["Pressures (m)"].copy()
    pressures["n1"] = (scenario.readings["n1"].to_numpy() / BAR_M).round(5)  # one logger in bar
    write_battledim_csv(tmp_path / "Pressures.csv", pressures,
                        headers=[f"{c} (bar)" if c == "n1" else c for c in kinds["pressure"]], decimals=5)
    flows = (scenario.readings[kinds["flow"]].reset_index(drop=True))  # this export writes L/s
    write_battledim_csv(tmp_path / "SCADA_Flows_L_s.csv", pd.concat([pressures["Timestamp"], flows], axis=1),
                        headers=[f"{c} [L/s]" if c == "p227" else c for c in kinds["flow"]], decimals=3)
    write_battledim_csv(tmp_path / "Levels (m).csv", sheets["Levels (m)"])
    data = read_scada(tmp_path, None, ltown, tz=TZ)
    units = data.sensors.set_index("sensor_id")["unit"]
    assert units["n1"] == "bar" and units["n4"] == "m" and units["p227"] == "L/s" and units["p235"] == "L/s"
    want = scenario.readings.tz_convert("UTC")
    assert np.abs(data.values["n1"] - want["n1"]).max() <= 0.5e-5 * BAR_M + 1e-9
    assert np.abs(data.values["p235"] - want["p235"]).max() <= 0.0005 + 1e-9


def _historian_export(sc, tmp_path):
    """A historian's long CSV: TagName, DateTime (ISO with offset), Value, Units; sorted by tag; units change."""
    t = sc.readings.index
    n = len(t)
    pressure_units = np.where(np.arange(n) < n // 2, "bar", "kPa")  # the logger was reconfigured mid-record
    per_unit = {"bar": BAR_M, "kPa": BAR_M / 100}
    frames = [
        pd.DataFrame({"TagName": "PT_N1.PV", "DateTime": t, "Units": pressure_units,
                      "Value": [round(v / per_unit[u], 5) for v, u in zip(sc.readings["n1"], pressure_units)]}),
        pd.DataFrame({"TagName": "FT_P227.PV", "DateTime": t, "Units": "m3/h",
                      "Value": (sc.readings["p227"] * 3.6).round(3)}),
        pd.DataFrame({"TagName": "LT_T1.PV", "DateTime": t, "Units": "m", "Value": sc.readings["T1"].round(3)}),
        pd.DataFrame({"TagName": "AI_CHLORINE", "DateTime": t, "Units": "mg/L", "Value": 0.4}),
    ]
    long = pd.concat(frames, ignore_index=True)[["TagName", "DateTime", "Value", "Units"]]
    long["DateTime"] = [x.isoformat() for x in long["DateTime"]]
    long.to_csv(tmp_path / "history.csv", index=False)
    (tmp_path / "tags.csv").write_text("tag,element\nPT_N1.PV,n1\nFT_P227.PV,p227\nLT_T1.PV,T1\n")
    return tmp_path / "history.csv", tmp_path / "tags.csv"


def test_long_export_mixed_units_mapping_without_kind(scenario, ltown, tmp_path):
    history, tags = _historian_export(scenario, tmp_path)
    data = read_scada(history, tags, ltown)
    s = data.sensors.set_index("sensor_id")
    assert s.loc["PT_N1.PV", ["kind", "element", "unit"]].tolist() == ["pressure", "n1", "m"]  # converted row by row
    assert s.loc["FT_P227.PV", ["kind", "unit"]].tolist() == ["flow", "m3/h"]
    assert s.loc["LT_T1.PV", "kind"] == "level"
    want = scenario.readings.tz_convert("UTC")
    assert np.abs(data.values["PT_N1.PV"] - want["n1"]).max() <= 0.5e-5 * BAR_M + 1e-9
    assert np.abs(data.values["FT_P227.PV"] - want["p227"]).max() <= 0.0005 / 3.6 + 1e-9
    unmapped = data.flags[data.flags.flag == "unmapped_tag"]
    assert unmapped[["sensor_id", "count"]].values.tolist() == [["AI_CHLORINE", len(want)]]


def test_long_export_unknown_tags(scenario, ltown, tmp_path):
    history, tags = _historian_export(scenario, tmp_path)
    long = pd.read_csv(history)
    with pytest.raises(InputDataError, match=r"tag 'AI_CHLORINE' is not in the tag mapping; add a row for it"):
        wide_from_long(long, pd.read_csv(tags), ltown, unmapped="error")
    # without a mapping the tags must be element ids
    long = long.assign(TagName=long.TagName.map({"PT_N1.PV": "n1", "FT_P227.PV": "p227", "LT_T1.PV": "T1",
                                                 "AI_CHLORINE": "FIT-101"}))
    long.to_csv(tmp_path / "ids.csv", index=False)
    with pytest.raises(InputDataError) as err:
        read_scada(tmp_path / "ids.csv", None, ltown)
    assert str(err.value) == (f"SCADA file {tmp_path / 'ids.csv'}: tag 'FIT-101' is not a node or link id of network "
                              "L-TOWN; give sensors= a tag mapping (tag, element[, kind, unit])")
    from kit.i18n import using

    with using("fr"), pytest.raises(InputDataError) as err:
        read_scada(tmp_path / "ids.csv", None, ltown)
    assert str(err.value) == (f"fichier SCADA {tmp_path / 'ids.csv'}\u00a0: le tag 'FIT-101' n’est pas un id de nœud ou de "
                              "tronçon du réseau L-TOWN\u202f; donnez à sensors= une table de correspondance (tag, element"
                              "[, kind, unit])")
    long[long.TagName != "FIT-101"].to_parquet(tmp_path / "ids.parquet")
    data = read_scada(tmp_path / "ids.parquet", None, ltown)
    assert data.sensors.set_index("sensor_id").loc[["n1", "p227", "T1"], "kind"].tolist() == ["pressure", "flow",
                                                                                              "level"]


def test_wide_csv_with_semicolons_and_without_sensors(tmp_path):
    (tmp_path / "s.csv").write_text("sensor_id;kind;element;unit\r\nP1;pressure;n1;bar\r\n")
    (tmp_path / "x.csv").write_bytes(b"timestamp;P1\r\n2024-01-01 00:00;3,0\r\n2024-01-01 00:05;ERR\r\n"
                                     b"2024-01-01 00:10;3,1\r\n")
    data = read_scada(tmp_path / "x.csv", tmp_path / "s.csv")
    assert data.values["P1"].round(3).tolist()[::2] == [30.591, 31.611]
    assert data.flags.set_index("flag").loc["bad_value", "count"] == 1
    with pytest.raises(InputDataError, match=r"is a wide table \(timestamp \+ one column per sensor\) and needs its "
                                             r"sensors table"):
        read_scada(tmp_path / "x.csv")


def test_scada_from_table_names_its_source():
    table = pd.DataFrame({"timestamp": ["2024-01-01T00:00", "2024-01-01T00:10", "2024-01-01T00:05"], "Q1": [1, 2, 3]})
    sensors = pd.DataFrame({"sensor_id": ["Q1"], "kind": ["flow"], "element": ["p227"], "unit": ["L/h"]})
    with pytest.raises(InputDataError, match=r"^SCADA query on db row 3: timestamp 2024-01-01T00:05 is earlier"):
        scada_from_table(table, sensors, source="SCADA query on db", header_rows=0)
    ok = scada_from_table(table.iloc[:2], sensors)
    assert ok.values["Q1"].tolist() == [1 / 3600, 2 / 3600] and ok.sensors.unit.tolist() == ["L/h"]


def test_notebook_runs_on_a_battledim_workbook_alone(scenario, ltown, tmp_path):
    from kit.water import ltown_path

    sheets = battledim_sheets(scenario)
    book = write_workbook(tmp_path / "2024_SCADA.xlsx", sheets, list(sheets))
    p = nbk.PARAMETERS.validate(dict(network=str(ltown_path()), scada=str(book), train_start="2024-03-01",
                                     train_end="2024-03-03", output_dir=str(tmp_path / "out")))
    inputs = nbk.load_inputs(p)
    assert inputs.files == {"scada": book} and inputs.truth is None
    assert nbk.data_summary(inputs.data).startswith("577 readings every 5 min from 2024-03-01 00:00 to 2024-03-03 "
                                                    "00:00 (local); 3 demand, 3 flow, 1 level, 33 pressure sensors")
    detector = LeakDetector(tz=nbk.TZ).fit(inputs.data, inputs.network, p.train_start, p.train_end)
    assert set(detector.model_.targets_) <= set(_kinds(scenario)["pressure"])  # demands never enter the model
    result = detector.predict(inputs.data)
    assert len(result.residuals_m) >= 47 and result.night_flow_lps is not None


def test_notebook_refuses_wide_csv_alone_and_sensors_alone(scenario, tmp_path):
    paths = scenario.write(tmp_path / "sc")
    base = dict(train_start="2024-03-01", train_end="2024-03-03", output_dir=str(tmp_path / "out"))
    with pytest.raises(InputDataError) as err:
        nbk.load_inputs(nbk.PARAMETERS.validate(dict(scada=str(paths["scada"]), **base)))
    assert "\n" not in str(err.value) and "needs its sensors table: give sensors" in str(err.value)
    with pytest.raises(InputDataError, match="sensors is given without scada"):
        nbk.load_inputs(nbk.PARAMETERS.validate(dict(sensors=str(paths["sensors"]), **base)))


def test_workbook_text_stamps_blank_column_and_a_coarser_sheet(scenario, ltown, tmp_path):
    sheets = battledim_sheets(scenario, demands=False)
    pressures = sheets["Pressures (m)"].assign(Timestamp=lambda d: d.Timestamp.dt.strftime("%Y-%m-%d %H:%M"))
    pressures[""] = np.nan  # a formatted but empty column, as a hand-edited sheet has
    levels = sheets["Levels (m)"].iloc[::3].reset_index(drop=True)  # the tank logger writes every 15 min
    book = write_workbook(tmp_path / "w.xlsx", {"Pressures (m)": pressures, "Levels (m)": levels,
                                                "Flows (m3_h)": sheets["Flows (m3_h)"]},
                          ["Pressures (m)", "Levels (m)", "Flows (m3_h)"])
    data = read_scada(book, None, ltown, tz=TZ)
    assert len(data.sensors) == 37 and len(data.values) == len(scenario.readings)
    want = scenario.readings.tz_convert("UTC")
    assert np.abs(data.values["n1"] - want["n1"]).max() <= 0.005 + 1e-9
    level = data.values["T1"].dropna()
    assert level.index.equals(want.index[::3]) and np.abs(level - want["T1"].iloc[::3]).max() <= 0.005 + 1e-9
    assert set(data.flags.loc[data.flags.sensor_id == "T1", "flag"]) == {"gap"}
    pressures.loc[5, "Timestamp"] = "yesterday"
    write_workbook(book, {"Pressures (m)": pressures, "Levels (m)": levels}, ["Pressures (m)", "Levels (m)"])
    with pytest.raises(InputDataError, match=r"^sheet 'Pressures \(m\)' of SCADA workbook .* row 7: Timestamp "
                                             r"'yesterday' cannot be parsed"):
        read_scada(book, None, ltown, tz=TZ)


def test_csv_folder_two_years_end_to_end(scenario, ltown, tmp_path):
    sheets = battledim_sheets(scenario, demands=False)
    for name, file in (("Pressures (m)", "Pressures"), ("Flows (m3_h)", "Flows"), ("Levels (m)", "Levels")):
        write_battledim_csv(tmp_path / f"2018_SCADA_{file}.csv", sheets[name].iloc[:300])
        write_battledim_csv(tmp_path / f"2019_SCADA_{file}.csv", sheets[name].iloc[300:])
    data = read_scada(tmp_path, None, ltown, tz=TZ)
    _check_values(data, scenario, _kinds(scenario))
    assert data.flags.empty
