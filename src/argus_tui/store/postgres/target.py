"""Where the team history is: the URL's parts for people, and the options Argus adds.

Pure functions over the parsed URL (and the libpq environment variables), so the rules
are tested without a server. The password is never kept here: it is passed to psycopg
as a keyword by the connection, and neither `describe` nor any message shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import psycopg
from psycopg.conninfo import conninfo_to_dict

from argus_tui.errors import StoreError

#: Host names that never leave the machine; a unix socket path (or an empty host,
#: libpq's default socket) does not either.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
HINT = "Argus runs on without history"


@dataclass(frozen=True, slots=True)
class Target:
    """The database a URL names: what messages may show (never a password), and the
    remaining parameters the options below look at."""

    host: str  # "db.example", "h1,h2", a socket folder, or "" (libpq's default socket)
    port: str
    dbname: str
    user: str
    params: Mapping[str, str] = field(default_factory=dict)  # the rest, password removed
    has_password: bool = False

    def where(self) -> str:
        """user@host:port/dbname, as far as the URL says (libpq fills in the rest)."""
        host = self.host or "local socket"
        if self.host.startswith("/"):
            host = f"socket {self.host}"
        who = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{who}{host}{port}/{self.dbname or self.user or '?'}"

    def describe(self) -> str:
        """For `argus history stats`: "PostgreSQL argus@db.example:5432/argus"."""
        return f"PostgreSQL {self.where()}"


def parse(url: str) -> Target:
    """The parts of a postgresql:// URL (or a libpq key=value string).

    A StoreError for a URL libpq cannot read; its text never repeats the URL, which may
    hold a password.
    """
    try:
        params = {k: str(v) for k, v in conninfo_to_dict(url).items() if v is not None}
    except psycopg.ProgrammingError:
        raise StoreError(
            "the team history URL is not a valid PostgreSQL URL",
            hint="use postgresql://user@host:5432/dbname; " + HINT,
        ) from None
    has_password = "password" in params
    params.pop("password", None)
    return Target(
        host=params.pop("host", ""),
        port=params.pop("port", ""),
        dbname=params.pop("dbname", ""),
        user=params.pop("user", ""),
        params=params,
        has_password=has_password,
    )


def is_local(host: str) -> bool:
    """True for localhost, 127.0.0.1, ::1, a unix socket path, or no host (the socket)."""
    host = host.strip()
    if not host or host.startswith(("/", "@")):
        return True
    return host.strip("[]").lower() in LOCAL_HOSTS


def tls_options(
    target: Target, env: Mapping[str, str], *, default_root_exists: bool
) -> dict[str, str]:
    """The TLS keywords Argus adds: none when the URL (or PGSSLMODE) chose a mode.

    A connection that leaves the machine is verified by default (`sslmode=verify-full`:
    encrypted, the certificate signed by a trusted CA and naming the host). Without a
    CA file of the user's own (the URL's `sslrootcert`, PGSSLROOTCERT, or libpq's
    ~/.postgresql/root.crt, `default_root_exists`) the system's trusted CAs are used.
    Local connections (every host local, see `is_local`) are left as libpq has them.
    """
    if "sslmode" in target.params or "requiressl" in target.params or env.get("PGSSLMODE"):
        return {}
    hosts = (target.host or env.get("PGHOST", "")).split(",")
    addrs = (target.params.get("hostaddr") or env.get("PGHOSTADDR", "")).split(",")
    if all(is_local(h) for h in hosts) and all(is_local(a) for a in addrs):
        return {}
    options = {"sslmode": "verify-full"}
    if not (target.params.get("sslrootcert") or env.get("PGSSLROOTCERT") or default_root_exists):
        options["sslrootcert"] = "system"
    return options


def connect_options(
    target: Target, env: Mapping[str, str], timeout: float, *, default_root_exists: bool
) -> dict[str, str | int]:
    """Every keyword Argus passes to psycopg.connect besides the password.

    What the URL sets itself wins, except that the connection always names itself
    "argus" unless the URL gives an application_name. TCP keepalives and a user timeout
    make a vanished server fail a call within about half a minute instead of hanging
    the worker thread for the kernel's quarter of an hour.
    """
    options: dict[str, str | int] = {
        "connect_timeout": max(2, round(timeout)),
        "application_name": "argus",
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        "tcp_user_timeout": 30_000,
    }
    for name in list(options):
        if name in target.params:
            del options[name]
    options.update(tls_options(target, env, default_root_exists=default_root_exists))
    return options
