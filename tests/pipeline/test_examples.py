"""Every shipped pipeline spec validates against the notebooks it names."""
from pathlib import Path

import pytest

from kit.pipeline import load_pipeline

SPECS = sorted((Path(__file__).resolve().parents[2] / "pipelines").glob("*.yaml"))


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_example_spec_is_valid(path):
    pipeline = load_pipeline(path)
    assert pipeline.runs and pipeline.schedule
    assert len({r.run_id for r in pipeline.runs}) == len(pipeline.runs)


def test_weekly_irrigation_expands_to_six_runs():
    pipeline = load_pipeline(Path(__file__).resolve().parents[2] / "pipelines/weekly-irrigation.yaml")
    assert len(pipeline.runs) == 6
    assert pipeline.runs[0].parameters == {"quota_m3": 2000000, "site": "marrakech", "strategy": "mad"}
