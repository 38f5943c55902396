"""Which history Argus records into: the team's PostgreSQL database, or the local file.

`ARGUS_HISTORY_URL` (the environment, then `.env`) wins over `[history] url` in
config.toml; neither set keeps the local SQLite history. The URL never holds a password:
libpq's own mechanisms (~/.pgpass, PGPASSWORD, a service file, client certificates) or
the keyring entry `argus history login` writes supply it.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from argus_tui.config.env import layered_env
from argus_tui.config.file import Config
from argus_tui.config.model import check_history_url
from argus_tui.domain.dburl import DEFAULT_PORT, parse_database_url

ENV_VAR = "ARGUS_HISTORY_URL"


@dataclass(frozen=True, slots=True)
class TeamHistory:
    """A team history's URL, where it was set, and the names it goes by."""

    url: str
    source: str  # environment | .env | config.toml | --url
    identity: str  # user@host:port/dbname, as libpq resolves the defaults: the keyring account
    name: str  # host:port/dbname, for one line about it
    local: bool  # a Unix socket or the loopback


def team_history(url: str, source: str, environ: Mapping[str, str] | None = None) -> TeamHistory:
    """`url` checked (a ConfigError names `source`), with its names."""
    env = os.environ if environ is None else environ
    where = {"environment": ENV_VAR, ".env": f"{ENV_VAR} in .env"}.get(source, source)
    check_history_url(url, "[history] url" if source == "config.toml" else where)
    parsed = parse_database_url(url)
    login = env.get("PGUSER") or _login()
    user = parsed.user or login
    host = parsed.host or env.get("PGHOST") or "localhost"
    port = parsed.port or _port(env.get("PGPORT")) or DEFAULT_PORT
    dbname = parsed.dbname or env.get("PGDATABASE") or user
    shown = f"[{host}]" if ":" in host and not host.startswith("/") else host
    return TeamHistory(
        url=url,
        source=source,
        identity=f"{user}@{shown}:{port}/{dbname}",
        name=f"{shown}:{port}/{dbname}",
        local=parsed.local,
    )


def resolve_history(environ: Mapping[str, str], cwd: Path, config: Config) -> TeamHistory | None:
    """The team history in force, or None for the local one."""
    env = layered_env(environ, cwd)
    if env.get(ENV_VAR):
        source = "environment" if environ.get(ENV_VAR) else ".env"
        return team_history(env[ENV_VAR].strip(), source, environ)
    if config.history.url:
        return team_history(config.history.url, "config.toml", environ)
    return None


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        return f"uid{os.getuid()}"


def _port(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None
