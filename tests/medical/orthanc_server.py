"""A throwaway Orthanc PACS for tests: Debian's binary and DICOMweb plugin, a temp folder, free ports on loopback.

Use the fixture by importing it into a test module::

    from tests.medical.orthanc_server import orthanc_server  # noqa: F401

The server refuses anonymous requests (HTTP basic authentication, one
registered user with a random password) and remote hosts, so a test sees
what a site's client sees; it is stopped and its folder removed at the end of
the session, also when a test or the startup failed.
"""
from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SKIP_REASON = "Orthanc or its DICOMweb plugin not found; install Debian's orthanc and orthanc-dicomweb (bash .ci/run does)"
BINARY = "/usr/sbin/Orthanc"
PLUGIN_DIRS = ("/usr/share/orthanc/plugins", "/usr/lib/orthanc")


@dataclass(frozen=True)
class OrthancServer:
    """Where the server listens and the user the tests log in as."""

    host: str
    http_port: int
    user: str
    password: str
    dicom_port: int = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def dimse(self) -> str:
        """The DIMSE address, as a site without DICOMweb gives it to ``pacs``."""
        return f"dimse://KITTEST@{self.host}:{self.dicom_port}"

    @property
    def dicomweb(self) -> str:
        """The DICOMweb root, as a user gives it to ``pacs`` (no credentials in it)."""
        return f"{self.url}/dicom-web"

    def write_netrc(self, home) -> Path:
        """``HOME/.netrc`` with this server's login (mode 0600, as curl and requests expect)."""
        path = Path(home) / ".netrc"
        path.write_text(f"machine {self.host}\nlogin {self.user}\npassword {self.password}\n")
        path.chmod(0o600)
        return path

    def rest(self, method: str, path: str, **kwargs):
        """A call to Orthanc's own REST API (admin side of the tests), raising on an HTTP error."""
        import requests

        response = requests.request(method, self.url + path, auth=(self.user, self.password), timeout=30, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def upload(self, files) -> int:
        """Store DICOM files through the REST API; return how many Orthanc accepted."""
        return sum(1 for f in files if self.rest("POST", "/instances", data=Path(f).read_bytes()))

    def clear(self) -> None:
        """Delete every study (tests that need an empty PACS)."""
        for study in self.rest("GET", "/studies"):
            self.rest("DELETE", f"/studies/{study}")


def find_plugin() -> Path | None:
    for folder in PLUGIN_DIRS:
        found = sorted(Path(folder).glob("libOrthancDicomWeb.so*")) if Path(folder).is_dir() else []
        if found:
            return found[0]
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(folder: Path, plugin: Path, http_port: int, dicom_port: int, user: str, password: str) -> dict:
    return {
        "Name": "KITTEST",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "storage"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": "KITTEST",
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {user: password},
        "Plugins": [str(plugin)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False},
        # The notebook's calling AE title, registered as a site's PACS administrator would (DIMSE has no login).
        "DicomModalities": {"sectorkit": {"AET": "SECTORKIT", "Host": "127.0.0.1", "Port": 11112}},
        "DicomAlwaysAllowStore": False,
        "DicomCheckModalityHost": True,
        "StorageCompression": False,
        "SaveJobs": False,
        "HttpThreadsCount": 4,
        "ConcurrentJobs": 1,
    }


def _wait_ready(proc, server: OrthancServer, log: Path, timeout_s: float = 30) -> None:
    import requests

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Orthanc exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            r = requests.get(server.dicomweb + "/studies", auth=(server.user, server.password), timeout=2)
            if r.status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"Orthanc did not answer within {timeout_s} s: {log.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="session")
def orthanc_server():
    """A running Orthanc with DICOMweb at ``/dicom-web``, user ``reader<random>`` (random password), empty storage."""
    plugin = find_plugin()
    if not Path(BINARY).exists() or plugin is None:
        pytest.skip(SKIP_REASON)
    folder = Path(tempfile.mkdtemp(prefix="kit-orthanc-"))
    proc = None
    try:
        for attempt in range(3):  # another process may take a free port before Orthanc binds it
            server = OrthancServer("127.0.0.1", _free_port(), f"reader{secrets.token_hex(4)}", secrets.token_urlsafe(18),
                                   _free_port())
            config = folder / "orthanc.json"
            config.write_text(json.dumps(_config(folder, plugin, server.http_port, server.dicom_port, server.user,
                                                 server.password)))
            log = folder / "orthanc.log"
            with log.open("w") as out:
                proc = subprocess.Popen([BINARY, str(config)], cwd=folder, stdout=out, stderr=subprocess.STDOUT)
            try:
                _wait_ready(proc, server, log)
                break
            except RuntimeError:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                if attempt == 2:
                    raise
        yield server
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
