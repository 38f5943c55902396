"""`argus console VMID` and `argus shell NODE`: a console in this terminal.

The same checks as the TUI's `c` (VM.Console on /vms/VMID or Sys.Console on /nodes/NODE,
exit 4; a stopped guest or a VM without a serial socket, exit 1), then termproxy and its
WebSocket. Leaving with the escape key (ctrl+] unless `console.leave` in [ui.keymap]
says otherwise) exits 0; a console that fails exits 1, a lost connection 3.
"""

from __future__ import annotations

import argparse
import os
import sys

from argus_tui.cli.actions import journal_warnings, refuse
from argus_tui.cli.context import CliContext
from argus_tui.cli.output import warn
from argus_tui.domain.console import (
    DEFAULT_ESCAPE,
    ConsoleTarget,
    console_denial,
    escape_byte,
    shell_denial,
)
from argus_tui.domain.text import printable
from argus_tui.errors import ConfigError, OperationFailed
from argus_tui.services.console_bridge import bridge


def escape_key(ctx: CliContext) -> tuple[str, int]:
    """The key that leaves a console, from `[ui.keymap]` (`console.leave`), and its byte."""
    key = ctx.config.ui.keymap.get("console.leave", DEFAULT_ESCAPE)
    try:
        return key, escape_byte(key)
    except ValueError as exc:
        raise ConfigError(f"[ui.keymap] 'console.leave': {exc}") from None


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    shell = args.command == "shell"
    what = "argus shell" if shell else "argus console"
    key, byte = escape_key(ctx)
    session = ctx.session()
    snapshot = session.snapshot()
    if shell:
        node = next((n for n in snapshot.nodes if n.name == args.node), None)
        if node is None:
            raise OperationFailed(f"no node {printable(args.node)!r} in the cluster")
        target = ConsoleTarget.of_node(node.name)
        denial = shell_denial(node.name, snapshot.privileges, online=node.online)
    else:
        guest = ctx.find_guest(snapshot, args.vmid)
        target = ConsoleTarget.of_guest(guest)
        denial = console_denial(guest, snapshot.privileges)
    doing = f"open {printable(target.what)}"
    if denial is not None:
        refuse(denial, doing)
    plan = session.console.prepare(target, serial=getattr(args, "serial", None))
    # Checked after the server's answers, so a script learns why it could not open one.
    if not (os.isatty(sys.stdin.fileno()) and os.isatty(sys.stdout.fileno())):
        raise ConfigError(f"{what} needs a terminal", hint="run it in an interactive terminal")
    if plan.notice:
        warn(plan.notice)
    with session.console.open(plan) as opened:
        end = bridge(opened.socket, escape=byte, banner=printable(plan.banner(key)))
    result = session.console.finish(opened, end)
    journal_warnings(session.runner.take_journal_errors())
    print(f"[argus] {printable(result.message)}", file=sys.stderr)
    return result.exit_code
