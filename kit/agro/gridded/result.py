"""Results of a grid run: seasonal maps filled block by block, daily cubes, and the :class:`GridPlan`."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from kit.io import atomic_path

#: Seasonal maps of a gridded run, (y, x).
MAPS = ("seasonal_irrigation_mm", "water_used_m3", "irrigation_events", "days_under_stress", "season_eta_mm",
        "season_etc_mm", "season_rain_mm", "relative_yield")
_MAP_UNITS = {"seasonal_irrigation_mm": "mm", "water_used_m3": "m3", "irrigation_events": "1", "days_under_stress": "days",
              "season_eta_mm": "mm", "season_etc_mm": "mm", "season_rain_mm": "mm", "relative_yield": "1"}

__all__ = ["MAPS", "GridMaps", "GridPlan", "season_summary"]


def season_summary(out: dict, ky: np.ndarray) -> dict:
    """:func:`kit.agro.engine.summarize` on kernel arrays (fields, days): totals and FAO-33 relative yield."""
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


class GridMaps:
    """The maps and cubes of a grid run, filled one block of field pixels at a time.

    Seasonal maps (:data:`MAPS`), ``crop`` and ``area_ha`` are ``(y, x)``
    float32 (``crop`` strings, ``""`` off the fields); each variable of
    ``daily`` is a ``(y, x, time)`` float32 cube. Pixels no block covers
    stay NaN.
    """

    def __init__(self, ny: int, nx: int, times: pd.DatetimeIndex, daily=()):
        self.times = times
        self.maps = {k: np.full((ny, nx), np.nan, dtype=np.float32) for k in MAPS}
        self.crop = np.full((ny, nx), "", dtype=object)
        self.area = np.full((ny, nx), np.nan, dtype=np.float32)
        self.cubes = {k: np.full((ny, nx, len(times)), np.nan, dtype=np.float32) for k in daily}

    def add(self, gy, ix, table: pd.DataFrame, inputs, out: dict) -> None:
        """Put one block's kernel outputs ``out`` (fields, days) on pixels ``(gy, ix)`` of the grid."""
        summary = season_summary(out, inputs.fields["ky"].to_numpy(float))
        area = table["area_ha"].to_numpy()
        summary["water_used_m3"] = summary["seasonal_irrigation_mm"] * area * 10.0
        for k in MAPS:
            self.maps[k][gy, ix] = summary[k]
        self.crop[gy, ix] = table["crop"].to_numpy()
        self.area[gy, ix] = area
        arrays = inputs.daily_arrays()
        for k, cube in self.cubes.items():
            values = arrays[k] if k in ("et0_mm", "rain_mm") else out[k]
            cube[gy, ix, :] = np.broadcast_to(values, (len(gy), len(self.times)))

    def to_dataset(self, grid: xr.Dataset, station_et0: pd.DataFrame | None, *, method: str, strategy) -> xr.Dataset:
        """The balance Dataset on the grid's ``y, x`` (and ``time``), CRS kept, run described in ``attrs``."""
        times = self.times
        ds = xr.Dataset(coords={"y": grid["y"].values, "x": grid["x"].values})
        for k in MAPS:
            ds[k] = (("y", "x"), self.maps[k], {"units": _MAP_UNITS[k]})
        ds["crop"] = (("y", "x"), self.crop.astype(str))
        ds["area_ha"] = (("y", "x"), self.area, {"units": "ha"})
        if self.cubes:
            ds = ds.assign_coords(time=times.to_numpy())
            for k, cube in self.cubes.items():
                ds[k] = (("y", "x", "time"), cube, {"units": "1" if k == "ks" else "mm"})
        if station_et0 is not None:
            ds = ds.assign_coords(time=times.to_numpy())
            ds["station_et0_mm"] = ("time", station_et0["et0_mm"].to_numpy(float), {"units": "mm/day"})
            ds["method"] = ("time", station_et0["method"].to_numpy(dtype=str))
        if "spatial_ref" in grid.coords:
            ds = ds.assign_coords(spatial_ref=grid.coords["spatial_ref"])
        ds.attrs.update(water_balance_method=method, reference="FAO-56 (Allen et al. 1998)", generator="kit.agro.gridded.run_grid",
                        strategy=str(strategy))
        return ds


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
