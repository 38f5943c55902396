"""Profiles in config.toml and connection settings resolved by precedence.

Precedence, highest first: command-line flags, `ARGUS_*` environment, a `.env` file in
the working directory, the profile. The token secret never lives in config.toml: it
comes from the environment, `.env`, or the OS keyring entry of the profile.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
import tomlkit
from tomlkit.exceptions import TOMLKitError

from argus_tui.domain.secret import Secret
from argus_tui.errors import ConfigError, SecretStoreError
from argus_tui.llm.settings import DEFAULT_TIMEOUT as LLM_DEFAULT_TIMEOUT
from argus_tui.llm.settings import LlmSettings
from argus_tui.pve.client import ConnectionSettings, TlsConfig, TlsMode, normalise_fingerprint

APP = "argus"
DEFAULT_PORT = 8006
DEFAULT_PROFILE = "default"
ENV_KEYS = (
    "ARGUS_HOST",
    "ARGUS_TOKEN_ID",
    "ARGUS_TOKEN_SECRET",
    "ARGUS_FINGERPRINT",
    "ARGUS_CA_FILE",
    "ARGUS_VERIFY_TLS",
    "ARGUS_PROFILE",
    "ARGUS_LLM_BASE_URL",
    "ARGUS_LLM_MODEL",
    "ARGUS_LLM_API_KEY",
    "ARGUS_LLM_TIMEOUT",
    "OPENAI_API_KEY",
)
_PROFILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_COLOURS = ("", "red", "yellow", "green", "blue", "magenta", "cyan")


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def config_path() -> Path:
    return config_dir() / "config.toml"


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

    def to_toml(self) -> dict[str, Any]:
        out: dict[str, Any] = {
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


POWER_ACTIONS = ("start", "shutdown", "stop", "reboot", "reset", "suspend", "resume")


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
    """

    enabled: bool = True
    sample_interval: float = 60.0
    raw: float = 86400.0
    mid: float = 30 * 86400.0
    long: float = 365 * 86400.0
    journal: float = 365 * 86400.0


@dataclass(slots=True)
class Config:
    """The whole config.toml: profiles, the default one, and UI settings."""

    profiles: dict[str, Profile] = field(default_factory=dict)
    default: str | None = None
    path: Path = field(default_factory=config_path)
    ui: UiSettings = field(default_factory=UiSettings)
    history: HistorySettings = field(default_factory=HistorySettings)
    #: Settings that were not understood (typos, most likely): said, never fatal, and
    #: kept in the file when it is saved.
    warnings: list[str] = field(default_factory=list)
    #: The file as read, and its profiles and default then: `save` changes only what
    #: differs, so comments, key order and unknown settings survive.
    text: str = field(default="", repr=False, compare=False)
    loaded: dict[str, Profile] = field(default_factory=dict, repr=False, compare=False)
    loaded_default: str | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        path = path or config_path()
        if not path.exists():
            return cls(path=path)
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{path} is not valid TOML: {exc}",
                hint="fix the file, or remove it and run 'argus login' again",
            ) from None
        profiles: dict[str, Profile] = {}
        raw_profiles = data.get("profiles", {})
        if not isinstance(raw_profiles, dict):
            raise ConfigError(f"{path}: [profiles] must be a table")
        warnings = _unknown(str(path), data, _TOP_LEVEL)
        for name, raw in raw_profiles.items():
            profiles[name] = _profile_from(path, name, raw)
            warnings += _unknown(f"{path} [profiles.{name}]", raw, _PROFILE_KEYS)
        default = data.get("default")
        if default is not None and not isinstance(default, str):
            raise ConfigError(f"{path}: 'default' must be a profile name")
        raw_ui = data.get("ui", {})
        raw_history = data.get("history", {})
        ui = _ui_from(path, raw_ui)
        warnings += _unknown(f"{path} [ui]", raw_ui, _UI_KEYS)
        history = _history_from(path, raw_history)
        warnings += _unknown(f"{path} [history]", raw_history, _HISTORY_KEYS)
        return cls(
            profiles=profiles,
            default=default,
            path=path,
            ui=ui,
            history=history,
            warnings=warnings,
            text=text,
            loaded=dict(profiles),
            loaded_default=default,
        )

    def save(self) -> None:
        """Write atomically with mode 0600; the file never holds a secret.

        Only the profiles and the default that changed since `load` are rewritten, in
        place: the user's comments, key order and unknown settings stay as they were.
        """
        document = self._document()
        if self.default != self.loaded_default:
            if self.default:
                document["default"] = self.default
            elif "default" in document:
                del document["default"]
        tables = document.get("profiles")
        if not isinstance(tables, dict):
            tables = tomlkit.table(is_super_table=True)
            document["profiles"] = tables
        for name in self.loaded.keys() - self.profiles.keys():
            if name in tables:
                del tables[name]
        for name, profile in self.profiles.items():
            if self.loaded.get(name) == profile:
                continue
            current = tables.get(name)
            if isinstance(current, dict):
                _update_table(current, profile.to_toml())
            else:
                table = tomlkit.table()
                table.update(profile.to_toml())
                table.add(tomlkit.nl())
                tables[name] = table
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".toml.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(tomlkit.dumps(document))
        os.replace(tmp, self.path)
        self.text = tomlkit.dumps(document)
        self.loaded = dict(self.profiles)
        self.loaded_default = self.default

    def _document(self) -> tomlkit.TOMLDocument:
        """The file as read, as an editable document; a new one for a new file."""
        if not self.text:
            document = tomlkit.document()
            document.add(tomlkit.comment(_HEADER))
            document.add(tomlkit.nl())
            return document
        try:
            return tomlkit.parse(self.text)
        except TOMLKitError as exc:
            raise ConfigError(f"cannot update {self.path}: {exc}") from None

    def default_name(self) -> str | None:
        if self.default and self.default in self.profiles:
            return self.default
        if len(self.profiles) == 1:
            return next(iter(self.profiles))
        return None


