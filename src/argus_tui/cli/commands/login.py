"""`argus login`: check a token against the server, keep its secret, save the profile."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from argus_tui.cli.context import CliContext
from argus_tui.cli.output import fail
from argus_tui.cli.prompts import can_ask, confirm, read_secret
from argus_tui.config import (
    DEFAULT_PROFILE,
    Profile,
    parse_fingerprint,
    parse_host,
    validate_profile_name,
)
from argus_tui.errors import EXIT_FAILED, EXIT_OK, ConfigError, SecretStoreError, TLSFailure
from argus_tui.pve.client import PveClient
from argus_tui.pve.mapping import privileges_from
from argus_tui.pve.settings import ConnectionSettings, TlsConfig
from argus_tui.pve.tls import fetch_fingerprint
from argus_tui.secrets import FALLBACK_ENV_VAR, token_account


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    """Check the token against the server, keep the secret in the keyring, save the profile."""
    name = validate_profile_name(args.profile or DEFAULT_PROFILE)
    host, port = parse_host(args.host)
    if not args.token_id:
        raise ConfigError("--token-id is required", hint="e.g. --token-id 'argus@pve!tui'")
    config = ctx.config
    store = ctx.secrets
    try:
        store.check()  # fail before asking for anything if there is nowhere to keep the secret
    except SecretStoreError as exc:
        raise SecretStoreError(
            exc.message,
            hint="login needs a keyring to keep the secret; without one, skip login and set"
            " ARGUS_HOST, ARGUS_TOKEN_ID, ARGUS_TOKEN_SECRET and ARGUS_FINGERPRINT in the"
            " environment (or a .env file): every command reads them. To use a keyring: "
            + _without_fallback(exc.hint),
        ) from None
    secret = read_secret(
        "Token secret (input hidden): ",
        from_stdin=args.secret_stdin,
        what="the token secret",
        flag="--secret-stdin",
    )
    tls = _tls_from_flags(args)

    def client_for(tls_config: TlsConfig) -> PveClient:
        return PveClient(ConnectionSettings(host, port, args.token_id, secret, tls_config))

    client = client_for(tls)
    try:
        version = client.version()
    except TLSFailure:
        if tls.mode != "system":
            raise
        fingerprint = fetch_fingerprint(host, port)
        print(
            f"The certificate of {host}:{port} is not trusted by this system"
            " (Proxmox uses a self-signed certificate by default).\n"
            f"  SHA-256 fingerprint: {fingerprint}\n"
            "Compare it with the one shown in the Proxmox web UI (Node > System >"
            " Certificates) or by 'pvenode cert info' on the node.",
            file=sys.stderr,
        )
        if not args.yes:
            if not can_ask() or args.secret_stdin:
                raise ConfigError(
                    "refusing to trust an unverified certificate without asking",
                    hint=f"pass --fingerprint {fingerprint} (after checking it) or --yes",
                ) from None
            if not confirm("Trust and pin this certificate?"):
                return fail("certificate not trusted; nothing was saved", EXIT_FAILED)
        tls = TlsConfig("fingerprint", fingerprint=fingerprint)
        client = client_for(tls)
        version = client.version()
    privileges = privileges_from(client.permissions())
    store.set(token_account(name), secret)
    previous = config.profiles.get(name)
    config.profiles[name] = Profile(
        name=name,
        host=host,
        port=port,
        token_id=args.token_id,
        tls=tls.mode,
        fingerprint=tls.fingerprint,
        ca_file=tls.ca_file,
        read_only=args.read_only,
        colour=args.colour or "",
        llm_base_url=previous.llm_base_url if previous else "",
        llm_model=previous.llm_model if previous else "",
        llm_timeout=previous.llm_timeout if previous else None,
    )
    if config.default_name() is None or config.default is None:
        config.default = config.default or name
    config.save()
    print(
        f"Logged in to {host}:{port} (Proxmox VE {version.get('version', '?')}) as"
        f" {args.token_id}; profile '{name}' saved in {config.path}, secret stored in the"
        f" keyring ({store.describe()}). TLS: {tls.describe()}."
    )
    if privileges.empty:
        print(
            "Note: this token holds no privileges yet; run 'argus doctor' to see why and how"
            " to grant them.",
            file=sys.stderr,
        )
    return EXIT_OK


def _tls_from_flags(args: argparse.Namespace) -> TlsConfig:
    """How to trust the server as the login flags say; the system's CAs by default."""
    if args.insecure:
        return TlsConfig("insecure")
    if args.fingerprint:
        return TlsConfig("fingerprint", fingerprint=parse_fingerprint(args.fingerprint))
    if args.ca_file:
        if not Path(args.ca_file).is_file():
            raise ConfigError(f"CA file {args.ca_file} does not exist")
        return TlsConfig("ca", ca_file=str(Path(args.ca_file).resolve()))
    return TlsConfig("system")


def _without_fallback(hint: str) -> str:
    """A keyring hint without its "or set ARGUS_TOKEN_SECRET" advice (login cannot use it)."""
    for phrase in (
        f"set {FALLBACK_ENV_VAR} for this session, or ",
        f", or set {FALLBACK_ENV_VAR} for this session",
        f"; or set {FALLBACK_ENV_VAR} for this session",
    ):
        hint = hint.replace(phrase, "")
    return hint
