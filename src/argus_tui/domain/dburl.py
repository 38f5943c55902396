"""A PostgreSQL connection URL read the way libpq reads it, without connecting.

`postgresql://[user[:password]@][host][:port][,host2...][/dbname][?param=value&...]`,
where `host`, `port`, `user`, `password` and `dbname` may also come as parameters and a
host may be a percent-encoded Unix socket folder. Argus refuses a password in the URL
(it would sit in config.toml or in the environment in the clear), so what matters here
is whether one is there, and who, where and which database, to name it to people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

SCHEMES = ("postgresql://", "postgres://")
DEFAULT_PORT = 5432
_LOCAL = frozenset({"", "localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    """What a URL names; None where it leaves the choice to libpq's defaults."""

    user: str | None
    host: str | None  # the first host of a list; a socket folder starts with "/"
    port: int | None
    dbname: str | None
    has_password: bool
    params: dict[str, str]

    @property
    def local(self) -> bool:
        """A Unix socket or the loopback: no network between Argus and the server."""
        host = self.host or ""
        return host.startswith("/") or host in _LOCAL

    def short(self, login: str = "") -> str:
        """`db.example:5432/argus`: where, in a few words (no user, never a password)."""
        host = self.host or "localhost"
        if ":" in host and not host.startswith("/"):
            host = f"[{host}]"
        dbname = self.dbname or self.user or login
        return f"{host}:{self.port or DEFAULT_PORT}/{dbname}"


def parse_database_url(text: str) -> DatabaseUrl:
    """Read `text`; ValueError (saying what is wrong, never echoing a password) if it is
    not a postgresql:// or postgres:// URL libpq would take."""
    scheme = next((s for s in SCHEMES if text.startswith(s)), None)
    if scheme is None:
        raise ValueError("it must start with postgresql:// or postgres://")
    rest = text[len(scheme) :]
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, at, hostspec = netloc.rpartition("@")
    if not at:
        userinfo, hostspec = "", netloc
    user, colon, _password = userinfo.partition(":")
    try:
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    except ValueError:
        raise ValueError("its parameters after '?' cannot be read") from None
    host, port = _first_host(hostspec)
    port = params.get("port", "").split(",")[0] or port
    number: int | None = None
    if port:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("its port must be a number between 1 and 65535")
        number = int(port)
    dbname = unquote(path) if path else None
    return DatabaseUrl(
        user=params.get("user") or unquote(user) or None,
        host=params.get("host", "").split(",")[0] or host or None,
        port=number,
        dbname=params.get("dbname") or dbname or None,
        has_password=bool(colon) or "password" in params,
        params=params,
    )


def _first_host(hostspec: str) -> tuple[str, str]:
    """(host, port) of the first entry of `h1:p1,h2:p2`; either may be empty."""
    first = hostspec.split(",")[0]
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\w*))?", first)
    if match:
        return match.group(1), match.group(2) or ""
    host, _, port = first.partition(":")
    if re.search(r"[\s/@]", host):
        raise ValueError(f"{host!r} is not a host name or address")
    return unquote(host), port
