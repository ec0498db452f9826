"""FAO-56 worked examples (Allen et al. 1998), backend agreement, and pyet agreement."""
import warnings

import numpy as np
import pandas as pd
import pytest

from kit.agro import et0, fao56
from kit.backend import to_numpy

A = np.asarray


def test_example2_pressure_and_psychrometric_constant():
    p = fao56.atmospheric_pressure_kpa(A(1800.0))
    assert float(p) == pytest.approx(81.8, abs=0.05)
    assert float(fao56.psychrometric_constant_kpa_c(p)) == pytest.approx(0.054, abs=0.0005)


def test_example3_saturation_vapour_pressure():
    assert float(fao56.saturation_vapour_pressure_kpa(A(24.5))) == pytest.approx(3.075, abs=0.0005)
    assert float(fao56.saturation_vapour_pressure_kpa(A(15.0))) == pytest.approx(1.705, abs=0.0005)
    assert float(fao56.mean_saturation_vapour_pressure_kpa(A(15.0), A(24.5))) == pytest.approx(2.39, abs=0.005)


def test_example5_actual_vapour_pressure_each_humidity_source():
    tmin, tmax = A([18.0]), A([25.0])
    ea, src = fao56.actual_vapour_pressure_kpa(tmin, tmax, rh_min_pct=A([54.0]), rh_max_pct=A([82.0]))
    assert float(ea[0]) == pytest.approx(1.702, abs=0.001) and fao56.EA_SOURCES[int(src[0])] == "rh_max_min"
    ea, src = fao56.actual_vapour_pressure_kpa(tmin, tmax, rh_max_pct=A([82.0]))
    assert float(ea[0]) == pytest.approx(1.692, abs=0.001) and fao56.EA_SOURCES[int(src[0])] == "rh_max"
    ea, src = fao56.actual_vapour_pressure_kpa(tmin, tmax, rh_mean_pct=A([68.0]))
    assert float(ea[0]) == pytest.approx(1.779, abs=0.001) and fao56.EA_SOURCES[int(src[0])] == "rh_mean"
    # Missing RH on a day falls back to Tmin as dew point (eq. 48).
    ea, src = fao56.actual_vapour_pressure_kpa(tmin, tmax, rh_max_pct=A([np.nan]), tdew_c=A([np.nan]))
    assert float(ea[0]) == pytest.approx(2.064, abs=0.001) and fao56.EA_SOURCES[int(src[0])] == "tmin"


def test_example6_vapour_pressure_deficit():
    es = fao56.mean_saturation_vapour_pressure_kpa(A(18.0), A(25.0))
    ea, _ = fao56.actual_vapour_pressure_kpa(A([18.0]), A([25.0]), rh_min_pct=A([54.0]), rh_max_pct=A([82.0]))
    assert float(es) == pytest.approx(2.616, abs=0.001)
    assert float(es - ea[0]) == pytest.approx(0.914, abs=0.001)


def test_examples8_9_extraterrestrial_radiation_and_daylight():
    j = A(246.0)  # 3 September, 20° S
    assert float(fao56.inverse_relative_distance(j)) == pytest.approx(0.985, abs=0.0005)
    assert float(fao56.solar_declination_rad(j)) == pytest.approx(0.120, abs=0.0005)
    assert float(fao56.sunset_hour_angle_rad(A(-20.0), fao56.solar_declination_rad(j))) == pytest.approx(1.527, abs=0.0005)
    assert float(fao56.extraterrestrial_radiation_mj_m2(-20.0, j)) == pytest.approx(32.2, abs=0.05)
    assert float(fao56.daylight_hours(-20.0, j)) == pytest.approx(11.7, abs=0.05)


def test_example10_solar_radiation_from_sunshine():
    # Rio de Janeiro (22°54' S), May: n = 220 h / 31 d; 15 May is day 135.
    lat, j = -(22 + 54 / 60), A(135.0)
    ra = fao56.extraterrestrial_radiation_mj_m2(lat, j)
    n_max = fao56.daylight_hours(lat, j)
    assert float(ra) == pytest.approx(25.1, abs=0.05)
    assert float(n_max) == pytest.approx(10.9, abs=0.05)
    rs = fao56.solar_radiation_from_sunshine_mj_m2(A(220 / 31), n_max, ra)
    assert float(rs) == pytest.approx(14.5, abs=0.05)


def test_examples11_12_net_radiation():
    # Rio de Janeiro May, Tmax 25.1, Tmin 19.1, ea 2.1 kPa, Rs 14.5, Rso 18.8 (elevation 0).
    rso = fao56.clear_sky_radiation_mj_m2(A(25.1), 0.0)
    assert float(rso) == pytest.approx(18.8, abs=0.05)
    rnl = fao56.net_longwave_radiation_mj_m2(A(19.1), A(25.1), A(2.1), A(14.5), rso)
    assert float(rnl) == pytest.approx(3.5, abs=0.05)
    assert float(fao56.net_shortwave_radiation_mj_m2(A(14.5))) == pytest.approx(11.2, abs=0.05)
    assert float(fao56.net_radiation_mj_m2(A(14.5), A(3.5))) == pytest.approx(7.7, abs=0.05)  # published Rns - Rnl
    assert float(fao56.net_radiation_mj_m2(A(14.5), rnl)) == pytest.approx(7.7, abs=0.1)


