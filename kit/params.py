"""Notebook parameters: one spec, checked before any work starts.

Each notebook declares its parameters twice, on purpose: literally, in the
cell tagged ``parameters`` (what papermill injects into and what an analyst
edits), and as a :class:`Spec` in ``kit`` (types and allowed values). A test
keeps the two in step; the runner and the notebook both validate against the
spec, so a bad value is refused with the parameter's name before a kernel
starts or, in JupyterLab, before any work.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kit.errors import InputMissing, ParameterError
from kit.i18n import LANG_ENV, LANGS, N_, _, set_lang

KINDS = ("int", "float", "str", "bool", "date", "datetime", "path", "source", "output_dir", "device", "list", "dict")
# A database URL (``scheme://...``), which a ``source`` parameter takes besides a path.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@?#]*:[^/@?#]*@|[?&]password=", re.I)


@dataclass(frozen=True)
class Param:
    """One notebook parameter.

    Parameters
    ----------
    name : str
    kind : str
        One of ``int, float, str, bool, date, datetime, path, output_dir, device, list, dict``.
        ``path`` must exist when given; ``None`` means "use the embedded data".
        ``datetime`` is a local date ``YYYY-MM-DD`` or date-time
        ``YYYY-MM-DD HH:MM[:SS]`` without offset (the notebook says in which
        time zone); the value is kept as that text.
    default : object
        Same value as in the notebook's ``parameters`` cell.
    doc : str
        One line, with the unit.
    choices : tuple, optional
    min, max : float, optional
        Inclusive bounds for numbers.
    optional : bool
        ``None`` is allowed.
    """

    name: str
    kind: str
    default: Any
    doc: str
    choices: tuple | None = None
    min: float | None = None
    max: float | None = None
    optional: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r} for {self.name!r}")

    @property
    def type_name(self) -> str:
        base = {"path": "str (path)", "source": "str (path or URL)", "output_dir": "str (folder)", "date": "str (YYYY-MM-DD)",
                "datetime": "str (YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS])", "device": "str"}.get(
            self.kind, self.kind
        )
        return f"{base} or None" if self.optional else base

    def check(self, value):
        """Return ``value`` converted to this parameter's kind, or raise ParameterError."""
        if value is None:
            if self.optional or self.kind in ("path", "source"):
                return None
            raise ParameterError(_("parameter {name!r} expects {type}, got None").format(name=self.name, type=self.type_name))
        value = _coerce(self, value)
        if self.choices is not None and value not in self.choices:
            raise ParameterError(_("parameter {name!r} must be one of {choices}, got {value!r}").format(
                name=self.name, choices=", ".join(map(repr, self.choices)), value=value))
        if self.min is not None and value < self.min:
            raise ParameterError(_("parameter {name!r} must be >= {min}, got {value!r}").format(name=self.name, min=self.min, value=value))
        if self.max is not None and value > self.max:
            raise ParameterError(_("parameter {name!r} must be <= {max}, got {value!r}").format(name=self.name, max=self.max, value=value))
        if self.kind == "source" and is_url(value):
            _check_url(self.name, str(value))
        elif self.kind in ("path", "source") and not Path(value).exists():
            raise InputMissing(_("parameter {name!r}: {value} does not exist; give an existing path, or None for the "
                                 "embedded data").format(name=self.name, value=value))
        if self.kind == "output_dir":
            check_writable(value, self.name)
        if self.kind == "device":
            from kit.backend import check_device

            check_device(value)  # raises DeviceUnavailable with the reason
        return value


def is_url(value) -> bool:
    """Whether ``value`` is a URL (``scheme://...``) rather than a path.

    Examples
    --------
    >>> is_url("postgresql://reader@db/historian"), is_url("data/scada.csv")
    (True, False)
    """
    return isinstance(value, str) and bool(_URL.match(value))


def _check_url(name: str, url: str) -> None:
    """Refuse a URL carrying a password, without repeating it: parameters end up in reports and manifests."""
    if _URL_PASSWORD.search(url):
        raise ParameterError(f"parameter {name!r}: the URL carries a password; remove it and give the password "
                             "through the client's own files or environment (a database: ~/.pgpass, PGPASSFILE or "
                             "PGPASSWORD; a DICOMweb PACS: ~/.netrc)")


def _type_error(p: Param, value) -> ParameterError:
    return ParameterError(_("parameter {name!r} expects {type}, got {got} {value!r}").format(
        name=p.name, type=p.type_name, got=type(value).__name__, value=value))


def _coerce(p: Param, value):
    kind = p.kind
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise _type_error(p, value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise _type_error(p, value)
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _type_error(p, value)
        return float(value)
    if kind == "date":
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value).isoformat()
            except ValueError:
                raise ParameterError(_("parameter {name!r} expects a date YYYY-MM-DD, got {value!r}").format(
                    name=p.name, value=value)) from None
        raise _type_error(p, value)
    if kind == "datetime":
        return _coerce_datetime(p, value)
    if kind == "list":
        if isinstance(value, (list, tuple)):
            return list(value)
        raise _type_error(p, value)
    if kind == "dict":
        if isinstance(value, Mapping):
            return dict(value)
        raise _type_error(p, value)
    # str, path, output_dir, device
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if not isinstance(value, str):
        raise _type_error(p, value)
    return value


_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?")


