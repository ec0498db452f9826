"""Thermal time from sowing: the degree-days a field's crop has had by a day of its season.

A cereal's development runs on accumulated warmth, not on the calendar: the
day of a canopy event (green-up, senescence) moves with the sowing date and
with a cool or warm spring, its thermal time from sowing much less, so what
is left of it is the crop's response to drought and heat.
"""
from __future__ import annotations

import numpy as np

__all__ = ["thermal_time_from_sowing"]


def thermal_time_from_sowing(day, tmean_c, planting_day, *, base_c: float = 0.0) -> np.ndarray:
    """Growing degree-days (°C·d above ``base_c``) from sowing to ``day`` of the season, per field.

    A canopy that senesces early in thermal time was cut short by drought or heat: unlike the
    calendar day, this does not move with the sowing date or a cool spring.

    Parameters
    ----------
    day, planting_day : array (n_fields,)
        Days of the season (NaN gives NaN); days after the last of ``tmean_c`` count the last.
    tmean_c : array (n_days,)
        Daily mean temperature, °C (NaN counts 0 °C·d).

    Examples
    --------
    >>> thermal_time_from_sowing(np.array([3.0, np.nan]), np.array([5.0, 10.0, 12.0, 8.0]), np.array([1.0, 0.0])).tolist()
    [30.0, nan]
    """
    gdd = np.concatenate([[0.0], np.cumsum(np.nan_to_num(np.maximum(np.asarray(tmean_c, float) - base_c, 0.0)))])
    day, plant = np.asarray(day, float), np.asarray(planting_day, float)
    ok = np.isfinite(day) & np.isfinite(plant)
    last = len(gdd) - 1
    end = np.clip(np.where(ok, day, 0), -1, last - 1).astype(int) + 1  # through ``day`` inclusive
    begin = np.clip(np.where(ok, plant, 0), 0, last).astype(int)
    return np.where(ok & (day >= plant), gdd[end] - gdd[np.minimum(begin, end)], np.where(ok, 0.0, np.nan))