def _profile_from(path: Path, name: str, raw: Any) -> Profile:
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
    if colour not in _COLOURS:
        raise ConfigError(f"{where}: 'colour' must be one of {', '.join(c for c in _COLOURS if c)}")
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
        llm_timeout = _llm_timeout(llm_timeout, f"{where}: 'llm_timeout'")
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


_HEADER = "Argus profiles. Secrets are kept in the OS keyring, not here."
_TOP_LEVEL = ("default", "profiles", "ui", "history")
_PROFILE_KEYS = (
    "host",
    "port",
    "token_id",
    "tls",
    "fingerprint",
    "ca_file",
    "read_only",
    "colour",
    "llm_base_url",
    "llm_model",
    "llm_timeout",
)
_UI_KEYS = ("interval", "confirm", "keymap")
_HISTORY_KEYS = ("enabled", "sample_interval", "raw", "mid", "long", "journal")


def _unknown(where: str, raw: Mapping[str, Any], known: tuple[str, ...]) -> list[str]:
    """One warning per setting that is not in `known`: named, with the known ones."""
    return [
        f"{where}: unknown setting {key!r} ignored (known: {', '.join(known)})"
        for key in raw
        if key not in known
    ]


def _update_table(table: Any, values: Mapping[str, Any]) -> None:
    """Set the profile's settings in an existing table: changed values are replaced,
    settings the profile no longer has are removed, everything else is left alone."""
    for key in _PROFILE_KEYS:
        if key not in values:
            if key in table:
                del table[key]
            continue
        value = values[key]
        old = table.get(key)
        if old is None or old != value or isinstance(old, bool) != isinstance(value, bool):
            table[key] = value


_SPAN_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _span(value: Any, where: str) -> float:
    """Seconds from a number or `24h`-style text; a clear error otherwise."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", value.lower())
        if match:
            return float(match.group(1)) * _SPAN_UNITS.get(match.group(2) or "s", 1)
    raise ConfigError(f"{where} must be a duration like 90s, 15m, 24h, 30d or 52w")


def _history_from(path: Path, raw: Any) -> HistorySettings:
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
    return HistorySettings(enabled=enabled, **spans)


def _ui_from(path: Path, raw: Any) -> UiSettings:
    where = f"{path} [ui]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    interval = raw.get("interval", 5.0)
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 1:
        raise ConfigError(f"{where}: 'interval' must be a number of seconds, at least 1")
    confirm = raw.get("confirm", ["stop", "reset"])
    if not isinstance(confirm, list) or any(a not in POWER_ACTIONS for a in confirm):
        raise ConfigError(
            f"{where}: 'confirm' must list power actions ({', '.join(POWER_ACTIONS)})"
        )
    keymap = raw.get("keymap", {})
    if not isinstance(keymap, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in keymap.items()
    ):
        raise ConfigError(f'{where}.keymap: map binding ids to keys, e.g. "power.stop" = "ctrl+k"')
    return UiSettings(float(interval), frozenset(confirm), dict(keymap))


def validate_profile_name(name: str) -> str:
    if not _PROFILE_RE.match(name):
        raise ConfigError(
            f"profile name {name!r} is not valid",
            hint="use letters, digits, '.', '_' or '-'",
        )
    return name


def parse_host(text: str) -> tuple[str, int]:
    """`host`, `host:port`, `[v6]` or `[v6]:port` -> (host, port)."""
    text = text.strip()
    if text.startswith("https://"):
        text = text[len("https://") :].split("/", 1)[0]
    match = re.fullmatch(r"\[([0-9a-fA-F:.]+)\](?::(\d+))?", text)
    if match:
        host, port = match.group(1), match.group(2)
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, None
    if not host or re.search(r"[\s/@]", host):
        raise ConfigError(f"{text!r} is not a host or host:port")
    number = DEFAULT_PORT
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"{text!r}: the port must be a number between 1 and 65535")
        number = int(port)
    return host, number


def read_dotenv(path: Path) -> dict[str, str]:
    """`KEY=value` lines of a .env file (quotes, comments and `export` allowed)."""
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        stripped = stripped.removeprefix("export ").strip()
        key, sep, value = stripped.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ConfigError(f"{path}, line {number}: expected KEY=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


@dataclass(frozen=True, slots=True)
class Flags:
    """Connection flags from the command line; None = not given."""

    profile: str | None = None
    host: str | None = None
    token_id: str | None = None
    fingerprint: str | None = None
    ca_file: str | None = None
    insecure: bool = False


@dataclass(frozen=True, slots=True)
class Resolved:
    """Everything needed to connect, and where the profile-level choices came from."""

    settings: ConnectionSettings
    profile: str | None  # the profile used, if any
    read_only: bool = False
    colour: str = ""
    secret_source: str = ""  # "environment", ".env", "keyring"


def layered_env(environ: Mapping[str, str], cwd: Path) -> dict[str, str]:
    """ARGUS_* values: the process environment over the working directory's .env."""
    merged = {k: v for k, v in read_dotenv(cwd / ".env").items() if k in ENV_KEYS}
    merged.update({k: v for k, v in environ.items() if k in ENV_KEYS})
    return {k: v for k, v in merged.items() if v != ""}


