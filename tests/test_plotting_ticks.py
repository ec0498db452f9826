"""Tick labels in the report's language: French decimal commas, the view unchanged, dates left alone."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from kit.plotting import localize_ticks  # noqa: E402


def _figure():
    fig, (a, b) = plt.subplots(1, 2)
    a.plot([0.0, 1.0], [0.0, 0.55])
    b.plot(pd.date_range("2024-03-01", periods=3, freq="D"), [1.5, 2.5, 2.0])
    fig.canvas.draw()
    return fig, a, b


def _labels(axis):
    return [t.get_text() for t in axis.get_ticklabels()]


def test_french_ticks_use_a_decimal_comma_and_keep_the_view():
    fig, a, b = _figure()
    limits, dates = (a.get_xlim(), a.get_ylim()), _labels(b.xaxis)
    localize_ticks(fig, "fr")
    fig.canvas.draw()
    assert "0,1" in _labels(a.yaxis) and "0,25" in _labels(a.xaxis)
    assert not any("." in t for t in _labels(a.yaxis) + _labels(a.xaxis) + _labels(b.yaxis))
    assert (a.get_xlim(), a.get_ylim()) == limits
    assert _labels(b.xaxis) == dates  # a date axis is not a number
    plt.close(fig)


def test_english_ticks_are_untouched():
    fig, a, _ = _figure()
    before = _labels(a.yaxis)
    localize_ticks(fig, "en")
    assert _labels(a.yaxis) == before and "0.1" in before
    plt.close(fig)
