"""A throwaway PostgreSQL server for tests: Debian's binaries, a temp folder, a free port on 127.0.0.1.

Use the fixture by importing it into a test module::

    from tests.water.pg_server import postgres_server  # noqa: F401

The server accepts TCP on 127.0.0.1 only with a password (SCRAM), so a test
sees exactly what a user's libpq sees; setup goes through its unix socket
as the superuser. It runs as the ``postgres`` system user when the tests
run as root (``initdb`` refuses root), and is stopped, its folder removed,
at the end of the session, also when a test or the startup failed.
"""
from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

SKIP_REASON = "PostgreSQL server binaries not found; install Debian's postgresql (bash .ci/run does)"
# Durability is worthless for a server that lives one test session.
FAST = "-F -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=20 -c shared_buffers=16MB"


@dataclass(frozen=True)
class PgServer:
    """Where the server listens and the login role the tests read as."""

    host: str
    port: int
    user: str
    password: str
    database: str
    socket_dir: str

    def url(self, driver: str = "postgresql") -> str:
        """SQLAlchemy URL of the role's database, without the password."""
        return f"{driver}://{self.user}@{self.host}:{self.port}/{self.database}"

    def write_pgpass(self, path) -> Path:
        """A libpq password file for the role (mode 0600, or libpq ignores it)."""
        path = Path(path)
        path.write_text(f"{self.host}:{self.port}:{self.database}:{self.user}:{self.password}\n")
        path.chmod(0o600)
        return path

    def connect(self, admin: bool = False):
        """A psycopg connection: the role over TCP with its password, or the superuser over the socket."""
        import psycopg

        if admin:
            return psycopg.connect(host=self.socket_dir, port=self.port, user="postgres", dbname=self.database,
                                   autocommit=True)
        return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname=self.database, autocommit=True)


def find_binaries() -> Path | None:
    """The folder with ``initdb`` and ``pg_ctl``: the newest Debian version, else ``PATH``."""
    def version(path):
        return int(Path(path).parent.parent.name) if Path(path).parent.parent.name.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    initdb = found[-1] if found else shutil.which("initdb")
    if initdb and (Path(initdb).parent / "pg_ctl").exists():
        return Path(initdb).parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runner(folder: Path):
    """``run(args)``: a server command as the ``postgres`` user under root, else as ourselves."""
    as_user = {}
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and no 'postgres' system user to run the PostgreSQL server as")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": str(folder)}

    def run(args, timeout=60):
        done = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout, **as_user)
        if done.returncode:
            log = folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stderr.strip()} {tail}")
        return done
    return run


def _start(bin_dir: Path, folder: Path, run) -> int:
    """initdb and pg_ctl start on a free port (retried: another process may take the port meanwhile)."""
    data, sockets = folder / "data", folder / "sockets"
    run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync",
         "--auth-local=trust", "--auth-host=scram-sha-256", "--no-instructions"])
    run(["mkdir", str(sockets)])
    for attempt in range(3):
        port = _free_port()
        options = f"{FAST} -c listen_addresses=127.0.0.1 -p {port} -k {sockets}"
        try:
            run([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-o", options,
                 "-w", "-t", "30", "start"], timeout=60)
            return port
        except RuntimeError:
            if attempt == 2:
                raise


def _setup_role(socket_dir: str, port: int, user: str, password: str, database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=socket_dir, port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(user), sql.Literal(password)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(user)))


@pytest.fixture(scope="session")
def postgres_server():
    """A running PostgreSQL server with role ``scada_reader`` (random password) owning database ``historian``."""
    bin_dir = find_binaries()
    if bin_dir is None:
        pytest.skip(SKIP_REASON)
    pytest.importorskip("psycopg")
    folder = Path(tempfile.mkdtemp(prefix="kit-pg-"))
    run = None
    try:
        run = _runner(folder)
        port = _start(bin_dir, folder, run)
        server = PgServer("127.0.0.1", port, "scada_reader", secrets.token_urlsafe(18), "historian",
                          str(folder / "sockets"))
        _setup_role(server.socket_dir, port, server.user, server.password, server.database)
        yield server
    finally:
        if run is not None and (folder / "data" / "postmaster.pid").exists():
            run([str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(folder, ignore_errors=True)
