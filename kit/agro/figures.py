"""The irrigation notebook's figures, their words in the report's language (:mod:`kit.i18n`)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from kit.agro.wording import crop_label, strategy_label
from kit.i18n import _, format_number, format_quantity, ngettext


def plot_et0(et0_table: pd.DataFrame, weather: pd.DataFrame, start: str, end: str):
    """Daily ET0 with its 7-day mean, and rain, over the season."""
    import matplotlib.pyplot as plt

    e = et0_table.loc[start:end]
    if "date" in weather.columns:
        weather = weather.set_index(pd.DatetimeIndex(pd.to_datetime(weather["date"])))
    rain = weather.loc[start:end, "rain_mm"] if "rain_mm" in weather else None
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot(e.index, e["et0_mm"], color="#E69F00", alpha=0.35, lw=1, label=_("ET0, daily"))
    ax.plot(e.index, e["et0_mm"].rolling(7, center=True, min_periods=1).mean(), color="#D55E00", lw=2,
            label=_("ET0, 7-day mean"))
    fallback = e["method"] != "penman-monteith"
    if fallback.any():
        ax.scatter(e.index[fallback], e["et0_mm"][fallback], s=12, color="#000000", label=_("estimated (missing data)"),
                   zorder=3)
    ax.set_ylabel(_("ET0, mm/day"))
    ax.set_title(_("Reference evapotranspiration (FAO-56): {total} over the season").format(
        total=format_quantity(e["et0_mm"].sum(), "mm")))
    if rain is not None:
        ax2 = ax.twinx()
        ax2.bar(rain.index, rain.values, color="#0072B2", width=1.0, alpha=0.6, label=_("rain"))
        ax2.set_ylabel(_("rain, mm/day"))
        ax2.invert_yaxis()
        ax2.set_ylim(max(60.0, 3 * rain.max()), 0)
        ax2.grid(False)
        ax2.spines["right"].set_visible(True)
        handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
        ax.legend(handles=handles, frameon=False, loc="lower right", ncols=4)
    _french_dates(ax)
    fig.tight_layout()
    return fig


def _french_dates(ax) -> None:
    """Month ticks named in the report's language (Matplotlib's own names are English)."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter

    from kit.i18n import DEFAULT_LANG, get_lang

    if get_lang() == DEFAULT_LANG:
        return
    from babel.dates import format_date as babel_format_date

    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=range(1, 13, 2)))
    ax.xaxis.set_major_formatter(FuncFormatter(
        lambda x, _pos: babel_format_date(mdates.num2date(x).date(), "MMM y", locale=get_lang())))


