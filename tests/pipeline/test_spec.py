"""Pipeline specs: expansion, templates and one clear message per mistake."""
import datetime as dt

import pytest
import yaml

from kit.pipeline import load_pipeline
from kit.pipeline.spec import SpecError


def write(tmp_path, spec: dict):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


BASE = {"name": "demo", "schedule": "0 5 * * 1", "output": "reports/demo"}


def test_matrix_expands_into_runs(tmp_path):
    spec = {**BASE, "runs": [{"notebook": "quickstart", "matrix": {"seed": [0, 1], "size": [32, 64]},
                              "parameters": {"device": "cpu"}}]}
    p = load_pipeline(write(tmp_path, spec), cwd=tmp_path)
    assert [r.run_id for r in p.runs] == [
        "quickstart-seed=0-size=32", "quickstart-seed=0-size=64", "quickstart-seed=1-size=32", "quickstart-seed=1-size=64"
    ]
    assert p.runs[3].parameters == {"device": "cpu", "seed": 1, "size": 64}
    assert p.output == tmp_path / "reports/demo"
    assert p.executor == "local" and p.max_parallel == 1 and p.retries == 0


def test_run_date_templates(tmp_path):
    spec = {**BASE, "runs": [{"notebook": "quickstart", "parameters": {"output_dir": "out/{run_date:%Y%m%d}"}}]}
    p = load_pipeline(write(tmp_path, spec), cwd=tmp_path)
    assert p.runs[0].render(dt.date(2026, 3, 9)) == {"output_dir": "out/20260309"}


@pytest.mark.parametrize(
    "change,message",
    [
        ({"runs": [{"notebook": "nope"}]}, "runs[0]: unknown notebook 'nope'; available:"),
        ({"runs": [{"notebook": "quickstart", "parameters": {"sizes": 3}}]}, "runs[0]: unknown parameter 'sizes'; valid parameters: seed, size"),
        ({"runs": [{"notebook": "quickstart", "parameters": {"size": "big"}}]}, "parameter 'size' expects int"),
        ({"schedule": "every monday"}, "schedule: 'every monday' is not a cron expression"),
        ({"runs": [{"notebook": "quickstart", "matrix": {"seed": 3}}]}, "runs[0].matrix.seed must be a non-empty list"),
        ({"runs": [{"notebook": "quickstart", "matrix": {"seed": [1]}, "parameters": {"seed": 2}}]}, "'seed' is in both matrix and parameters"),
        ({"runs": [{"notebook": "quickstart", "parameters": {"output_dir": "x/{day}"}}]}, "unknown template field {day}"),
        ({"runs": [{"notebook": "quickstart"}, {"notebook": "quickstart"}]}, "two runs would share the folder 'quickstart'; give one an 'id'"),
        ({"executor": "slurm"}, "executor must be local or dask"),
        ({"max_parallel": 0}, "max_parallel must be a whole number >= 1"),
        ({"runz": []}, "unknown key 'runz'"),
        ({"runs": []}, "runs must be a non-empty list"),
    ],
)
def test_each_mistake_has_a_message(tmp_path, change, message):
    spec = {**BASE, "runs": [{"notebook": "quickstart"}], **change}
    with pytest.raises(SpecError) as err:
        load_pipeline(write(tmp_path, spec), cwd=tmp_path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_and_corrupt_spec(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        load_pipeline(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [\n")
    with pytest.raises(SpecError, match="cannot read pipeline spec"):
        load_pipeline(bad)
