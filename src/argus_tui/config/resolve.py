"""Connection settings by precedence: flags, `ARGUS_*` environment, `.env`, the profile.

The token secret never lives in config.toml: it comes from the environment, `.env`, or
the OS keyring entry of the profile.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from argus_tui.config.env import layered_env
from argus_tui.config.file import Config
from argus_tui.config.model import DEFAULT_PORT, Profile, validate_profile_name
from argus_tui.domain.secret import Secret
from argus_tui.errors import ConfigError
from argus_tui.pve.settings import ConnectionSettings, TlsConfig, normalise_fingerprint


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


def resolve(
    flags: Flags,
    environ: Mapping[str, str],
    cwd: Path,
    config: Config,
    secret_lookup: Callable[[str], Secret | None],
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


def parse_fingerprint(text: str) -> str:
    """A fingerprint as typed (`--fingerprint`, ARGUS_FINGERPRINT) in PVE's `AA:BB:..` form."""
    try:
        return normalise_fingerprint(text)
    except ValueError:
        raise ConfigError(
            f"{text!r} is not a SHA-256 certificate fingerprint",
            hint="expected 32 hex pairs like AA:BB:...; 'argus login' shows the server's",
        ) from None


def _resolve_tls(flags: Flags, env: Mapping[str, str], profile: Profile | None) -> TlsConfig:
    if flags.insecure:
        return TlsConfig("insecure")
    if flags.fingerprint:
        return TlsConfig("fingerprint", fingerprint=parse_fingerprint(flags.fingerprint))
    if flags.ca_file:
        return TlsConfig("ca", ca_file=_ca_file(flags.ca_file))
    verify = env.get("ARGUS_VERIFY_TLS")
    if verify is not None and verify.strip().lower() in ("0", "false", "no", "off"):
        return TlsConfig("insecure")
    if env.get("ARGUS_FINGERPRINT"):
        return TlsConfig("fingerprint", fingerprint=parse_fingerprint(env["ARGUS_FINGERPRINT"]))
    if env.get("ARGUS_CA_FILE"):
        return TlsConfig("ca", ca_file=_ca_file(env["ARGUS_CA_FILE"]))
    if profile is not None:
        return TlsConfig(profile.tls, ca_file=profile.ca_file, fingerprint=profile.fingerprint)
    return TlsConfig("system")


def _ca_file(path: str) -> str:
    if not Path(path).is_file():
        raise ConfigError(f"CA file {path} does not exist")
    return path