def plot_depletion(plan, field_ids: list[str]):
    """Root-zone depletion against RAW and TAW, with irrigation and rain, for a few fields."""
    import matplotlib.pyplot as plt

    ds = plan.fields_view(field_ids) if hasattr(plan, "fields_view") else plan.balance
    fig, axes = plt.subplots(len(field_ids), 1, figsize=(11, 2.6 * len(field_ids)), sharex=True, squeeze=False)
    for ax, fid in zip(axes[:, 0], field_ids):
        f = ds.sel(field=fid)
        t = pd.DatetimeIndex(ds["time"].values)
        ax.fill_between(t, f["raw_mm"], f["taw_mm"], color="#D55E00", alpha=0.12, label=_("stress zone (RAW to TAW)"))
        ax.plot(t, f["taw_mm"], color="#D55E00", lw=1, label=_("TAW"))
        ax.plot(t, f["raw_mm"], color="#E69F00", lw=1.2, ls="--", label=_("RAW"))
        ax.plot(t, f["depletion_mm"], color="#0072B2", lw=1.8, label=_("depletion Dr"))
        irr = f["irrigation_mm"].fillna(0).values
        ax.bar(t[irr > 0], irr[irr > 0], width=2.0, color="#009E73", alpha=0.7, label=_("irrigation (net), mm"))
        ax.set_ylabel("mm")
        n = int((irr > 0).sum())
        ax.set_title(_("{field}: {crop}, {irrigations}, relative yield {yield_}").format(
            field=fid, crop=crop_label(plan.summary.loc[fid, "crop"]),
            irrigations=ngettext("{n} irrigation", "{n} irrigations", n).format(n=n),
            yield_=format_number(float(f["relative_yield"]), 2)), loc="left")
        ax.invert_yaxis()  # depletion grows downward, like a falling water level
        _french_dates(ax)
    axes[0, 0].legend(frameon=False, ncols=5, loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def plot_strategies(table: pd.DataFrame, chosen: str):
    """Water used and relative yield by strategy, and the water-yield trade-off."""
    import matplotlib.pyplot as plt

    from kit.plotting import OKABE_ITO

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1.3, 1]})
    colours = [OKABE_ITO[3] if s == chosen else OKABE_ITO[0] for s in table.index]
    labels = [strategy_label(s) for s in table.index]
    water_mm3 = table["water_m3"] / 1e6
    ax1.bar(labels, water_mm3, color=colours)
    for x, (w, y) in enumerate(zip(water_mm3, table["relative_yield"])):
        ax1.text(x, w, _("yield {value}").format(value=format_number(y, 2)), ha="center", va="bottom", fontsize=9)
    ax1.set_ylabel(_("water used, million m³"))
    ax1.set_title(_("Water used by strategy (label: relative yield)"))
    ax2.scatter(water_mm3, table["relative_yield"], s=80, color=colours, zorder=3)
    for s, w, y in zip(labels, water_mm3, table["relative_yield"]):
        ax2.annotate(s, (w, y), textcoords="offset points", xytext=(6, 4))
    ax2.set_xlabel(_("water used, million m³"))
    ax2.set_ylabel(_("relative yield (FAO-33 Ky)"))
    ax2.set_title(_("Trade-off: up and left is better"))
    _decimal_ticks(ax1.yaxis, ax2.xaxis, ax2.yaxis)
    fig.tight_layout()
    return fig


def _decimal_ticks(*axis) -> None:
    """Tick labels of numeric axes with the report language's decimal sign (Matplotlib writes a point)."""
    from matplotlib.ticker import FuncFormatter

    from kit.i18n import DEFAULT_LANG, get_lang

    if get_lang() == DEFAULT_LANG:
        return

    def fmt(x, _pos):
        text = f"{x:.6g}"
        return format_number(x, len(text.split(".")[1]) if "." in text and "e" not in text else 0)

    for a in axis:
        a.set_major_formatter(FuncFormatter(fmt))


def plot_map(plan):
    """Maps of seasonal irrigation (mm) and relative yield over the perimeter; tracks and non-fields blank."""
    import matplotlib.pyplot as plt

    ds = plan.balance
    x, y = ds["x"].values, ds["y"].values
    dx = abs(x[1] - x[0]) if len(x) > 1 else 1.0
    dy = abs(y[1] - y[0]) if len(y) > 1 else 1.0
    # Extent in km from the upper-left corner, so the axes read as distances on the ground.
    extent = (0, len(x) * dx / 1000, 0, len(y) * dy / 1000)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 5))
    irr = np.asarray(ds["seasonal_irrigation_mm"].values, float)
    im1 = ax1.imshow(irr, cmap="cividis_r", extent=extent, interpolation="nearest")
    fig.colorbar(im1, ax=ax1, label=_("seasonal irrigation, mm (gross)"))
    ax1.set_title(_("Seasonal irrigation: {depth} on average").format(depth=format_quantity(np.nanmean(irr), "mm")))
    ry = np.asarray(ds["relative_yield"].values, float)
    im2 = ax2.imshow(ry, cmap="viridis", vmin=max(0.0, np.nanmin(ry)), vmax=1.0, extent=extent, interpolation="nearest")
    fig.colorbar(im2, ax=ax2, label=_("relative yield (FAO-33 Ky)"))
    ax2.set_title(_("Expected relative yield: {value} (area-weighted)").format(value=format_number(plan.relative_yield, 2)))
    for ax in (ax1, ax2):
        ax.set_xlabel(_("km east"))
        ax.set_ylabel(_("km north"))
        ax.grid(False)
    fig.suptitle(_("Strategy {strategy}: white pixels are tracks or not fields").format(strategy=strategy_label(plan.strategy)))
    fig.tight_layout()
    return fig


__all__ = ["plot_et0", "plot_depletion", "plot_strategies", "plot_map"]