def resolve(
    flags: Flags,
    environ: Mapping[str, str],
    cwd: Path,
    config: Config,
    secret_lookup: Any,
) -> Resolved:
    """Combine flags, environment, .env and profile into connection settings.

    `secret_lookup(profile_name)` returns a Secret from the keyring, or None; it is
    only called when neither the environment nor .env carries the secret.
    """
    env = layered_env(environ, cwd)
    profile_name = flags.profile or env.get("ARGUS_PROFILE")
    if profile_name is not None:
        validate_profile_name(profile_name)
    profile: Profile | None = None
    if profile_name is not None:
        profile = config.profiles.get(profile_name)
        if profile is None and not (flags.host or env.get("ARGUS_HOST")):
            known = ", ".join(sorted(config.profiles)) or "none yet"
            raise ConfigError(
                f"no profile named {profile_name!r} (profiles: {known})",
                hint="create it with 'argus login --profile NAME ...'",
            )
    elif not (flags.host or env.get("ARGUS_HOST")):
        default = config.default_name()
        if default is None:
            if config.profiles:
                raise ConfigError(
                    "several profiles and no default",
                    hint="pick one with --profile NAME (see 'argus profiles')",
                )
            raise ConfigError(
                "not configured: no profile and no ARGUS_HOST",
                hint="run 'argus login --host HOST --token-id USER@REALM!NAME', or try"
                " 'argus --demo'",
            )
        profile = config.profiles[default]
        profile_name = default

    host_text = flags.host or env.get("ARGUS_HOST")
    if host_text:
        host, port = parse_host(host_text)
    elif profile is not None:
        host, port = profile.host, profile.port
    else:  # unreachable: checked above
        raise ConfigError("no host given")
    token_id = flags.token_id or env.get("ARGUS_TOKEN_ID") or (profile.token_id if profile else "")
    if not token_id:
        raise ConfigError(
            "no API token id", hint="pass --token-id USER@REALM!NAME or set ARGUS_TOKEN_ID"
        )

    tls = _resolve_tls(flags, env, profile)
    secret_source = ""
    secret: Secret | None = None
    if "ARGUS_TOKEN_SECRET" in env:
        secret = Secret(env["ARGUS_TOKEN_SECRET"])
        in_process = "ARGUS_TOKEN_SECRET" in environ and environ["ARGUS_TOKEN_SECRET"]
        secret_source = "environment" if in_process else ".env"
    elif profile is not None:
        secret = secret_lookup(profile.name)
        secret_source = "keyring"  # noqa: S105 - where it came from, not a secret
        if secret is None:
            raise ConfigError(
                f"no token secret stored for profile {profile.name!r}",
                hint="run 'argus login' again, or set ARGUS_TOKEN_SECRET",
            )
    if secret is None:
        raise ConfigError(
            "no token secret",
            hint="set ARGUS_TOKEN_SECRET, or store it with 'argus login'",
        )
    settings = ConnectionSettings(host=host, port=port, token_id=token_id, secret=secret, tls=tls)
    return Resolved(
        settings=settings,
        profile=profile_name if profile is not None else None,
        read_only=profile.read_only if profile else False,
        colour=profile.colour if profile else "",
        secret_source=secret_source,
    )