def test_example14_wind_at_2m():
    assert float(fao56.wind_speed_2m_ms(A(3.2), 10.0)) == pytest.approx(2.4, abs=0.05)


def test_example15_radiation_from_temperature():
    # Lyon (45°43' N, 200 m), 15 July: monthly Tmax 26.6, Tmin 14.8, Ra 40.6.
    ra = fao56.extraterrestrial_radiation_mj_m2(45 + 43 / 60, A(196.0))
    assert float(ra) == pytest.approx(40.6, abs=0.1)
    rs = fao56.solar_radiation_from_temperature_mj_m2(A(14.8), A(26.6), ra, krs=0.16)
    assert float(rs) == pytest.approx(22.3, abs=0.1)


def test_example17_bangkok_monthly():
    # April, 13°44' N, 2 m; Tmax 34.8, Tmin 25.6, ea 2.85 kPa, u2 2 m/s, n 8.5 h; T March 29.2, April 30.2.
    lat, j = 13 + 44 / 60, A([105.0])
    tmin, tmax = A([25.6]), A([34.8])
    g = 0.14 * (30.2 - 29.2)  # eq. 43, monthly soil heat flux
    tdew = A([np.log(2.85 / 0.6108) * 237.3 / (17.27 - np.log(2.85 / 0.6108))])  # dew point giving ea = 2.85
    out = fao56.et0_kernel(tmin, tmax, j, lat, 2.0, sunshine_h=A([8.5]), tdew_c=tdew, wind_ms=A([2.0]), g_mj_m2=g)
    assert float(out["ra_mj_m2"][0]) == pytest.approx(38.06, abs=0.05)
    assert float(out["rs_mj_m2"][0]) == pytest.approx(22.65, abs=0.05)
    assert float(out["rn_mj_m2"][0]) == pytest.approx(14.33, abs=0.05)
    assert float(out["et0_mm"][0]) == pytest.approx(5.72, abs=0.05)


def test_example18_brussels_daily_through_public_entry_point():
    w = pd.DataFrame({
        "date": ["2024-07-05"],  # 6 July is day 187 in a common year; 2024 is a leap year
        "tmin_c": [12.3], "tmax_c": [21.5], "rh_min_pct": [63.0], "rh_max_pct": [84.0],
        "wind_ms": [2.78], "wind_height_m": [10.0], "sunshine_h": [9.25],
    })
    out = et0(w, lat_deg=50 + 48 / 60, elevation_m=100.0)
    assert out["et0_mm"].iloc[0] == pytest.approx(3.9, abs=0.05)
    assert out["method"].iloc[0] == "penman-monteith"
    assert out["rs_mj_m2"].iloc[0] == pytest.approx(22.07, abs=0.05)
    assert out["rn_mj_m2"].iloc[0] == pytest.approx(13.28, abs=0.05)


def test_missing_data_procedure_and_hargreaves_on_request():
    w = pd.DataFrame({
        "date": pd.date_range("2023-07-01", periods=3).astype(str),
        "tmin_c": [20.0, 21.0, 19.0], "tmax_c": [36.0, 37.0, 35.0],
        "rh_min_pct": [25.0, np.nan, 30.0], "rh_max_pct": [60.0, np.nan, 65.0],
        "rs_mj_m2": [29.0, np.nan, np.nan], "sunshine_h": [np.nan, 12.0, np.nan], "wind_ms": [3.0, 3.0, np.nan],
    })
    out = et0(w, lat_deg=31.6, elevation_m=466.0)
    assert out["method"].tolist() == ["penman-monteith", "penman-monteith (missing data)", "penman-monteith (missing data)"]
    assert out["rs_source"].tolist() == ["measured", "sunshine", "temperature"]
    assert out["ea_source"].tolist() == ["rh_max_min", "tmin", "rh_max_min"]
    assert out["u2_source"].tolist() == ["measured", "measured", "default_2ms"]
    mixed = et0(w, lat_deg=31.6, elevation_m=466.0, et0_method="fao56+hs")
    assert mixed["method"].tolist() == ["penman-monteith", "penman-monteith (missing data)", "hargreaves-samani"]
    hs = et0(w, lat_deg=31.6, et0_method="hargreaves")
    ra = fao56.extraterrestrial_radiation_mj_m2(31.6, A([182.0, 183.0, 184.0]))
    expected = 0.0023 * (np.array([28.0, 29.0, 27.0]) + 17.8) * np.sqrt(16.0) * 0.408 * ra
    np.testing.assert_allclose(hs["et0_mm"], expected, rtol=1e-12)
    assert mixed["et0_mm"].iloc[2] == pytest.approx(hs["et0_mm"].iloc[2])


