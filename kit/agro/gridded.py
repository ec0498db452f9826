"""Gridded fields: every pixel of a perimeter planned at once, chunk by chunk.

The gridded contract (see ``datasets/irrigation/README.md``): a NetCDF
(``.nc``) or multi-band GeoTIFF (``.tif``) or an :class:`xarray.Dataset` with
dims ``(y, x)`` holding, per pixel,

- ``crop``: crop names (NetCDF strings, ``""`` = not a field) or integer
  codes, 0 = not a field, else :data:`CROP_CODES` (or the file's CF
  ``flag_values``/``flag_meanings`` attributes);
- ``soil`` (names or :data:`SOIL_CODES`) and/or ``taw_mm_per_m`` (the number wins);
- ``planting_date``: datetime64 or an integer ``YYYYMMDD``;
- optional ``irrigation_efficiency`` (0-1, default 1), ``value_per_ha``
  (default 1), ``area_ha`` (default: the pixel area from the transform),
  ``lat_deg``, ``elevation_m`` (variables or Dataset attributes).

A GeoTIFF names its bands by their descriptions (``crop``, ``soil``,
``planting_date``, ...). CRS and transform come from the ``spatial_ref``
coordinate (:mod:`kit.raster.georef`) or the GeoTIFF, and are kept on the
results.

Weather is one station's table (shared by all pixels) or an
:class:`xarray.Dataset` / NetCDF with the weather contract's variable names
and dims ``(time,)`` or ``(y, x, time)`` on the fields' grid.

The valid pixels of each block of rows are flattened onto the vectorized
field axis of :func:`kit.agro.balance.water_balance_kernel` and the results
are put back on the grid; a Dask-backed (chunked) input is read one chunk of
rows at a time, so fields and weather larger than memory stream through.
Seasonal maps are kept in memory (one value per pixel); daily variables only
when asked for (``daily=``).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from kit.agro import fao56
from kit.agro.crops import CROPS, SOILS
from kit.agro.evapotranspiration import et0 as compute_et0
from kit.agro.model import prepare, run
from kit.agro.schedule import STRATEGIES, _Policy, allocate_quota
from kit.agro.weather import read_weather
from kit.errors import InputDataError, ParameterError
from kit.io import atomic_path

#: Integer crop codes of gridded files (0 = not a field).
CROP_CODES = {i + 1: name for i, name in enumerate(CROPS.index)}
#: Integer soil codes of gridded files (0 = unknown).
SOIL_CODES = {i + 1: name for i, name in enumerate(SOILS.index)}
#: Seasonal maps of a gridded run, (y, x).
MAPS = ("seasonal_irrigation_mm", "water_used_m3", "irrigation_events", "days_under_stress", "season_eta_mm",
        "season_etc_mm", "season_rain_mm", "relative_yield")
#: Daily variables a gridded run can keep, (y, x, time).
DAILY = ("et0_mm", "rain_mm", "etc_mm", "eta_mm", "depletion_mm", "raw_mm", "taw_mm", "ks", "irrigation_mm",
         "effective_rain_mm", "runoff_mm", "deep_percolation_mm")
_NEEDED = ("etc_mm", "eta_mm", "ks", "irrigation_mm", "effective_rain_mm", "runoff_mm")
_WEATHER_VARS = ("tmin_c", "tmax_c", "rh_min_pct", "rh_max_pct", "rh_mean_pct", "tdew_c", "wind_ms", "rs_mj_m2",
                 "sunshine_h", "rain_mm", "rain_forecast_mm")

__all__ = ["CROP_CODES", "SOIL_CODES", "MAPS", "DAILY", "GridPlan", "is_gridded", "read_fields_grid", "run_grid"]


def is_gridded(obj) -> bool:
    """True for an xarray Dataset with ``y``/``x`` dims or a ``.nc``/``.tif``/``.tiff`` path."""
    if isinstance(obj, xr.Dataset):
        return "y" in obj.dims and "x" in obj.dims
    if isinstance(obj, (str, Path)):
        return Path(obj).suffix.lower() in (".nc", ".tif", ".tiff")
    return False


class _Band:
    """One GeoTIFF band as a lazy array: Dask reads only the windows it needs."""

    def __init__(self, path, index, shape, dtype):
        self.path, self.index, self.shape, self.dtype, self.ndim = str(path), index, shape, np.dtype(dtype), 2

    def __getitem__(self, key):
        import rasterio
        from rasterio.windows import Window

        rows, cols = key if isinstance(key, tuple) else (key, slice(None))
        r0, r1, _ = rows.indices(self.shape[0])
        c0, c1, _ = cols.indices(self.shape[1])
        with rasterio.open(self.path) as src:
            return src.read(self.index, window=Window(c0, r0, max(c1 - c0, 0), max(r1 - r0, 0)))


def _read_geotiff(path: Path, chunks) -> xr.Dataset:
    import dask.array as da
    import rasterio

    from kit.raster.georef import set_georef

    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputDataError(f"{path} is not a readable GeoTIFF ({exc}); export the fields raster as GeoTIFF") from None
    with src:
        names = [d or f"band{i + 1}" for i, d in enumerate(src.descriptions)]
        t = src.transform
        x = t.c + t.a * (np.arange(src.width) + 0.5)
        y = t.f + t.e * (np.arange(src.height) + 0.5)
        ds = xr.Dataset(coords={"y": y, "x": x})
        rows = chunks.get("y", src.height) if isinstance(chunks, dict) else src.height
        for i, (name, dtype) in enumerate(zip(names, src.dtypes), start=1):
            band = _Band(path, i, (src.height, src.width), dtype)
            data = da.from_array(band, chunks=(rows, src.width)) if chunks else band[:, :]
            ds[name] = (("y", "x"), data)
        ds.attrs.update({k: float(v) for k, v in src.tags().items() if k in ("lat_deg", "elevation_m")})
        if src.crs is not None:
            ds = set_georef(ds, src.crs, t)
    return ds


def read_fields_grid(path_or_ds, *, chunks=None) -> xr.Dataset:
    """Open a gridded fields file (or check a Dataset) against the gridded contract.

    Parameters
    ----------
    path_or_ds : str, path or xarray.Dataset
        ``.nc`` (NetCDF) or ``.tif``/``.tiff`` (bands named by description).
    chunks : dict, optional
        Dask chunks, e.g. ``{"y": 512}``: the file is read lazily, block by
        block, by :func:`run_grid`.

    Returns
    -------
    xarray.Dataset
        Dims ``(y, x)``, the file's variables, ``spatial_ref`` when known.

    Raises
    ------
    kit.errors.InputDataError
        Missing file or variable, wrong dims.

    Examples
    --------
    >>> from kit.agro.datasets import perimeter
    >>> grid = read_fields_grid(perimeter(size=20))
    >>> dict(grid.sizes)
    {'y': 20, 'x': 20}
    """
    if isinstance(path_or_ds, xr.Dataset):
        ds, source = path_or_ds, "fields grid"
    else:
        path = Path(path_or_ds)
        source = str(path)
        if not path.exists():
            raise InputDataError(f"fields file {path} does not exist; give a NetCDF or GeoTIFF with crop, soil, planting_date per pixel")
        if path.suffix.lower() == ".nc":
            try:
                ds = xr.open_dataset(path, chunks=chunks)
            except (OSError, ValueError) as exc:
                raise InputDataError(f"{path} is not a readable NetCDF ({str(exc).splitlines()[0]})") from None
        else:
            ds = _read_geotiff(path, chunks)
    if "y" not in ds.dims or "x" not in ds.dims:
        raise InputDataError(f"{source}: dims are {tuple(ds.dims)}; a fields grid has dims (y, x)")
    missing = [v for v in ("crop", "planting_date") if v not in ds]
    if "soil" not in ds and "taw_mm_per_m" not in ds:
        missing.append("soil (or taw_mm_per_m)")
    if missing:
        raise InputDataError(f"{source}: missing variable(s) {', '.join(missing)}; variables are {', '.join(map(str, ds.data_vars))}")
    for name in ds.data_vars:
        if set(ds[name].dims) - {"y", "x"}:
            raise InputDataError(f"{source}, variable {name}: dims {ds[name].dims}; fields variables have dims (y, x)")
    ds.attrs.setdefault("source", source)
    return ds


def _codes_to_names(values: np.ndarray, var: xr.DataArray, default: dict, table_index, what: str, source: str):
    """Names per pixel ('' where not a field) from strings or integer codes."""
    if values.dtype.kind in "US" or values.dtype == object:
        names = np.char.lower(np.char.strip(values.astype(str)))
        names = np.char.replace(np.char.replace(names, "-", "_"), " ", "_")
        names = np.where(np.isin(names, ["", "nan", "none"]), "", names)
    else:
        codes = default
        if "flag_values" in var.attrs and "flag_meanings" in var.attrs:
            codes = dict(zip(np.atleast_1d(var.attrs["flag_values"]).tolist(), str(var.attrs["flag_meanings"]).split()))
        v = np.nan_to_num(values.astype(float), nan=0.0).astype(np.int64)
        lookup = np.full(max(max(codes, default=0), int(v.max(initial=0))) + 1, "?", dtype=object)
        lookup[0] = ""
        for code, name in codes.items():
            lookup[int(code)] = "" if str(name).lower() in ("none", "nodata", "no_field") else name
        names = lookup[np.clip(v, 0, None)].astype(str)
    bad = (names != "") & ~np.isin(names, list(table_index))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputDataError(
            f"{source}, variable {what}, pixel (row {r}, col {c}): unknown {what} {np.asarray(values[r, c]).item()!r}; "
            f"codes are {', '.join(f'{k} {n}' for k, n in default.items())} (0 = not a field)"
        )
    return names


def _planting(values: np.ndarray, source: str) -> np.ndarray:
    if np.issubdtype(values.dtype, np.datetime64):
        return values.astype("datetime64[D]")
    v = np.nan_to_num(values.astype(float), nan=0.0).astype(np.int64)
    out = np.full(v.shape, np.datetime64("NaT"), dtype="datetime64[D]")
    ok = v > 0
    if ok.any():
        parsed = pd.to_datetime(pd.Series(v[ok].astype(str)), format="%Y%m%d", errors="coerce")
        if parsed.isna().any():
            i = int(np.flatnonzero(parsed.isna())[0])
            raise InputDataError(f"{source}, variable planting_date: {v[ok][i]} is not a date; write YYYYMMDD integers or datetime64")
        out[ok] = parsed.to_numpy().astype("datetime64[D]")
    return out


def _pixel_area_ha(grid: xr.Dataset) -> float | None:
    from kit.raster.georef import get_transform

    t = get_transform(grid)
    if t is None:
        return None
    return abs(t.a * t.e - t.b * t.d) / 1e4


def _site_value(name, given, grid, weather_grid):
    if given is not None:
        return given
    for ds in (grid, weather_grid):
        if ds is None:
            continue
        if name in ds.attrs:
            return float(ds.attrs[name])
    return None


def _block_fields(blk: xr.Dataset, grid: xr.Dataset, rows: slice, area_default, crops, lat, elev):
    """Validated fields table (the contract of read_fields) for the valid pixels of one block, and their indices."""
    source = grid.attrs.get("source", "fields grid")
    crop = _codes_to_names(np.asarray(blk["crop"].values), blk["crop"], CROP_CODES, crops.index, "crop", source)
    planting = _planting(np.asarray(blk["planting_date"].values), source)
    valid = (crop != "") & ~np.isnat(planting)
    soil = (_codes_to_names(np.asarray(blk["soil"].values), blk["soil"], SOIL_CODES, SOILS.index, "soil", source)
            if "soil" in blk else np.full(crop.shape, "", dtype=str))
    taw = np.asarray(blk["taw_mm_per_m"].values, float) if "taw_mm_per_m" in blk else np.full(crop.shape, np.nan)
    from_soil = SOILS["taw_mm_per_m"].reindex(pd.Index(soil.ravel())).to_numpy(float).reshape(soil.shape)
    taw = np.where(np.isnan(taw), from_soil, taw)
    no_taw = valid & np.isnan(taw)
    if no_taw.any():
        r, c = np.argwhere(no_taw)[0]
        raise InputDataError(f"{source}, pixel (row {rows.start + r}, col {c}): no soil and no taw_mm_per_m; give one of them for every field pixel")
    bad = valid & ~((taw >= 20) & (taw <= 400))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputDataError(f"{source}, variable taw_mm_per_m, pixel (row {rows.start + r}, col {c}): {taw[r, c]:g} mm/m is outside 20-400")

    def var(name, default):
        if name in blk:
            return np.asarray(blk[name].values, float)
        return np.full(crop.shape, np.nan if default is None else default, dtype=float)

    area = var("area_ha", area_default)
    eff = var("irrigation_efficiency", 1.0)
    eff = np.where(np.isnan(eff), 1.0, eff)
    for name, values, ok in (("area_ha", area, area > 0), ("irrigation_efficiency", eff, (eff > 0) & (eff <= 1))):
        bad = valid & ~ok
        if bad.any():
            r, c = np.argwhere(bad)[0]
            hint = "give area_ha or a projected CRS with a transform" if name == "area_ha" else "a fraction in (0, 1]"
            raise InputDataError(f"{source}, variable {name}, pixel (row {rows.start + r}, col {c}): {values[r, c]:g} is invalid; {hint}")
    value = var("value_per_ha", 1.0)
    iy, ix = np.nonzero(valid)
    gy = iy + rows.start
    table = pd.DataFrame({
        "field_id": [f"r{r}c{c}" for r, c in zip(gy, ix)],
        "crop": crop[iy, ix],
        "planting_date": pd.DatetimeIndex(planting[iy, ix]),
        "area_ha": area[iy, ix],
        "soil": pd.Series(soil[iy, ix]).replace("", None).to_numpy(dtype=object),
        "taw_mm_per_m": taw[iy, ix],
        "lat_deg": var("lat_deg", lat)[iy, ix],
        "elevation_m": var("elevation_m", elev)[iy, ix],
        "irrigation_efficiency": eff[iy, ix],
        "value_per_ha": np.where(np.isnan(value[iy, ix]), 1.0, value[iy, ix]),
    })
    return table, iy, ix


def _open_weather(weather, lat_deg, elevation_m):
    """(station table or None, gridded Dataset or None)."""
    if isinstance(weather, xr.Dataset):
        return None, weather
    if isinstance(weather, (str, Path)) and Path(weather).suffix.lower() == ".nc":
        path = Path(weather)
        if not path.exists():
            raise InputDataError(f"weather file {path} does not exist; give a CSV or a NetCDF with the weather variables")
        return None, xr.open_dataset(path, chunks={})
    if isinstance(weather, pd.DataFrame) and "filled" in weather.columns:
        return weather, None
    return read_weather(weather, lat_deg, elevation_m), None


def _gridded_daily(wblk: xr.Dataset, iy, ix, times, lat, elev, krs, et0_method, dtype):
    """Per-pixel daily arrays (fields, days) and a block-mean weather table for the Kc climate adjustment."""
    missing = [v for v in ("tmin_c", "tmax_c") if v not in wblk]
    if missing:
        raise InputDataError(f"gridded weather has no variable {', '.join(missing)}; use the weather contract's names (tmin_c, tmax_c, ...)")
    n = len(iy)

    def pix(name):
        if name not in wblk:
            return None
        da = wblk[name].sel(time=times)
        if "y" in da.dims:
            values = np.asarray(da.transpose("y", "x", "time").values, dtype=dtype)[iy, ix]
        else:
            values = np.broadcast_to(np.asarray(da.values, dtype=dtype), (n, len(times)))
        return values

    arr = {name: pix(name) for name in _WEATHER_VARS}
    if np.any(arr["tmax_c"] < arr["tmin_c"]):
        raise InputDataError("gridded weather: tmax_c < tmin_c on some pixel and day; check for swapped variables")
    height = float(wblk.attrs.get("wind_height_m", 2.0))
    if "wind_height_m" in wblk:
        height = float(np.nanmean(np.asarray(wblk["wind_height_m"].values)))
    doy = np.asarray(times.day_of_year, dtype=dtype)
    lat_arr = np.asarray(lat, dtype=dtype).reshape(-1, 1) if np.ndim(lat) else float(lat)
    elev_arr = None if elev is None else (np.asarray(elev, dtype=dtype).reshape(-1, 1) if np.ndim(elev) else float(elev))
    opt = {k: arr[k] for k in ("rs_mj_m2", "sunshine_h", "tdew_c", "rh_min_pct", "rh_max_pct", "rh_mean_pct", "wind_ms") if arr[k] is not None}
    out = fao56.et0_kernel(arr["tmin_c"], arr["tmax_c"], doy, lat_arr, elev_arr, wind_height_m=height, krs=krs,
                           et0_method=et0_method, **opt)
    u2 = np.asarray(out["u2_ms"]) if et0_method != "hargreaves" else np.full((n, len(times)), fao56.DEFAULT_WIND_MS, dtype)
    ea = np.asarray(out["ea_kpa"])
    if et0_method == "hargreaves":
        ea, _ = fao56.actual_vapour_pressure_kpa(arr["tmin_c"], arr["tmax_c"])
    rhmin = 100.0 * ea / fao56.saturation_vapour_pressure_kpa(arr["tmax_c"])
    if arr["rh_min_pct"] is not None:
        rhmin = np.where(np.isnan(arr["rh_min_pct"]), rhmin, arr["rh_min_pct"])
    zeros = np.zeros((n, len(times)), dtype)
    daily = {
        "et0_mm": np.asarray(out["et0_mm"]), "rain_mm": zeros if arr["rain_mm"] is None else np.nan_to_num(arr["rain_mm"]),
        "forecast_mm": None if arr["rain_forecast_mm"] is None else arr["rain_forecast_mm"], "u2_ms": u2, "rh_min_pct": rhmin,
    }
    # Block-mean weather: the days of the record and the wind/RHmin of the Kc climate adjustment (eq. 62).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        wind = np.full(len(times), np.nan) if arr["wind_ms"] is None else np.nanmean(arr["wind_ms"], axis=0)
    mean = pd.DataFrame({"date": times.strftime("%Y-%m-%d"), "tmin_c": arr["tmin_c"].mean(0), "tmax_c": arr["tmax_c"].mean(0),
                         "rh_min_pct": rhmin.mean(0), "wind_ms": wind, "wind_height_m": height,
                         "rain_mm": daily["rain_mm"].mean(0)})
    return daily, mean


def _season_summary(out: dict, ky: np.ndarray) -> dict:
    """:func:`kit.agro.model.summarize` on kernel arrays (fields, days): totals and FAO-33 relative yield."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        eta = np.nansum(out["eta_mm"], axis=1, dtype=float)
        etc = np.nansum(out["etc_mm"], axis=1, dtype=float)
        ratio = np.where(etc > 0, eta / np.where(etc > 0, etc, 1.0), 1.0)
    irr = np.nan_to_num(out["irrigation_mm"])
    return {
        "seasonal_irrigation_mm": irr.sum(1, dtype=float),
        "irrigation_events": (irr > 0).sum(1),
        "days_under_stress": (np.nan_to_num(out["ks"], nan=1.0) < 1.0 - 1e-6).sum(1),
        "season_eta_mm": eta, "season_etc_mm": etc,
        "season_rain_mm": np.nansum(out["effective_rain_mm"], axis=1, dtype=float) + np.nansum(out["runoff_mm"], axis=1, dtype=float),
        "relative_yield": np.clip(1.0 - ky * (1.0 - ratio), 0.0, 1.0),
    }