def _resolve_tls(flags: Flags, env: Mapping[str, str], profile: Profile | None) -> TlsConfig:
    if flags.insecure:
        return TlsConfig("insecure")
    if flags.fingerprint:
        return TlsConfig("fingerprint", fingerprint=_fingerprint(flags.fingerprint))
    if flags.ca_file:
        return TlsConfig("ca", ca_file=_ca_file(flags.ca_file))
    verify = env.get("ARGUS_VERIFY_TLS")
    if verify is not None and verify.strip().lower() in ("0", "false", "no", "off"):
        return TlsConfig("insecure")
    if env.get("ARGUS_FINGERPRINT"):
        return TlsConfig("fingerprint", fingerprint=_fingerprint(env["ARGUS_FINGERPRINT"]))
    if env.get("ARGUS_CA_FILE"):
        return TlsConfig("ca", ca_file=_ca_file(env["ARGUS_CA_FILE"]))
    if profile is not None:
        return TlsConfig(profile.tls, ca_file=profile.ca_file, fingerprint=profile.fingerprint)
    return TlsConfig("system")


def _fingerprint(text: str) -> str:
    try:
        return normalise_fingerprint(text)
    except ValueError:
        raise ConfigError(
            f"{text!r} is not a SHA-256 certificate fingerprint",
            hint="expected 32 hex pairs like AA:BB:...; 'argus login' shows the server's",
        ) from None


def _ca_file(path: str) -> str:
    if not Path(path).is_file():
        raise ConfigError(f"CA file {path} does not exist")
    return path


# -- the assistant's model ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LlmFlags:
    """Assistant flags from the command line; None = not given."""

    base_url: str | None = None
    model: str | None = None


def llm_profile_name(
    profile: str | None, environ: Mapping[str, str], cwd: Path, config: Config
) -> str:
    """The profile whose LLM settings and keyring entry apply: named, ARGUS_PROFILE, the
    default one, else "default" (also where `argus llm-key` stores a key without profiles)."""
    name = profile or layered_env(environ, cwd).get("ARGUS_PROFILE") or config.default_name()
    return validate_profile_name(name or DEFAULT_PROFILE)


def resolve_llm(
    flags: LlmFlags,
    environ: Mapping[str, str],
    cwd: Path,
    config: Config,
    key_lookup: Callable[[str], Secret | None],
    profile: str | None = None,
) -> LlmSettings | None:
    """The assistant's settings by the usual precedence, or None while it is off.

    Base URL and model: flags, then ARGUS_LLM_* in the environment, then .env, then the
    profile's llm_base_url / llm_model. The key: ARGUS_LLM_API_KEY, then OPENAI_API_KEY
    (environment over .env), then the keyring entry of the profile. No key is fine (local
    servers); a keyring that cannot be read is noted in `key_problem`, not fatal.
    """
    env = layered_env(environ, cwd)
    name = llm_profile_name(profile, environ, cwd, config)
    prof = config.profiles.get(name)
    base_url = (
        flags.base_url or env.get("ARGUS_LLM_BASE_URL") or (prof.llm_base_url if prof else "")
    ).strip()
    model = (flags.model or env.get("ARGUS_LLM_MODEL") or (prof.llm_model if prof else "")).strip()
    if not base_url or not model:
        return None
    if not re.match(r"^https?://[^\s/]+", base_url):
        raise ConfigError(
            f"the assistant's base URL {base_url!r} is not an http:// or https:// URL",
            hint="e.g. ARGUS_LLM_BASE_URL=http://127.0.0.1:11434/v1",
        )
    timeout = LLM_DEFAULT_TIMEOUT
    if env.get("ARGUS_LLM_TIMEOUT"):
        timeout = _llm_timeout(env["ARGUS_LLM_TIMEOUT"], "ARGUS_LLM_TIMEOUT")
    elif prof is not None and prof.llm_timeout is not None:
        timeout = prof.llm_timeout
    key: Secret | None = None
    source = problem = ""
    for var in ("ARGUS_LLM_API_KEY", "OPENAI_API_KEY"):
        if env.get(var):
            key = Secret(env[var])
            source = "environment" if environ.get(var) else ".env"
            break
    if key is None:
        try:
            key = key_lookup(name)
        except SecretStoreError as exc:
            problem = exc.message
        source = "keyring" if key else ""
    return LlmSettings(
        base_url=base_url.rstrip("/"),
        model=model,
        api_key=key or None,
        timeout=timeout,
        key_source=source,
        key_problem=problem,
    )


def _llm_timeout(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if isinstance(value, bool) or not 1 <= number <= 3600:
        raise ConfigError(f"{where} must be a number of seconds between 1 and 3600")
    return number
