"""Cron schedules of pipelines: the crontab line, systemd units and OnCalendar expressions."""
import pytest
import yaml

from kit.pipeline import load_pipeline
from kit.pipeline.cron import crontab_line, on_calendar, systemd_units

BASE = {"name": "demo", "schedule": "0 5 * * 1", "output": "reports/demo"}


def write(tmp_path, spec: dict):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_crontab_line_and_systemd_units(tmp_path):
    p = load_pipeline(write(tmp_path, {**BASE, "runs": [{"notebook": "quickstart"}]}), cwd=tmp_path)
    line = crontab_line(p, workdir=tmp_path)
    assert line.startswith("0 5 * * 1 cd ") and "pipeline run" in line and "cron.log 2>&1" in line
    service, timer = systemd_units(p, workdir=tmp_path)
    assert "OnCalendar=Mon *-*-* 05:00:00" in timer and "Type=oneshot" in service


@pytest.mark.parametrize(
    "cron,expected",
    [
        ("0 5 * * 1", "Mon *-*-* 05:00:00"),
        ("*/15 * * * *", "*-*-* *:00/15:00"),
        ("30 6 1 * *", "*-*-01 06:30:00"),
        ("0 7 * * 1-5", "Mon..Fri *-*-* 07:00:00"),
        ("0 0 1 1,7 *", "*-01,07-01 00:00:00"),
    ],
)
def test_on_calendar(cron, expected):
    assert on_calendar(cron) == expected


def test_day_of_week_steps_refused_in_french():
    from kit.i18n import using
    from kit.pipeline.spec import SpecError

    with using("fr"), pytest.raises(SpecError, match=r"^les pas de jour de semaine \(\*/2\) n’ont pas d’équivalent systemd\u202f; "
                                                     r"listez plutôt les jours$"):
        on_calendar("0 5 * * */2")
