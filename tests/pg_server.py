"""A throwaway PostgreSQL server for the tests, or the one CI names in ARGUS_TEST_PG_URL.

`ARGUS_TEST_PG_URL` (a superuser URL, without a database or with `postgres`) points at a
running server, which is used as it is. Otherwise a server is started for the test
session: `initdb` and `pg_ctl` in a temporary folder, on a free loopback port, stopped
at the end (as root, through `runuser -u postgres`, since initdb refuses to run as root).
When neither works, the tests that need it skip with a message naming what is missing,
except under CI (CI=1 or CI=true), where they fail: CI must never skip them silently.

Use it from a conftest:

    from tests.pg_server import pg_server, pg_url  # noqa: F401 (fixtures)

`pg_server` (session) is the `PgServer`; `pg_url` (per test) the URL of a fresh, empty
database on it, dropped after the test. `PgServer.create_database()` makes more.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

ENV_URL = "ARGUS_TEST_PG_URL"
#: Server settings for a disposable server: durability off, it is thrown away anyway.
_FAST = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


#: pg_hba.conf of a server started here (and of the one .ci/run starts).
HBA = """\
local all all trust
host all {user} 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
"""


class PgUnavailable(Exception):
    """No PostgreSQL server for the tests; the message says what is missing."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require(reason: str) -> None:
    """Skip (or, under CI, fail) the test that needs a server, naming what is missing."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so the PostgreSQL tests may not be skipped)")
    pytest.skip(reason)


@dataclass
class PgServer:
    """A running server: superuser connection parameters and, when this session started
    it, the data folder (so `stop()` and `start()` can take it away and bring it back)."""

    host: str
    port: int
    user: str
    password: str = ""
    params: dict[str, str] = field(default_factory=dict)  # e.g. sslmode
    datadir: Path | None = None  # None: an outside server (ARGUS_TEST_PG_URL)
    _run_as: list[str] = field(default_factory=list)
    _bindir: Path | None = None

    @property
    def owned(self) -> bool:
        """True when this session started the server (it may be stopped and restarted)."""
        return self.datadir is not None

    def url(self, dbname: str = "postgres", *, user: str | None = None) -> str:
        """A postgresql:// URL of `dbname` (as `user`, default the superuser)."""
        who = quote(user or self.user, safe="")
        if self.password and user is None:
            who += ":" + quote(self.password, safe="")
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in sorted(self.params.items()))
        return f"postgresql://{who}@{host}:{self.port}/{quote(dbname, safe='')}" + (
            f"?{query}" if query else ""
        )

    def admin(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """A superuser connection in autocommit mode (for CREATE DATABASE and the like)."""
        return psycopg.connect(self.url(dbname), autocommit=True, connect_timeout=10)

    def create_database(self, prefix: str = "argus_test", *, owner: str = "") -> str:
        """A fresh, empty database (owned by `owner` if given); returns its name."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if owner:
            query += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
        with self.admin() as conn:
            conn.execute(query)
        return name

    def create_role(self, password: str, prefix: str = "argus_role") -> str:
        """A login role with `password` (checked over TCP: see `start_server`); its name."""
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with self.admin() as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(name), sql.Literal(password)
                )
            )
        return name

    def drop_role(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))

    def drop_database(self, name: str) -> None:
        """Drop `name`, ending the sessions still connected to it."""
        with self.admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def tool(self, name: str) -> str:
        """The path of a client program of the server's version (pg_dump, psql...)."""
        if self._bindir is not None and (self._bindir / name).exists():
            return str(self._bindir / name)
        found = shutil.which(name)
        if found is None:
            raise PgUnavailable(f"{name} is not installed (apt-get install postgresql-client)")
        return found

    # -- a server of our own ----------------------------------------------------------------

    def _ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert self.datadir is not None and self._bindir is not None
        return subprocess.run(
            [*self._run_as, str(self._bindir / "pg_ctl"), "-D", str(self.datadir), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start(self) -> None:
        """Start the server (again) on its port; waits until it accepts connections."""
        assert self.datadir is not None, "an outside server is not ours to start"
        options = f"-p {self.port} -k {self.datadir} -c listen_addresses={self.host} {_FAST}"
        done = self._ctl("-o", options, "-l", str(self.datadir / "server.log"), "-w", "start")
        if done.returncode != 0:
            log = self.datadir / "server.log"
            tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
            raise PgUnavailable(f"pg_ctl start failed: {done.stderr.strip()} {tail}".strip())

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`mode` as for pg_ctl -m: smart, fast, immediate)."""
        assert self.datadir is not None, "an outside server is not ours to stop"
        self._ctl("-m", mode, "-w", "stop")

    def destroy(self) -> None:
        """Stop the server and remove its data folder."""
        if self.datadir is None:
            return
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop("immediate")
        shutil.rmtree(self.datadir, ignore_errors=True)


def _bindir() -> Path:
    """The newest installed server's binaries (Debian keeps them out of PATH)."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    raise PgUnavailable(
        f"PostgreSQL tests need a server: set {ENV_URL} or install initdb and pg_ctl"
        " (apt-get install postgresql)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> PgServer:
    """initdb and start a server on a free loopback port; raises PgUnavailable."""
    bindir = _bindir()
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            raise PgUnavailable(
                "no 'postgres' user to run initdb as (install postgresql)"
            ) from None
        if shutil.which("runuser"):
            run_as = ["runuser", "-u", "postgres", "--"]
        elif shutil.which("sudo"):
            run_as = ["sudo", "-u", "postgres"]
        else:
            raise PgUnavailable("running as root needs runuser or sudo to start PostgreSQL")
        user = "postgres"
    else:
        user = pwd.getpwuid(os.getuid()).pw_name
    # Under /tmp, not pytest's tmp_path: the postgres user must be able to reach it.
    datadir = Path(tempfile.mkdtemp(prefix="argus-pg-"))
    if run_as:
        os.chown(datadir, account.pw_uid, account.pw_gid)
    done = subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", user,
         "-E", "UTF8", "--locale=C", "--no-sync"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        shutil.rmtree(datadir, ignore_errors=True)
        raise PgUnavailable(f"initdb failed: {done.stderr.strip()[-500:]}")
    # The superuser is trusted; every other role must give its password (scram), so the
    # tests of a wrong password mean something.
    (datadir / "pg_hba.conf").write_text(HBA.format(user=user))
    server = PgServer("127.0.0.1", 0, user, datadir=datadir, _run_as=run_as, _bindir=bindir)
    error: PgUnavailable | None = None
    for _ in range(3):  # the free port may be taken between choosing and binding it
        server.port = _free_port()
        try:
            server.start()
            return server
        except PgUnavailable as exc:
            error = exc
    server.destroy()
    assert error is not None
    raise error


def server_from_env(url: str) -> PgServer:
    """The server ARGUS_TEST_PG_URL names (checked by connecting)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise PgUnavailable(f"{ENV_URL} is not a PostgreSQL URL") from None
    server = PgServer(
        host=str(params.pop("host", "127.0.0.1")),
        port=int(params.pop("port", 5432)),
        user=str(params.pop("user", "postgres")),
        password=str(params.pop("password", "")),
        params={k: str(v) for k, v in params.items() if k != "dbname"},
    )
    try:
        server.admin().close()
    except psycopg.Error as exc:
        raise PgUnavailable(f"{ENV_URL} cannot be reached: {type(exc).__name__}") from None
    return server


def serve() -> Iterator[PgServer]:
    """The session's server: ARGUS_TEST_PG_URL's, else one started (and stopped) here."""
    url = os.environ.get(ENV_URL, "").strip()
    try:
        server = server_from_env(url) if url else start_server()
    except PgUnavailable as exc:
        require(str(exc))
        raise AssertionError("unreachable") from None
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server per test session (per xdist worker)."""
    yield from serve()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """The URL of a fresh, empty database, dropped after the test."""
    name = pg_server.create_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)
