"""Weather from NASA POWER and ERA5 / ERA5-Land files, converted to the kit's daily weather contract.

Analysts without a station bring reanalysis weather as they downloaded it:

- :func:`sniff_weather_format`: which format a file is (``kit_csv``,
  ``kit_netcdf``, ``nasa_power_csv``, ``nasa_power_json``, ``era5_netcdf``).
- :func:`convert_weather`: any of them as the table of
  :func:`kit.agro.read_weather` (one site; ERA5 at the cell nearest it),
  with a description of what was converted.
- :func:`convert_weather_grid`: ERA5 / ERA5-Land with every cell, as a daily
  Dataset ``(y, x, time)`` with the contract's variable names.

One module per source (:mod:`~kit.agro.weather_sources.nasa_power`,
:mod:`~kit.agro.weather_sources.era5`), the hourly-to-local-day step
(:mod:`~kit.agro.weather_sources.local_days`) and the entry points
(:mod:`~kit.agro.weather_sources.convert`).
"""
from kit.agro.weather_sources.convert import convert_weather, convert_weather_grid
from kit.agro.weather_sources.description import conversion_summary
from kit.agro.weather_sources.local_days import DEFAULT_TZ
from kit.agro.weather_sources.sniff import FORMATS, sniff_weather_format

__all__ = ["DEFAULT_TZ", "FORMATS", "conversion_summary", "convert_weather", "convert_weather_grid", "sniff_weather_format"]