def _coerce_datetime(p: Param, value) -> str:
    """A local date or date-time as text: ``YYYY-MM-DD``, or ``YYYY-MM-DD HH:MM`` (``:SS`` when not zero)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise ParameterError(f"parameter {p.name!r} expects a local date-time without UTC offset, got {value!r}")
        moment = value.replace(microsecond=0)
    elif isinstance(value, dt.date):
        return value.isoformat()
    elif isinstance(value, str):
        text = value.strip()
        if _DATETIME.fullmatch(text) is None:
            raise ParameterError(f"parameter {p.name!r} expects a date YYYY-MM-DD or a date-time "
                                 f"YYYY-MM-DD HH:MM[:SS] (local time, no offset), got {value!r}")
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ParameterError(f"parameter {p.name!r}: {value!r} is not a calendar date-time; give "
                                 "YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS] with a real day and hour") from None
        if len(text) == 10:
            return text
    else:
        raise _type_error(p, value)
    return moment.isoformat(sep=" ", timespec="minutes" if moment.second == 0 else "seconds")


def check_writable(folder, name: str = "output_dir") -> None:
    """Raise ParameterError unless ``folder`` exists and is writable or can be created."""
    label = name if name.startswith("-") else _("parameter {name!r}").format(name=name)
    path = Path(folder)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ParameterError(_("{label}: {path} is a file, not a folder; choose another folder").format(label=label, path=probe))
    # Try it rather than trust os.access: root passes access checks on read-only
    # and virtual file systems where mkdir still fails.
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".kit-probe-", dir=probe))
    except OSError as exc:
        raise ParameterError(_("{label}: cannot write to {path} ({reason}); choose a writable folder").format(
            label=label, path=probe, reason=exc.strerror)) from None


#: The report's language, a parameter of every notebook: the notebooks whose parameters cell declares ``lang``
#: take it there; for the others the runner hands it to the kernel as ``KIT_LANG`` (:func:`validate` reads it).
LANG = Param("lang", "str", "en", N_("language of the narrative, plots, shown tables and messages: en or fr"), choices=LANGS)
#: Parameters every notebook accepts, declared in its spec or not.
COMMON = (LANG,)


@dataclass(frozen=True)
class Spec:
    """The parameters of one notebook, in the order of its ``parameters`` cell."""

    params: tuple[Param, ...]
    purpose: str = ""
    #: Checks across parameters: ``rule(values)`` raises a one-line ParameterError (values converted, defaults filled in).
    rules: tuple = ()

    def __iter__(self):
        return iter(self.params)

    def __getitem__(self, name: str) -> Param:
        for p in (*self.params, *COMMON):  # a spec's own declaration comes first
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def check_names(self, names) -> None:
        valid = self.names + [p.name for p in COMMON if p.name not in self.names]
        unknown = [n for n in names if n not in valid]
        if unknown:
            raise ParameterError(_("unknown parameter {name!r}; valid parameters: {names}").format(
                name=unknown[0], names=", ".join(valid)))

    def validate(self, values: Mapping, *, partial: bool = False) -> "Params":
        """Check ``values`` and return them converted, defaults filled in.

        Parameters
        ----------
        values : mapping
            Parameter values; keys outside the spec are ignored when
            ``partial`` is False (a notebook passes its ``globals()``).
        partial : bool
            Only check the names present in ``values`` (the runner does this
            for user overrides, after :meth:`check_names`).
        """
        out = {}
        for p in self.params:
            if p.name in values:
                out[p.name] = p.check(values[p.name])
            elif not partial:
                out[p.name] = p.check(p.default)
        for p in COMMON:  # given to a notebook that does not declare it (kit run -p lang fr)
            if partial and p.name in values and p.name not in out:
                out[p.name] = p.check(values[p.name])
        for rule in self.rules:
            rule({**self.defaults(), **out})
        return Params(out, self)


class Params(Mapping):
    """Validated parameters: a read-only mapping with attribute access and an HTML table."""

    def __init__(self, values: dict, spec: Spec):
        self._values = dict(values)
        self._spec = spec

    def __getitem__(self, key):
        return self._values[key]

    def __getattr__(self, key):
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(key) from None

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def __repr__(self):
        return "\n".join(f"{k} = {v!r}" for k, v in self._values.items())

    def _repr_html_(self):
        import html

        rows = "".join(
            f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(repr(v))}</td>"
            f"<td>{html.escape(_(self._spec[k].doc))}</td></tr>"
            for k, v in self._values.items()
        )
        head = "".join(f"<th>{html.escape(h)}</th>" for h in (_("parameter"), _("value"), _("meaning")))
        return f"<table><tr>{head}</tr>{rows}</table>"


def validate(namespace: Mapping, spec: Spec) -> Params:
    """Validate a notebook's parameters, as its first cell after ``parameters``.

    Also binds the report's output folder (``output_dir``), so
    :func:`kit.report.record` knows where ``metrics.json`` goes, and sets the
    language of every message (:mod:`kit.i18n`): the notebook's ``lang``
    parameter if its spec declares one, else ``KIT_LANG`` (``kit run --lang``),
    else English. The language is set first, so errors are in it.

    Parameters
    ----------
    namespace : mapping
        Usually ``globals()`` of the notebook.
    spec : Spec

    Examples
    --------
    >>> spec = Spec((Param("seed", "int", 0, "random seed"),))
    >>> validate({"seed": 3}, spec).seed
    3
    """
    declared = "lang" in spec.names and "lang" in namespace
    set_lang(LANG.check(namespace["lang"] if declared else os.environ.get(LANG_ENV) or LANG.default))
    params = spec.validate(namespace)
    if "output_dir" in params:
        from kit import report

        report.bind(params["output_dir"])
    return params