def year_of_weather(seed=3):
    rng = np.random.default_rng(seed)
    days = pd.date_range("2023-01-01", "2023-12-31")
    doy = days.day_of_year.to_numpy(float)
    season = np.cos(2 * np.pi * (doy - 200) / 365)
    tmax = 27 + 10 * season + rng.normal(0, 2, len(days))
    tmin = tmax - rng.uniform(8, 16, len(days))
    ra = fao56.extraterrestrial_radiation_mj_m2(31.6, doy)
    rs = ra * 0.75 * rng.uniform(0.55, 1.0, len(days))
    return pd.DataFrame({
        "date": days.strftime("%Y-%m-%d"), "tmin_c": tmin, "tmax_c": tmax,
        "rh_min_pct": rng.uniform(15, 55, len(days)), "rh_max_pct": rng.uniform(60, 98, len(days)),
        "wind_ms": rng.gamma(4, 0.6, len(days)), "rs_mj_m2": rs,
    })


def test_agrees_with_pyet_over_a_year():
    pyet = pytest.importorskip("pyet")
    w = year_of_weather()
    ours = et0(w, lat_deg=31.6, elevation_m=466.0)["et0_mm"].to_numpy()
    idx = pd.DatetimeIndex(w["date"])
    s = lambda c: pd.Series(w[c].to_numpy(), index=idx)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pyet.pm_fao56(
            (s("tmin_c") + s("tmax_c")) / 2, s("wind_ms"), rs=s("rs_mj_m2"), tmax=s("tmax_c"), tmin=s("tmin_c"),
            rhmax=s("rh_max_pct"), rhmin=s("rh_min_pct"), elevation=466.0, lat=np.deg2rad(31.6),
        ).to_numpy()
    rel = np.abs(ours - ref) / ref
    assert rel.max() < 0.01, rel.max()
    assert abs(ours.sum() - ref.sum()) / ref.sum() < 0.01


@pytest.mark.parametrize("namespace", ["numpy", "torch", "strict-cpu", "strict-device1", "strict-no_float64"])
def test_kernel_identical_on_every_backend(namespace):
    w = year_of_weather(5)
    cols = ["tmin_c", "tmax_c", "rh_min_pct", "rh_max_pct", "wind_ms", "rs_mj_m2"]
    data = {c: w[c].to_numpy().copy() for c in cols}
    data["rs_mj_m2"][::7] = np.nan  # exercise the per-element fallbacks too
    data["rh_min_pct"][::5] = np.nan
    doy = np.arange(1.0, 366.0)
    dtype = np.float32 if namespace == "strict-no_float64" else np.float64

    def run(conv):
        d = {k: conv(v.astype(dtype)) for k, v in data.items()}
        return fao56.et0_kernel(d.pop("tmin_c"), d.pop("tmax_c"), conv(doy.astype(dtype)), 31.6, 466.0, **d)

    ref = run(np.asarray)
    if namespace == "numpy":
        out, to_np = ref, np.asarray
    elif namespace == "torch":
        torch = pytest.importorskip("torch")
        out, to_np = run(torch.as_tensor), lambda t: t.numpy()
    else:
        xps = pytest.importorskip("array_api_strict")
        dev = {"strict-cpu": xps.Device("CPU_DEVICE"), "strict-device1": xps.Device("device1"),
               "strict-no_float64": xps.Device("no_float64")}[namespace]
        out = run(lambda a: xps.asarray(a, device=dev))
        assert out["et0_mm"].device == dev
        to_np = to_numpy
    for key in ("et0_mm", "rs_source", "ea_source", "u2_source"):
        got = to_np(out[key])
        assert got.dtype == np.asarray(ref[key]).dtype
        np.testing.assert_allclose(got, ref[key], rtol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_examples_17_18_hold_in_float32_and_in_blocks(dtype):
    """The gridded path computes in float32 and in cache-sized blocks: the worked examples still hold."""
    a = lambda v: np.asarray(v, dtype=dtype)  # noqa: E731
    tdew = np.log(2.85 / 0.6108) * 237.3 / (17.27 - np.log(2.85 / 0.6108))
    bkk = fao56.et0_kernel(a([25.6]), a([34.8]), a([105.0]), 13 + 44 / 60, 2.0, sunshine_h=a([8.5]), tdew_c=a([tdew]),
                           wind_ms=a([2.0]), g_mj_m2=0.14)
    assert bkk["et0_mm"].dtype == dtype and float(bkk["et0_mm"][0]) == pytest.approx(5.72, abs=0.05)
    # Brussels, repeated on a (rows, days) grid computed in blocks of 3 rows: every element is Example 18.
    shape = (7, 4)
    full = lambda v: np.full(shape, v, dtype=dtype)  # noqa: E731
    out = fao56.et0_kernel(full(12.3), full(21.5), a([187.0] * 4), 50.8, 100.0, sunshine_h=full(9.25),
                           rh_min_pct=full(63.0), rh_max_pct=full(84.0), wind_ms=full(2.78), wind_height_m=10.0,
                           block_size=12)
    assert out["et0_mm"].shape == shape and out["et0_mm"].dtype == dtype
    np.testing.assert_allclose(out["et0_mm"], 3.9, atol=0.05)
    assert np.ptp(out["et0_mm"]) == 0
