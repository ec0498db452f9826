"""``kit run``: execute a notebook with papermill into a self-describing folder.

The run folder holds the executed notebook (``notebook.ipynb``),
``report.html``, ``metrics.json``, ``manifest.json`` and whatever the notebook
wrote to its ``output_dir``. Everything is written to a hidden temporary
folder beside the target and renamed into place at the end, so a crash never
leaves a half report that looks whole; a run whose notebook raised is still
moved into place, marked ``status: failed``.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kit import i18n, notebooks
from kit.errors import KitError, ParameterError
from kit.i18n import _
from kit.io import sha256, write_json
from kit.params import LANG, Params, check_writable, is_url
from kit.provenance import git_state, host, package_versions

NOTEBOOK_FILE = "notebook.ipynb"
REPORT_FILE = "report.html"
MANIFEST_FILE = "manifest.json"
METRICS_FILE = "metrics.json"
_PATH_KINDS = ("path", "source", "output_dir")


def parse_cli_value(text: str):
    """Read a ``-p KEY VALUE`` value as YAML (``3`` -> int, ``[a, b]`` -> list), else keep the string."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def load_parameter_file(path) -> dict:
    """Parameters from a YAML (or JSON) mapping file."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise KitError(f"parameter file {path} not found; check the -f path") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise KitError(f"cannot read parameter file {path}: {first}; it must be a YAML mapping of name: value") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KitError(f"parameter file {path} must be a YAML mapping of name: value, not {type(data).__name__}")
    return data


@dataclass
class RunPlan:
    """A checked run, ready to execute."""

    notebook: Path
    name: str
    out: Path
    parameters: dict  # what the user asked for, validated, paths absolute
    all_parameters: dict  # defaults filled in (for the manifest)
    spec_kinds: dict = field(default_factory=dict)
    output_dir_given: bool = False
    lang: str = "en"  # the report's language; a parameter of every notebook (kit.params.COMMON)

    @property
    def kernel_parameters(self) -> dict:
        """What papermill injects: the user's parameters the notebook's cell declares (``lang`` only if it does)."""
        return {k: v for k, v in self.parameters.items() if k in self.spec_kinds}


def _user_value(spec_param, raw, from_cli: bool):
    # From the command line a str parameter keeps its text as typed: `-p site 2020` is "2020".
    text_kinds = ("str", "path", "source", "output_dir", "device", "date", "datetime")
    if from_cli and spec_param is not None and spec_param.kind in text_kinds:
        return None if raw.strip().lower() in ("none", "null", "~") and spec_param.optional else raw
    return parse_cli_value(raw) if from_cli else raw


def plan(notebook: str, cli_params=(), param_file=None, out=None, cwd=None) -> RunPlan:
    """Check everything a run needs before a kernel starts.

    Raises
    ------
    KitError
        Unknown notebook, unreadable parameter file, unknown parameter, wrong
        type or value, missing input path, unusable device, unwritable output.
    """
    cwd = Path(cwd or Path.cwd())
    path = notebooks.find_notebook(notebook)
    info = notebooks.inspect(path)
    spec = info.spec
    given: dict = {}
    if param_file:
        for key, value in load_parameter_file(param_file).items():
            given[str(key)] = (value, False)
    for key, raw in cli_params:
        given[key] = (raw, True)
    lang = LANG.check(_user_value(LANG, *given["lang"]) if "lang" in given else LANG.default)  # first: the errors speak it
    with i18n.using(lang):
        return _plan(path, info, given, out, cwd, lang)


def _plan(path, info, given: dict, out, cwd: Path, lang: str) -> RunPlan:
    spec = info.spec
    spec.check_names(given)
    values = {k: _user_value(spec[k], raw, cli) for k, (raw, cli) in given.items()}
    # Relative paths are the caller's, but the kernel runs in the notebook's folder.
    kinds = {p.name: p.kind for p in spec}
    for key, value in values.items():
        if kinds.get(key) in _PATH_KINDS and isinstance(value, str) and not is_url(value):
            values[key] = str((cwd / value).resolve())
    checked: Params = spec.validate(values, partial=True)
    all_values = {**spec.defaults(), **dict(checked), "lang": lang}  # the manifest and fingerprint name the language
    if "device" in kinds and "device" not in checked:
        spec["device"].check(all_values["device"])  # KIT_DEVICE may ask for cuda
    out = Path(out) if out else cwd / "reports" / info.name
    out = (cwd / out).resolve() if not out.is_absolute() else out
    check_writable(out.parent, "--out")
    if out.exists() and not out.is_dir():
        raise KitError(_("--out {path} is a file; choose a folder").format(path=out))
    return RunPlan(path, info.name, out, dict(checked), all_values, kinds, "output_dir" in checked, lang)


@contextlib.contextmanager
def _environ(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def kernel_config():
    """Kernel-manager settings for one kernel ``kit`` starts: a private local IPC socket where it works.

    Over TCP every kernel warns that its traffic is unencrypted, and kernels
    started at the same moment can pick the same free port. IPC sockets get a
    path of their own per kernel (jupyter_client's default, ``kernel-ipc`` in
    the working folder, is shared by two runs of one notebook and mixes their
    messages), in the Jupyter runtime folder, private to this user. Windows
    has no such sockets, and a socket path may not exceed about 100 bytes:
    there the kernel keeps TCP on loopback.
    """
    import uuid

    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets.config import Config

    prefix = os.path.join(jupyter_runtime_dir(), f"kit-{uuid.uuid4().hex}")
    if os.name == "posix" and len(prefix) + 8 < 107:  # "-<port>" follows; sockaddr_un holds 107 bytes
        os.makedirs(jupyter_runtime_dir(), mode=0o700, exist_ok=True)
        return Config({"KernelManager": {"transport": "ipc", "ip": prefix}})
    return Config()


def _input_checksums(plan: RunPlan) -> dict:
    out = {}
    for key, value in plan.all_parameters.items():
        if plan.spec_kinds.get(key) == "source" and value and is_url(str(value)):
            out[key] = {"url": str(value)}  # parameters never carry a password (kit.params refuses one)
        elif plan.spec_kinds.get(key) in ("path", "source") and value:
            out[key] = {"path": str(value), "sha256": sha256(value)}
    return out


def _error_summary(exc: BaseException) -> dict:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return {"type": exc.ename, "message": str(exc.evalue), "cell": exc.exec_count}
    return {"type": type(exc).__name__, "message": str(exc).strip().splitlines()[0] if str(exc).strip() else ""}


def _take_recorded(tmp: Path, name: str) -> dict | None:
    """A file the notebook recorded for the manifest (kit.report), read and removed from the run folder."""
    import json

    path = tmp / name
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    path.unlink()
    return data


def _device_info(plan: RunPlan, tmp: Path) -> dict:
    """The device entry of the manifest: what was asked for, and what the notebook's kernel used."""
    from kit.report import BACKEND_FILE

    used = _take_recorded(tmp, BACKEND_FILE) or {
        "resolved": None, "reason": "the notebook recorded no backend (it failed first, or resolves none)"}
    return {"requested": plan.all_parameters.get("device", "auto"), **used}


