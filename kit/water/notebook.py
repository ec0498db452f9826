"""Glue of the ``leak_detection`` notebook: its parameters, inputs, tables and figures.

The logic lives in :mod:`kit.water.detect`, :mod:`kit.water.alarm_scan`,
:mod:`kit.water.localize` and :mod:`kit.water.score`; this module only loads
what the parameters name and draws what the notebook shows.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kit.errors import InputDataError, ParameterError
from kit.i18n import N_, _, format_quantity
from kit.params import LANG, Param, Spec, is_url
from kit.plotting import OKABE_ITO
from kit.water.wording import (data_summary, device_line, fit_summary, metrics_table,  # noqa: F401 (the notebook's)
                                 network_summary, shown_alarms, shown_flags, shown_leaks)
from kit.water.wording import TZ  # the record's local time zone, one definition for both modules


PARAMETERS = Spec(
    (
        Param("network", "path", None, N_("EPANET .inp file of the network (SI units); None: L-Town (BattLeDIM 2020)")),
        Param("scada", "source", None, N_("SCADA readings: a BattLeDIM .xlsx workbook (sheets Pressures (m), Flows "
                                       "(m3_h), Levels (m), optional Demands (L_h)) or a folder of its per-sheet CSVs, "
                                       "a long historian export (timestamp, tag, value[, unit]), a wide CSV or Parquet "
                                       "(timestamp + one column per sensor, needs sensors), or a SQL historian's "
                                       "SQLAlchemy URL without password (postgresql://user@host/db; password from "
                                       "~/.pgpass or PGPASSWORD); None: the embedded 4-week L-Town scenario")),
        Param("sensors", "path", None, N_("wide CSV or Parquet: sensors table CSV (sensor_id, kind, element, unit); long "
                                       "export: tag mapping CSV (tag, element[, kind, unit]), None if tags are element "
                                       "ids; workbook or CSV folder: not needed (a table given overrides the sheet "
                                       "names); None: embedded")),
        Param("scada_table", "str", "scada", N_("SQL historian only: table (schema.table) or SELECT with :start and :end "
                                             "giving timestamp, tag, value[, unit]; rows from train_start on are read")),
        # The docs stay as the notebook's stored outputs show them; the kind also takes "YYYY-MM-DD HH:MM[:SS]".
        Param("train_start", "datetime", "2024-01-01", N_("start of the period taken as leak-free, YYYY-MM-DD or YYYY-MM-DD HH:MM (local time)")),
        Param("train_end", "datetime", "2024-01-08", N_("end of the leak-free period, exclusive, YYYY-MM-DD or YYYY-MM-DD HH:MM (local time)")),
        Param("false_alarms_per_month", "float", 1.0, N_("target false-alarm rate that sets the CUSUM threshold, "
                                                       "alarms per month"), min=0.01, max=30.0),
        Param("truth", "path", None, N_("optional truth to score the alarms: truth.csv, BattLeDIM's "
                                     "dataset_configuration.yaml or Leakages.csv (or their folder), or a leak list CSV "
                                     "(pipe, start[, end, type, peak, peak_flow_lps]) (embedded data: its own truth)"),
              optional=True),
        Param("device", "device", "auto", N_("auto, cpu or cuda (env KIT_DEVICE overrides)"),
              choices=("auto", "cpu", "cuda")),
        Param("output_dir", "output_dir", "outputs/leak_detection", N_("folder for alarms.csv, flags.csv, metrics.json")),
        Param("scale", "int", 1, N_("embedded data only: length of the record in 4-week units (1: 4 weeks, "
                                 "about a minute; 13: a year)"), min=1, max=13),
        Param("seed", "int", 2020, N_("random seed of the embedded scenario"), min=0),
        LANG,
    ),
    purpose="Leak alarms from SCADA pressures and flows: start time, leak flow and ranked candidate junctions.",
)


@dataclass
class Inputs:
    network: object
    data: object
    truth: pd.DataFrame | None
    files: dict
    embedded: bool


def load_inputs(p) -> Inputs:
    """Network, SCADA data and truth named by the parameters (the embedded scenario when None).

    ``scada`` alone is enough for the formats that carry their sensors (a
    BattLeDIM workbook or CSV folder, a long export whose tags are element
    ids); a wide table needs ``sensors``. Leaks of the truth that start
    after the record ends are left out.

    Raises
    ------
    InputDataError
        ``sensors`` without ``scada``, a wide table without ``sensors``, or a
        file in the wrong format.
    """
    from kit.water import load_network, ltown_demo, read_scada

    window = training_window(p)
    if p.scada is None and p.sensors is not None:
        raise InputDataError(_("sensors is given without scada; give the SCADA readings it declares as scada, "
                               "or neither for the embedded scenario"))
    network = load_network(p.network)
    embedded = p.scada is None
    if embedded:
        folder = Path(p.output_dir) / "embedded"
        files = ltown_demo(seed=p.seed, days=28 * p.scale).write(folder)
    else:
        files = {} if is_url(p.scada) else {"scada": Path(p.scada)}
        if p.sensors is not None:
            files["sensors"] = Path(p.sensors)
        if p.truth is not None:
            files["truth"] = Path(p.truth)
    if is_url(p.scada):
        data = _read_sql(p, files, network, window)
    else:
        data = read_scada(files["scada"], files.get("sensors"), network, tz=TZ)
    check_training_window(window, data)
    truth = None
    if "truth" in files:
        truth = read_truth(files["truth"], network)
        truth = truth[truth["start"] <= data.values.index[-1]].reset_index(drop=True)
    return Inputs(network, data, truth, files, embedded)


def _read_sql(p, files: dict, network, window):
    """SCADA from a SQL historian, from ``train_start`` on; the source goes in the manifest, without secrets."""
    import kit.report
    from kit.water import read_scada
    from kit.water.scada_sql import describe_source

    data = read_scada(p.scada, files.get("sensors"), network, tz=TZ, table=p.scada_table, window=(window[0], None))
    described = describe_source(p.scada, p.scada_table)
    kit.report.input_source({**described, "rows_from": window[0].isoformat(),
                             "readings": int(data.values.notna().sum().sum())}, "scada")
    return data


def local_stamp(text: str) -> pd.Timestamp:
    """A local date or date-time of :data:`TZ` as a UTC Timestamp.

    Across a clock change (Morocco goes to UTC+0 for Ramadan) a repeated
    local time is taken at its first occurrence and a skipped one moves
    forward to the first valid time.
    """
    return pd.Timestamp(text).tz_localize(TZ, ambiguous=True, nonexistent="shift_forward").tz_convert("UTC")


def training_window(p) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``train_start``, ``train_end`` (local, end exclusive) as UTC Timestamps.

    Raises
    ------
    ParameterError
        ``train_end`` is not after ``train_start``.
    """
    t0, t1 = local_stamp(p.train_start), local_stamp(p.train_end)
    if t1 <= t0:
        raise ParameterError(_("train_end {end} is not after train_start {start}; give train_end later than train_start "
                               "(the end is exclusive)").format(end=p.train_end, start=p.train_start))
    return t0, t1


