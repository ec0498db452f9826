"""``et0``: reference evapotranspiration for a weather table or a gridded Dataset."""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from kit.agro import fao56
from kit.agro.weather import read_weather
from kit.backend import as_backend, to_numpy
from kit.errors import InputDataError, ParameterError

_KERNEL_INPUTS = ("rs_mj_m2", "sunshine_h", "tdew_c", "rh_min_pct", "rh_max_pct", "rh_mean_pct", "wind_ms")

__all__ = ["et0", "method_labels"]


def method_labels(out: dict) -> np.ndarray:
    """One label per day from :func:`kit.agro.fao56.et0_kernel`'s source codes.

    ``"penman-monteith"`` when radiation, humidity and wind were all measured
    (radiation from ``rs_mj_m2`` or ``sunshine_h``), ``"penman-monteith
    (missing data)"`` when FAO-56's missing-data rules replaced any of them,
    ``"hargreaves-samani"`` where eq. 52 was used.
    """
    hs = to_numpy(out["hargreaves"]).astype(bool)
    missing = (to_numpy(out["rs_source"]) == 2) | (to_numpy(out["ea_source"]) == 4) | (to_numpy(out["u2_source"]) == 1)
    labels = np.where(missing, "penman-monteith (missing data)", "penman-monteith")
    return np.where(hs, "hargreaves-samani", labels).astype(object)


def et0(weather, lat_deg=None, elevation_m=None, et0_method: str = "fao56", *, krs: float = 0.16, backend=None):
    """Daily FAO-56 reference evapotranspiration with the method used per day.

    Parameters
    ----------
    weather : pandas.DataFrame, str/path of a CSV, or xarray.Dataset
        Columns (or variables) of the weather contract (see
        :func:`kit.agro.read_weather`). A Dataset has a ``time`` dimension
        and any others (``field`` or ``y, x``); variables missing from it
        count as missing data.
    lat_deg : float or array, degrees north, optional
        Overrides the ``lat_deg`` column / variable.
    elevation_m : float or array, m, optional
        Overrides the ``elevation_m`` column / variable.
    et0_method : {"fao56", "fao56+hs", "hargreaves"}
        See :func:`kit.agro.fao56.et0_kernel`.
    krs : float
        Hargreaves radiation coefficient: 0.16 interior, 0.19 coastal sites.
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}
        Where the kernels run: the notebook's Backend, or a device to resolve.

    Returns
    -------
    pandas.DataFrame or xarray.Dataset
        ``et0_mm`` (mm/day), ``method`` (label per day), ``rs_source``,
        ``ea_source``, ``u2_source`` (which data each day used), ``rs_mj_m2``
        and ``rn_mj_m2`` (MJ m-2 day-1).

    Examples
    --------
    >>> import pandas as pd
    >>> w = pd.DataFrame({"date": ["2024-07-01"], "tmin_c": [20.0], "tmax_c": [36.0]})
    >>> out = et0(w, lat_deg=31.6, elevation_m=466)
    >>> round(float(out["et0_mm"].iloc[0]), 2), out["method"].iloc[0]
    (6.56, 'penman-monteith (missing data)')
    """
    backend = as_backend(backend)
    if isinstance(weather, xr.Dataset):
        return _et0_dataset(weather, lat_deg, elevation_m, et0_method, krs, backend)
    if not (isinstance(weather, pd.DataFrame) and "filled" in weather.columns):
        weather = read_weather(weather, lat_deg, elevation_m)
    lat = lat_deg if lat_deg is not None else weather.attrs.get("lat_deg")
    elev = elevation_m if elevation_m is not None else weather.attrs.get("elevation_m")
    if lat is None or (isinstance(lat, float) and np.isnan(lat)):
        raise ParameterError("lat_deg is unknown: give lat_deg=... (degrees north) or a lat_deg column in the weather file")
    if (elev is None or (isinstance(elev, float) and np.isnan(elev))) and et0_method != "hargreaves":
        raise ParameterError("elevation_m is unknown: give elevation_m=... (m) or an elevation_m column in the weather file")
    doy = weather.index.day_of_year.to_numpy(dtype=float)
    arrays = {c: backend.asarray(weather[c].to_numpy(dtype=float)) for c in _KERNEL_INPUTS if weather[c].notna().any()}
    out = fao56.et0_kernel(
        backend.asarray(weather["tmin_c"].to_numpy(dtype=float)),
        backend.asarray(weather["tmax_c"].to_numpy(dtype=float)),
        backend.asarray(doy),
        float(lat),
        None if elev is None else float(elev),
        wind_height_m=backend.asarray(weather["wind_height_m"].to_numpy(dtype=float)),
        krs=krs,
        et0_method=et0_method,
        **arrays,
    )
    return pd.DataFrame(
        {
            "et0_mm": to_numpy(out["et0_mm"]),
            "method": method_labels(out),
            "rs_source": np.asarray(fao56.RS_SOURCES, dtype=object)[to_numpy(out["rs_source"]).astype(int)],
            "ea_source": np.asarray(fao56.EA_SOURCES, dtype=object)[to_numpy(out["ea_source"]).astype(int)],
            "u2_source": np.asarray(fao56.U2_SOURCES, dtype=object)[to_numpy(out["u2_source"]).astype(int)],
            "rs_mj_m2": to_numpy(out["rs_mj_m2"]),
            "rn_mj_m2": to_numpy(out["rn_mj_m2"]),
        },
        index=weather.index,
    )


