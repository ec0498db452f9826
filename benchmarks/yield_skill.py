"""Leave-one-year-out skill of the yield model on wheat the kit did not generate, beside a plain LightGBM reference.

The data come from :mod:`benchmarks.wheat_simple` (a SIMPLE-style crop model
on its own weather; nothing from :mod:`kit.yieldpred.synthetic`), written to
the notebook's documented contracts (``fields.csv``, ``yields.csv``,
``weather.csv``, ``index_series.csv``: NDVI only) and read back through
:func:`kit.yieldpred.notebook.load_inputs`, as a user's files would be.
Forecast date 1 June (the notebook's default), leave-one-year-out over all
seasons.

Rows printed per variant and seed:

* **kit before**: the kit as of commit ecafa88 (features without the curve-fit and
  water-deficit columns, :data:`BEFORE` model settings).
* **kit now**: :class:`kit.yieldpred.YieldModel` at its defaults on
  :meth:`~kit.yieldpred.FeatureBuilder.features`.
* **LightGBM reference**: what a user would fit without the kit: summaries
  of the raw index series up to the forecast date (maximum, mean, monthly
  means, trapezoid integral), season rain to date and the covariates
  (``taw_mm_per_m``, sowing day, ``n_kg_ha``); ``LGBMRegressor`` defaults for
  P50, quantile objectives for P10/P90.

Goals (issue #18): NRMSE of P50 ≤ 0.09 from index series (≤ 0.12 from cloudy
rasters), P10–P90 coverage 0.7–0.9.

Run: ``PYTHONPATH=$PWD .venv/bin/python benchmarks/yield_skill.py [--seeds 0 1 2] [--variants semi-arid late-rains]``
(about a minute per variant and seed on one core).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import wheat_simple  # noqa: E402  (the independent generator, beside this file)

FORECAST_DATE = "06-01"
#: YieldModel settings of the kit before this benchmark (commit ecafa88) and the feature columns it did not have.
BEFORE = {"monotone": False}


def write_contracts(data: dict, folder: Path) -> dict:
    """The generated region as a user would bring it: the documented CSV contracts."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ("fields", "yields", "weather", "index_series"):
        paths[name] = folder / f"{name}.csv"
        data[name].to_csv(paths[name], index=False)
    return paths


