"""Chest radiographs from a PACS over DICOMweb, and triage reports back into it.

QIDO-RS finds the studies a query asks for, WADO-RS fetches their chest
series into a local folder (which then goes through the same ingest and
de-identification as ``dicom_dir``), STOW-RS stores one Structured Report per
study back into its study. A small state file beside the run folders keeps
what earlier runs triaged, so a study is fetched once.

Credentials never travel in parameters: ``requests`` reads the user's
``~/.netrc`` (or ``$NETRC``) by itself, the way curl does; otherwise
``KIT_PACS_USER`` and ``KIT_PACS_PASSWORD``, or a bearer token in
``KIT_PACS_TOKEN``. TLS certificates are verified (a site CA through
``REQUESTS_CA_BUNDLE``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from kit.errors import InputDataError, ParameterError
from kit.io import atomic_path

USER_ENV, PASSWORD_ENV, TOKEN_ENV = "KIT_PACS_USER", "KIT_PACS_PASSWORD", "KIT_PACS_TOKEN"
STATE_FILE = "pacs_state.json"
DEFAULT_QUERY = {"date": "since_last_run", "modality": "CR,DX", "body_part": "CHEST"}
_ISO_DATE = r"\d{4}-\d{2}-\d{2}"


@dataclass(frozen=True)
class PacsQuery:
    """Which studies to fetch: a StudyDate range (QIDO form ``YYYYMMDD-YYYYMMDD``), modalities, body parts."""

    date_range: str | None
    since_last_run: bool
    modalities: tuple[str, ...]
    body_parts: tuple[str, ...]


def _dicom_date(iso: str, name: str) -> str:
    try:
        return dt.date.fromisoformat(iso).strftime("%Y%m%d")
    except ValueError:
        raise ParameterError(f"parameter 'pacs_query': {name} {iso!r} is not a calendar date YYYY-MM-DD") from None


def parse_query(query) -> PacsQuery:
    """Read ``pacs_query``: a mapping of ``date``, ``modality``, ``body_part`` (missing keys take the defaults).

    ``date`` is ``since_last_run`` (the studies dated from the last run's day on;
    everything on a first run), ``all``, a day ``YYYY-MM-DD`` or a range
    ``YYYY-MM-DD/YYYY-MM-DD`` (either end may be left open). ``modality`` and
    ``body_part`` are comma-separated lists; an empty ``body_part`` keeps every
    series of those modalities.

    Examples
    --------
    >>> q = parse_query({"date": "2026-12-01/2026-12-02"})
    >>> q.date_range, q.modalities, q.body_parts
    ('20261201-20261202', ('CR', 'DX'), ('CHEST',))
    """
    given = {"date": query} if isinstance(query, str) else dict(query or {})
    unknown = sorted(set(given) - set(DEFAULT_QUERY))
    if unknown:
        raise ParameterError(f"parameter 'pacs_query': unknown key {unknown[0]!r}; keys are date, modality, body_part")
    q = {**DEFAULT_QUERY, **{k: ("" if v is None else str(v)) for k, v in given.items()}}
    date = q["date"].strip()
    date_range, since = None, False
    if date == "since_last_run":
        since = True
    elif date == "all":
        pass
    elif re.fullmatch(_ISO_DATE, date):
        date_range = _dicom_date(date, "date")
    elif re.fullmatch(rf"({_ISO_DATE})?/({_ISO_DATE})?", date) and date != "/":
        start, end = date.split("/")
        date_range = "-".join(_dicom_date(d, "date") if d else "" for d in (start, end))
    else:
        raise ParameterError(f"parameter 'pacs_query': date {date!r} must be since_last_run, all, YYYY-MM-DD or "
                             "YYYY-MM-DD/YYYY-MM-DD")
    modalities = tuple(m.strip().upper() for m in q["modality"].split(",") if m.strip())
    if not modalities:
        raise ParameterError("parameter 'pacs_query': modality is empty; give e.g. 'CR,DX'")
    parts = tuple(b.strip().upper() for b in q["body_part"].split(",") if b.strip())
    return PacsQuery(date_range, since, modalities, parts)


def check_url(url: str) -> str:
    """The DICOMweb root without a trailing slash (or a ``dimse://AET@host:port``); refuse anything else."""
    parts = urlsplit(str(url))
    if parts.scheme == "dimse":
        from kit.medical.dimse import parse_url

        parse_url(str(url))
        return str(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ParameterError(f"parameter 'pacs' must be a DICOMweb root URL such as "
                             f"https://pacs.example/dicom-web (or dimse://AET@host:port), got {url!r}")
    if parts.username or parts.password:
        raise ParameterError("parameter 'pacs': put the login in ~/.netrc or in KIT_PACS_USER / KIT_PACS_PASSWORD, "
                             "not in the URL")
    return str(url).rstrip("/")


def session():
    """A ``requests`` session: credentials from the environment variables, else ``~/.netrc``; TLS verified."""
    import requests

    s = requests.Session()  # trust_env: ~/.netrc, REQUESTS_CA_BUNDLE and proxies, as curl does
    token, user, password = (os.environ.get(k) for k in (TOKEN_ENV, USER_ENV, PASSWORD_ENV))
    if token:
        s.headers["Authorization"] = f"Bearer {token}"
    elif user and password:
        s.auth = (user, password)
    return s


def client(url: str):
    """A :class:`dicomweb_client.DICOMwebClient` on ``url`` with :func:`session` (DIMSE: :class:`kit.medical.dimse.DimseClient`)."""
    url = check_url(url)
    if url.startswith("dimse://"):
        from kit.medical.dimse import DimseClient

        return DimseClient(url)
    from dicomweb_client import DICOMwebClient

    return DICOMwebClient(url, session=session(), timeout=(10, 120))


def _call(url: str, what: str, fn, *args, **kwargs):
    """Run one DICOMweb request, turning transport and HTTP errors into one-line errors naming the fix."""
    import requests

    try:
        return fn(*args, **kwargs)
    except requests.exceptions.SSLError:
        raise InputDataError(f"PACS {url}: TLS certificate not trusted while {what}; give the site's CA bundle "
                             "with REQUESTS_CA_BUNDLE") from None
    except requests.ConnectionError:
        raise InputDataError(f"PACS {url}: cannot connect while {what}; check the address and that the "
                             "DICOMweb plugin is on") from None
    except requests.HTTPError as exc:
        code = exc.response.status_code if exc.response is not None else "?"
        if code in (401, 403):
            raise InputDataError(f"PACS {url}: login refused (HTTP {code}) while {what}; put it in ~/.netrc "
                                 f"(machine {urlsplit(url).hostname} login USER password ...) or set "
                                 f"{USER_ENV} and {PASSWORD_ENV}") from None
        raise InputDataError(f"PACS {url}: HTTP {code} while {what}; check the DICOMweb root URL") from None


# -- the state of earlier runs ---------------------------------------------------------------------
def state_path(output_dir) -> Path:
    """The state file: in ``output_dir``'s parent, where every run of this notebook puts its folder.

    A scheduled pipeline writes ``output/<run date>/<run>/``: there the state
    goes to ``output/``, shared by every date, or each day would start afresh.
    """
    parent = Path(output_dir).resolve().parent
    if re.fullmatch(_ISO_DATE, parent.name):
        parent = parent.parent
    return parent / STATE_FILE


def _uid_key(uid: str) -> str:
    # A digest, not the UID: the state file lives outside the PACS and a study UID is an identifier.
    return hashlib.sha256(str(uid).encode()).hexdigest()[:32]


def load_state(path, url: str) -> dict:
    """``{"last_run_date": "YYYY-MM-DD" or None, "triaged": set of study keys}`` for this PACS."""
    path = Path(path)
    entry = {}
    if path.exists():
        try:
            entry = json.loads(path.read_text()).get("pacs", {}).get(url, {})
        except (ValueError, AttributeError):
            raise InputDataError(f"{path} is not a PACS state file; move it away (the next run starts afresh)") from None
    return {"last_run_date": entry.get("last_run_date"), "triaged": set(entry.get("triaged", []))}


def save_state(path, url: str, run_date: str, study_uids) -> Path:
    """Add ``study_uids`` to the triaged studies of ``url`` and set its last run date (atomic write)."""
    path = Path(path)
    data = json.loads(path.read_text()) if path.exists() else {}
    entry = data.setdefault("pacs", {}).setdefault(url, {})
    entry["triaged"] = sorted(set(entry.get("triaged", [])) | {_uid_key(u) for u in study_uids})
    entry["last_run_date"] = run_date
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps({"version": 1, **data}, indent=1) + "\n")
    return path


# -- query and fetch -------------------------------------------------------------------------------
def _value(item: dict, tag: str, default=""):
    return (item.get(tag, {}).get("Value") or [default])[0]


def _date_filter(query: PacsQuery, last_run_date: str | None) -> dict:
    if query.since_last_run:
        return {"StudyDate": _dicom_date(last_run_date, "last run date") + "-"} if last_run_date else {}
    return {"StudyDate": query.date_range} if query.date_range else {}


def _all_studies(dweb, url: str, filters: dict, page: int = 500) -> list:
    # Paged by hand: dicomweb-client's get_remaining never stops on a server (Orthanc) that ignores
    # an offset given without a limit.
    found: list = []
    while True:
        batch = _call(url, "searching studies", dweb.search_for_studies, limit=page, offset=len(found),
                      search_filters=filters)
        found += batch
        if len(batch) < page:
            return found


def find_series(dweb, url: str, query: PacsQuery, state: dict) -> tuple[list, dict]:
    """``[(study_uid, [series_uid, ...]), ...]`` to fetch, and counts of what was left and why."""
    filters = _date_filter(query, state["last_run_date"])
    studies: dict[str, None] = {}
    for modality in query.modalities:
        studies.update((_value(s, "0020000D"), None) for s in _all_studies(dweb, url, {**filters,
                                                                                      "ModalitiesInStudy": modality}))
    counts = {"studies_matched": len(studies), "already_triaged": 0, "series_other_body_part": 0}
    todo = []
    for study in sorted(studies):
        if _uid_key(study) in state["triaged"]:
            counts["already_triaged"] += 1
            continue
        series = []
        for modality in query.modalities:
            for s in _call(url, "searching series", dweb.search_for_series, study, fields=["BodyPartExamined"],
                           search_filters={"Modality": modality}):
                if query.body_parts and str(_value(s, "00180015")).upper() not in query.body_parts:
                    counts["series_other_body_part"] += 1
                else:
                    series.append(_value(s, "0020000E"))
        if series:
            todo.append((study, sorted(set(series))))
    return todo, counts


@dataclass
class Fetched:
    """Studies fetched from a PACS into ``root`` (identified: remove with :meth:`cleanup` after the run)."""

    url: str
    root: Path
    run_date: str
    study_uids: list = field(default_factory=list)
    n_instances: int = 0
    counts: dict = field(default_factory=dict)
    _holder: object = None

    def describe(self, query: PacsQuery) -> dict:
        """What the run read from the PACS, for the manifest (no identifiers, no credentials)."""
        return {"kind": "DIMSE" if self.url.startswith("dimse://") else "DICOMweb", "url": self.url, "date_range": query.date_range or "",
                "since_last_run": query.since_last_run, "modalities": list(query.modalities),
                "body_parts": list(query.body_parts), "n_studies": len(self.study_uids),
                "n_instances": self.n_instances, **self.counts}

    def cleanup(self) -> None:
        if self._holder is not None:
            self._holder.cleanup()


def fetch(url: str, query, state_file, dest=None) -> Fetched:
    """Fetch the chest series of the studies ``query`` finds and no earlier run triaged.

    Files land in ``dest`` (default: a new private temporary folder, removed
    by :meth:`Fetched.cleanup` or at interpreter exit) as
    ``<study n>/<instance n>.dcm``: the names carry no identifier, since they
    appear in ``quarantine.csv``. Instances come in their stored transfer
    syntax (no transcoding on the server).
    """
    url = check_url(url)
    q = query if isinstance(query, PacsQuery) else parse_query(query)
    run_date = dt.date.today().isoformat()
    dweb = client(url)
    todo, counts = find_series(dweb, url, q, load_state(state_file, url))
    holder = None
    if dest is None:
        holder = tempfile.TemporaryDirectory(prefix="kit-pacs-", ignore_cleanup_errors=True)
        dest = holder.name
    out = Fetched(url, Path(dest), run_date, counts=counts, _holder=holder)
    for k, (study, series_uids) in enumerate(todo):
        folder = out.root / f"{k:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        for series in series_uids:
            for ds in _call(url, "retrieving series", dweb.retrieve_series, study, series,
                            media_types=(("application/dicom", "*"),)):
                ds.save_as(folder / f"{out.n_instances:06d}.dcm", enforce_file_format=True)
                out.n_instances += 1
        out.study_uids.append(study)
    return out


def store(url: str, datasets) -> int:
    """STOW-RS each dataset into its own study; return how many the PACS stored (refusals raise)."""
    dweb = client(url)
    stored = 0
    for ds in datasets:
        response = _call(url, "storing a report", dweb.store_instances, [ds], study_instance_uid=ds.StudyInstanceUID)
        failed = getattr(response, "FailedSOPSequence", None)
        if failed:
            reason = getattr(failed[0], "FailureReason", "?")
            raise InputDataError(f"PACS {url} refused a triage report (failure reason {reason}); check that it "
                                 "accepts Comprehensive 3D SR storage")
        stored += 1
    return stored
