"""The water-balance engine: checked inputs, one kernel run, and the (field, time) Dataset of its outputs.

:func:`prepare` reads and checks fields and weather and builds the kernel
parameters (:class:`Inputs`), :func:`run` runs the FAO-56 kernel on them
under an irrigation policy (:mod:`kit.agro.policy`), :func:`to_dataset`
labels the outputs and :func:`summarize` gives the seasonal totals. The
entry points (:func:`kit.agro.water_balance`, :func:`kit.agro.schedule`)
and the grid driver (:mod:`kit.agro.gridded`) are built on these.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from kit.agro import fao56
from kit.agro.balance import FIELD_PARAMS, OUTPUTS, water_balance_kernel
from kit.agro.crops import CROPS, SOILS, adjust_kc_for_climate
from kit.agro.evapotranspiration import et0 as compute_et0
from kit.agro.fields import read_fields
from kit.agro.weather import read_weather
from kit.backend import as_backend, to_numpy
from kit.errors import InputDataError, ParameterError

_UNITS = {
    "kc": "1", "etc_mm": "mm/day", "eta_mm": "mm/day", "depletion_mm": "mm", "raw_mm": "mm", "taw_mm": "mm",
    "ks": "1", "zr_m": "m", "irrigation_mm": "mm", "net_irrigation_mm": "mm", "effective_rain_mm": "mm",
    "runoff_mm": "mm", "deep_percolation_mm": "mm", "kcb": "1", "ke": "1", "evaporation_mm": "mm/day",
    "surface_depletion_mm": "mm",
}

__all__ = ["Inputs", "field_parameters", "prepare", "run", "summarize", "to_dataset"]


class Inputs:
    """Checked fields, daily weather on the simulation days, and kernel parameters.

    Built by :func:`prepare`; :func:`kit.agro.water_balance` and
    :func:`kit.agro.schedule` share it so a schedule and its balance see the
    same inputs. ``arrays`` holds per-pixel daily weather (fields, days)
    when the weather is gridded (see :meth:`daily_arrays`).
    """

    def __init__(self, fields, weather, et0_table, times, params, u2, rhmin, arrays=None):
        self.fields = fields
        self.weather = weather
        self.et0 = et0_table
        self.times = times
        self.params = params
        self.u2_ms = u2
        self.rh_min_pct = rhmin
        self.arrays = arrays

    @property
    def n_fields(self):
        return len(self.fields)

    def daily_arrays(self) -> dict:
        """Daily kernel inputs as NumPy arrays, (days,) shared by all fields or (fields, days).

        Keys ``et0_mm, rain_mm, forecast_mm, u2_ms, rh_min_pct``; the
        per-pixel :attr:`arrays` of gridded weather when given.
        """
        if self.arrays is not None:
            return self.arrays
        w = self.weather
        return {
            "et0_mm": self.et0["et0_mm"].to_numpy(float), "rain_mm": w["rain_mm"].to_numpy(float),
            "forecast_mm": w["rain_forecast_mm"].to_numpy(float), "u2_ms": self.u2_ms, "rh_min_pct": self.rh_min_pct,
        }


def _daily_u2_rhmin(weather: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Wind at 2 m (2 m/s when missing) and RHmin (from ea/e°(Tmax) when missing), as pyfao56 does."""
    u = weather["wind_ms"].to_numpy(float)
    u2 = np.where(np.isnan(u), fao56.DEFAULT_WIND_MS, fao56.wind_speed_2m_ms(np.nan_to_num(u), weather["wind_height_m"].to_numpy(float)))
    rhmin = weather["rh_min_pct"].to_numpy(float)
    ea, _ = fao56.actual_vapour_pressure_kpa(weather["tmin_c"].to_numpy(float), weather["tmax_c"].to_numpy(float),
                                            tdew_c=weather["tdew_c"].to_numpy(float))
    estimate = 100.0 * ea / fao56.saturation_vapour_pressure_kpa(weather["tmax_c"].to_numpy(float))
    return u2, np.where(np.isnan(rhmin), estimate, rhmin)


