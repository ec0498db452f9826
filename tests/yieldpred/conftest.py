import numpy as np
import pandas as pd
import pytest

from kit.agro import read_weather
from kit.yieldpred import cereal_region, index_series_from_stack

TARGET = 2024


@pytest.fixture(scope="module")
def region():
    """A 4-season embedded region, its index series, weather, and yields with the target season hidden."""
    r = cereal_region(seasons=4, target_year=TARGET, scale=0.25, seed=5)
    obs = index_series_from_stack(r.stack, r.polygons)
    obs["date"] = pd.to_datetime(obs["date"])
    yields = r.yields.assign(yield_t_ha=np.where(r.yields["year"] == TARGET, np.nan, r.yields["yield_t_ha"]))
    return r, obs, read_weather(r.weather), yields