def check_training_window(window, data) -> None:
    """Refuse a training window that reaches outside the record (one grid step of slack at each end).

    Raises
    ------
    InputDataError
        One line with the record's span, the window and the fix.
    """
    t0, t1 = window
    first, last = data.values.index[0], data.values.index[-1]
    if t0 < first - data.step or t1 > last + data.step:
        span = _("{first} to {last}").format(first=f"{first.tz_convert(TZ):%Y-%m-%d %H:%M}",
                                            last=f"{(last + data.step).tz_convert(TZ):%Y-%m-%d %H:%M}")
        asked = _("{first} to {last}").format(first=f"{t0.tz_convert(TZ):%Y-%m-%d %H:%M}", last=f"{t1.tz_convert(TZ):%Y-%m-%d %H:%M}")
        raise InputDataError(_("the record covers {span} (local); the training window {asked} needs data in it: "
                               "give train_start/train_end inside the record").format(span=span, asked=asked))


def read_truth(path, network=None, *, tz: str = TZ) -> pd.DataFrame:
    """Read the truth to score against: the kit's ``truth.csv`` or a BattLeDIM leak list.

    Accepted (see :mod:`kit.water.leak_truth`): ``truth.csv`` (columns of
    :data:`kit.water.synthetic.TRUTH_COLUMNS`), BattLeDIM's
    ``dataset_configuration.yaml`` (``leakages:``), its ``2019_Leakages.csv``
    (leak flow per pipe, m³/h) or the folder holding both, and a leak list
    CSV (``pipe, start[, end, type, peak, peak_flow_lps]``). Pipe leaks are
    placed at a node of the pipe (``network`` needed); times without an
    offset are local times of ``tz``.

    Returns
    -------
    pandas.DataFrame
        ``event_id, node, type, is_leak, start, end, peak, peak_flow_lps,
        mean_flow_lps`` (UTC), plus ``pipe`` for leak lists.
    """
    from kit.water.leak_truth import read_truth as read_any_truth

    return read_any_truth(path, network, tz=tz)


def flags_for_display(flags: pd.DataFrame) -> pd.DataFrame:
    """The flags table as the notebook shows it: ``start``/``end`` as ``YYYY-MM-DD HH:MM`` (UTC).

    Empty (with its columns) when the record is clean; a flag without times
    (``no_data``) shows them empty.
    """
    return flags.assign(start=pd.to_datetime(flags["start"], utc=True).dt.strftime("%Y-%m-%d %H:%M"),
                        end=pd.to_datetime(flags["end"], utc=True).dt.strftime("%Y-%m-%d %H:%M"))


def alarms_for_csv(alarms: pd.DataFrame) -> pd.DataFrame:
    """The ``alarms.csv`` table: :data:`kit.water.alarm_scan.ALARM_COLUMNS`, local ISO times, flows to 0.01 L/s, scores to 0.001."""
    from kit.water.alarm_scan import ALARM_COLUMNS

    out = alarms[ALARM_COLUMNS].copy()
    for col in ("detected_at", "start_estimate"):
        out[col] = [t.tz_convert(TZ).isoformat() for t in pd.to_datetime(out[col], utc=True)]
    out["leak_flow_lps"] = out["leak_flow_lps"].astype(float).round(2)
    out["score"] = out["score"].astype(float).round(3)
    return out