def _et0_dataset(ds: xr.Dataset, lat_deg, elevation_m, et0_method, krs, backend) -> xr.Dataset:
    if "time" not in ds.dims:
        raise InputDataError("weather Dataset has no 'time' dimension; name the daily dimension 'time'")
    for name in ("tmin_c", "tmax_c"):
        if name not in ds:
            raise InputDataError(f"weather Dataset has no variable {name!r}; variables are {', '.join(map(str, ds.data_vars))}")
    if bool((ds["tmax_c"] < ds["tmin_c"]).any()):
        raise InputDataError("weather Dataset: tmax_c < tmin_c somewhere; check for swapped variables")
    template = (ds["tmin_c"] + ds["tmax_c"]).transpose(..., "time")
    dims = template.dims

    def arr(v):
        if isinstance(v, xr.DataArray):
            v = v.broadcast_like(template).transpose(*dims)
            return backend.asarray(np.asarray(v.values, dtype=float))
        return float(v)

    lat = lat_deg if lat_deg is not None else ds.get("lat_deg")
    elev = elevation_m if elevation_m is not None else ds.get("elevation_m")
    if lat is None:
        raise ParameterError("lat_deg is unknown: pass lat_deg=... or give the Dataset a lat_deg variable or coordinate")
    if elev is None and et0_method != "hargreaves":
        raise ParameterError("elevation_m is unknown: pass elevation_m=... or give the Dataset an elevation_m variable")
    doy = xr.DataArray(ds["time"].dt.dayofyear.astype(float), dims="time")
    optional = {c: arr(ds[c]) for c in _KERNEL_INPUTS if c in ds}
    height = arr(ds["wind_height_m"]) if "wind_height_m" in ds else 2.0
    out = fao56.et0_kernel(
        arr(ds["tmin_c"]), arr(ds["tmax_c"]), arr(doy), arr(lat), None if elev is None else arr(elev),
        wind_height_m=height, krs=krs, et0_method=et0_method, **optional,
    )
    coords = template.coords
    result = xr.Dataset(coords=coords)
    result["et0_mm"] = (dims, to_numpy(out["et0_mm"]), {"units": "mm/day", "long_name": "FAO-56 reference evapotranspiration"})
    result["method"] = (dims, method_labels(out))
    for key, names in (("rs_source", fao56.RS_SOURCES), ("ea_source", fao56.EA_SOURCES), ("u2_source", fao56.U2_SOURCES)):
        result[key] = (dims, to_numpy(out[key]).astype(np.int8), {"flag_values": list(range(len(names))), "flag_meanings": " ".join(names)})
    return result


