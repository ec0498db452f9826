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


def show(fig) -> None:
    """Display ``fig`` once and close it.

    Closing matters: a figure left open is drawn again by the inline backend
    (twice under some kernels), which makes stored outputs unstable.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)
