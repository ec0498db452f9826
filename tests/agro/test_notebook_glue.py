"""The irrigation notebook's glue: season windows, strategy comparison, headline."""
import pandas as pd
import pytest

from kit.agro import synthetic
from kit.agro import notebook as nbk
from kit.errors import ParameterError


def test_agricultural_years():
    assert nbk.agricultural_years("2021-09-01", "2022-08-31") == (2021, 1)
    assert nbk.agricultural_years("2022-01-15", "2023-10-01") == (2021, 3)


@pytest.fixture(scope="module")
def plans():
    p = nbk.PARAMETERS.validate({"season_start": "2021-09-01", "season_end": "2022-08-31", "device": "cpu"})
    weather = synthetic.weather("agadir", seasons=1, seed=3)
    fields = synthetic.fields("agadir", n=12, seed=3)
    return nbk.plan_strategies(fields, weather, p)


def test_every_strategy_planned_and_quota_is_70_percent_of_mad(plans):
    plans, partial = plans
    assert list(plans) == ["mad", "calendar", "interval", "deficit", "quota"]
    assert plans["quota"].water_used_m3 == pytest.approx(0.7 * plans["mad"].water_used_m3, rel=1e-6)
    # Crop seasons are the sums of the FAO-56 Table 11 stage lengths: the citrus fields (365 days from
    # 1 January 2022) and the maize field (150 days from 27 April 2022) run past the window's last day,
    # 31 August 2022; tomato (180 days from September-October) and potato (125 days from 29 January) end inside it.
    fields = synthetic.fields("agadir", n=12, seed=3)
    days = fields["crop"].map({"tomato": 180, "maize": 150, "citrus": 365, "potato": 125})
    end = pd.to_datetime(fields["planting_date"]) + pd.to_timedelta(days - 1, unit="D")
    assert partial == int((end > pd.Timestamp("2022-08-31")).sum()) == 6


def test_comparison_against_calendar(plans):
    plans, _ = plans
    table = nbk.comparison_table(plans)
    assert table.loc["calendar", "water_vs_calendar_m3"] == 0
    mad = table.loc["mad"]
    assert mad["water_vs_calendar_m3"] == pytest.approx(plans["mad"].water_used_m3 - plans["calendar"].water_used_m3)
    assert mad["yield_vs_calendar_pts"] == pytest.approx(100 * (plans["mad"].relative_yield - plans["calendar"].relative_yield))
    sentence = nbk.headline(table, "mad")
    assert sentence.startswith("Against the fixed calendar, the mad plan ")
    assert ("saves" in sentence) == (mad["water_vs_calendar_m3"] <= 0)


def test_example_fields_are_irrigated(plans):
    plans, _ = plans
    ids = nbk.example_fields(plans["mad"])
    assert ids and set(ids) <= set(plans["mad"].table["field_id"])


def test_season_end_before_start_is_refused():
    p = nbk.PARAMETERS.validate({"season_start": "2022-09-01", "season_end": "2022-08-31"})
    with pytest.raises(ParameterError, match="season_end 2022-08-31 must be after season_start"):
        nbk.load_inputs(p)


def test_user_files_are_read(tmp_path):
    w = synthetic.weather("meknes", seasons=1, seed=1)
    f = synthetic.fields("meknes", n=5, seed=1)
    w.to_csv(tmp_path / "w.csv", index=False)
    f.to_csv(tmp_path / "f.csv", index=False)
    p = nbk.PARAMETERS.validate({"weather": str(tmp_path / "w.csv"), "fields": str(tmp_path / "f.csv")})
    weather, fields, source = nbk.load_inputs(p)
    assert len(fields) == 5 and "w.csv" in source and "f.csv" in source
    assert pd.api.types.is_numeric_dtype(weather["tmax_c"])


def test_gridded_fields_file_gives_a_map(tmp_path):
    import matplotlib.pyplot as plt
    import warnings

    path = synthetic.write_perimeter(tmp_path / "perimeter.nc", size=14, seed=2)
    p = nbk.PARAMETERS.validate({"fields": str(path), "device": "cpu"})
    weather, fields, source = nbk.load_inputs(p)
    assert "gridded fields" in source and nbk.n_fields(fields) == int((fields["crop"] > 0).sum())
    assert nbk.describe_fields(fields).startswith("grid of 14 × 14 pixels")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = kit_schedule(fields, weather, p)
    assert nbk.is_grid_plan(plan)
    fig = nbk.plot_map(plan)
    assert len(fig.axes) == 4  # two maps, two colour bars
    plt.close(fig)
    ids = nbk.example_fields(plan, n=2)
    fig = nbk.plot_depletion(plan, ids)
    plt.close(fig)
    paths = plan.write(tmp_path / "out")
    assert paths["seasonal_irrigation_mm"].exists() and paths["relative_yield"].exists()


def kit_schedule(fields, weather, p):
    from kit.agro import schedule

    return schedule(fields, weather, "mad", start=p.season_start, end=p.season_end, backend=p.device)