def field_parameters(fields: pd.DataFrame, times: pd.DatetimeIndex, *, crops=None, u2_ms=None, rh_min_pct=None,
                     adjust_kc: bool = True, initial_depletion_fraction: float = 0.0, fw_irrigation: float = 1.0) -> dict:
    """Kernel parameters (one NumPy value per field) from the fields and crop/soil tables.

    With ``adjust_kc``, Kc mid/end and Kcb mid/end are adjusted for climate
    (FAO-56 eq. 62, 65, 70) with the mean u2 and RHmin of each field's mid
    and late stages (days of the weather record that fall in them).
    """
    table = CROPS if crops is None else crops
    c = table.loc[fields["crop"].to_numpy()]
    plant = ((fields["planting_date"] - times[0]).dt.days).to_numpy(float)
    p = {
        "plant_index": plant,
        **{k: c[k].to_numpy(float) for k in ("l_ini", "l_dev", "l_mid", "l_late", "kc_ini", "kc_mid", "kc_end",
                                           "kcb_ini", "kcb_mid", "kcb_end", "height_m", "zr_ini_m", "zr_max_m", "p")},
        "taw_mm_per_m": fields["taw_mm_per_m"].to_numpy(float),
        "irrigation_efficiency": fields["irrigation_efficiency"].to_numpy(float),
        "initial_depletion_fraction": np.full(len(fields), float(initial_depletion_fraction)),
        "fw_irrigation": np.full(len(fields), float(fw_irrigation)),
    }
    soil = fields["soil"].where(fields["soil"].isin(SOILS.index), "loam")  # numeric TAW only: loam surface layer
    s = SOILS.loc[soil.to_numpy()]
    p.update(rew_mm=s["rew_mm"].to_numpy(float), tew_mm=s["tew_mm"].to_numpy(float), cn2=s["cn2"].to_numpy(float))
    if adjust_kc and u2_ms is not None:
        csum_u = np.r_[0.0, np.cumsum(u2_ms)]
        csum_h = np.r_[0.0, np.cumsum(rh_min_pct)]
        n = len(u2_ms)

        def window_mean(first, last):
            a = np.clip(first, 0, n).astype(int)
            b = np.clip(last + 1, 0, n).astype(int)
            count = b - a
            with np.errstate(invalid="ignore", divide="ignore"):
                return (csum_u[b] - csum_u[a]) / count, (csum_h[b] - csum_h[a]) / count, count > 0

        s2 = plant + p["l_ini"] + p["l_dev"]
        s3 = s2 + p["l_mid"]
        for stage, first, last in (("mid", s2, s3 - 1), ("end", s3, s3 + p["l_late"] - 1)):
            u2m, rhm, ok = window_mean(first, last)
            for kind in ("kc", "kcb"):
                key = f"{kind}_{stage}"
                p[key] = np.where(ok, adjust_kc_for_climate(p[key], np.nan_to_num(u2m, nan=2.0), np.nan_to_num(rhm, nan=45.0), p["height_m"]), p[key])
    missing = [k for k in FIELD_PARAMS if k not in p]
    assert not missing, missing
    return p


