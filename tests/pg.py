"""A real PostgreSQL server for the tests: `initdb` into a temporary folder, the server on 127.0.0.1 on a
free port (its unix socket in that folder too), stopped and removed after the test session.

The binaries are looked up on PATH and in /usr/lib/postgresql/*/bin (newest first). initdb refuses to
run as root, so as root the server runs as the user `postgres` (or `nobody`) through runuser/su, in a
folder owned by that user. Without PostgreSQL the tests that need it are skipped with the reason,
unless ASSISTANT_REQUIRE_POSTGRES=1 (set by .ci/run), then they fail.

The cluster has one superuser, `wegwijzer`, with a password (TCP logins use scram-sha-256), so the URL
the fixtures yield carries a real password that messages must never show.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

# Read once at import: the autouse _clean_env fixture removes ASSISTANT_* variables inside each test.
REQUIRE_POSTGRES = os.environ.get("ASSISTANT_REQUIRE_POSTGRES") == "1"
SUPERUSER = "wegwijzer"
PASSWORD = "pg-Secret-4711"
_TOOLS = ("initdb", "pg_ctl", "postgres")


def find_postgres_bin() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: PATH first (following symlinks such as
    /usr/local/bin/pg_ctl -> /usr/lib/postgresql/15/bin/pg_ctl), then /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    found = shutil.which("initdb")
    if found:
        candidates += [Path(os.path.realpath(found)).parent, Path(found).parent]
    versions = []
    for folder in Path("/usr/lib/postgresql").glob("*/bin"):
        match = re.fullmatch(r"\d+(\.\d+)?", folder.parent.name)
        if match:
            versions.append((float(folder.parent.name), folder))
    candidates += [folder for _, folder in sorted(versions, reverse=True)]
    for folder in candidates:
        if all(os.access(folder / tool, os.X_OK) for tool in _TOOLS):
            return folder
    return None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unprivileged_user() -> str | None:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


def _problem(message: str):
    """Skip with the reason, or fail when PostgreSQL is required."""
    if REQUIRE_POSTGRES:
        pytest.fail(f"{message} (ASSISTANT_REQUIRE_POSTGRES=1)", pytrace=False)
    pytest.skip(message)


class PostgresServer:
    """One throw-away PostgreSQL cluster; `url(db)` gives a connection URL with the password."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.user: str | None = None  # the OS user the server runs as when we are root
        if os.geteuid() == 0:
            self.user = _unprivileged_user()
            if self.user is None:
                _problem("PostgreSQL refuses to run as root and there is no 'postgres' or 'nobody' user to run it as")
        # Not under pytest's tmp_path: that folder is private to root and the server user must reach this one.
        self.root = Path(tempfile.mkdtemp(prefix="wegwijzer-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.sockets.mkdir()
        (self.root / "pwfile").write_text(PASSWORD + "\n")
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in (self.root, self.sockets, self.root / "pwfile"):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chmod(self.root, 0o700)
        self.port: int | None = None
        self.password = PASSWORD

    def _cmd(self, args: list[str]) -> list[str]:
        if not self.user:
            return args
        if shutil.which("runuser"):
            return ["runuser", "-u", self.user, "--", *args]
        return ["su", "-s", "/bin/sh", self.user, "-c", shlex.join(args)]

    def _run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(self._cmd(args), cwd=self.root, capture_output=True, text=True, timeout=timeout)

    def start(self) -> None:
        done = self._run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                          f"--pwfile={self.root / 'pwfile'}", "--auth-host=scram-sha-256", "--auth-local=trust",
                          "-E", "UTF8", "--locale=C", "--no-sync"])
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        last = ""
        for _ in range(3):  # a free port can be taken between choosing it and binding it: try another
            self.port = _free_port()
            options = (f"-h 127.0.0.1 -p {self.port} -k {self.sockets} -c fsync=off -c synchronous_commit=off "
                       "-c full_page_writes=off -c max_connections=60 -c shared_buffers=16MB")
            done = self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                              "-t", "60", "-o", options, "start"])
            if done.returncode == 0:
                return
            last = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else done.stderr
        raise RuntimeError(f"PostgreSQL did not start: {last.strip()}")

    def stop(self) -> None:
        if self.data.exists():
            self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop"],
                      timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str, password: str | None = PASSWORD) -> str:
        secret = f":{password}" if password is not None else ""
        return f"postgresql://{SUPERUSER}{secret}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, dbname: str) -> str:
        """CREATE DATABASE `dbname` and return its URL."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        return self.url(dbname)


def start_postgres() -> PostgresServer:
    bindir = find_postgres_bin()
    if bindir is None:
        _problem("PostgreSQL is not installed (no initdb, pg_ctl and postgres on PATH or in "
                 "/usr/lib/postgresql/*/bin); install it with `apt-get install postgresql`")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _problem("the PostgreSQL driver psycopg is not installed; run `pip install -e .`")
    server = PostgresServer(bindir)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def postgres_server():
    """A running PostgreSQL server for the whole test session (see the module docstring)."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server) -> str:
    """The URL (with password) of a database created on the session's PostgreSQL server."""
    return postgres_server.create_database("wegwijzer_test")
