"""Pipeline specs: which notebooks to run, with which parameters, where and how.

A spec, by example::

    name: weekly-irrigation
    schedule: "0 5 * * 1"                 # cron
    output: reports/weekly-irrigation     # a dated folder per execution below it
    executor: dask                        # or local
    scheduler: null                       # tcp://host:8786; null starts a LocalCluster
    max_parallel: 2
    timeout_s: 1800
    retries: 1
    lang: fr                              # every run's report in French (a run's parameters may say otherwise)
    runs:
      - notebook: irrigation_planning
        matrix: {site: [marrakech, agadir, meknes], strategy: [mad, quota]}
        parameters: {quota_m3: 2000000}

String parameter values may use the execution's date: ``{run_date}`` (ISO)
or ``{run_date:%Y%m%d}``.
"""
from __future__ import annotations

import datetime as dt
import itertools
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kit import i18n, notebooks
from kit.errors import DeviceUnavailable, KitError
from kit.i18n import _
from kit.params import LANG, is_url

EXECUTORS = ("local", "dask")
TEMPLATE_FIELDS = ("run_date",)
_TOP_KEYS = {"name", "schedule", "output", "executor", "scheduler", "max_parallel", "timeout_s", "retries", "runs", "lang"}
_RUN_KEYS = {"notebook", "parameters", "matrix", "id"}


class SpecError(KitError):
    """A pipeline spec has a mistake; the message says where and how to fix it."""


@dataclass(frozen=True)
class PlannedRun:
    """One notebook run of a pipeline, parameters not yet rendered for a date."""

    run_id: str
    notebook: str
    parameters: dict

    def render(self, run_date: dt.date) -> dict:
        """Parameters with ``{run_date}`` templates filled in."""
        return {k: _render(v, run_date) for k, v in self.parameters.items()}


@dataclass(frozen=True)
class Pipeline:
    name: str
    schedule: str | None
    output: Path
    runs: tuple[PlannedRun, ...]
    executor: str = "local"
    scheduler: str | None = None
    max_parallel: int = 1
    timeout_s: float | None = None
    retries: int = 0
    source: Path | None = field(default=None, compare=False)
    lang: str = "en"  # the language of the runs' reports (unless a run's parameters say) and of the index


def _render(value, run_date):
    if isinstance(value, str):
        return value.format(run_date=run_date)
    return value


def _template_fields(value, where):
    if not isinstance(value, str):
        return
    try:
        parsed = list(string.Formatter().parse(value))
    except ValueError as exc:
        raise SpecError(_("{where}: bad template {value!r} ({error}); write {{run_date}} or {{run_date:%Y-%m-%d}}").format(
            where=where, value=value, error=exc)) from None
    for _text, name, _spec, _conversion in parsed:
        if name is not None and name not in TEMPLATE_FIELDS:
            raise SpecError(_("{where}: unknown template field {{{name}}} in {value!r}; available: {{run_date}}, "
                              "{{run_date:%Y-%m-%d}}").format(where=where, name=name, value=value))


def _slug(value) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", str(value)).strip("_")[:60]


def _check_cron(expr, where):
    from croniter import croniter

    if not isinstance(expr, str) or not croniter.is_valid(expr):
        raise SpecError(_("{where}: {expr!r} is not a cron expression; write five fields, e.g. '0 5 * * 1' (05:00 on "
                          "Mondays)").format(where=where, expr=expr))


def _check_run_parameters(notebook_path, params: dict, where: str) -> None:
    """Names, types and allowed values now; what depends on the machine or the day waits for the run.

    A path may name the day's file, not there yet; ``device: cuda`` may be
    asked of a machine without a GPU. Either sets that one run aside when it
    is due (:func:`kit.pipeline.execute.run_pipeline`), never the whole spec.
    """
    spec = notebooks.inspect(notebook_path).spec
    try:
        spec.check_names(params)
    except KitError as exc:
        raise SpecError(f"{where}: {exc}") from None
    sample_date = dt.date(2000, 1, 1)
    for name, value in params.items():
        p = spec[name]
        rendered = _render(value, sample_date)
        if p.kind in ("path", "source") and isinstance(rendered, str) and not is_url(rendered):
            continue  # files appear by the time the run starts
        try:
            p.check(rendered)
        except DeviceUnavailable:
            continue  # a valid choice this machine cannot serve today
        except KitError as exc:
            raise SpecError(f"{where}: {exc}") from None


