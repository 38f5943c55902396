"""`argus history export|stats|prune`: what the local history database holds."""

from __future__ import annotations

import argparse
import sys

from argus_tui.cli.context import CliContext
from argus_tui.cli.output import print_json
from argus_tui.config import DEFAULT_PROFILE
from argus_tui.errors import EXIT_OK
from argus_tui.services import history


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    store = ctx.history_store()
    try:
        if args.history_command == "export":
            profile = args.profile or ctx.environ.get("ARGUS_PROFILE")
            if profile is None:
                profile = ctx.config.default_name() or DEFAULT_PROFILE
            since = history.parse_since(args.since)
            sys.stdout.write(history.export_rows(store, profile, since, args.format))
        elif args.history_command == "stats":
            data = history.stats_json(store.stats())
            if args.json:
                print_json(data)
            else:
                print(history.render_stats(data))
        else:
            print(history.render_prune(history.prune(store, vacuum=args.vacuum)))
    finally:
        store.close()
    return EXIT_OK
