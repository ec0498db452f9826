"""BattLeDIM's leak lists as the truth to score against: yaml, Leakages.csv, their folder, a plain list.

The yaml follows BattLeDIM's ``dataset_configuration.yaml`` (the first item
of ``leakages:`` a comment, then ``linkID, startTime, endTime,
leakDiameter (m), leakType, peakTime``); the CSV its ``2019_Leakages.csv``
(``;``, decimal commas, CRLF, one column of leak flow per pipe in m³/h).
"""
import numpy as np
import pandas as pd
import pytest

from kit.errors import InputDataError
from kit.water import notebook as nbk
from kit.water.leak_truth import read_truth
from kit.water.score import score_alarms

YAML = """Comments:
  - Configuration file for HISTORICAL and EVALUATION DATASET

Network:
  filename: L-TOWN_v2_Real.inp

times:
  StartTime: 2019-01-01 00:00
  EndTime: 2019-01-03 23:55

leakages:
- # linkID, startTime, endTime, leakDiameter (m), leakType, peakTime
- p257, 2019-01-01 06:00, 2019-01-03 23:55, 0.011843, incipient, 2019-01-02 06:00
- p523, 2019-01-02 10:00, 2019-01-02 22:00, 0.020246, abrupt, 2019-01-02 10:00

pressure_sensors:
- n1
"""


def _leak_flows():
    """Leak flows as BattLeDIM writes them, m3/h rounded to 2 decimals: p257 grows for a day, p523 is abrupt."""
    t = pd.date_range("2019-01-01 00:00", "2019-01-03 23:55", freq="5min")
    hours = (t - t[0]).total_seconds() / 3600
    p257 = np.clip((hours - 6) / 24, 0, 1) * 4.0
    p523 = np.where((hours >= 34) & (hours <= 46), 9.0 + 0.5 * np.sin(hours), 0.0)
    return pd.DataFrame({"p257": p257.round(2), "p523": p523.round(2)}, index=t)


def _write_leakages_csv(path, flows):
    lines = ["Timestamp;" + ";".join(flows.columns)]
    lines += [f"{t:%Y-%m-%d %H:%M};" + ";".join(f"{v:.2f}".replace(".", ",") for v in row)
              for t, row in zip(flows.index, flows.to_numpy())]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def test_yaml_leak_list(ltown, tmp_path):
    (tmp_path / "dataset_configuration.yaml").write_text(YAML)
    truth = read_truth(tmp_path / "dataset_configuration.yaml", ltown, tz="Africa/Casablanca")
    assert truth["pipe"].tolist() == ["p257", "p523"] and truth["type"].tolist() == ["incipient", "abrupt"]
    assert truth["event_id"].tolist() == ["p257", "p523"] and truth["is_leak"].all()
    link = ltown.wn.get_link("p257")
    assert truth["node"].iloc[0] in (link.start_node_name, link.end_node_name)
    # naive times are Moroccan local time, UTC+1 in January 2019
    assert truth["start"].iloc[0] == pd.Timestamp("2019-01-01 05:00", tz="UTC")
    assert truth["peak"].iloc[0] == pd.Timestamp("2019-01-02 05:00", tz="UTC")
    assert truth["leak_diameter_m"].tolist() == [0.011843, 0.020246] and truth["peak_flow_lps"].isna().all()


def test_leakages_csv_runs_become_leaks(ltown, tmp_path):
    flows = _leak_flows()
    path = _write_leakages_csv(tmp_path / "2019_Leakages.csv", flows)
    assert pd.read_csv(path).shape[1] == 1  # what pandas' defaults make of it
    truth = read_truth(path, ltown, tz="UTC").set_index("pipe")
    assert truth.loc["p257", "type"] == "incipient" and truth.loc["p523", "type"] == "abrupt"
    first = flows.index[flows["p257"] > 0][0]  # the first 5-min step whose rounded flow is not zero
    assert truth.loc["p257", "start"] == first.tz_localize("UTC")
    assert truth.loc["p523", "start"] == pd.Timestamp("2019-01-02 10:00", tz="UTC")
    assert truth.loc["p523", "end"] == pd.Timestamp("2019-01-02 22:00", tz="UTC")
    assert truth.loc["p523", "peak_flow_lps"] == pytest.approx(flows["p523"].max() / 3.6, abs=1e-12)
    assert truth.loc["p257", "peak_flow_lps"] == pytest.approx(4.0 / 3.6, abs=1e-12)
    # the day's mean reaches 95 % of its largest a little before the flow stops growing at 06:00 on the 2nd
    assert pd.Timestamp("2019-01-02 12:00", tz="UTC") <= truth.loc["p257", "peak"] <= pd.Timestamp("2019-01-03 06:00",
                                                                                                     tz="UTC")