def prepare(fields, weather, *, start=None, end=None, crops=None, adjust_kc=True, initial_depletion_fraction=0.0,
            fw_irrigation=1.0, et0_method="fao56", krs=0.16, lat_deg=None, elevation_m=None, et0_table=None,
            daily_arrays=None) -> Inputs:
    """Read and check fields and weather, compute ET0, and build the kernel parameters.

    Parameters are those of :func:`kit.agro.water_balance`; ``et0_table``
    (the output of :func:`kit.agro.et0` on the same days) skips the ET0
    computation when it is shared by several calls; ``daily_arrays``
    (per-pixel daily kernel inputs of gridded weather, see
    :meth:`Inputs.daily_arrays`) replace the weather table's in the kernel,
    which then serves the days and the Kc climate adjustment only.
    """
    if not isinstance(fields, pd.DataFrame) or "taw_mm_per_m" not in fields.columns or "value_per_ha" not in fields.columns:
        fields = read_fields(fields, crops=crops)
    if not (isinstance(weather, pd.DataFrame) and "filled" in weather.columns):
        weather = read_weather(weather, lat_deg, elevation_m)
    if start is not None or end is not None:
        weather = weather.loc[pd.Timestamp(start) if start else None: pd.Timestamp(end) if end else None]
    if len(weather) == 0:
        raise InputDataError(f"no weather between {start} and {end}; choose season dates inside the weather record")
    if lat_deg is None and weather.attrs.get("lat_deg") is None and fields["lat_deg"].notna().any():
        lat_deg = float(fields["lat_deg"].dropna().iloc[0])
    if elevation_m is None and weather.attrs.get("elevation_m") is None and fields["elevation_m"].notna().any():
        elevation_m = float(fields["elevation_m"].dropna().iloc[0])
    if et0_table is None:
        et0_table = compute_et0(weather, lat_deg, elevation_m, et0_method, krs=krs)
    else:
        et0_table = et0_table.loc[weather.index]
    times = weather.index
    table = CROPS if crops is None else crops
    season = table.loc[fields["crop"], ["l_ini", "l_dev", "l_mid", "l_late"]].sum(axis=1).to_numpy()
    first, last = times[0], times[-1]
    season_end = fields["planting_date"] + pd.to_timedelta(season - 1, unit="D")
    outside = (season_end < first) | (fields["planting_date"] > last)
    if outside.all():
        raise InputDataError(
            f"no field's growing season overlaps the weather ({first:%Y-%m-%d} to {last:%Y-%m-%d}); check planting_date or the season dates"
        )
    partial = ((fields["planting_date"] < first) | (season_end > last)) & ~outside
    if partial.any():
        warnings.warn(
            f"{int(partial.sum())} field(s) have a season only partly inside {first:%Y-%m-%d}..{last:%Y-%m-%d} "
            f"(e.g. {fields['field_id'][partial].iloc[0]!r}); their seasonal totals and yields cover the simulated days only",
            stacklevel=3,
        )
    fields = fields.assign(ky=table.loc[fields["crop"], "ky"].to_numpy(float))
    u2, rhmin = _daily_u2_rhmin(weather)
    params = field_parameters(fields, times, crops=table, u2_ms=u2, rh_min_pct=rhmin, adjust_kc=adjust_kc,
                              initial_depletion_fraction=initial_depletion_fraction, fw_irrigation=fw_irrigation)
    return Inputs(fields.reset_index(drop=True), weather, et0_table, times, params, u2, rhmin, arrays=daily_arrays)


def run(inputs: Inputs, *, method="single", policy=None, runoff=True, backend=None, outputs=None,
        dtype: str = "float64") -> dict:
    """Run the kernel on ``inputs`` and return NumPy arrays (fields, days).

    ``outputs`` limits the daily variables kept (default all of
    :data:`kit.agro.balance.OUTPUTS`); ``dtype`` ``"float32"`` halves memory
    and time at about 1e-5 mm of depletion (the default float64 reproduces
    earlier results bit for bit).
    """
    if method not in ("single", "dual"):
        raise ParameterError(f"method must be 'single' or 'dual', got {method!r}")
    if dtype not in ("float32", "float64"):
        raise ParameterError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    backend = as_backend(backend)
    np_dtype = np.dtype(dtype)

    def conv(a):
        return backend.asarray(np.asarray(a, dtype=np_dtype))

    params = {k: conv(v) for k, v in inputs.params.items()}
    daily = inputs.daily_arrays()
    forecast = daily["forecast_mm"]
    out = water_balance_kernel(
        conv(daily["et0_mm"]), conv(daily["rain_mm"]), params,
        u2_ms=conv(daily["u2_ms"]), rh_min_pct=conv(daily["rh_min_pct"]),
        forecast_mm=None if forecast is None or np.isnan(forecast).all() else conv(forecast),
        policy=policy if not callable(getattr(policy, "bind", None)) else policy.bind(inputs, backend),
        method=method, runoff=runoff, outputs=outputs,
    )
    return {k: to_numpy(v) for k, v in out.items()}


