"""The truth to score alarms against: the kit's ``truth.csv`` or a leak list as BattLeDIM hands it over.

Accepted, told apart by content:

- the kit's ``truth.csv`` (``event_id, node, type, is_leak, start, end[, peak,
  peak_flow_lps, mean_flow_lps]``), as :meth:`kit.water.Scenario.write` writes it;
- BattLeDIM's ``dataset_configuration.yaml``: a ``leakages:`` list of
  ``linkID, startTime, endTime, leakDiameter (m), leakType, peakTime``
  (the first item is a comment, read as empty); no flows;
- BattLeDIM's ``2019_Leakages.csv``: ``Timestamp`` and one column per
  leaking pipe holding its leak flow, m³/h (``;``, decimal commas); each run
  of non-zero flow is a leak, its type and peak time estimated from the
  flow's shape (a unit in a header, ``p257 [L/s]``, wins);
- a folder holding them: events from the yaml, flows from the ``*Leakages*.csv``
  files (2018 and 2019 end to end);
- a plain CSV with one row per leak: ``pipe`` (or ``link``/``linkID``),
  ``start``, optional ``end``, ``type``, ``peak``, ``leak_diameter``
  (m) and ``peak_flow_lps`` or a peak flow with its unit in the header
  (``peak_flow (m3/h)``).

Pipe leaks are placed at the pipe's start node (its end node when the start
is not a junction), which is what :func:`kit.water.score.score_alarms` measures
distances to; the pipe stays in the ``pipe`` column. BattLeDIM measured from
the pipe's midpoint: distances here differ from its by at most half the
pipe's length. Times without an offset are local times of ``tz`` (the
record's); all come back in UTC.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from kit.errors import InputDataError
from kit.water.scada_formats.sensors import sensor_unit
from kit.water.scada_formats.text import TIME_NAMES, find_column, header_unit, read_delimited

__all__ = ["LEAK_COLUMNS", "leaks_from_flows", "read_truth"]

LEAK_COLUMNS = ["event_id", "node", "pipe", "type", "is_leak", "start", "end", "peak", "peak_flow_lps",
                "mean_flow_lps", "leak_diameter_m"]
_KIT_TRUTH = ["event_id", "node", "type", "is_leak", "start", "end"]
_ALIASES = {
    "pipe": {"pipe", "link", "linkid", "pipeid", "leakpipe"},
    "start": {"start", "starttime", "leakstart", "leakstarttime"},
    "end": {"end", "endtime", "leakend", "leakendtime"},
    "peak": {"peak", "peaktime", "leakpeaktime"},
    "type": {"type", "leaktype"},
    "leak_diameter_m": {"leakdiameter", "diameter", "leakdiameterm"},
}
_FLOW_NAMES = {"peakflow", "leakflow", "flow"}
_FLOW_SUFFIX = {"lps": "L/s", "m3h": "m3/h", "m3/h": "m3/h", "lph": "L/h"}


def _squash(name) -> str:
    return re.sub(r"[\s_]+", "", str(name).strip().lower())


def _utc(values, tz: str) -> pd.Series:
    """Times as UTC; naive ones are local times of ``tz`` (a repeated local time: its first occurrence)."""
    t = pd.Series(values, dtype=object)
    out = []
    for v in t:
        if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() in ("", "NaT", "nan"):
            out.append(pd.NaT)
            continue
        ts = pd.Timestamp(v)
        ts = ts.tz_localize(tz, ambiguous=True, nonexistent="shift_forward") if ts.tzinfo is None else ts
        out.append(ts.tz_convert("UTC"))
    return pd.Series(pd.to_datetime(out, utc=True), index=t.index)


def _leak_node(pipe: str, network, where: str) -> str:
    if network is None:
        raise InputDataError(f"{where}names pipes; give the network to place them")
    if pipe not in set(network.links):
        raise InputDataError(f"{where}pipe {pipe!r} is not a link of network {network.name}; "
                             "use a pipe id of the .inp file")
    link = network.wn.get_link(pipe)
    junctions = set(network.junctions)
    return link.start_node_name if link.start_node_name in junctions or link.end_node_name not in junctions \
        else link.end_node_name


def _finish(rows: list, network, tz: str, where: str) -> pd.DataFrame:
    """Leak rows (pipe, start, end, peak, type, flows, diameter) as the truth table."""
    table = pd.DataFrame(rows, columns=["pipe", "start", "end", "peak", "type", "peak_flow_lps", "mean_flow_lps",
                                        "leak_diameter_m"])
    for col in ("start", "end", "peak"):
        table[col] = _utc(table[col], tz)
    bad = table["start"].isna().to_numpy()
    if bad.any():
        raise InputDataError(f"{where}leak on {table['pipe'].iloc[int(np.flatnonzero(bad)[0])]!r} has no start time; "
                             "give each leak its start (YYYY-MM-DD HH:MM)")
    table["peak"] = table["peak"].fillna(table["start"])
    table["type"] = table["type"].fillna("abrupt").astype(str).str.strip().str.lower().replace("", "abrupt")
    table["node"] = [_leak_node(p, network, where) for p in table["pipe"]]
    counts: dict = {}
    ids = []
    for pipe in table["pipe"]:
        counts[pipe] = counts.get(pipe, 0) + 1
        ids.append(pipe if counts[pipe] == 1 else f"{pipe}_{counts[pipe]}")
    table["event_id"] = ids
    table["is_leak"] = True
    return table[LEAK_COLUMNS].sort_values("start", kind="stable").reset_index(drop=True)


def _yaml_rows(path: Path) -> list:
    import yaml

    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception as exc:
        raise InputDataError(f"truth file {path} could not be read as YAML ({exc}); give BattLeDIM's "
                             "dataset_configuration.yaml") from None
    leaks = config.get("leakages") if isinstance(config, dict) else None
    if not isinstance(leaks, list):
        raise InputDataError(f"truth file {path} has no 'leakages:' list; give BattLeDIM's "
                             "dataset_configuration.yaml (linkID, startTime, endTime, leakDiameter, leakType, "
                             "peakTime)")
    rows = []
    for i, item in enumerate(leaks):
        if item is None or (isinstance(item, str) and item.lstrip().startswith("#")):
            continue  # BattLeDIM's first item is the comment naming the fields
        if isinstance(item, dict):
            rows.append(_row_of(dict(item), f"truth file {path} leak {i + 1}: "))
            continue
        fields = [f.strip() for f in str(item).split(",")]
        if len(fields) < 5:
            raise InputDataError(f"truth file {path} leak {i + 1} ({item!r}) has {len(fields)} fields; BattLeDIM's are "
                                 "linkID, startTime, endTime, leakDiameter (m), leakType, peakTime")
        peak = fields[5] if len(fields) > 5 else None
        rows.append([fields[0], fields[1], fields[2], peak, fields[4], np.nan, np.nan, float(fields[3])])
    return rows


def _flow_column(columns) -> tuple[str | None, str | None]:
    """The peak-flow column of a leak list and its unit (``peak_flow_lps``, ``peak_flow (m3/h)``)."""
    for col in columns:
        name, unit = header_unit(col)
        squashed = _squash(name)
        for suffix, canonical in _FLOW_SUFFIX.items():
            if squashed.endswith(suffix) and squashed[: -len(suffix)] in _FLOW_NAMES:
                return col, canonical
        if squashed in _FLOW_NAMES:
            if unit is None:
                raise InputDataError(f"leak list column {col!r} has no unit; name it peak_flow_lps or "
                                     "'peak_flow (m3/h)'")
            return col, sensor_unit("flow", unit, f"leak list column {col!r}: ")[0]
    return None, None


def _row_of(record: dict, where: str, flow=(None, None)) -> list:
    """One leak of a plain list (or a yaml mapping) as a row of :func:`_finish`."""
    by_alias = {}
    for key, value in record.items():
        for field, names in _ALIASES.items():
            if _squash(key) in names:
                by_alias[field] = value
    if "pipe" not in by_alias or "start" not in by_alias:
        raise InputDataError(f"{where}needs a pipe (or link, linkID) and a start; it has {', '.join(map(str, record))}")
    col, unit = flow
    peak_flow = np.nan
    if col is not None and str(record.get(col, "")).strip() not in ("", "nan"):
        peak_flow = float(str(record[col]).replace(",", ".")) * sensor_unit("flow", unit)[1]
    diameter = by_alias.get("leak_diameter_m")
    diameter = float(str(diameter).replace(",", ".")) if str(diameter or "").strip() not in ("", "nan") else np.nan
    return [str(by_alias["pipe"]).strip(), by_alias["start"], by_alias.get("end"), by_alias.get("peak"),
            by_alias.get("type"), peak_flow, peak_flow, diameter]


def leaks_from_flows(flows: pd.DataFrame, *, unit: str = "m3/h") -> list:
    """Leak runs of a per-pipe leak-flow table (BattLeDIM's ``2019_Leakages.csv``).

    Parameters
    ----------
    flows : pandas.DataFrame
        Index: times; one column per pipe (a unit in the header wins over ``unit``).

    Returns
    -------
    list of rows ``pipe, start, end, peak, type, peak_flow_lps, mean_flow_lps, nan``
        Each run of non-zero flow; ``abrupt`` when its first hour already
        flows at half its median, else ``incipient`` with its peak where the
        day's mean first reaches 95 % of its largest.
    """
    rows = []
    for col in flows.columns:
        pipe, own = header_unit(col)
        q = pd.to_numeric(flows[col], errors="coerce").fillna(0.0) * sensor_unit("flow", own or unit)[1]
        active = np.concatenate([[False], q.to_numpy() > 0, [False]])
        edges = np.diff(active.astype(np.int8))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            run = q.iloc[a:b]
            hour = run[run.index < run.index[0] + pd.Timedelta("1h")]
            abrupt = hour.mean() >= 0.5 * run.median()
            daily = run.rolling("1D").mean()
            peak = run.index[0] if abrupt else daily.index[int(np.argmax(daily.to_numpy() >= 0.95 * daily.max()))]
            rows.append([pipe, run.index[0], run.index[-1], peak, "abrupt" if abrupt else "incipient",
                         float(run.max()), float(run.mean()), np.nan])
    return rows


def _flow_table(path: Path, table: pd.DataFrame) -> pd.DataFrame:
    time_col = find_column(table.columns, TIME_NAMES)
    times = pd.to_datetime(table[time_col].astype("string").str.strip(), format="ISO8601", errors="coerce")
    if times.isna().any():
        i = int(np.flatnonzero(times.isna().to_numpy())[0])
        raise InputDataError(f"truth file {path} row {i + 2}: Timestamp {table[time_col].iloc[i]!r} cannot be parsed; "
                             "write YYYY-MM-DD HH:MM")
    return table.drop(columns=time_col).set_index(pd.DatetimeIndex(times))


def _kit_truth(path: Path, t: pd.DataFrame, tz: str) -> pd.DataFrame:
    for col in ("start", "end", "peak"):
        if col in t.columns:
            t[col] = _utc(t[col], tz)
    for col in ("peak_flow_lps", "mean_flow_lps"):
        if col not in t.columns:
            t[col] = np.nan
    if "peak" not in t.columns:
        t["peak"] = t["start"]
    return t


def _csv_truth(path: Path, network, tz: str) -> pd.DataFrame:
    table = read_delimited(path, f"truth file {path}")
    if all(c in table.columns for c in _KIT_TRUTH):
        return _kit_truth(path, table, tz)
    where = f"truth file {path}: "
    if find_column(table.columns, TIME_NAMES) is not None:
        return _finish(leaks_from_flows(_flow_table(path, table)), network, tz, where)
    if any(_squash(c) in _ALIASES["pipe"] for c in table.columns):
        flow = _flow_column(table.columns)
        rows = [_row_of(r, f"truth file {path} row {i + 2}: ", flow) for i, r in enumerate(table.to_dict("records"))]
        return _finish(rows, network, tz, where)
    raise InputDataError(f"truth file {path} is not a truth table ({', '.join(_KIT_TRUTH)}), a leak list (pipe, start, "
                         "end, ...) nor BattLeDIM's Leakages.csv (Timestamp + one column per pipe)")


def _folder_flows(csvs: list) -> pd.DataFrame:
    """The leak flows of every ``*Leakages*.csv`` of a folder (2018 and 2019 end to end), m³/h unless headed."""
    tables = [_flow_table(f, read_delimited(f, f"truth file {f}")) for f in csvs]
    flows = pd.concat(tables).sort_index(kind="stable")
    return flows[~flows.index.duplicated()].fillna(0.0)


def _folder_truth(path: Path, network, tz: str) -> pd.DataFrame:
    """BattLeDIM's download folder: leaks from its yaml, their flows from its ``*Leakages*.csv`` files."""
    yamls = sorted(p for p in path.iterdir() if p.suffix.lower() in (".yaml", ".yml", ".yalm"))
    csvs = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv" and "leakage" in p.name.lower())
    if len(yamls) > 1 or not (yamls or csvs):
        raise InputDataError(f"truth folder {path} needs one dataset_configuration.yaml and/or *Leakages.csv files; "
                             f"it has {len(yamls)} yaml and {len(csvs)} Leakages.csv files")
    where = f"truth folder {path}: "
    if not yamls:
        return _finish(leaks_from_flows(_folder_flows(csvs)), network, tz, where)
    truth = _finish(_yaml_rows(yamls[0]), network, tz, f"truth file {yamls[0]}: ")
    if not csvs:
        return truth
    flows = _folder_flows(csvs)
    flows.index = flows.index.tz_localize(tz, ambiguous=np.ones(len(flows), dtype=bool),
                                          nonexistent="shift_forward").tz_convert("UTC")
    for i, leak in truth.iterrows():
        col = next((c for c in flows.columns if header_unit(c)[0] == leak["pipe"]), None)
        if col is None:
            continue
        q = pd.to_numeric(flows[col], errors="coerce") * sensor_unit("flow", header_unit(col)[1] or "m3/h")[1]
        end = leak["end"] if pd.notna(leak["end"]) else q.index[-1]
        run = q[(q.index >= leak["start"]) & (q.index <= end) & (q > 0)]
        if len(run):
            truth.loc[i, ["peak_flow_lps", "mean_flow_lps"]] = [float(run.max()), float(run.mean())]
    return truth


def read_truth(path, network=None, *, tz: str = "UTC") -> pd.DataFrame:
    """Read the truth of a record: the kit's ``truth.csv`` or a BattLeDIM leak list (see the module's formats).

    Parameters
    ----------
    path : path
        File or folder.
    network : WaterNetwork, optional
        Needed for leak lists naming pipes (to place each leak at a node).
    tz : str
        Time zone of times written without an offset.

    Returns
    -------
    pandas.DataFrame
        ``event_id, node, type, is_leak, start, end, peak, peak_flow_lps,
        mean_flow_lps`` (UTC times; flows L/s, NaN when the list has none)
        and, for leak lists, ``pipe`` and ``leak_diameter_m``.
    """
    path = Path(path)
    if path.is_dir():
        return _folder_truth(path, network, tz)
    if not path.is_file():
        raise InputDataError(f"truth file {path} does not exist; give truth.csv, BattLeDIM's "
                             "dataset_configuration.yaml or its Leakages.csv")
    head = path.read_bytes()[:4096].decode("utf-8", "replace")
    if path.suffix.lower() in (".yaml", ".yml", ".yalm") or re.search(r"^leakages\s*:", head, re.MULTILINE):
        return _finish(_yaml_rows(path), network, tz, f"truth file {path}: ")
    return _csv_truth(path, network, tz)