def execute(plan: RunPlan, *, show_code: bool = False, progress: bool = True, timeout_s: float | None = None) -> dict:
    """Run the notebook and move the finished folder into ``plan.out``.

    Returns
    -------
    dict
        The manifest; ``manifest["status"]`` is ``"ok"`` or ``"failed"``.
    """
    import papermill

    plan.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{plan.out.name}.tmp-", dir=plan.out.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would hide reports from a web server
    try:
        params = plan.kernel_parameters
        if "output_dir" in plan.spec_kinds and not plan.output_dir_given:
            params["output_dir"] = str(tmp)
        started = dt.datetime.now(dt.timezone.utc)
        t0 = time.perf_counter()
        status, error = "ok", None
        with _environ(KIT_RUN_DIR=tmp, PYDEVD_DISABLE_FILE_VALIDATION=1, **{i18n.LANG_ENV: plan.lang}):
            try:
                papermill.execute_notebook(
                    _source_in(plan.notebook, plan.lang),
                    str(tmp / NOTEBOOK_FILE),
                    parameters=params,
                    cwd=str(plan.notebook.parent),
                    progress_bar=progress,
                    kernel_name="python3",
                    request_save_on_cell_execute=True,
                    execution_timeout=timeout_s,
                    config=kernel_config(),
                )
            except Exception as exc:  # the notebook's own error, a dead kernel, a timeout
                status, error = "failed", _error_summary(exc)
        duration = time.perf_counter() - t0
        ended = dt.datetime.now(dt.timezone.utc)
        manifest = _manifest(plan, tmp, status, error, started, ended, duration)
        if (tmp / NOTEBOOK_FILE).exists():
            _point_at_final_folder(tmp / NOTEBOOK_FILE, tmp, plan.out)
            render_report(tmp / NOTEBOOK_FILE, tmp / REPORT_FILE, show_code=show_code, lang=plan.lang)
        if not (tmp / METRICS_FILE).exists():
            write_json(tmp / METRICS_FILE, {})
        write_json(tmp / MANIFEST_FILE, manifest)
        _move_into_place(tmp, plan.out)
        return manifest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def fingerprint(plan: RunPlan) -> str:
    """What makes two runs interchangeable: notebook content, parameters, input files, kit code.

    ``output_dir`` is left out (it names where a run went, not what it
    computed); a run reading a URL (a live source) gets a fingerprint of
    its own, so a scheduled run is never skipped for an earlier one. The
    kit's own source is hashed rather than its git commit, so an unrelated
    uncommitted change elsewhere does not prevent reuse, and a change to
    kit code always does.
    """
    import hashlib
    import json
    import uuid

    params = {k: v for k, v in plan.all_parameters.items() if k != "output_dir"}
    # A URL names a live source (a PACS, a historian) whose content has no checksum and changes between
    # runs: a run reading one is never interchangeable with another, so its fingerprint is unique.
    key = {
        "notebook_sha256": sha256(plan.notebook),
        "parameters": params,
        "inputs": {k: v.get("sha256") or f"live {v.get('url')} {uuid.uuid4().hex}"
                   for k, v in _input_checksums(plan).items()},
        "kit_source": kit_source_sha256(),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def kit_source_sha256() -> str:
    """SHA-256 over the kit package's Python files and translation catalogs (a changed French text is a change)."""
    import hashlib

    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted([*root.rglob("*.py"), *root.rglob("locale/*/LC_MESSAGES/*.po")]):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _manifest(plan, tmp, status, error, started, ended, duration) -> dict:
    inputs = {**_input_checksums(plan), **(_take_recorded(tmp, "inputs.json") or {})}
    parameters = dict(plan.all_parameters)
    if "output_dir" in plan.spec_kinds and not plan.output_dir_given:
        parameters["output_dir"] = str(plan.out)
    return {
        "notebook": plan.name,
        "notebook_path": str(plan.notebook),
        "notebook_sha256": sha256(plan.notebook),
        "parameters": parameters,
        "overrides": sorted(plan.parameters),
        "status": status,
        "error": error,
        "fingerprint": fingerprint(plan),
        "start": started.isoformat(timespec="seconds"),
        "end": ended.isoformat(timespec="seconds"),
        "duration_s": round(duration, 2),
        "device": _device_info(plan, tmp),
        "inputs": inputs,
        "git": git_state(plan.notebook.parent),
        "packages": package_versions(),
        "host": host(),
    }


def _point_at_final_folder(notebook: Path, tmp: Path, out: Path) -> None:
    # The notebook saw the temporary folder as output_dir; once moved, its
    # files are in `out`, so the executed notebook and report say so.
    text = notebook.read_text(encoding="utf-8")
    if str(tmp) in text:
        notebook.write_text(text.replace(str(tmp), str(out)), encoding="utf-8")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _move_into_place(tmp: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _source_in(notebook: Path, lang: str):
    """The notebook as the kernel runs it in ``lang``: the other language's markdown cells left out."""
    import nbformat

    return i18n.select_cells(nbformat.read(str(notebook), as_version=4), lang)


#: Said at the top of every report not in English (output files are read by other systems).
FILES_STAY_ENGLISH = i18n.N_("Output files (CSV, NetCDF, GeoTIFF, JSON) keep their documented English column names, "
                             "which other systems read; the tables shown in this report translate them.")


def _figure_alts(nb) -> list[str]:
    """Alternative text of each figure in output order: its titles (kit.plotting.show stores them), else "Figure"."""
    alts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if "image/png" in out.get("data", {}):
                titles = out.get("metadata", {}).get("kit", {}).get("figure_text", {}).get("titles", [])
                alts.append(" / ".join(titles) or _("Figure"))
    return alts


def render_report(notebook_path, html_path, *, show_code: bool = False, lang: str = "en") -> Path:
    """Render an executed notebook to a self-contained HTML report in ``lang``.

    Code is hidden unless ``show_code``; figures are embedded; scripts that
    would be fetched from the network are dropped, so the page opens offline.
    Only ``lang``'s cells are shown (:func:`kit.i18n.select_cells`); a report
    not in English says, after its title, that the output files keep their
    English column names.
    """
    import html
    import re

    import nbformat
    from nbconvert import HTMLExporter

    nb = i18n.select_cells(nbformat.read(str(notebook_path), as_version=4), lang)
    if lang != i18n.DEFAULT_LANG:
        with i18n.using(lang):
            note = nbformat.v4.new_markdown_cell(f"*{_(FILES_STAY_ENGLISH)}*")
        first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
        nb.cells.insert(first + 1, note)
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = not show_code
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.embed_images = True
    body, _resources = exporter.from_notebook_node(nb)
    body = re.sub(r'<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>', "", body)
    body = re.sub(r'<link[^>]*href="https?://[^"]*"[^>]*>', "", body)
    body = re.sub(r"<html(\s+lang=\"[^\"]*\")?", f'<html lang="{lang}"', body, count=1)  # nbconvert says "en"
    with i18n.using(lang):
        alts = iter(_figure_alts(nb))
        body = re.sub(r'alt="No description has been provided for this image"',
                      lambda m: f'alt="{html.escape(next(alts, _("Figure")))}"', body)
    html_path = Path(html_path)
    html_path.write_text(body, encoding="utf-8")
    return html_path