def test_folder_yaml_with_flows_then_score(ltown, tmp_path):
    (tmp_path / "dataset_configuration.yaml").write_text(YAML)
    flows = _leak_flows()
    _write_leakages_csv(tmp_path / "2019_Leakages.csv", flows)
    truth = read_truth(tmp_path, ltown, tz="UTC")
    leak = truth.set_index("pipe").loc["p523"]
    active = flows["p523"][(flows.index >= "2019-01-02 10:00") & (flows.index <= "2019-01-02 22:00")]
    assert leak["mean_flow_lps"] == pytest.approx(active.mean() / 3.6, rel=1e-12)
    alarms = pd.DataFrame({"alarm_id": ["A1", "A2"],
                           "detected_at": [pd.Timestamp("2019-01-02 12:00", tz="UTC"),
                                           pd.Timestamp("2019-01-01 02:00", tz="UTC")],
                           "candidates": [f"{leak['node']};n1", "n1"]})
    scored, leaks, summary = score_alarms(alarms, truth, ltown, period_end=pd.Timestamp("2019-01-04", tz="UTC"))
    assert scored.set_index("alarm_id")["outcome"].to_dict() == {"A1": "true_positive", "A2": "false_positive"}
    assert summary["true_positives"] == 1 and summary["n_leaks"] == 2 and np.isfinite(summary["economic_score_eur"])
    # water saved: the leak's mean flow from the alarm to its repair, 0.80 EUR/m3, minus nothing (best candidate on it)
    saved = leak["mean_flow_lps"] * (10 * 3600) / 1000 * 0.80
    assert scored.set_index("alarm_id").loc["A1", "score_eur"] == pytest.approx(saved, rel=1e-9)


def test_plain_leak_list_and_its_errors(ltown, tmp_path):
    (tmp_path / "leaks.csv").write_text("pipe,start,end,type,peak_flow (m3/h)\n"
                                        "p523,2019-01-02 10:00,2019-01-02 22:00,abrupt,9\n"
                                        "p257,2019-01-01 06:00,,incipient,4\n")
    truth = read_truth(tmp_path / "leaks.csv", ltown, tz="UTC")
    assert truth["pipe"].tolist() == ["p257", "p523"] and truth["end"].isna().tolist() == [True, False]
    assert truth["peak_flow_lps"].tolist() == pytest.approx([4 / 3.6, 9 / 3.6])
    (tmp_path / "bad.csv").write_text("pipe,start\np99999,2019-01-02 10:00\n")
    with pytest.raises(InputDataError, match=r"pipe 'p99999' is not a link of network L-TOWN"):
        read_truth(tmp_path / "bad.csv", ltown)
    (tmp_path / "noflowunit.csv").write_text("pipe,start,peak_flow\np523,2019-01-02 10:00,9\n")
    with pytest.raises(InputDataError, match=r"column 'peak_flow' has no unit; name it peak_flow_lps"):
        read_truth(tmp_path / "noflowunit.csv", ltown)


def test_kit_truth_csv_still_read(tmp_path):
    (tmp_path / "truth.csv").write_text("event_id,node,type,is_leak,start,peak,end,peak_flow_lps,mean_flow_lps\n"
                                        "E1,n343,abrupt,True,2024-01-09T14:20:00+01:00,2024-01-09T14:20:00+01:00,,"
                                        "6.0,6.0\n")
    truth = nbk.read_truth(tmp_path / "truth.csv")
    assert truth["start"].iloc[0] == pd.Timestamp("2024-01-09 13:20", tz="UTC") and pd.isna(truth["end"].iloc[0])
    assert bool(truth["is_leak"].iloc[0]) is True


def test_folder_of_two_years_of_flows(ltown, tmp_path):
    flows = _leak_flows()
    _write_leakages_csv(tmp_path / "2018_Leakages.csv", flows.iloc[:400])
    _write_leakages_csv(tmp_path / "2019_Leakages.csv", flows.iloc[400:])
    joined = read_truth(tmp_path, ltown, tz="UTC")
    (tmp_path / "one").mkdir()
    whole = read_truth(_write_leakages_csv(tmp_path / "one" / "all.csv", flows), ltown, tz="UTC")
    pd.testing.assert_frame_equal(joined, whole)
    assert joined["pipe"].tolist() == ["p257", "p523"]  # p257 runs across the two files: still one leak