def _row_blocks(grid: xr.Dataset, chunk_pixels: int):
    ny, nx = grid.sizes["y"], grid.sizes["x"]
    chunks = grid.chunks.get("y") if grid.chunks else None
    if chunks:
        start = 0
        for size in chunks:
            yield slice(start, start + size)
            start += size
        return
    rows = max(1, chunk_pixels // max(nx, 1))
    for start in range(0, ny, rows):
        yield slice(start, min(start + rows, ny))


@dataclass
class GridPlan:
    """A gridded water balance or schedule: seasonal maps, optional daily cubes, per-pixel summary.

    Attributes
    ----------
    balance : xarray.Dataset
        ``(y, x)`` maps :data:`MAPS` plus ``crop`` and ``area_ha``;
        ``(y, x, time)`` daily variables asked for; ``spatial_ref`` kept.
    strategy : str or None
    """

    balance: xr.Dataset
    strategy: str | None

    @property
    def summary(self) -> pd.DataFrame:
        """One row per field pixel (``field_id`` ``r<row>c<col>``), the columns of :func:`kit.agro.summarize`."""
        ds = self.balance
        valid = np.asarray(ds["crop"].values) != ""
        iy, ix = np.nonzero(valid)
        table = pd.DataFrame({
            "field_id": [f"r{r}c{c}" for r, c in zip(iy, ix)],
            "crop": ds["crop"].values[iy, ix], "area_ha": ds["area_ha"].values[iy, ix],
            "water_used_mm": ds["seasonal_irrigation_mm"].values[iy, ix], "water_used_m3": ds["water_used_m3"].values[iy, ix],
            **{k: ds[k].values[iy, ix] for k in ("irrigation_events", "days_under_stress", "season_eta_mm", "season_etc_mm",
                                                 "season_rain_mm", "relative_yield")},
        })
        return table.set_index("field_id")

    @property
    def table(self) -> pd.DataFrame:
        """Irrigation events ``field_id, date, depth_mm, volume_m3`` (needs daily ``irrigation_mm``)."""
        ds = self.balance
        if "irrigation_mm" not in ds:
            return pd.DataFrame(columns=["field_id", "date", "depth_mm", "volume_m3"])
        irr = np.nan_to_num(np.asarray(ds["irrigation_mm"].transpose("y", "x", "time").values))
        iy, ix, it = np.nonzero(irr > 1e-9)
        depth = irr[iy, ix, it]
        return pd.DataFrame({
            "field_id": [f"r{r}c{c}" for r, c in zip(iy, ix)], "date": pd.DatetimeIndex(ds["time"].values[it]),
            "depth_mm": depth, "volume_m3": depth * ds["area_ha"].values[iy, ix] * 10.0,
        }).sort_values(["date", "field_id"], kind="stable").reset_index(drop=True)

    @property
    def water_used_m3(self) -> float:
        return float(np.nansum(self.balance["water_used_m3"].values))

    @property
    def relative_yield(self) -> float:
        """Area-weighted mean relative yield over the field pixels."""
        ds = self.balance
        area = np.where(np.asarray(ds["crop"].values) != "", ds["area_ha"].values, 0.0)
        return float(np.nansum(ds["relative_yield"].values * area) / area.sum())

    def fields_view(self, field_ids) -> xr.Dataset:
        """Daily variables of a few pixels on a ``field`` dim, like the tabular balance."""
        ds = self.balance
        rows = [tuple(int(v) for v in fid[1:].split("c")) for fid in field_ids]
        parts = [ds.isel(y=r, x=c).drop_vars(["y", "x", "spatial_ref"], errors="ignore") for r, c in rows]
        return xr.concat(parts, dim=pd.Index(list(field_ids), name="field"))

    def write(self, output_dir) -> dict:
        """Write ``seasonal_irrigation_mm.tif``, ``relative_yield.tif`` (GeoTIFF, CRS kept), ``water_balance.nc``,
        ``fields_summary.csv`` and ``schedule.csv`` atomically."""
        from kit.raster.io import write_geotiff

        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        ds = self.balance
        paths = {}
        if "spatial_ref" in ds.coords:
            for name in ("seasonal_irrigation_mm", "relative_yield"):
                da = ds[name].astype(np.float32)
                da.name = name
                paths[name] = write_geotiff(da, out / f"{name}.tif")
        paths["water_balance"] = out / "water_balance.nc"
        with atomic_path(paths["water_balance"]) as tmp:
            ds.to_netcdf(tmp)
        paths["fields_summary"] = out / "fields_summary.csv"
        with atomic_path(paths["fields_summary"]) as tmp:
            self.summary.to_csv(tmp)
        paths["schedule"] = out / "schedule.csv"
        with atomic_path(paths["schedule"]) as tmp:
            self.table.to_csv(tmp, index=False, date_format="%Y-%m-%d")
        return paths


def run_grid(fields, weather, strategy: str | None = None, *, quota_m3=None, quota_mm=None, daily=(), start=None, end=None,
             crops=None, adjust_kc: bool = True, runoff: bool = True, initial_depletion_fraction: float = 0.0,
             fw_irrigation: float = 1.0, et0_method: str = "fao56", krs: float = 0.16, lat_deg=None, elevation_m=None,
             method: str = "single", device: str = "cpu", dtype: str = "float32", chunk_pixels: int = 262_144,
             chunks=None, **policy_options) -> GridPlan:
    """Water balance (``strategy=None``, rainfed) or a schedule for every field pixel of a grid.

    Called by :func:`kit.agro.water_balance` and :func:`kit.agro.schedule`
    when ``fields`` is gridded; parameters are theirs, plus:

    Parameters
    ----------
    daily : sequence of str
        Daily variables to keep as ``(y, x, time)`` (names in :data:`DAILY`);
        default none: seasonal maps only, so large grids fit in memory.
    dtype : {"float32", "float64"}
        Precision of the kernels (float32: half the memory, ~1e-5 mm).
    chunk_pixels : int
        Pixels per block when the input is not chunked already.
    chunks : dict, optional
        Dask chunks to open a gridded file with, e.g. ``{"y": 256}``.

    Returns
    -------
    GridPlan

    Examples
    --------
    >>> from kit.agro.datasets import perimeter, weather
    >>> plan = run_grid(perimeter(size=12), weather("marrakech", seasons=1), "mad")
    >>> sorted(plan.balance["seasonal_irrigation_mm"].dims), plan.balance["spatial_ref"].attrs["epsg"]
    (['x', 'y'], 32629)
    """
    if strategy is not None and strategy not in STRATEGIES:
        raise ParameterError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if policy_options.get("capacity_m3_day") is not None:
        raise ParameterError("capacity_m3_day is not supported for gridded fields (the daily capacity couples all pixels); "
                             "give the fields as a table, or plan without a capacity")
    unknown = [k for k in daily if k not in DAILY]
    if unknown:
        raise ParameterError(f"unknown daily variable(s) {', '.join(unknown)}; choose from {', '.join(DAILY)}")
    grid = read_fields_grid(fields, chunks=chunks)
    table_crops = CROPS if crops is None else crops
    station, wgrid = _open_weather(weather, lat_deg, elevation_m)
    lat = _site_value("lat_deg", lat_deg, grid, wgrid)
    elev = _site_value("elevation_m", elevation_m, grid, wgrid)
    if station is not None:
        lat = lat if lat is not None else station.attrs.get("lat_deg")
        elev = elev if elev is not None else station.attrs.get("elevation_m")
        times = station.loc[pd.Timestamp(start) if start else None: pd.Timestamp(end) if end else None].index
    else:
        times = pd.DatetimeIndex(wgrid["time"].values)
        times = times[(times >= pd.Timestamp(start)) if start else slice(None)]
        times = times[(times <= pd.Timestamp(end)) if end else slice(None)]
    if len(times) == 0:
        raise InputDataError(f"no weather between {start} and {end}; choose season dates inside the weather record")
    area_default = _pixel_area_ha(grid)
    ny, nx, nt = grid.sizes["y"], grid.sizes["x"], len(times)
    maps = {k: np.full((ny, nx), np.nan, dtype=np.float32) for k in MAPS}
    crop_map = np.full((ny, nx), "", dtype=object)
    area_map = np.full((ny, nx), np.nan, dtype=np.float32)
    cubes = {k: np.full((ny, nx, nt), np.nan, dtype=np.float32) for k in daily}
    prep_options = dict(crops=crops, adjust_kc=adjust_kc, initial_depletion_fraction=initial_depletion_fraction,
                        fw_irrigation=fw_irrigation, et0_method=et0_method, krs=krs, lat_deg=lat, elevation_m=elev)
    keep = tuple(dict.fromkeys(_NEEDED + tuple(k for k in daily if k not in ("et0_mm", "rain_mm"))))
    use_forecast = policy_options.get("use_forecast", True)
    station_et0 = None
    if station is not None:
        station_et0 = compute_et0(station.loc[times[0]:times[-1]], lat, elev, et0_method, krs=krs)

    def blocks():
        """Yield (rows, fields table, iy, ix, Inputs) for every block with field pixels."""
        partial = 0
        for rows in _row_blocks(grid, chunk_pixels):
            blk = grid.isel(y=rows).load()
            table, iy, ix = _block_fields(blk, grid, rows, area_default, table_crops, lat, elev)
            if table.empty:
                continue
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if station is not None:
                    try:
                        inputs = prepare(table, station.loc[times[0]:times[-1]], **prep_options, et0_table=station_et0)
                    except InputDataError as exc:
                        if "no field's growing season" in str(exc):
                            continue  # a block whose fields all grow outside the window: nothing to simulate
                        raise
                else:
                    wblk = wgrid.isel(y=rows) if "y" in wgrid.dims else wgrid
                    wblk = wblk.sel(time=times).load()
                    arrays, mean = _gridded_daily(wblk, iy, ix, times, table["lat_deg"].to_numpy() if lat is None else lat,
                                                  table["elevation_m"].to_numpy() if elev is None else elev, krs, et0_method,
                                                  np.float32 if dtype == "float32" else np.float64)
                    site = {"lat_deg": lat if lat is not None else float(np.nanmean(table["lat_deg"])),
                            "elevation_m": elev if elev is not None else float(np.nanmean(table["elevation_m"]))}
                    try:
                        inputs = prepare(table, mean, **{**prep_options, **site})
                    except InputDataError as exc:
                        if "no field's growing season" in str(exc):
                            continue
                        raise
                    inputs.arrays = arrays
            for w in caught:
                text = str(w.message)
                if "only partly inside" in text:
                    partial += int(text.split()[0])
                elif "no field's growing season" not in text:
                    warnings.warn(w.message, w.category, stacklevel=3)
            yield rows, table, iy, ix, inputs
        if partial:
            warnings.warn(f"{partial} field pixel(s) have a season only partly inside {times[0]:%Y-%m-%d}..{times[-1]:%Y-%m-%d}; "
                          "their seasonal totals and yields cover the simulated days only", stacklevel=3)

    common = {k: v for k, v in policy_options.items() if k in ("mad_fraction", "refill_fraction", "deficit_fraction",
                                                                "interval_days", "depth_mm", "calendar", "forecast_fraction",
                                                                "max_postpone_days")}
    common["use_forecast"] = use_forecast
    budgets = None
    if strategy == "quota":
        # Pass 1: each pixel's unconstrained (MAD) need and production gained per m³; one global allocation.
        if (quota_m3 is None) == (quota_mm is None):
            raise ParameterError("strategy 'quota' needs exactly one of quota_m3 (m³) or quota_mm (mm over the total area)")
        need, gain, area, where = [], [], [], []
        for rows, table, iy, ix, inputs in blocks():
            out = run(inputs, method=method, policy=_Policy("mad", **common), runoff=runoff, device=device,
                      outputs=("irrigation_mm", "etc_mm"), dtype=dtype)
            etc = np.nansum(out["etc_mm"], axis=1, dtype=float)
            f = inputs.fields
            need.append(np.nansum(out["irrigation_mm"], axis=1, dtype=float) * f["area_ha"].to_numpy() * 10.0)
            gain.append(f["value_per_ha"].to_numpy() * f["ky"].to_numpy() * f["irrigation_efficiency"].to_numpy()
                        / (10.0 * np.maximum(etc, 1e-9)))
            area.append(f["area_ha"].to_numpy())
            where.append((rows.start + iy, ix))
        if not need:
            raise InputDataError("the fields grid has no field pixel (crop code 0 everywhere)")
        area_all = np.concatenate(area)
        quota = float(quota_m3) if quota_m3 is not None else float(quota_mm) * float(area_all.sum()) * 10.0
        if not quota >= 0 or math.isinf(quota):
            raise ParameterError(f"quota must be a finite number >= 0, got {quota}")
        alloc = allocate_quota(np.concatenate(need), np.concatenate(gain), quota)
        budgets = np.full((ny, nx), np.nan)
        gains = np.full((ny, nx), np.nan)
        gy, gx = np.concatenate([w[0] for w in where]), np.concatenate([w[1] for w in where])
        budgets[gy, gx] = alloc / (area_all * 10.0)
        gains[gy, gx] = np.concatenate(gain)

    any_field = False
    for rows, table, iy, ix, inputs in blocks():
        any_field = True
        gy = rows.start + iy
        if strategy is None:
            policy = None
        elif strategy == "quota":
            policy = _Policy("quota", **common, budget_mm=budgets[gy, ix], priority=gains[gy, ix])
        else:
            policy = _Policy(strategy, **common)
        out = run(inputs, method=method, policy=policy, runoff=runoff, device=device, outputs=keep, dtype=dtype)
        summary = _season_summary(out, inputs.fields["ky"].to_numpy(float))
        area = table["area_ha"].to_numpy()
        summary["water_used_m3"] = summary["seasonal_irrigation_mm"] * area * 10.0
        for k in MAPS:
            maps[k][gy, ix] = summary[k]
        crop_map[gy, ix] = table["crop"].to_numpy()
        area_map[gy, ix] = area
        arrays = inputs.daily_arrays()
        for k in daily:
            values = arrays[k] if k in ("et0_mm", "rain_mm") else out[k]
            cubes[k][gy, ix, :] = np.broadcast_to(values, (len(iy), nt))
    if not any_field:
        raise InputDataError("the fields grid has no field pixel (crop code 0 everywhere)")
    units = {"seasonal_irrigation_mm": "mm", "water_used_m3": "m3", "irrigation_events": "1", "days_under_stress": "days",
             "season_eta_mm": "mm", "season_etc_mm": "mm", "season_rain_mm": "mm", "relative_yield": "1"}
    coords = {"y": grid["y"].values, "x": grid["x"].values}
    ds = xr.Dataset(coords=coords)
    for k in MAPS:
        ds[k] = (("y", "x"), maps[k], {"units": units[k]})
    ds["crop"] = (("y", "x"), crop_map.astype(str))
    ds["area_ha"] = (("y", "x"), area_map, {"units": "ha"})
    if daily:
        ds = ds.assign_coords(time=times.to_numpy())
        for k in daily:
            ds[k] = (("y", "x", "time"), cubes[k], {"units": "1" if k == "ks" else "mm"})
    if station_et0 is not None:
        ds = ds.assign_coords(time=times.to_numpy())
        ds["station_et0_mm"] = ("time", station_et0["et0_mm"].to_numpy(float), {"units": "mm/day"})
        ds["method"] = ("time", station_et0["method"].to_numpy(dtype=str))
    if "spatial_ref" in grid.coords:
        ds = ds.assign_coords(spatial_ref=grid.coords["spatial_ref"])
    ds.attrs.update(water_balance_method=method, reference="FAO-56 (Allen et al. 1998)", generator="kit.agro.gridded.run_grid",
                    strategy=str(strategy))
    if strategy == "quota":
        ds.attrs["quota_m3"] = quota
    return GridPlan(balance=ds, strategy=strategy)