def to_dataset(inputs: Inputs, out: dict, method: str) -> xr.Dataset:
    """Wrap kernel outputs in a (field, time) Dataset with per-field summaries."""
    f = inputs.fields
    ds = xr.Dataset(coords={"field": f["field_id"].to_numpy(dtype=str), "time": inputs.times.to_numpy()})
    ds["et0_mm"] = ("time", inputs.et0["et0_mm"].to_numpy(float), {"units": "mm/day", "long_name": "FAO-56 reference ET"})
    ds["method"] = ("time", inputs.et0["method"].to_numpy(dtype=str), {"long_name": "ET0 method used that day"})
    ds["rain_mm"] = ("time", inputs.weather["rain_mm"].to_numpy(float), {"units": "mm"})
    for k in OUTPUTS:
        if (method == "single" and k in ("kcb", "ke", "evaporation_mm")) or k not in out:
            continue
        ds[k] = (("field", "time"), out[k], {"units": _UNITS[k]})
    for col in ("crop", "soil"):
        ds[col] = ("field", f[col].fillna("").to_numpy(dtype=str))
    ds["area_ha"] = ("field", f["area_ha"].to_numpy(float), {"units": "ha"})
    ds["irrigation_efficiency"] = ("field", f["irrigation_efficiency"].to_numpy(float))
    ds["ky"] = ("field", f["ky"].to_numpy(float), {"long_name": "FAO-33 seasonal yield response factor"})
    summary = summarize(ds)
    for col in summary.columns.drop(["crop", "area_ha"]):
        ds[col] = ("field", summary[col].to_numpy())
    ds.attrs.update(water_balance_method=method, reference="FAO-56 (Allen et al. 1998)", generator="kit.agro.water_balance")
    return ds


def summarize(ds: xr.Dataset) -> pd.DataFrame:
    """Per-field seasonal totals and FAO-33 relative yield from a water-balance Dataset.

    ``relative_yield = 1 - Ky (1 - ΣETa / ΣETc)`` over the simulated season
    days (FAO-33, FAO-56 eq. 90), limited to 0-1. ``days_under_stress``
    counts days with Ks < 1. Volumes are gross: ``mm × area_ha × 10`` m³.
    """
    eta = ds["eta_mm"].sum("time")
    etc = ds["etc_mm"].sum("time")
    ratio = xr.where(etc > 0, eta / etc.where(etc > 0), 1.0)
    ry = (1.0 - ds["ky"] * (1.0 - ratio)).clip(0.0, 1.0)
    irr = ds["irrigation_mm"].fillna(0.0)
    table = pd.DataFrame({
        "field_id": ds["field"].values,
        "crop": ds["crop"].values,
        "area_ha": ds["area_ha"].values,
        "water_used_mm": irr.sum("time").values,
        "water_used_m3": (irr.sum("time") * ds["area_ha"] * 10.0).values,
        "irrigation_events": (irr > 0).sum("time").values,
        "days_under_stress": (ds["ks"] < 1.0 - 1e-9).sum("time").values,
        "season_eta_mm": eta.values,
        "season_etc_mm": etc.values,
        "season_rain_mm": ds["effective_rain_mm"].sum("time").values + ds["runoff_mm"].sum("time").values,
        "season_deep_percolation_mm": ds["deep_percolation_mm"].sum("time").values,
        "relative_yield": ry.values,
    })
    return table.set_index("field_id")
