"""Profiles and keys without the server: `argus logout`, `profiles` and `llm-key`.

Kept apart from `login` (which talks to the server) so that these never load an HTTP
client.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from argus_tui.cli.context import CliContext
from argus_tui.cli.output import print_json
from argus_tui.cli.prompts import read_secret
from argus_tui.config import llm_profile_name, validate_profile_name
from argus_tui.errors import EXIT_OK, ConfigError
from argus_tui.secrets import llm_account, token_account


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    commands: dict[str, Callable[[CliContext, argparse.Namespace], int]] = {
        "logout": logout,
        "profiles": profiles,
        "llm-key": llm_key,
    }
    return commands[args.command](ctx, args)


def logout(ctx: CliContext, args: argparse.Namespace) -> int:
    config = ctx.config
    name = args.profile or config.default_name()
    if name is None:
        raise ConfigError("which profile?", hint="pass --profile NAME (see 'argus profiles')")
    validate_profile_name(name)
    if name not in config.profiles:
        raise ConfigError(f"no profile named {name!r}")
    removed_secret = ctx.secrets.delete(token_account(name))
    ctx.secrets.delete(llm_account(name))
    del config.profiles[name]
    if config.default == name:
        config.default = None
    config.save()
    note = "and its stored secret" if removed_secret else "(no stored secret was found)"
    print(f"Removed profile '{name}' {note}.")
    return EXIT_OK


def profiles(ctx: CliContext, args: argparse.Namespace) -> int:
    config = ctx.config
    default = config.default_name()
    rows = [
        {
            "name": p.name,
            "default": p.name == default,
            "host": f"{p.host}:{p.port}",
            "token_id": p.token_id,
            "tls": p.tls,
            "read_only": p.read_only,
            "colour": p.colour or None,
        }
        for p in sorted(config.profiles.values(), key=lambda p: p.name)
    ]
    if args.json:
        print_json(rows)
        return EXIT_OK
    if not rows:
        print("No profiles yet; create one with 'argus login'.")
        return EXIT_OK
    for row in rows:
        flags = [str(row["tls"])] + (["read-only"] if row["read_only"] else [])
        marker = "*" if row["default"] else " "
        print(
            f"{marker} {row['name']:<16} {row['host']:<28} {row['token_id']:<28} {', '.join(flags)}"
        )
    return EXIT_OK


def llm_key(ctx: CliContext, args: argparse.Namespace) -> int:
    """Keep (or remove) the assistant's API key in the keyring, for one profile."""
    name = llm_profile_name(args.profile, ctx.environ, ctx.cwd, ctx.config)
    store = ctx.secrets
    if args.delete:
        removed = store.delete(llm_account(name))
        print(
            f"Removed the assistant's API key of profile '{name}' from the keyring."
            if removed
            else f"No assistant API key was stored for profile '{name}'."
        )
        return EXIT_OK
    store.check()  # fail before asking if there is nowhere to keep the key
    key = read_secret(
        "API key of the assistant's model (input hidden): ",
        from_stdin=args.stdin,
        what="the key",
        flag="--stdin",
    )
    store.set(llm_account(name), key)
    print(
        f"Stored the assistant's API key for profile '{name}' in the keyring"
        f" ({store.describe()}). ARGUS_LLM_API_KEY and OPENAI_API_KEY, when set, are used"
        " instead."
    )
    return EXIT_OK
