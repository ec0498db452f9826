"""What the ``leak_detection`` notebook prints and shows as tables, in the report's language.

English keeps the stored outputs' wording and the files' column names; French
gets its sentences from the catalog, numbers in French style (decimal comma,
narrow no-break space before units) and dates as ``1 janvier 2024``.
Output files (``alarms.csv``, ``flags.csv``, ``metrics.json``) keep their
English columns: these helpers only change what is shown.
"""
from __future__ import annotations

import pandas as pd

from kit.i18n import N_, _, display_table, format_date, get_lang, ngettext, text_number, text_quantity

TZ = "Africa/Casablanca"  # naive timestamps and calendar features are Moroccan local time (kit.water.notebook uses it)

#: Sensor kinds as a count of them reads: "3 flow" / "3 débitmètres" (literal for the catalog's extraction).
_KIND_COUNTS = {"flow": lambda n: ngettext("{n} flow", "{n} flow", n),
                "level": lambda n: ngettext("{n} level", "{n} level", n),
                "pressure": lambda n: ngettext("{n} pressure", "{n} pressure", n)}
#: Shown values of the flag and type columns (booleans: kit.i18n.display_table) (the files keep the English codes).
_VALUES = {"gap": N_("gap"), "stuck": N_("stuck"), "duplicate_timestamp": N_("duplicate_timestamp"),
           "out_of_range": N_("out_of_range"), "no_data": N_("no_data"), "abrupt": N_("abrupt"),
           "incipient": N_("incipient"), "burst": N_("burst")}
_METRICS = {"n_alarms": N_("n_alarms"), "n_leaks": N_("n_leaks"), "leaks_detected": N_("leaks_detected"),
            "true_positives": N_("true_positives"), "false_positives": N_("false_positives"),
            "false_alarms": N_("false_alarms"), "median_delay_h": N_("median_delay_h"),
            "median_localization_m": N_("median_localization_m"), "economic_score_eur": N_("economic_score_eur"),
            "false_alarms_per_month": N_("false_alarms_per_month")}
# Column headers shown translated (msgids are the files' column names).
_HEADERS = (N_("sensor_id"), N_("start"), N_("end"), N_("flag"), N_("count"), N_("alarm_id"), N_("detected_at"),
            N_("start_estimate"), N_("leak_flow_lps"), N_("candidates"), N_("score"), N_("event_id"), N_("node"),
            N_("type"), N_("peak_flow_lps"), N_("detected"), N_("delay_h"), N_("distance_m"), N_("battledim_tp"),
            N_("is_leak"), N_("mean_flow_lps"), N_("pipe"), N_("peak"))


def _french() -> bool:
    return get_lang() == "fr"


def _stamp(t) -> str:
    """A local time in a sentence: ``2024-01-01 00:00`` in English, ``1 janvier 2024 00:00`` in French."""
    return f"{format_date(t)} {t:%H:%M}" if _french() else f"{t:%Y-%m-%d %H:%M}"


def device_line(backend) -> str:
    """Which device was recorded: the detector itself is NumPy on the CPU."""
    return _("device: {device} (the detector is NumPy on the CPU; the device is recorded)").format(device=backend.device)


def network_summary(network) -> str:
    """The network's elements in one line: its ``repr`` in English, the field's words in French."""
    if not _french():
        return repr(network)
    wn = network.wn
    return _("network {name}: {junctions} junctions, {pipes} pipes, {tanks} tanks, {reservoirs} reservoirs, "
             "{pumps} pumps, {valves} valves, {sensors} sensors").format(
        name=network.name, junctions=text_number(wn.num_junctions), pipes=text_number(wn.num_pipes), tanks=wn.num_tanks,
        reservoirs=wn.num_reservoirs, pumps=wn.num_pumps, valves=wn.num_valves, sensors=len(network.sensors))


def data_summary(data) -> str:
    """One line on the record: readings, step, span (local time), sensors by kind, data-quality flags."""
    v = data.values
    kinds = data.sensors["kind"].value_counts().to_dict()
    counts = ", ".join(_KIND_COUNTS[k](n).format(n=n) if k in _KIND_COUNTS else f"{n} {k}"
                       for k, n in sorted(kinds.items()))
    flags = _("{n} data-quality flags").format(n=len(data.flags))  # French: "anomalies ... : {n}", any n
    return _("{n} readings every {step} min from {first} to {last} (local); {kinds} sensors; {flags}").format(
        n=text_number(len(v)), step=int(data.step.total_seconds() // 60), first=_stamp(v.index[0].tz_convert(TZ)),
        last=_stamp(v.index[-1].tz_convert(TZ)), kinds=counts, flags=flags)


def fit_summary(detector) -> str:
    """The residual noise the detector learnt and the CUSUM threshold it set."""
    noise_mm = detector.sigma_hour_.median() * 1000
    noise = text_quantity(noise_mm, "mm", 1)
    threshold = text_number(detector.threshold_, 1)
    return _("residual noise per hour: median {noise} over {n} sensors; CUSUM threshold {threshold} standard "
             "deviations").format(noise=noise, n=len(detector.sigma_hour_), threshold=threshold)


def _shown(frame: pd.DataFrame, digits: dict | None = None) -> pd.DataFrame:
    """``frame`` in the report's language: the leak's codes as words, then headers, booleans and numbers."""
    return display_table(frame, digits, words=_VALUES)


def shown_flags(flags: pd.DataFrame) -> pd.DataFrame:
    """The flags table as shown (``flags.csv`` keeps ``sensor_id, start, end, flag, count``)."""
    return _shown(flags)


def shown_alarms(alarms: pd.DataFrame, n_candidates: int = 5) -> pd.DataFrame:
    """The alarms as shown: the first ``n_candidates`` candidates (``alarms.csv`` holds them all)."""
    short = alarms.assign(candidates=alarms.candidates.str.split(";").str[:n_candidates].str.join(";") + " ...")
    return _shown(short, {"leak_flow_lps": 2, "score": 3})


def shown_leaks(leaks: pd.DataFrame) -> pd.DataFrame:
    """The leaks of the truth as scored: detection time to the minute, numbers to 0.1."""
    return _shown(leaks.assign(detected_at=leaks.detected_at.dt.strftime("%Y-%m-%d %H:%M")).round(1),
                  {c: 1 for c in leaks.columns})


def metrics_table(summary: dict) -> pd.DataFrame:
    """The scores as a one-column table (``metrics.json`` holds the same names)."""
    table = pd.DataFrame({"value": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in summary.items()}})
    if not _french():
        return table
    table.index = [_(_METRICS.get(k, k)) for k in table.index]
    return display_table(table, {"value": 2})
