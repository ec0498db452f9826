"""What the irrigation notebook says and shows in words: names of crops and strategies, sentences, shown tables.

Everything here follows the report's language (:mod:`kit.i18n`); the files
the notebook writes keep their English column names and values.
"""
from __future__ import annotations

import pandas as pd

from kit.agro.crops import CROPS
from kit.agro.gridded.contract import block_fields_table, is_gridded, pixel_area_ha
from kit.i18n import N_, _, format_number, format_quantity, ngettext

#: Crop names as the kit's tables spell them; French as Moroccan extension services name the crops.
CROP_NAMES = (N_("wheat"), N_("barley"), N_("maize"), N_("olive"), N_("citrus"), N_("tomato"), N_("potato"),
              N_("alfalfa"), N_("sugar_beet"), N_("sorghum"))
#: Strategy names (``strategy`` parameter values).
STRATEGY_NAMES = (N_("mad"), N_("calendar"), N_("interval"), N_("deficit"), N_("quota"))
#: Columns of the tables the notebook shows (the files keep these names).
COLUMN_NAMES = (N_("strategy"), N_("water_m3"), N_("relative_yield"), N_("days_under_stress"), N_("events"),
                N_("water_vs_calendar_m3"), N_("yield_vs_calendar_pts"), N_("field_id"), N_("date"), N_("depth_mm"),
                N_("volume_m3"))


def crop_label(crop) -> str:
    """A crop's name for the reader (``sugar_beet`` stays itself in English)."""
    return _(str(crop))


def strategy_label(strategy) -> str:
    """A strategy's name for the reader: its parameter value in English."""
    return _(str(strategy))


def headline(table: pd.DataFrame, chosen: str) -> str:
    """One sentence comparing the chosen strategy with the fixed calendar."""
    row = table.loc[chosen]
    dw = -row["water_vs_calendar_m3"]
    dy = row["yield_vs_calendar_pts"]
    water = (_("saves {volume} of water") if dw >= 0 else _("uses {volume} more water")).format(
        volume=format_quantity(abs(dw), "m³"))
    yield_ = (_("avoids a yield loss of {points} points") if dy >= 0 else _("loses {points} points of relative yield")).format(
        points=format_number(abs(dy), 1))
    return _("Against the fixed calendar, the {strategy} plan {water} and {yield_}.").format(
        strategy=strategy_label(chosen), water=water, yield_=yield_)


def rounded(table: pd.DataFrame) -> pd.DataFrame:
    """The comparison table as an analyst reads it (and as ``strategies.csv`` holds it)."""
    out = table.copy()
    out["water_m3"] = out["water_m3"].round(-2).astype(int)
    out["water_vs_calendar_m3"] = out["water_vs_calendar_m3"].round(-2).astype(int)
    return out.round({"relative_yield": 3, "days_under_stress": 1, "yield_vs_calendar_pts": 1})


def shown_strategies(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`rounded` as the report shows it: in English the file's own table, else headers, strategies and numbers translated."""
    from kit.i18n import display_table

    out = rounded(table)
    shown = display_table(out, digits={"relative_yield": 3, "days_under_stress": 1, "yield_vs_calendar_pts": 1})
    if shown is not out:
        shown.index = [strategy_label(s) for s in out.index]
        shown.index.name = _("strategy")
    return shown


def shown_schedule(table: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The first ``n`` irrigation events of ``schedule.csv`` as the report shows them."""
    from kit.i18n import display_table

    return display_table(table.head(n), digits={"depth_mm": 1, "volume_m3": 1})


def describe_fields(fields) -> str:
    """One line: how many fields (or field pixels), how many hectares, which crops."""
    if is_gridded(fields):
        table, _b, _c = block_fields_table(fields.load(), fields, slice(0, fields.sizes["y"]), pixel_area_ha(fields), CROPS,
                                           None, None)
        return _("grid of {rows} × {cols} pixels, {n} field pixels, {area}, crops: {crops}").format(
            rows=fields.sizes["y"], cols=fields.sizes["x"], n=len(table), area=format_quantity(table["area_ha"].sum(), "ha"),
            crops=_crop_counts(table))
    return _("{fields}, {area}, crops: {crops}").format(
        fields=ngettext("{n} field", "{n} fields", len(fields)).format(n=len(fields)),
        area=format_quantity(fields["area_ha"].sum(), "ha"), crops=_crop_counts(fields))


def _crop_counts(table) -> str:
    return ", ".join(f"{crop_label(c)} {n}" for c, n in table["crop"].value_counts().items())


def et0_methods(et0_table: pd.DataFrame, start: str, end: str) -> str:
    """How each day's ET0 was computed over the season, one line per method."""
    names = {"penman-monteith": N_("FAO-56 Penman-Monteith"),
             "penman-monteith (missing data)": N_("FAO-56 Penman-Monteith, missing data estimated")}
    counts = et0_table.loc[start:end, "method"].value_counts()
    return "\n".join(_("{method}: {days}").format(method=_(names.get(m, m)),
                                                    days=ngettext("{n} day", "{n} days", int(n)).format(n=int(n)))
                     for m, n in counts.items())


def partial_note(partial: int) -> str:
    """The fields whose crop season reaches outside the planned window, in one sentence ('' if none)."""
    if not partial:
        return ""
    return ngettext("{n} field has a crop season reaching outside the planned window; its totals cover the planned days only",
                    "{n} fields have a crop season reaching outside the planned window; their totals cover the planned "
                    "days only", partial).format(n=partial)


def no_map_note() -> str:
    """Why there is no map: the fields are a table."""
    return _("Fields are a table: give a gridded fields file (NetCDF or GeoTIFF, see the dataset card) for a map.")
