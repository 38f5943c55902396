"""The `argus` command: parse the command line, then run one command module.

Every expected failure becomes one line on stderr and an exit code: 0 ok, 1 operation
failed, 2 usage or configuration error, 3 cannot reach or authenticate, 4 permission
denied. Tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argus_tui.cli.context import CliContext

#: Which module under `argus_tui.cli.commands` runs each command (None: the TUI). The
#: module is imported only once its command is chosen: `argus profiles` never loads
#: Textual, and `argus status` never loads openai.
MODULES: dict[str | None, str] = {
    None: "tui",
    "sim": "sim",
    "login": "login",
    "logout": "profiles",
    "profiles": "profiles",
    "llm-key": "profiles",
    "doctor": "doctor",
    "status": "status",
    "tasks": "tasks",
    "task-log": "tasks",
    "power": "power",
    "snapshot": "snapshot",
    "backup": "backup",
    "storage": "storage",
    "migrate": "migrate",
    "evacuate": "migrate",
    "node": "node",
    "task-stop": "tasks",
    "console": "console",
    "shell": "console",
    "history": "history",
    "ask": "ask",
}

Command = Callable[["CliContext", argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    # Start-up creates a few hundred thousand objects (modules, classes, Textual's styles)
    # and frees few of them, so the cyclic collector's runs meanwhile find next to nothing
    # and cost about a tenth of the start. It is held off while the command's modules load
    # (so they are imported here, not with this package), for the TUI until its first
    # frame (ArgusApp.on_mount), and is always on again after.
    gc.disable()
    try:
        return _main(argv)
    finally:
        gc.enable()


def _main(argv: Sequence[str] | None) -> int:
    from argus_tui.cli.context import CliContext
    from argus_tui.cli.output import fail
    from argus_tui.cli.parser import build_parser, names_a_command
    from argus_tui.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ArgusError

    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(commands=names_a_command(words))
    args = parser.parse_args(words)
    name = MODULES.get(args.command)
    if name is None:
        parser.print_help()
        return EXIT_USAGE
    ctx = CliContext.from_args(args)
    try:
        module = importlib.import_module(f"argus_tui.cli.commands.{name}")
        if name != "tui":
            gc.enable()
        run: Command = module.run
        return run(ctx, args)
    except ArgusError as exc:
        return fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_FAILED)
    except BrokenPipeError:
        return EXIT_OK
    finally:
        ctx.finish()  # a team history unreachable meanwhile: one line on what was kept
