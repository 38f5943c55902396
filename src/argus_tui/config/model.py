"""What config.toml means: profiles, `[ui]` and `[history]`, checked value by value.

A wrong value (a port that is not a number, an unknown TLS mode) is a ConfigError naming
the file, the table and the setting. A setting that is not known at all (a typo, most
likely, or one from a newer Argus) is only a warning: it is named with the known ones, and
kept in the file when Argus saves it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from argus_tui.domain.dburl import parse_database_url
from argus_tui.domain.durations import parse_span
from argus_tui.domain.permissions import ACTION_ORDER
from argus_tui.errors import ConfigError
from argus_tui.pve.settings import TlsMode, normalise_fingerprint

DEFAULT_PORT = 8006
DEFAULT_PROFILE = "default"
COLOURS = ("red", "yellow", "green", "blue", "magenta", "cyan")
#: A value Argus writes into config.toml.
TomlValue = str | int | float | bool
_PROFILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    host: str
    port: int = DEFAULT_PORT
    token_id: str = ""
    tls: TlsMode = "system"
    fingerprint: str | None = None
    ca_file: str | None = None
    read_only: bool = False
    colour: str = ""
    llm_base_url: str = ""
    llm_model: str = ""
    llm_timeout: float | None = None

    def to_toml(self) -> dict[str, TomlValue]:
        """The settings as written to the file; empty optional ones are left out."""
        out: dict[str, TomlValue] = {
            "host": self.host,
            "port": self.port,
            "token_id": self.token_id,
            "tls": self.tls,
            "read_only": self.read_only,
        }
        if self.fingerprint:
            out["fingerprint"] = self.fingerprint
        if self.ca_file:
            out["ca_file"] = self.ca_file
        if self.colour:
            out["colour"] = self.colour
        if self.llm_base_url:
            out["llm_base_url"] = self.llm_base_url
        if self.llm_model:
            out["llm_model"] = self.llm_model
        if self.llm_timeout is not None:
            out["llm_timeout"] = self.llm_timeout
        return out


@dataclass(frozen=True, slots=True)
class UiSettings:
    """`[ui]` in config.toml: refresh interval, which actions confirm, key remapping."""

    interval: float = 5.0
    confirm: frozenset[str] = frozenset({"stop", "reset"})
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> keys


@dataclass(frozen=True, slots=True)
class HistorySettings:
    """`[history]` in config.toml: whether to record, how often, how long to keep what.

    Spans are seconds; in the file they may be numbers (seconds) or `90s`, `15m`, `24h`,
    `30d`, `52w`. The defaults are the store's: every refresh at most once a minute, full
    resolution for a day, 5-minute average and max for 30 days, hourly for a year.
    `url` names a team history on PostgreSQL instead of the local file (never with a
    password: see `check_history_url`).
    """

    enabled: bool = True
    url: str = ""
    sample_interval: float = 60.0
    raw: float = 86400.0
    mid: float = 30 * 86400.0
    long: float = 365 * 86400.0
    journal: float = 365 * 86400.0


#: The settings each table knows, in the order the warnings list them.
TOP_LEVEL_KEYS = ("default", "profiles", "ui", "history")
PROFILE_KEYS = tuple(f.name for f in fields(Profile) if f.name != "name")
UI_KEYS = tuple(f.name for f in fields(UiSettings))
HISTORY_KEYS = tuple(f.name for f in fields(HistorySettings))


def unknown_settings(where: str, raw: Mapping[str, Any], known: tuple[str, ...]) -> list[str]:
    """One warning per setting of `raw` that is not in `known`, naming the known ones."""
    return [
        f"{where}: unknown setting {key!r} ignored (known: {', '.join(known)})"
        for key in raw
        if key not in known
    ]


def validate_profile_name(name: str) -> str:
    if not _PROFILE_RE.match(name):
        raise ConfigError(
            f"profile name {name!r} is not valid",
            hint="use letters, digits, '.', '_' or '-'",
        )
    return name


def profile_from(path: Path, name: str, raw: Any) -> Profile:
    """`[profiles.NAME]` as a Profile; a ConfigError for a wrong or missing value."""
    where = f"{path} [profiles.{name}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    try:
        host = raw["host"]
    except KeyError:
        raise ConfigError(f"{where}: missing 'host'") from None
    port = raw.get("port", DEFAULT_PORT)
    tls = raw.get("tls", "system")
    colour = raw.get("colour", "")
    if not isinstance(host, str) or not host:
        raise ConfigError(f"{where}: 'host' must be a host name or address")
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(f"{where}: 'port' must be a number between 1 and 65535")
    if tls not in ("system", "ca", "fingerprint", "insecure"):
        raise ConfigError(f"{where}: 'tls' must be system, ca, fingerprint or insecure")
    if colour not in ("", *COLOURS):
        raise ConfigError(f"{where}: 'colour' must be one of {', '.join(COLOURS)}")
    fingerprint = raw.get("fingerprint")
    if fingerprint is not None:
        try:
            fingerprint = normalise_fingerprint(str(fingerprint))
        except ValueError:
            raise ConfigError(f"{where}: 'fingerprint' is not a SHA-256 fingerprint") from None
    if tls == "fingerprint" and not fingerprint:
        raise ConfigError(f"{where}: tls = 'fingerprint' needs a 'fingerprint'")
    if tls == "ca" and not raw.get("ca_file"):
        raise ConfigError(f"{where}: tls = 'ca' needs a 'ca_file'")
    for key in ("llm_base_url", "llm_model"):
        if not isinstance(raw.get(key, ""), str):
            raise ConfigError(f"{where}: '{key}' must be a string")
    llm_timeout = raw.get("llm_timeout")
    if llm_timeout is not None:
        llm_timeout = parse_llm_timeout(llm_timeout, f"{where}: 'llm_timeout'")
    return Profile(
        name=name,
        host=host,
        port=port,
        token_id=str(raw.get("token_id", "")),
        tls=tls,
        fingerprint=fingerprint,
        ca_file=raw.get("ca_file") or None,
        read_only=bool(raw.get("read_only", False)),
        colour=colour,
        llm_base_url=str(raw.get("llm_base_url", "")).strip(),
        llm_model=str(raw.get("llm_model", "")).strip(),
        llm_timeout=llm_timeout,
    )


def ui_from(path: Path, raw: Any) -> UiSettings:
    where = f"{path} [ui]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    interval = raw.get("interval", 5.0)
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 1:
        raise ConfigError(f"{where}: 'interval' must be a number of seconds, at least 1")
    confirm = raw.get("confirm", ["stop", "reset"])
    if not isinstance(confirm, list) or any(a not in ACTION_ORDER for a in confirm):
        raise ConfigError(f"{where}: 'confirm' must list power actions ({', '.join(ACTION_ORDER)})")
    keymap = raw.get("keymap", {})
    if not isinstance(keymap, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in keymap.items()
    ):
        raise ConfigError(f'{where}.keymap: map binding ids to keys, e.g. "power.stop" = "ctrl+k"')
    return UiSettings(float(interval), frozenset(confirm), dict(keymap))


def history_from(path: Path, raw: Any) -> HistorySettings:
    where = f"{path} [history]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}: 'enabled' must be true or false")
    base = HistorySettings()
    spans = {
        key: _span(raw[key], f"{where}: '{key}'") if key in raw else getattr(base, key)
        for key in ("sample_interval", "raw", "mid", "long", "journal")
    }
    if spans["sample_interval"] < 1:
        raise ConfigError(f"{where}: 'sample_interval' must be at least 1s")
    if not spans["raw"] <= spans["mid"] <= spans["long"]:
        raise ConfigError(f"{where}: expected raw <= mid <= long (each keeps a coarser step)")
    url = raw.get("url", "")
    if not isinstance(url, str):
        raise ConfigError(f"{where}: 'url' must be a postgresql:// URL")
    url = check_history_url(url.strip(), f"{where}: 'url'")
    return HistorySettings(enabled=enabled, url=url, **spans)


def check_history_url(url: str, where: str) -> str:
    """A team history's URL as given, or a ConfigError: not postgresql:// or postgres://,
    unreadable, or carrying a password (passwords never go in config.toml or the
    environment's URL: libpq's ~/.pgpass, PGPASSWORD or `argus history login` keep it).
    An empty URL means the local history."""
    if not url:
        return url
    try:
        parsed = parse_database_url(url)
    except ValueError as exc:
        raise ConfigError(
            f"{where} is not a PostgreSQL URL: {exc}",
            hint="e.g. postgresql://argus@db.example:5432/argus?sslmode=verify-full",
        ) from None
    if parsed.has_password:
        raise ConfigError(
            f"{where} carries a password, which Argus refuses to read from a URL",
            hint="remove it from the URL and store it with 'argus history login',"
            " or in ~/.pgpass, or set PGPASSWORD",
        )
    return url


def parse_llm_timeout(value: Any, where: str) -> float:
    """Seconds to wait for the assistant's model, 1 to 3600."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if isinstance(value, bool) or not 1 <= number <= 3600:
        raise ConfigError(f"{where} must be a number of seconds between 1 and 3600")
    return number


def _span(value: Any, where: str) -> float:
    """Seconds from a number or `24h`-style text; a clear error otherwise."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return parse_span(value)
    raise ConfigError(f"{where} must be a duration like 90s, 15m, 24h, 30d or 52w")