def kit_inputs(paths: dict, target_year: int):
    from kit.params import Params  # noqa: F401  (validate builds it)
    from kit.yieldpred import notebook as nbk

    p = nbk.PARAMETERS.validate({"index_series": str(paths["index_series"]), "fields": str(paths["fields"]),
                                 "yields": str(paths["yields"]), "weather": str(paths["weather"]),
                                 "target_year": target_year, "forecast_date": FORECAST_DATE,
                                 "output_dir": str(paths["fields"].parent / "out")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inputs = nbk.load_inputs(p)
    return p, inputs


def kit_features(inputs, p):
    from kit import yieldpred

    years = sorted(inputs.yields["year"].unique())
    day = yieldpred.forecast_day(p.forecast_date, p.target_year, p.season_start)
    builder = yieldpred.FeatureBuilder(inputs.fields, inputs.observations, inputs.weather, inputs.yields, years,
                                       season_start=p.season_start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        features, _ = builder.features(day)
    return features, day


def kit_skill(features, yields, **params) -> dict:
    from kit import yieldpred

    _, m = yieldpred.cross_validate(features, yields, **params)
    return {"nrmse_p50": m["cv_nrmse_p50"], "coverage_p10_p90": m["interval_coverage_p10_p90"]}


def reference_features(data: dict, cutoff_day: int) -> pd.DataFrame:
    """What a user would compute without the kit: raw-series summaries to the forecast date, rain to date, covariates."""
    obs = data["index_series"].assign(date=lambda t: pd.to_datetime(t["date"]))
    obs["year"] = np.where(obs["date"].dt.month >= 9, obs["date"].dt.year + 1, obs["date"].dt.year)
    obs["day"] = (obs["date"] - pd.to_datetime((obs["year"] - 1).astype(str) + "-09-01")).dt.days
    obs = obs[obs["day"] <= cutoff_day]
    g = obs.groupby(["field_id", "year"])
    table = pd.DataFrame({"ndvi_max": g["ndvi"].max(), "ndvi_mean": g["ndvi"].mean(),
                          "ndvi_integral": g.apply(lambda t: np.trapezoid(t.sort_values("day")["ndvi"], t.sort_values("day")["day"]),
                                                   include_groups=False)})
    obs["month"] = obs["date"].dt.month
    for m in (12, 1, 2, 3, 4, 5):
        table[f"ndvi_m{m:02d}"] = obs[obs["month"] == m].groupby(["field_id", "year"])["ndvi"].mean()
    w = data["weather"].assign(date=lambda t: pd.to_datetime(t["date"]))
    w["year"] = np.where(w["date"].dt.month >= 9, w["date"].dt.year + 1, w["date"].dt.year)
    w["day"] = (w["date"] - pd.to_datetime((w["year"] - 1).astype(str) + "-09-01")).dt.days
    rain = w[w["day"] <= cutoff_day].groupby("year")["rain_mm"].sum()
    table = table.reset_index()
    table["season_rain_mm"] = table["year"].map(rain)
    y = data["yields"].copy()
    y["sowing_day"] = (pd.to_datetime(y["planting_date"]) - pd.to_datetime((y["year"] - 1).astype(str) + "-09-01")).dt.days
    table = table.merge(y[["field_id", "year", "yield_t_ha", "sowing_day", "n_kg_ha"]], on=["field_id", "year"])
    return table.merge(data["fields"][["field_id", "taw_mm_per_m"]], on="field_id")


def reference_skill(table: pd.DataFrame, seed: int) -> dict:
    import lightgbm as lgb

    from kit.ml import interval_coverage, nrmse

    cols = [c for c in table.columns if c not in ("field_id", "year", "yield_t_ha")]
    pred = pd.DataFrame(index=table.index, columns=["p10", "p50", "p90"], dtype=float)
    for year in table["year"].unique():
        test = table["year"] == year
        X, y = table.loc[~test, cols], table.loc[~test, "yield_t_ha"]
        common = dict(random_state=seed, n_jobs=1, verbose=-1, deterministic=True, force_row_wise=True)
        pred.loc[test, "p50"] = lgb.LGBMRegressor(**common).fit(X, y).predict(table.loc[test, cols])
        for q, name in ((0.1, "p10"), (0.9, "p90")):
            pred.loc[test, name] = lgb.LGBMRegressor(objective="quantile", alpha=q, **common).fit(X, y).predict(table.loc[test, cols])
    obs = table["yield_t_ha"]
    return {"nrmse_p50": nrmse(obs, pred["p50"]), "coverage_p10_p90": interval_coverage(obs, pred["p10"], pred["p90"])}


def run_case(variant: str, seed: int, folder: Path) -> list:
    data = wheat_simple.region(wheat_simple.VARIANTS[variant], seed)
    paths = write_contracts(data, folder / f"{variant}-{seed}")
    target = int(data["yields"]["year"].max())
    p, inputs = kit_inputs(paths, target)
    features, day = kit_features(inputs, p)
    from kit.yieldpred.features import NEW_COLUMNS_PREFIXES

    old = features[[c for c in features.columns if not c.startswith(NEW_COLUMNS_PREFIXES)]]
    rows = [{"variant": variant, "seed": seed, "model": "kit before", **kit_skill(old, inputs.yields, seed=seed, **BEFORE)},
            {"variant": variant, "seed": seed, "model": "kit now", **kit_skill(features, inputs.yields, seed=seed)},
            {"variant": variant, "seed": seed, "model": "LightGBM reference", **reference_skill(reference_features(data, day), seed)}]
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=list(wheat_simple.VARIANTS))
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant in args.variants:
            for seed in args.seeds:
                rows += run_case(variant, seed, Path(tmp))
                for r in rows[-3:]:
                    print(f"  {r['variant']:<11} seed {r['seed']}  {r['model']:<19} NRMSE {r['nrmse_p50']:.3f}  coverage {r['coverage_p10_p90']:.2f}",
                          flush=True)
    table = pd.DataFrame(rows)
    wide = table.pivot_table(index=["variant", "seed"], columns="model", values=["nrmse_p50", "coverage_p10_p90"])
    print("\nLeave-one-year-out, forecast 1 June, index series (NDVI) input; goals: NRMSE P50 <= 0.09, P10-P90 coverage 0.7-0.9")
    print(wide.round(3).to_string())
    print("\nmean over seeds and variants:")
    print(table.groupby("model")[["nrmse_p50", "coverage_p10_p90"]].mean().round(3).to_string())
    return table


if __name__ == "__main__":
    main()
