"""`argus history export|stats|prune|login|logout|copy`: the history, local or the team's."""

from __future__ import annotations

import argparse
import sys

from argus_tui.cli.context import CliContext
from argus_tui.cli.output import note, print_json
from argus_tui.cli.prompts import read_secret
from argus_tui.config import DEFAULT_PROFILE, TeamHistory, team_history
from argus_tui.errors import EXIT_OK, ConfigError, OperationFailed, StoreError
from argus_tui.secrets import history_account
from argus_tui.services import history
from argus_tui.services.history_copy import copy_history
from argus_tui.store import HistoryStore, Spooling, local_history_path, open_history


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    command = args.history_command
    if command == "login":
        return login(ctx, args)
    if command == "logout":
        return logout(ctx, args)
    if command == "copy":
        return copy(ctx, args)
    store = ctx.history_store()
    try:
        if command == "export":
            profile = args.profile or ctx.environ.get("ARGUS_PROFILE")
            if profile is None:
                profile = ctx.config.default_name() or DEFAULT_PROFILE
            since = history.parse_since(args.since)
            sys.stdout.write(history.export_rows(store, profile, since, args.format))
        elif command == "stats":
            _stats(store, json=args.json)
        else:
            print(history.render_prune(history.prune(store, vacuum=args.vacuum)))
    finally:
        store.close()
    return EXIT_OK


def _stats(store: HistoryStore, *, json: bool) -> None:
    """The statistics; while a team database is away, which one and what is kept."""
    try:
        stats = store.stats()
    except StoreError:
        if not json:
            backlog = store.backlog() if isinstance(store, Spooling) else None
            sys.stdout.write(history.render_backend(store.describe(), backlog))
        raise
    # Read after the call: reaching the database sends what was kept.
    backlog = store.backlog() if isinstance(store, Spooling) else None
    data = history.stats_json(stats, store.describe(), backlog)
    if json:
        print_json(data)
    else:
        print(history.render_stats(data))


def _team(ctx: CliContext, url: str | None) -> TeamHistory:
    """The team history named by --url, else the one in force; a usage error without."""
    if url:
        return team_history(url.strip(), "--url", ctx.environ)
    team = ctx.team_history
    if team is None:
        raise ConfigError(
            "no team history is set",
            hint="pass --url postgresql://USER@HOST/DB, or set [history] url or ARGUS_HISTORY_URL",
        )
    return team


def login(ctx: CliContext, args: argparse.Namespace) -> int:
    """Check the password against the database, then keep it in the keyring."""
    team = _team(ctx, args.url)
    keyring = ctx.secrets
    keyring.check()  # fail before asking if there is nowhere to keep it
    password = read_secret(
        f"Password of {team.identity} (input hidden): ",
        from_stdin=args.password_stdin,
        what="the database password",
        flag="--password-stdin",
    )
    store = open_history(url=team.url, password=password, name=team.name, spool=False)
    try:
        store.profiles()  # StoreUnavailable (exit 3) when it is refused or unreachable
        where = store.describe()
    finally:
        store.close()
    keyring.set(history_account(team.identity), password)
    print(
        f"Stored the password of {team.identity} in the keyring ({keyring.describe()});"
        f" {where} accepted it. PGPASSWORD, when set, is used instead."
    )
    return EXIT_OK


def logout(ctx: CliContext, args: argparse.Namespace) -> int:
    team = _team(ctx, args.url)
    removed = ctx.secrets.delete(history_account(team.identity))
    print(
        f"Removed the password of {team.identity} from the keyring."
        if removed
        else f"No password was stored for {team.identity}."
    )
    return EXIT_OK


def copy(ctx: CliContext, args: argparse.Namespace) -> int:
    """The local SQLite history into the team database named by --to."""
    team = team_history(args.to.strip(), "--to", ctx.environ)
    path = local_history_path()
    if not path.exists():
        raise OperationFailed(f"there is no local history to copy ({path} does not exist)")
    source = open_history(path)
    target = ctx.open_history(team, spool=False)
    try:
        note(f"copying {source.describe()} into {target.describe()}")
        copied = copy_history(source, target, note)
    finally:
        source.close()
        target.close()
    note(f"copied: {copied.line()}")
    return EXIT_OK
