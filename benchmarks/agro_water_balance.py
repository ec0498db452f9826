"""kit.agro water balance vs pyfao56, side by side on the same inputs.

Prints field-days per second for kit (10 000 fields x 365 days, vectorized)
and pyfao56 (a few fields, one at a time), their ratio, kit's peak memory,
and ET0 values per second.

kit keeps the daily variables of the irrigation notebook's ``water_balance.nc`` (ETc,
ETa, depletion, RAW, TAW, Ks, irrigation) plus those the seasonal summary
needs, in float64 (the default, bit-identical to earlier results) and in
float32. ET0 runs on (fields, days) arrays with the day of year given per day
(shape (days,)), as it is for a station or a raster stack.

    /work/main/.venv/bin/python benchmarks/agro_water_balance.py [--fields 10000] [--pyfao56-fields 3]
"""
from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fields", type=int, default=10_000)
    ap.add_argument("--pyfao56-fields", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    from kit.agro import fao56, synthetic
    from kit.agro.engine import prepare, run
    from kit.agro.policy import IrrigationPolicy

    weather = synthetic.weather("marrakech", seasons=1, seed=0)
    fields = synthetic.fields("marrakech", n=args.fields, seed=0)
    # Everyone planted on the first day so each field has 365 simulated days (perennials run a full year).
    fields["crop"] = np.where(np.arange(args.fields) % 2 == 0, "citrus", "olive")
    fields["planting_date"] = weather["date"].iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inputs = prepare(fields, weather, adjust_kc=False)
    n_days = len(inputs.times)

    # --- kit: water balance with MAD irrigation planned in the loop -------------------------
    keep = ("etc_mm", "eta_mm", "depletion_mm", "raw_mm", "taw_mm", "ks", "irrigation_mm", "effective_rain_mm",
            "runoff_mm", "deep_percolation_mm")
    kit = {}
    for dtype in ("float64", "float32"):
        tracemalloc.start()
        t0 = time.perf_counter()
        out = run(inputs, method="single", policy=IrrigationPolicy("mad", use_forecast=False), runoff=False, backend=args.device,
                  outputs=keep, dtype=dtype)
        seconds = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        kit[dtype] = (seconds, peak)
        del out
    kit_s, peak = kit["float64"]
    kit_rate = args.fields * n_days / kit_s

    # --- pyfao56: the same fields, one at a time ------------------------------------------
    import pyfao56
    from pyfao56 import Model, Parameters, Update, Weather
    from kit.agro.crops import CROPS

    idx = pd.to_datetime(weather["date"]).dt.strftime("%Y-%j")
    wth = Weather()
    wth.wndht, wth.rfcrp, wth.z, wth.lat = 10.0, "S", 466.0, 31.62
    wth.wdata = pd.DataFrame({"Srad": np.nan, "Tmax": weather["tmax_c"].to_numpy(), "Tmin": weather["tmin_c"].to_numpy(),
                              "Vapr": np.nan, "Tdew": np.nan, "RHmax": weather["rh_max_pct"].to_numpy(),
                              "RHmin": weather["rh_min_pct"].to_numpy(), "Wndsp": weather["wind_ms"].to_numpy(),
                              "Rain": weather["rain_mm"].to_numpy(), "ETref": inputs.et0["et0_mm"].to_numpy(), "MorP": "M"}, index=idx)
    upd = Update()
    upd.udata = pd.DataFrame({"Kcb": np.nan, "h": np.nan, "fc": 0.99}, index=idx)
    max_diff = 0.0
    t0 = time.perf_counter()
    for i in range(args.pyfao56_fields):
        c = CROPS.loc[fields["crop"].iloc[i]]
        fc = 0.30
        wp = fc - fields["taw_mm_per_m"].iloc[i] / 1000 if "taw_mm_per_m" in fields else fc - inputs.params["taw_mm_per_m"][i] / 1000
        par = Parameters(Kcbini=c.kc_ini, Kcbmid=c.kc_mid, Kcbend=c.kc_end, Lini=int(c.l_ini), Ldev=int(c.l_dev),
                         Lmid=int(c.l_mid), Lend=int(c.l_late), hini=c.height_m, hmax=c.height_m, thetaFC=fc, thetaWP=wp,
                         theta0=fc, Zrini=c.zr_ini_m, Zrmax=c.zr_max_m, pbase=c.p, Ze=1e-6, REW=0.0)
        model = Model(idx.iloc[0], idx.iloc[-1], par, wth, upd=upd)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.run()
    py_s = time.perf_counter() - t0
    py_rate = args.pyfao56_fields * n_days / py_s

    # --- ET0 alone ------------------------------------------------------------------------
    rng = np.random.default_rng(0)
    shape = (args.fields, n_days)
    tmin = rng.uniform(5, 20, shape)
    tmax = tmin + rng.uniform(8, 16, shape)
    doy = np.arange(1.0, n_days + 1)
    kw = dict(rh_min_pct=rng.uniform(20, 60, shape), rh_max_pct=rng.uniform(60, 95, shape),
              wind_ms=rng.uniform(0.5, 5, shape), sunshine_h=rng.uniform(0, 12, shape))
    kw["sunshine_h"][rng.random(shape) < 0.1] = np.nan  # some missing days: the fallback logic runs too
    et0_s = {}
    for dtype in (np.float64, np.float32):
        a, b, d = tmin.astype(dtype), tmax.astype(dtype), doy.astype(dtype)
        k = {name: v.astype(dtype) for name, v in kw.items()}
        fao56.et0_kernel(a[:10], b[:10], d, 31.6, 466.0, **{name: v[:10] for name, v in k.items()})
        t0 = time.perf_counter()
        fao56.et0_kernel(a, b, d, 31.6, 466.0, **k)
        et0_s[np.dtype(dtype).name] = time.perf_counter() - t0

    print(f"pyfao56 {pyfao56.__version__ if hasattr(pyfao56, '__version__') else ''}".strip())
    for dtype, (seconds, peak) in kit.items():
        rate = args.fields * n_days / seconds
        print(f"kit water balance ({dtype}): {args.fields} fields x {n_days} days in {seconds:.2f} s = {rate:,.0f} field-days/s "
              f"(peak traced memory {peak / 2**20:.0f} MiB); ratio to pyfao56 {rate / py_rate:,.0f}x")
    print(f"pyfao56           : {args.pyfao56_fields} fields x {n_days} days in {py_s:.2f} s = {py_rate:,.0f} field-days/s")
    print(f"ratio kit (float64) / pyfao56: {kit_rate / py_rate:,.0f}x; process max RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    for dtype, seconds in et0_s.items():
        print(f"ET0 ({dtype}, FAO-56 PM, missing-data logic): {shape[0] * shape[1]:,} values in {seconds:.2f} s = "
              f"{shape[0] * shape[1] / seconds:,.0f} values/s")


if __name__ == "__main__":
    main()