def _mark_alarms(ax, alarms, truth=None):
    for a in alarms.itertuples(index=False):
        ax.axvline(a.detected_at, color=OKABE_ITO[3], lw=1.2, ls="--")
        ax.annotate(a.alarm_id, (a.detected_at, 1), xycoords=("data", "axes fraction"), color=OKABE_ITO[3],
                    fontsize=8, xytext=(2, -10), textcoords="offset points")
    if truth is not None:
        for t in truth.itertuples(index=False):
            colour = OKABE_ITO[2] if str(t.is_leak).lower() in ("true", "1") else OKABE_ITO[4]
            ax.axvline(t.start, color=colour, lw=1, alpha=0.7)


def plot_residuals(det, alarms, truth=None):
    """Residuals of the alarming sensors and the CUSUM (threshold = 1), with alarms and true starts."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    r = det.residuals_m.rolling(6, min_periods=3).mean()
    show = list(dict.fromkeys(alarms["sensor"])) if len(alarms) else []
    show = (show + [c for c in det.cusum.max().sort_values(ascending=False).index if c not in show])[:4]
    for i, s in enumerate(show):
        ax1.plot(r.index, r[s], lw=0.9, color=OKABE_ITO[i % 8], label=s)
    ax1.axhline(0, color="0.5", lw=0.6)
    ax1.set_ylabel(_("residual, m (6-h mean)"))
    ax1.set_title(_("Pressure residuals (observed minus predicted) of the most alarmed sensors"))
    ax1.legend(ncol=4, fontsize=8, frameon=False)
    ax2.plot(det.cusum.index, det.cusum.max(axis=1), color=OKABE_ITO[0], lw=1, label=_("largest CUSUM"))
    ax2.axhline(1.0, color=OKABE_ITO[3], lw=1, label=_("threshold"))
    ax2.set_ylabel(_("CUSUM / threshold"))
    ax2.set_title(_("CUSUM over all sensors (alarm at 1)"))
    for ax in (ax1, ax2):
        _mark_alarms(ax, alarms, truth)
    handles = [plt.Line2D([], [], color=OKABE_ITO[3], ls="--", label=_("alarm"))]
    if truth is not None:
        handles += [plt.Line2D([], [], color=OKABE_ITO[2], label=_("leak start (truth)")),
                    plt.Line2D([], [], color=OKABE_ITO[4], label=_("burst (truth)"))]
    ax2.legend(handles=ax2.get_legend_handles_labels()[0] + handles, fontsize=8, frameon=False, ncol=5)
    ax2.set_xlabel(_("time (UTC)"))
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def plot_night_flow(night_flow: pd.Series, alarms, train_end=None):
    """Minimum night flow per night (inlets minus tank storage), with alarms."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 3.6))
    x = pd.to_datetime(pd.Index(night_flow.index)).tz_localize(TZ)
    ax.plot(x, night_flow.to_numpy(), marker="o", ms=3, color=OKABE_ITO[0], label=_("minimum night flow"))
    if train_end is not None:
        base = night_flow[x < local_stamp(train_end)]
        if len(base):
            ax.axhline(float(base.median()), color="0.4", ls=":", label=_("training median"))
    for a in alarms.itertuples(index=False):
        ax.axvline(a.detected_at, color=OKABE_ITO[3], lw=1.2, ls="--")
    ax.set_ylabel("L/s")
    ax.set_title(_("Minimum night flow (inlet flow minus tank storage change)"))
    ax.legend(frameon=False, fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def plot_candidates(network, alarms, rankings, truth=None):
    """One map per alarm: candidate score (misfit relative to the best) and the ranked candidates."""
    import matplotlib.pyplot as plt

    from kit.water.network import plot_network

    n = max(1, len(alarms))
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 4.6 * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, a, ranking in zip(axes.ravel(), alarms.itertuples(index=False), rankings):
        top = a.candidates.split(";")
        fit = ranking["explained"].clip(lower=0).head(150)
        plot_network(network, fit, ax=ax, cmap="viridis", label=_("share explained"), highlight=top,
                     show_sensors=True, node_size=6)
        if truth is not None:
            leaks = truth[truth["is_leak"].astype(str).str.lower().isin(["true", "1"])]
            xy = network.node_xy().loc[leaks["node"]]
            ax.scatter(xy["x"], xy["y"], marker="*", s=120, c=OKABE_ITO[2], zorder=6, label=_("true leak"))
            ax.legend(loc="lower left", fontsize=7)
        ax.set_title(_("{alarm}: {flow}, best {node}").format(alarm=a.alarm_id, flow=format_quantity(a.leak_flow_lps, "L/s", 1),
                                                              node=top[0]), fontsize=10)
    fig.tight_layout()
    return fig
