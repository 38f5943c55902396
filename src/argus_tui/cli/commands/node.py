"""`argus node reboot|shutdown NODE`: Sys.PowerMgmt on /nodes/NODE, then one request.

There is no task to follow: the node stops its guests and goes away. The confirmation
asks for the node's name, typed, because a node's guests all go down with it.
"""

from __future__ import annotations

import argparse

from argus_tui.cli.actions import journal_warnings, refuse, refuse_if_read_only
from argus_tui.cli.context import CliContext
from argus_tui.cli.output import fail
from argus_tui.cli.prompts import can_ask
from argus_tui.domain.operations import node_power_denial
from argus_tui.domain.text import printable
from argus_tui.errors import EXIT_FAILED, EXIT_OK, ConfigError, OperationFailed

WHAT = {"reboot": "Reboot", "shutdown": "Shut down"}


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    command: str = args.node_command
    node: str = args.node
    session = ctx.session()
    snapshot = session.snapshot()
    found = next((n for n in snapshot.nodes if n.name == node), None)
    if found is None:
        raise OperationFailed(f"no node {printable(node)!r} in the cluster")
    doing = f"{command} {printable(node)}"
    refuse_if_read_only(ctx.resolved.read_only, doing)
    denial = node_power_denial(node, snapshot.privileges)
    if denial is not None:
        refuse(denial, doing)
    if not found.online:
        raise OperationFailed(f"cannot {doing}: the node is {printable(found.status)}")
    running = [g for g in snapshot.guests if g.node == node and g.status == "running"]
    if not args.yes:
        if not can_ask():
            raise ConfigError(f"{command} of a node needs confirmation", hint="pass --yes")
        print(still_running(node, len(running)))
        typed = input(f"Type the node's name to {command} it: ").strip()
        if typed != node:
            return fail("cancelled (the name did not match)", EXIT_FAILED)
    session.node_power.send(node, command)
    journal_warnings(session.runner.take_journal_errors())
    print(f"{WHAT[command]} of {printable(node)} requested; {still_running(node, len(running))}")
    return EXIT_OK


def still_running(node: str, count: int) -> str:
    if count == 0:
        return f"no guest is running on {printable(node)}"
    guests = "guest is" if count == 1 else "guests are"
    return f"{count} {guests} still running on {printable(node)} and will be shut down"
