"""The soil water balance against pyfao56 (Thorp et al.) on the same inputs."""
import warnings

import numpy as np
import pandas as pd
import pytest

from kit.agro import water_balance

pyfao56 = pytest.importorskip("pyfao56")


def season_weather(seed=11, start="2023-10-20", days=180):  # tomato season: 35+45+70+30 days
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days)
    doy = dates.day_of_year.to_numpy(float)
    warm = np.cos(2 * np.pi * (doy - 200) / 365)
    tmax = 25 + 8 * warm + rng.normal(0, 2, days)
    tmin = tmax - rng.uniform(9, 15, days)
    wet = rng.random(days) < 0.12
    return pd.DataFrame({
        "date": dates.strftime("%Y-%m-%d"), "tmin_c": tmin, "tmax_c": tmax,
        "rh_min_pct": rng.uniform(25, 60, days), "rh_max_pct": rng.uniform(70, 98, days),
        "wind_ms": rng.gamma(4, 0.7, days), "wind_height_m": 10.0,
        "rain_mm": np.where(wet, rng.gamma(1.2, 9.0, days), 0.0),
    })


FIELD = pd.DataFrame({"field_id": ["F1"], "crop": ["tomato"], "planting_date": ["2023-10-20"], "area_ha": [1.0],
                      "soil": ["loam"]})
IRRIGATION = pd.DataFrame({"field_id": "F1", "date": pd.date_range("2023-11-25", "2024-04-20", freq="16D"), "depth_mm": 30.0})
FC, TAW_PER_M = 0.25, 155.0
WP = FC - TAW_PER_M / 1000


def run_pyfao56(weather, et0_mm, crop, *, single, init_frac, runoff, k_adj, tew, rew):
    from pyfao56 import Irrigation, Model, Parameters, Update, Weather

    idx = pd.to_datetime(weather["date"]).dt.strftime("%Y-%j")
    wth = Weather()
    wth.wndht, wth.rfcrp, wth.z, wth.lat = 10.0, "S", 466.0, 31.6
    wth.wdata = pd.DataFrame({
        "Srad": np.nan, "Tmax": weather["tmax_c"].to_numpy(), "Tmin": weather["tmin_c"].to_numpy(), "Vapr": np.nan,
        "Tdew": np.nan, "RHmax": weather["rh_max_pct"].to_numpy(), "RHmin": weather["rh_min_pct"].to_numpy(),
        "Wndsp": weather["wind_ms"].to_numpy(), "Rain": weather["rain_mm"].to_numpy(), "ETref": et0_mm, "MorP": "M",
    }, index=idx)
    zr_ini = 0.15
    kc = ("kc_ini", "kc_mid", "kc_end") if single else ("kcb_ini", "kcb_mid", "kcb_end")
    par = Parameters(
        Kcbini=crop[kc[0]], Kcbmid=crop[kc[1]], Kcbend=crop[kc[2]], Lini=int(crop["l_ini"]), Ldev=int(crop["l_dev"]),
        Lmid=int(crop["l_mid"]), Lend=int(crop["l_late"]), hini=0.05, hmax=crop["height_m"], thetaFC=FC, thetaWP=WP,
        theta0=FC - init_frac * (FC - WP), Zrini=zr_ini, Zrmax=crop["zr_max_m"], pbase=crop["p"],
        Ze=1e-6 if single else tew / (1000 * (FC - 0.5 * WP)), REW=0.0 if single else rew, CN2=78,
    )
    irr = Irrigation()
    for d, depth in zip(IRRIGATION["date"], IRRIGATION["depth_mm"]):
        irr.addevent(d.year, d.dayofyear, depth, 1.0)
    upd = None
    if single:
        # pyfao56 always runs the dual method; a full canopy (fc 0.99) and a vanishing evaporation
        # layer make Ke ~0, so Kcb plays the single Kc (soil evaporation <= 0.012 ET0 on wetting days).
        upd = Update()
        upd.udata = pd.DataFrame({"Kcb": np.nan, "h": np.nan, "fc": 0.99}, index=idx)
    start, end = idx.iloc[0], idx.iloc[-1]
    model = Model(start, end, par, wth, irr=irr, upd=upd, roff=runoff, K_adj=k_adj)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.run()
    return model.odata


@pytest.mark.parametrize("init_frac", [0.0, 0.4])
def test_single_kc_depletion_within_1mm_of_pyfao56(init_frac):
    from kit.agro.crops import CROPS

    weather = season_weather()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = water_balance(FIELD, weather, method="single", irrigation=IRRIGATION, lat_deg=31.6, elevation_m=466.0,
                           adjust_kc=False, runoff=False, initial_depletion_fraction=init_frac)
    ref = run_pyfao56(weather, ds["et0_mm"].values, CROPS.loc["tomato"], single=True, init_frac=init_frac,
                      runoff=False, k_adj=False, tew=None, rew=None)
    ours = ds["depletion_mm"].sel(field="F1").values
    theirs = ref["Dr"].to_numpy(float)
    assert len(ours) == len(theirs) == 180
    assert np.nanmax(np.abs(ours - theirs)) < 1.0
    assert np.max(theirs) > 40 and ds["ks"].min() < 0.9  # the comparison covers water stress, not only wet soil
    np.testing.assert_allclose(ds["taw_mm"].sel(field="F1"), ref["TAW"].to_numpy(float), rtol=1e-9)


def test_dual_kc_with_runoff_and_climate_adjustment_matches_pyfao56():
    from kit.agro.crops import CROPS, SOILS

    weather = season_weather(seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = water_balance(FIELD, weather, method="dual", irrigation=IRRIGATION, lat_deg=31.6, elevation_m=466.0,
                           adjust_kc=True, runoff=True, initial_depletion_fraction=0.2)
    soil = SOILS.loc["loam"]
    ref = run_pyfao56(weather, ds["et0_mm"].values, CROPS.loc["tomato"], single=False, init_frac=0.2, runoff=True,
                      k_adj=True, tew=soil["tew_mm"], rew=soil["rew_mm"])
    f1 = ds.sel(field="F1")
    assert np.max(np.abs(f1["depletion_mm"].values - ref["Dr"].to_numpy(float))) < 1.0
    np.testing.assert_allclose(f1["runoff_mm"], ref["Runoff"].to_numpy(float), atol=1e-6)
    np.testing.assert_allclose(f1["ke"], ref["Ke"].to_numpy(float), atol=2e-3)
    assert ref["Runoff"].sum() > 0
