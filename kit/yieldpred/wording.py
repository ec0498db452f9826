"""What the ``yield_prediction`` notebook prints and shows as tables, in the report's language.

English keeps the stored outputs' wording exactly; French gets its sentences
from the catalog (:mod:`kit.i18n`), numbers with a decimal comma and a narrow
no-break space before units and ``%``. Output files (``predictions.csv``,
``cv_predictions.csv``, ``metrics.json``) keep their English columns: these
helpers only change what is shown.
"""
from __future__ import annotations

import pandas as pd

from kit.i18n import N_, _, display_table, get_lang, text_number
from kit.i18n import text_share as pct  # noqa: F401 (the notebook's)

# Column headers shown translated (msgids are the files' column names and the English table's headers).
_HEADERS = (N_("field_id"), N_("year"), N_("yield_p10"), N_("yield_p50"), N_("yield_p90"), N_("date"),
            N_("cv_nrmse_p50"), N_("baseline_nrmse_mean"), N_("baseline_nrmse_trend"), N_("RMSE (t/ha)"))
_ROWS = (N_("model (P50)"), N_("baseline: field mean"), N_("baseline: field mean + trend"))


def _french() -> bool:
    return get_lang() == "fr"


def num(value, digits: int = 0) -> str:
    """``value`` as English printed it (``39,440``, ``4.04``) or in French style (``39 440``, ``4,04``)."""
    return text_number(value, digits, grouped=True)


def device_line(backend) -> str:
    return _("device: {device}").format(device=backend.device)


def embedded_source(n_fields: int, years, n_images: int) -> str:
    """What the embedded region holds, in one line."""
    return _("embedded Chaouia-like region: {fields} fields, {n} seasons ({first}-{last}), {images} Sentinel-2-like "
             "acquisitions").format(fields=n_fields, n=len(years), first=years[0], last=years[-1], images=n_images)


def user_source(n_fields: int, years) -> str:
    return _("your data: {fields} fields, seasons {years}").format(fields=n_fields, years=years)


def inputs_summary(inputs, years, target_year: int, day: int, wrote_series: bool) -> str:
    """The inputs cell's lines: the source, the index series written, the observations, the seasons used."""
    names = ", ".join(c for c in inputs.observations.columns if c not in ("field_id", "date"))
    lines = [inputs.source]
    if wrote_series:
        lines.append(_("index_series.csv: {indices} per field and clear date").format(indices=names))
    lines.append(_("{n} clear field-date observations of {indices}").format(n=num(len(inputs.observations)), indices=names))
    lines.append(_("seasons used: {first}-{last}; forecast for {target} with data up to day {day} of the season").format(
        first=years[0], last=years[-1], target=target_year, day=day))
    return "\n".join(lines)


def features_summary(n_rows: int, n_features: int, n_skipped: int) -> str:
    return _("{rows} field-seasons x {features} features; {skipped} field-seasons set aside").format(
        rows=num(n_rows), features=n_features, skipped=n_skipped)


def skill_table(metrics: dict) -> pd.DataFrame:
    """Model and baselines' leave-one-year-out NRMSE and RMSE, rounded to 0.001 (as English showed it)."""
    table = pd.DataFrame({
        "NRMSE": [metrics["cv_nrmse_p50"], metrics["baseline_nrmse_mean"], metrics["baseline_nrmse_trend"]],
        "RMSE (t/ha)": [metrics["cv_rmse_p50"], metrics["baseline_rmse_mean"], metrics["baseline_rmse_trend"]],
    }, index=list(_ROWS)).round(3)
    if not _french():
        return table
    shown = display_table(table, {"NRMSE": 3, "RMSE (t/ha)": 3})
    shown.index = [_(r) for r in _ROWS]
    return shown


def verdict_lines(gain: float, coverage: float) -> str:
    """Does the model beat the better baseline, and does its P10-P90 interval cover what it should."""
    verdict = (_("beats the better baseline: RMSE {gain} lower") if gain > 0
               else _("does NOT beat the better baseline: RMSE {gain} higher")).format(gain=pct(abs(gain)))
    return "\n".join([
        _("The model {verdict} (target: at least 30 % lower).").format(verdict=verdict),
        _("P10-P90 covers {coverage} of out-of-year observations (target 70-90 %, ideal 80 %).").format(
            coverage=pct(coverage))])


def spatial_line(spatial: dict | None) -> str:
    if spatial is None:
        return _("the fields have no commune column: spatial-group check skipped")
    return _("season and commune held out ({folds} folds): model NRMSE {model}, field mean {mean}, trend {trend}").format(
        folds=spatial["folds"], model=pct(spatial["cv_nrmse_p50"], 1), mean=pct(spatial["baseline_nrmse_mean"], 1),
        trend=pct(spatial["baseline_nrmse_trend"], 1))


def lead_table(lead: pd.DataFrame, target_year: int, season_start: str) -> pd.DataFrame:
    """NRMSE by forecast date (``29 Jan``; French ``29 janv.``), rounded to 0.001."""
    from babel.dates import format_date as babel_format_date

    from kit.yieldpred.season import season_start_date

    dates = [season_start_date(target_year, season_start) + pd.Timedelta(days=int(d)) for d in lead.cutoff_day]
    label = (lambda t: babel_format_date(t.date(), "d MMM", locale="fr")) if _french() else (lambda t: t.strftime("%d %b"))
    table = lead.assign(date=[label(t) for t in dates]).set_index("date").drop(columns="cutoff_day").round(3)
    return display_table(table, {c: 3 for c in table.columns})


def forecast_summary(predictions: pd.DataFrame, target_year: int, n_skipped: int) -> str:
    m = predictions[["yield_p10", "yield_p50", "yield_p90"]].mean()
    return _("{n} fields forecast for {year}: mean P50 {p50} t/ha (P10 {p10}, P90 {p90}); {skipped} set aside").format(
        n=len(predictions), year=target_year, p50=num(m["yield_p50"], 2), p10=num(m["yield_p10"], 2),
        p90=num(m["yield_p90"], 2), skipped=n_skipped)


def shown_predictions(predictions: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The first ``n`` rows of ``predictions.csv`` by field (the file keeps its English columns)."""
    table = predictions.head(n).set_index("field_id")
    if not _french():
        return table
    return display_table(table.assign(year=table["year"].astype(str)), {"yield_p10": 3, "yield_p50": 3, "yield_p90": 3})


def hidden_truth_line(year: int, rmse_t_ha: float, coverage: float) -> str:
    return _("check against the hidden {year} yields: RMSE {rmse} t/ha, P10-P90 coverage {coverage}").format(
        year=year, rmse=num(rmse_t_ha, 2), coverage=pct(coverage))


def no_map_note() -> str:
    return _("no rasters (index_series input): no yield map; predictions.csv has every field")


def month_label(t) -> str:
    """A month tick: ``Jan`` in English, ``janv.`` in French."""
    if not _french():
        return t.strftime("%b")
    from babel.dates import format_date as babel_format_date

    return babel_format_date(t.date(), "MMM", locale="fr")
