"""Phenology features of a vegetation-index curve: peak, its date, integral, green-up and senescence."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = ["phenology_features"]


def phenology_features(curves, *, prefix: str = "ndvi", index=None, amplitude_fraction: float = 0.5,
                       baseline_days: int = 30, month_starts=None) -> pd.DataFrame:
    """Features of daily index curves (days since the season start).

    Parameters
    ----------
    curves : array (n, n_days) or DataFrame
        Gap-filled, smoothed daily index (e.g. :func:`kit.raster.daily_curve`),
        day 0 = season start, NaN where unknown. For an in-season forecast
        pass the curve only up to the forecast date: nothing later is used.
    prefix : str
        Index name, prefix of the feature names.
    index : array-like, optional
        Row labels (default the DataFrame's index).
    amplitude_fraction : float
        Green-up / senescence: first day above / after the peak first day
        below ``base + fraction × (peak - base)`` (50 %: the usual
        TIMESAT-style threshold).
    baseline_days : int
        ``base`` is the minimum of the first days (bare soil before emergence).
    month_starts : dict of name -> (first_day, last_day), optional
        Mean index over these day windows (e.g. ``{"mar": (181, 211)}``);
        NaN when the window is after the data.

    Returns
    -------
    pandas.DataFrame
        ``{prefix}_peak`` (index), ``_peak_day`` (days since season start),
        ``_integral`` (index·days above the base), ``_integral_after_peak``, ``_greenup_day``,
        ``_senescence_day`` (the last day seen when senescence has not begun
        yet: a lower bound), ``_last`` (index on the last day seen), window means.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.arange(200.0)
    >>> curve = 0.2 + 0.6 * np.exp(-((d - 120) / 30) ** 2)
    >>> f = phenology_features(curve[None])
    >>> int(f["ndvi_peak_day"][0]), int(f["ndvi_greenup_day"][0]), int(f["ndvi_senescence_day"][0])
    (120, 96, 145)
    """
    values = curves.to_numpy(float) if isinstance(curves, pd.DataFrame) else np.atleast_2d(np.asarray(curves, float))
    if index is None:
        index = curves.index if isinstance(curves, pd.DataFrame) else np.arange(values.shape[0])
    n, n_days = values.shape
    seen = np.isfinite(values)
    any_seen = seen.any(axis=1)
    filled = np.where(seen, values, -np.inf)
    peak_day = np.argmax(filled, axis=1)
    peak = np.where(any_seen, filled[np.arange(n), peak_day], np.nan)
    head = values[:, : max(1, baseline_days)]
    with np.errstate(all="ignore"):
        base = np.where(np.isfinite(head).any(axis=1), np.nanmin(np.where(np.isfinite(head), head, np.inf), axis=1), np.nan)
    base = np.where(np.isfinite(base), base, np.nanmin(np.where(seen, values, np.inf), axis=1))
    threshold = base + amplitude_fraction * (peak - base)
    days = np.arange(n_days)
    above = seen & (values >= threshold[:, None])
    before_peak = days[None, :] <= peak_day[:, None]
    greenup = np.where((above & before_peak).any(axis=1), np.argmax(above & before_peak, axis=1), np.nan)
    below_after = seen & (values < threshold[:, None]) & (days[None, :] > peak_day[:, None])
    last_seen = np.where(any_seen, n_days - 1 - np.argmax(seen[:, ::-1], axis=1), 0)
    senescence = np.where(below_after.any(axis=1), np.argmax(below_after, axis=1), last_seen)
    excess = np.where(seen, np.clip(values - base[:, None], 0.0, None), 0.0)
    out = {
        f"{prefix}_peak": peak,
        f"{prefix}_peak_day": np.where(any_seen, peak_day, np.nan),
        f"{prefix}_integral": np.where(any_seen, excess.sum(axis=1), np.nan),
        # Green area duration after the peak: what grain filling draws on.
        f"{prefix}_integral_after_peak": np.where(any_seen, np.sum(excess * (days[None, :] > peak_day[:, None]), axis=1), np.nan),
        f"{prefix}_greenup_day": greenup,
        f"{prefix}_senescence_day": np.where(any_seen, senescence, np.nan),
        f"{prefix}_last": np.where(any_seen, values[np.arange(n), last_seen], np.nan),
    }
    for name, (a, b) in (month_starts or {}).items():
        window = values[:, a: min(b, n_days)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN window: not yet observed -> NaN
            out[f"{prefix}_mean_{name}"] = (np.nanmean(window, axis=1) if window.shape[1] and b <= n_days
                                            else np.full(n, np.nan))
    return pd.DataFrame(out, index=index)
