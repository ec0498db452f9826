"""One look for every report's figures."""
from __future__ import annotations

import matplotlib as mpl

# Colour-blind-safe cycle (Okabe–Ito) and quiet axes: the figure should carry the message.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def use_style() -> None:
    """Apply the kit's matplotlib style (call once at the top of a notebook)."""
    mpl.rcParams.update(
        {
            "figure.figsize": (9, 4.5),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "axes.prop_cycle": mpl.cycler(color=OKABE_ITO),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.25,
            "axes.titleweight": "bold",
            "axes.titlesize": 12,
            "font.size": 10,
            "image.cmap": "viridis",
        }
    )


def figure_text(fig) -> dict:
    """The words of ``fig``: titles, axis labels, legend entries, other text, and tick labels.

    Stored with the figure's output (``metadata.kit.figure_text``): the report
    takes its alternative text from the titles, and a test can read what a
    figure says in which language without reading pixels.
    """
    titles = [t for t in [fig.get_suptitle()] if t]
    labels, legend, other, ticks = [], [], [], []
    for ax in fig.axes:
        titles += [t for t in (ax.get_title(loc) for loc in ("left", "center", "right")) if t]
        labels += [t for t in (ax.get_xlabel(), ax.get_ylabel()) if t]
        leg = ax.get_legend()
        legend += [t.get_text() for t in leg.get_texts()] if leg else []
        other += [t.get_text() for t in ax.texts if t.get_text()]
        ticks += [t.get_text() for t in (*ax.get_xticklabels(), *ax.get_yticklabels()) if t.get_text()]
    return {"titles": titles, "labels": labels, "legend": legend, "text": other, "ticks": ticks}


def localize_ticks(fig, lang: str | None = None) -> None:
    """Write the numeric tick labels of ``fig``'s axes with the language's decimal sign (French ``0,5``).

    Matplotlib's own ``axes.formatter.use_locale`` needs the operating
    system's locale installed, which servers seldom have; here the labels
    matplotlib drew are rewritten and pinned to their ticks. Axes of dates
    or categories (other formatters) are left alone. Call after drawing.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [0, 0.5])
    >>> fig.canvas.draw()
    >>> localize_ticks(fig, "fr")
    >>> [t.get_text() for t in ax.get_yticklabels()][1:3]
    ['0,0', '0,1']
    >>> plt.close(fig)
    """
    from babel.numbers import get_decimal_symbol
    from matplotlib.ticker import ScalarFormatter

    from kit.i18n import get_lang

    sign = get_decimal_symbol(lang or get_lang())
    if sign == ".":
        return
    for ax in fig.axes:
        for axis, limits in ((ax.xaxis, ax.set_xlim), (ax.yaxis, ax.set_ylim)):
            if type(axis.get_major_formatter()) is not ScalarFormatter:
                continue
            ticks, view = axis.get_ticklocs(), tuple(axis.get_view_interval())
            labels = [t.get_text().replace(".", sign) for t in axis.get_ticklabels()]
            if len(labels) == len(ticks):
                axis.set_ticks(ticks, labels)
                limits(*view)  # pinning the ticks would widen the view to the ones outside it


def show(fig) -> None:
    """Display ``fig`` once, with its words in the output's metadata (:func:`figure_text`), and close it.

    Closing matters: a figure left open is drawn again by the inline backend
    (twice under some kernels), which makes stored outputs unstable.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    fig.canvas.draw()  # tick labels exist once drawn
    localize_ticks(fig)
    display(fig, metadata={"kit": {"figure_text": figure_text(fig)}})
    plt.close(fig)
