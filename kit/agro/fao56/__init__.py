"""FAO-56 reference evapotranspiration, written once against the Python array API.

Every equation follows Allen, Pereira, Raes and Smith (1998), *Crop
evapotranspiration*, FAO Irrigation and Drainage Paper 56 (the 1998 paper,
not its 2025 revision); equation numbers are the paper's. Functions take
arrays from any array-API namespace (NumPy, CuPy, Torch, array-api-strict)
of any shape (days, fields × days, pixels × days) and broadcast; results stay
on the input's namespace, device and floating dtype. Scalars (latitude,
elevation, height) may be Python numbers or arrays that broadcast.

The daily kernel :func:`et0_kernel` applies the paper's missing-data
procedure element by element (chapter 3, "Missing data"): solar radiation
from sunshine hours, else from the temperature range (Hargreaves' radiation
formula, eq. 50, ``k_Rs`` 0.16 interior / 0.19 coastal); actual vapour
pressure from dew point, else RHmax and RHmin, else RHmax, else RHmean, else
Tmin (dew point assumed equal to Tmin, eq. 48); wind 2 m/s when missing.

- :mod:`kit.agro.fao56.atmosphere`: pressure, psychrometric constant, vapour pressures, wind at 2 m.
- :mod:`kit.agro.fao56.radiation`: extraterrestrial, solar, clear-sky and net radiation.
- :mod:`kit.agro.fao56.reference`: Penman-Monteith, Hargreaves-Samani and the daily kernel.
- :mod:`kit.agro.fao56.arrays`: inputs as floating arrays of one namespace, device and dtype.
"""
from kit.agro.fao56.atmosphere import (
    EA_SOURCES, actual_vapour_pressure_kpa, atmospheric_pressure_kpa, mean_saturation_vapour_pressure_kpa, psychrometric_constant_kpa_c,
    saturation_vapour_pressure_kpa, slope_vapour_pressure_kpa_c, wind_speed_2m_ms,
)
from kit.agro.fao56.radiation import (
    ALBEDO, SOLAR_CONSTANT, STEFAN_BOLTZMANN, clear_sky_radiation_mj_m2, daylight_hours, extraterrestrial_radiation_mj_m2,
    inverse_relative_distance, net_longwave_radiation_mj_m2, net_radiation_mj_m2, net_shortwave_radiation_mj_m2, solar_declination_rad,
    solar_radiation_from_sunshine_mj_m2, solar_radiation_from_temperature_mj_m2, sunset_hour_angle_rad,
)
from kit.agro.fao56.reference import (
    DEFAULT_WIND_MS, METHODS, RS_SOURCES, U2_SOURCES, et0_kernel, hargreaves_et0_mm, penman_monteith_et0_mm,
)

__all__ = [
    "ALBEDO", "DEFAULT_WIND_MS", "EA_SOURCES", "METHODS", "RS_SOURCES", "SOLAR_CONSTANT", "STEFAN_BOLTZMANN", "U2_SOURCES",
    "atmospheric_pressure_kpa",
    "psychrometric_constant_kpa_c",
    "saturation_vapour_pressure_kpa",
    "mean_saturation_vapour_pressure_kpa",
    "slope_vapour_pressure_kpa_c",
    "actual_vapour_pressure_kpa",
    "inverse_relative_distance",
    "solar_declination_rad",
    "sunset_hour_angle_rad",
    "extraterrestrial_radiation_mj_m2",
    "daylight_hours",
    "solar_radiation_from_sunshine_mj_m2",
    "solar_radiation_from_temperature_mj_m2",
    "clear_sky_radiation_mj_m2",
    "net_shortwave_radiation_mj_m2",
    "net_longwave_radiation_mj_m2",
    "net_radiation_mj_m2",
    "wind_speed_2m_ms",
    "penman_monteith_et0_mm",
    "hargreaves_et0_mm",
    "et0_kernel",
]