def _expand(run: dict, index: int, lang: str | None = None) -> list[PlannedRun]:
    where = f"runs[{index}]"
    if not isinstance(run, dict):
        raise SpecError(_("{where}: each run is a mapping with 'notebook' and 'parameters' or 'matrix'").format(where=where))
    unknown = set(run) - _RUN_KEYS
    if unknown:
        raise SpecError(_("{where}: unknown key {key!r}; a run has {keys}").format(where=where, key=sorted(unknown)[0],
                                                                                  keys=", ".join(sorted(_RUN_KEYS))))
    if "notebook" not in run:
        raise SpecError(_("{where}: missing 'notebook'; name one from `kit list`").format(where=where))
    try:
        path = notebooks.find_notebook(run["notebook"])
    except KitError as exc:
        raise SpecError(f"{where}: {exc}") from None
    name = notebooks.short_name(path)
    base = run.get("parameters") or {}
    matrix = run.get("matrix") or {}
    if not isinstance(base, dict):
        raise SpecError(_("{where}.parameters must be a mapping of name: value").format(where=where))
    if not isinstance(matrix, dict):
        raise SpecError(_("{where}.matrix must be a mapping of name: [values]").format(where=where))
    for key, values in matrix.items():
        if not isinstance(values, list) or not values:
            raise SpecError(_("{where}.matrix.{key} must be a non-empty list of values, e.g. [a, b]").format(where=where, key=key))
        if key in base:
            raise SpecError(_("{where}: {key!r} is in both matrix and parameters; keep it in one").format(where=where, key=key))
    for key, value in base.items():
        _template_fields(value, f"{where}.parameters.{key}")
    keys = list(matrix)
    planned = []
    for combo in itertools.product(*(matrix[k] for k in keys)):
        params = {**({"lang": lang} if lang and lang != LANG.default else {}), **base, **dict(zip(keys, combo))}
        for key, value in zip(keys, combo):
            _template_fields(value, f"{where}.matrix.{key}")
        _check_run_parameters(path, params, where)
        suffix = "-".join(f"{k}={_slug(v)}" for k, v in zip(keys, combo))
        run_id = run.get("id") or name
        planned.append(PlannedRun(f"{run_id}-{suffix}" if suffix else run_id, name, params))
    return planned


def load_pipeline(path, *, cwd=None) -> Pipeline:
    """Read and validate a pipeline spec.

    Raises
    ------
    SpecError
        One line per mistake: unknown key, notebook or parameter, bad cron,
        bad matrix, unknown template field, duplicate run ids.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SpecError(f"pipeline spec {path} not found; give the path of a YAML file in pipelines/") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecError(f"cannot read pipeline spec {path}: {first}") from None
    if not isinstance(data, dict):
        raise SpecError(f"pipeline spec {path} must be a YAML mapping with name, output and runs")
    lang = data.get("lang") or LANG.default  # first: the errors below speak it (those above stay English)
    if lang not in LANG.choices:
        raise SpecError(f"{path.name}: lang must be one of {', '.join(LANG.choices)}, got {lang!r}")
    with i18n.using(lang):
        return _load(path, data, lang, cwd)


def _load(path: Path, data: dict, lang: str, cwd) -> Pipeline:
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise SpecError(_("{file}: unknown key {key!r}; a spec has {keys}").format(file=path.name, key=sorted(unknown)[0],
                                                                                   keys=", ".join(sorted(_TOP_KEYS))))
    for key in ("name", "output", "runs"):
        if key not in data:
            raise SpecError(_("{file}: missing {key!r}").format(file=path.name, key=key))
    if data.get("schedule") is not None:
        _check_cron(data["schedule"], f"{path.name}: schedule")
    executor = data.get("executor", "local")
    if executor not in EXECUTORS:
        raise SpecError(_("{file}: executor must be local or dask, got {value!r}").format(file=path.name, value=executor))
    for key in ("max_parallel", "retries"):
        value = data.get(key, 1 if key == "max_parallel" else 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < (1 if key == "max_parallel" else 0):
            raise SpecError(_("{file}: {key} must be a whole number >= {minimum}, got {value!r}").format(
                file=path.name, key=key, minimum=1 if key == "max_parallel" else 0, value=value))
    timeout = data.get("timeout_s")
    if timeout is not None and (not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0):
        raise SpecError(_("{file}: timeout_s must be a positive number of seconds, got {value!r}").format(file=path.name,
                                                                                                          value=timeout))
    if not isinstance(data["runs"], list) or not data["runs"]:
        raise SpecError(_("{file}: runs must be a non-empty list").format(file=path.name))
    runs = [r for i, run in enumerate(data["runs"]) for r in _expand(run, i, lang)]
    ids = [r.run_id for r in runs]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise SpecError(_("{file}: two runs would share the folder {run!r}; give one an 'id'").format(file=path.name,
                                                                                                      run=dupes[0]))
    output = Path(data["output"])
    if not output.is_absolute():
        output = Path(cwd or Path.cwd()) / output
    return Pipeline(
        name=str(data["name"]),
        schedule=data.get("schedule"),
        output=output,
        runs=tuple(runs),
        executor=executor,
        scheduler=data.get("scheduler"),
        max_parallel=data.get("max_parallel", 1),
        timeout_s=timeout,
        retries=data.get("retries", 0),
        source=path.resolve(),
        lang=lang,
    )
