"""Season features of every field-season up to a forecast day, the rest of the season filled with climatology.

The unit of prediction is a field-season; a season is named by its harvest
year and starts on ``season_start`` (MM-DD, default 09-01) of the year
before (:mod:`kit.yieldpred.season`). A forecast at day ``d`` of the season
uses, for every year alike, only observations and weather up to day ``d``:
the model trained for an in-season date never sees later data, in training
or prediction.

The rest of the season (days after ``d``) is filled with climatology, so
every feature exists at every lead time: the weather of each later day is
the mean of that day of the season over the *other* seasons with yields,
and the index curve continues along the field's mean curve of those
seasons, its departure at day ``d`` fading out (e-folding
:data:`ANOMALY_MEMORY_DAYS`). The season being forecast never enters a
climatology (it has no yields). In leave-one-year-out the held-out season's
weather does enter the climatology of the *training* seasons, at a weight
of 1/(seasons - 1); never that of its own features.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kit.agro.crops import CROPS
from kit.errors import InputDataError
from kit.i18n import _
from kit.ml import fapar_from_ndvi, light_use_features, phenology_features, stage_weather_features, temperature_factor, water_deficit_features
from kit.raster.temporal import daily_curve
from kit.yieldpred.covariates import covariate_columns
from kit.yieldpred.season import season_start_date
from kit.yieldpred.thermal_time import thermal_time_from_sowing
from kit.yieldpred.water_capacity import imagery_arid_features
from kit.yieldpred.water_stress import field_taw_mm_per_m

__all__ = ["ANOMALY_MEMORY_DAYS", "FeatureBuilder", "NEW_COLUMNS_PREFIXES", "Skipped"]

DEFAULT_PLANTING = (11, 15)  # month, day: middle of the Moroccan winter-cereal sowing window
MONTH_WINDOWS = ("dec", "jan", "feb", "mar", "apr", "may")
ANOMALY_MEMORY_DAYS = 30.0  # an index departure from climatology at the forecast date fades with this e-folding time
#: Greenness indices that unmasked thin cloud, haze and shadow can only lower: their curves follow the upper envelope.
ENVELOPE_INDICES = ("ndvi", "evi", "savi")
ENVELOPE_DROP = 0.05  # an observation this far below the smoothed curve (index units) is taken for residual cloud
#: Feature columns added in December 2026 (water deficit, temperature-weighted light use, the canopy-driven ARID
#: index of :mod:`kit.yieldpred.water_stress`, senescence in thermal time); benchmarks/yield_skill.py leaves them out
#: to reproduce the model before.
NEW_COLUMNS_PREFIXES = ("wb_", "lue_apar_ks_temp", "arid_", "thermal_")


@dataclass
class Skipped:
    """A field-season set aside from the feature table, with the reason."""

    field_id: str
    year: int
    reason: str


class FeatureBuilder:
    """Features of every field-season, for any forecast day of the season.

    Parameters
    ----------
    fields : DataFrame from :func:`kit.yieldpred.data.read_fields_table`
    observations : DataFrame ``field_id, date`` + index columns (clear observations only)
    weather : DataFrame from :func:`kit.agro.read_weather`
    yields : DataFrame from :func:`kit.yieldpred.data.read_yields` (covariates for the seasons)
    years : list of int, seasons to build
    season_start : str, MM-DD
    backend : kit.backend.Backend or {"cpu", "cuda", "auto"}, where the water balance runs
    envelope : bool
        Curves of greenness indices (:data:`ENVELOPE_INDICES`) follow the upper
        envelope of the observations: a clear-flagged date more than
        :data:`ENVELOPE_DROP` below the first smoothed curve is dropped and the curve
        redrawn (thin cloud and shadow that the cloud mask missed only lower
        NDVI). False draws the curve through every observation.
    water_stress : bool or None
        Add the canopy-driven ARID water stress (:func:`kit.yieldpred.water_stress.arid_features`:
        ``arid_apar_temp_mj``, ``arid_water_factor``). None (default): only when the fields carry
        their own ``taw_mm_per_m``, because the index's signal is each field's water capacity: on
        benchmarks/yield_skill.py's wheat (a soil map's capacity per field) it lowers the NRMSE
        (low-noise 0.102 -> 0.095, semi-arid 0.139 -> 0.130, seed 0); on the embedded region (soil
        classes only) it raises it (seed 0: 0.146 -> 0.152).
    imagery_capacity : bool
        The ARID bucket holds the mean of the map's capacity and the imagery's estimate of it
        (:mod:`kit.yieldpred.water_capacity`: how early each field senesces in the other seasons), not the
        map's alone.

    Water balances are run once per season and forecast day and cached;
    phenology is recomputed per forecast day from observations up to that
    day only, continued by climatology to the end of the season (see the
    module docstring).
    """

    def __init__(self, fields, observations, weather, yields, years, *, season_start="09-01", backend=None, envelope=True,
                 water_stress=None, imagery_capacity=True):
        self.fields = fields.set_index("field_id", drop=False)
        self.obs = observations
        self.weather = weather
        self.yields = yields.set_index(["field_id", "year"])
        self.years = sorted(int(y) for y in years)
        self.season_start = season_start
        self.backend = backend
        self.envelope = envelope
        self.water_stress = water_stress
        self.imagery_capacity = imagery_capacity
        own_taw = "taw_mm_per_m" in fields and pd.to_numeric(fields["taw_mm_per_m"], errors="coerce").notna().any()
        self.water_stress_ = bool(own_taw) if water_stress is None else bool(water_stress)
        self.indices = [c for c in observations.columns if c not in ("field_id", "date")]
        self._balance = {}
        self._curves = {}
        self._climatology = {}
        self._radiation = None
        self.planting_defaulted = 0

    # -- inputs per season ---------------------------------------------------------------
    def planting_dates(self, year) -> pd.Series:
        start = season_start_date(year, self.season_start)
        default = pd.Timestamp(year - 1, *DEFAULT_PLANTING)
        dates = pd.Series(default, index=self.fields.index)
        if "planting_date" in self.fields.columns:
            # A field-level date gives the usual month-day; place it in this season.
            base = pd.to_datetime(self.fields["planting_date"], errors="coerce", format="mixed")
            usual = [pd.Timestamp(year - 1 if (d.month, d.day) >= (start.month, start.day) else year, d.month, d.day)
                     if pd.notna(d) else default for d in base]
            dates = pd.Series(usual, index=self.fields.index)
        if "planting_date" in self.yields.columns:
            season = self.yields.xs(year, level="year")["planting_date"] if year in self.yields.index.get_level_values("year") else pd.Series(dtype="datetime64[ns]")
            given = season.dropna()
            given = given[given.index.isin(dates.index)]
            dates.loc[given.index] = pd.to_datetime(given.to_numpy())
            self.planting_defaulted += int(len(dates) - len(given))
        return dates

    def season_bounds(self, year) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last day of the season harvested in ``year``."""
        start = season_start_date(year, self.season_start)
        return start, start + pd.DateOffset(years=1) - pd.Timedelta(days=1)

    def training_years(self) -> list:
        """Seasons with observed yields: the only ones a climatology is drawn from."""
        observed = self.yields["yield_t_ha"].dropna().index.get_level_values("year") if "yield_t_ha" in self.yields else []
        return [y for y in self.years if y in set(observed)]

    def radiation(self) -> pd.Series:
        """Daily global radiation (MJ/m²) of the station, measured or estimated as kit.agro's ET0 does."""
        if self._radiation is None:
            from kit.agro.evapotranspiration import et0

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rs = et0(self.weather)["rs_mj_m2"]
            self._radiation = pd.Series(np.asarray(rs, float), index=self.weather.index, name="rs_mj_m2")
        return self._radiation

    def _weather_by_day(self, year) -> pd.DataFrame:
        """The season's station weather (with radiation), one row per day of the season; NaN where missing."""
        start, end = self.season_bounds(year)
        days = pd.date_range(start, end, freq="D")
        w = self.weather.select_dtypes("number").join(self.radiation().rename("rs_est_mj_m2")).reindex(days)
        return w.reset_index(drop=True)

    def _full_curves(self, year) -> dict:
        """Daily index curves of a whole season from all its clear observations (climatology only)."""
        if year not in self._curves:
            start, end = self.season_bounds(year)
            obs = self.obs[(self.obs["date"] >= start) & (self.obs["date"] <= end)]
            self._curves[year] = {ix: self._curve(obs, ix, start, end) for ix in self.indices}
        return self._curves[year]

    def _curve(self, obs, ix, start, end) -> pd.DataFrame:
        wide = obs.pivot_table(index="field_id", columns="date", values=ix, aggfunc="mean").reindex(self.fields.index)
        if wide.shape[1] == 0:
            return pd.DataFrame(np.nan, index=self.fields.index, columns=pd.date_range(start, end, freq="D"))
        curve = daily_curve(wide, start, end)
        if self.envelope and ix in ENVELOPE_INDICES:
            at_obs = curve.reindex(columns=wide.columns).to_numpy(float)
            low = wide.to_numpy(float) < at_obs - ENVELOPE_DROP
            if low.any():
                curve = daily_curve(wide.mask(low), start, end)
        return curve

    def climatology(self, year) -> tuple[pd.DataFrame | None, dict]:
        """Per-day-of-season mean weather and per-field mean index curves of the other seasons with yields.

        Returns
        -------
        (weather, curves)
            ``weather``: one row per day of the season (numeric columns of the
            weather table and ``rs_est_mj_m2``), None without another season;
            ``curves``: index name -> array (fields, days), NaN where no
            other season saw that day.
        """
        if year in self._climatology:
            return self._climatology[year]
        others = [y for y in self.training_years() if y != year]
        n_days = len(self._weather_by_day(year))
        if not others:
            self._climatology[year] = (None, {})
            return self._climatology[year]
        tables = [self._weather_by_day(y).reindex(range(n_days)) for y in others]
        weather = pd.concat(tables).groupby(level=0).mean()
        curves = {}
        for ix in self.indices:
            stack = np.full((len(others), len(self.fields), n_days), np.nan)
            for k, y in enumerate(others):
                c = self._full_curves(y)[ix].to_numpy(float)[:, :n_days]
                stack[k, :, : c.shape[1]] = c
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a day no season saw stays NaN
                curves[ix] = np.nanmean(stack, axis=0)
        self._climatology[year] = (weather, curves)
        return self._climatology[year]

    def season_weather(self, year, cutoff_day: int | None = None) -> pd.DataFrame:
        """The season's weather table: observed up to ``cutoff_day``, climatology after it (and on missing days).

        Days no source covers stay NaN (the water balance then refuses them).
        """
        start, end = self.season_bounds(year)
        days = pd.date_range(start, end, freq="D")
        w = self.weather.reindex(days)
        w.index.name = self.weather.index.name
        future = np.arange(len(days)) > (len(days) if cutoff_day is None else int(cutoff_day))
        missing = w[["tmin_c", "tmax_c"]].isna().any(axis=1).to_numpy() | future
        clim, _ = self.climatology(year)
        if missing.any() and clim is not None:
            cols = [c for c in w.columns if c in clim.columns]
            w.loc[missing, cols] = clim.loc[np.flatnonzero(missing), cols].to_numpy()
            if "filled" in w.columns:
                w["filled"] = w["filled"].astype("boolean").fillna(True).astype(bool)
                w.loc[missing, "filled"] = True
        w.attrs = dict(self.weather.attrs)
        return w

    def season_radiation(self, year, cutoff_day: int | None = None) -> np.ndarray:
        """Daily global radiation of the season (MJ/m²): the station's up to ``cutoff_day``, then climatology."""
        start, end = self.season_bounds(year)
        days = pd.date_range(start, end, freq="D")
        rs = self.radiation().reindex(days).to_numpy(float)
        clim, _ = self.climatology(year)
        if clim is not None:
            future = np.arange(len(days)) > (len(days) if cutoff_day is None else int(cutoff_day))
            rs = np.where(future | np.isnan(rs), clim["rs_est_mj_m2"].to_numpy(float)[: len(days)], rs)
        return rs

    def season_curves(self, year, cutoff_day: int) -> dict:
        """Daily index curves of the season: observed up to ``cutoff_day``, then climatology.

        The departure of the observed curve from the field's climatological
        curve on its last known day fades out with an e-folding time of
        :data:`ANOMALY_MEMORY_DAYS`.
        """
        start, end = self.season_bounds(year)
        cutoff = min(start + pd.Timedelta(days=int(cutoff_day)), end)
        obs = self.obs[(self.obs["date"] >= start) & (self.obs["date"] <= cutoff)]
        n_days = (end - start).days + 1
        _, clim = self.climatology(year) if cutoff < end else (None, {})
        out = {}
        for ix in self.indices:
            seen = self._curve(obs, ix, start, cutoff).to_numpy(float)
            curve = np.full((len(self.fields), n_days), np.nan)
            curve[:, : seen.shape[1]] = seen
            if ix in clim:
                c = clim[ix][:, :n_days]
                days = np.arange(n_days)
                known = np.isfinite(seen)
                last = np.where(known.any(axis=1), seen.shape[1] - 1 - np.argmax(known[:, ::-1], axis=1), -1)
                rows = np.arange(len(seen))
                anomaly = np.where(last >= 0, seen[rows, np.maximum(last, 0)] - c[rows, np.maximum(last, 0)], 0.0)
                anomaly = np.nan_to_num(anomaly, nan=0.0)
                fade = np.exp(-np.clip(days[None, :] - last[:, None], 0, None) / ANOMALY_MEMORY_DAYS)
                after = days[None, :] >= seen.shape[1]
                curve = np.where(after, c + anomaly[:, None] * fade, curve)
            out[ix] = pd.DataFrame(curve, index=self.fields.index, columns=pd.date_range(start, end, freq="D"))
        return out

    def balance(self, year, cutoff_day: int | None = None):
        """kit.agro water balance of every field for the season (station weather, soil class), cached.

        With ``cutoff_day`` the weather after that day of the season is climatology.

        Returns
        -------
        (balance, planting_dates, weather)
            The :func:`kit.agro.water_balance` Dataset, the planting date of
            each field, and the daily weather the balance ran on.
        """
        start, end = self.season_bounds(year)
        n_days = (end - start).days + 1
        key = (year, None if cutoff_day is None or cutoff_day >= n_days - 1 or not self.training_years() else int(cutoff_day))
        if key in self._balance:
            return self._balance[key]
        from kit.agro import water_balance

        w = self.season_weather(year, key[1])
        known = w[["tmin_c", "tmax_c"]].notna().all(axis=1).to_numpy()
        last = int(np.flatnonzero(known)[-1]) if known.any() else -1
        if not known[0] or last < min(n_days - 1, 300):
            raise InputDataError(
                f"the weather ({self.weather.index[0]:%Y-%m-%d} to {self.weather.index[-1]:%Y-%m-%d}) does not cover the {year} season "
                f"({start:%Y-%m-%d} to {end:%Y-%m-%d}); give weather for every season in yields"
            )
        w = w.iloc[: last + 1]
        plant = self.planting_dates(year)
        f = self.fields
        table = pd.DataFrame({"field_id": f["field_id"].to_numpy(), "crop": f["crop"].to_numpy(),
                              "planting_date": plant.dt.strftime("%Y-%m-%d").to_numpy(),
                              "area_ha": f["area_ha"].to_numpy(float) if "area_ha" in f else 1.0})
        if "taw_mm_per_m" in f:
            table["taw_mm_per_m"] = f["taw_mm_per_m"].to_numpy(float)
        table["soil"] = f["soil"].fillna("loam").to_numpy() if "soil" in f else "loam"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # seasons reaching past the weather are expected at a forecast date
            ds = water_balance(table, w, start=start, end=w.index[-1], backend=self.backend)
        self._balance[key] = (ds, plant, w)
        return self._balance[key]

    # -- features ------------------------------------------------------------------------
    def features(self, cutoff_day: int) -> tuple[pd.DataFrame, list]:
        """Feature table for every field-season with imagery, using days ``0..cutoff_day`` of each season.

        Returns
        -------
        (features, skipped)
            ``features`` indexed by ``(field_id, year)``; ``skipped`` lists
            field-seasons set aside, with the reason.
        """
        parts, skipped, arid_inputs = [], [], {}
        for year in self.years:
            start, end = self.season_bounds(year)
            cutoff = min(start + pd.Timedelta(days=int(cutoff_day)), end)
            obs = self.obs[(self.obs["date"] >= start) & (self.obs["date"] <= cutoff)]
            if obs.empty:
                skipped += [Skipped(f, year, f"no imagery between {start:%Y-%m-%d} and {cutoff:%Y-%m-%d}") for f in self.fields.index]
                continue
            curves = self.season_curves(year, cutoff_day)
            windows = {}
            for m, name in enumerate(MONTH_WINDOWS):
                a = ((start + pd.DateOffset(months=3 + m)).replace(day=1) - start).days
                windows[name] = (a, a + 30)
            pheno = pd.concat([phenology_features(curves[ix].to_numpy(), prefix=ix, index=curves[ix].index, month_starts=windows)
                               for ix in self.indices], axis=1)
            no_obs = ~self.fields.index.isin(obs.loc[obs[self.indices[0]].notna(), "field_id"].unique())
            skipped += [Skipped(f, year, f"no clear observation of the field before {cutoff:%Y-%m-%d}") for f in pheno.index[no_obs]]
            ds, plant, w = self.balance(year, cutoff_day)
            wx = stage_weather_features(ds, w, crops=CROPS)
            frame = pheno.join(wx)
            planting_day = (plant - start).dt.days.to_numpy(float)
            if "ndvi" in curves:  # senescence in thermal time: early where drought or heat cut the canopy short
                frame["thermal_ndvi_senescence_c_days"] = thermal_time_from_sowing(
                    frame["ndvi_senescence_day"].to_numpy(float), ((w["tmin_c"] + w["tmax_c"]) / 2).to_numpy(float), planting_day)
                # light use, fAPAR from NDVI (Myneni & Williams 1994)
                n = min(ds.sizes["time"], curves["ndvi"].shape[1])
                rs = self.season_radiation(year, cutoff_day)
                wn = w.iloc[:n]
                factor = temperature_factor(((wn["tmin_c"] + wn["tmax_c"]) / 2).to_numpy(float), wn["tmax_c"].to_numpy(float))
                lue = light_use_features(curves["ndvi"].to_numpy()[:, :n], ds["ks"].values[:, :n], rs[:n], planting_day,
                                         growth_factor=factor)
                for name, values in lue.items():
                    frame[name] = values
            if "ndvi" in curves and self.water_stress_:  # the curve's fAPAR as canopy cover: kit.yieldpred.water_stress
                arid_inputs[year] = (fapar_from_ndvi(curves["ndvi"].to_numpy()[:, :n]), rs[:n], wn["tmin_c"], wn["tmax_c"],
                                     ds["et0_mm"].values[:n], ds["rain_mm"].values[:n], planting_day)
                frame["arid_apar_temp_mj"], frame["arid_water_factor"] = np.nan, np.nan  # after all seasons: below
            for name, values in water_deficit_features(ds, cutoff_index=cutoff_day).items():
                frame[name] = values
            frame["planting_day"] = planting_day
            frame["year"] = year
            parts.append((frame, ~no_obs))
        taw = field_taw_mm_per_m(self.fields)
        arid = imagery_arid_features(self, arid_inputs, taw.fillna(taw.median()).to_numpy(float), imagery=self.imagery_capacity)
        parts = [frame.assign(**arid.get(int(frame["year"].iloc[0]), {}))[keep] for frame, keep in parts]
        if not parts:
            raise InputDataError(_("no season has imagery up to the forecast day; check the rasters/index_series dates"))
        table = pd.concat(parts)
        table.index.name = "field_id"
        table = table.reset_index().set_index(["field_id", "year"], drop=False)
        table = covariate_columns(table, self.fields, self.yields)
        return table, skipped
