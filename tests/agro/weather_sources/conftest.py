"""The weather-source tests' fixture: the writers of :mod:`tests.agro.weather_sources.weather_files`."""
import types

import pytest

from tests.agro.weather_sources.weather_files import (
    SITE, era5_hourly, power_days, running_totals, write_new_cds, write_new_cds_zip, write_old_cds, write_power_csv,
    write_power_json,
)


@pytest.fixture
def make():
    """The writers of weather_files, by short name."""
    return types.SimpleNamespace(
        power_days=power_days, power_csv=write_power_csv, power_json=write_power_json, era5_hourly=era5_hourly,
        running_totals=running_totals, new_cds=write_new_cds, new_cds_zip=write_new_cds_zip, old_cds=write_old_cds,
        site=SITE,
    )
