"""`argus power ACTION VMID`: the TUI's permission and state checks, then the task."""

from __future__ import annotations

import argparse

from argus_tui.cli.actions import journal_warnings
from argus_tui.cli.context import CliContext
from argus_tui.cli.output import fail
from argus_tui.cli.prompts import can_ask, confirm
from argus_tui.domain.permissions import ACTIONS
from argus_tui.domain.text import printable
from argus_tui.errors import (
    EXIT_FAILED,
    EXIT_OK,
    ConfigError,
    OperationFailed,
    PermissionDenied,
)
from argus_tui.services.power import explain


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    session = ctx.session()
    snapshot = session.snapshot()
    guest = ctx.find_guest(snapshot, args.vmid)
    item = explain(guest, args.action, snapshot.privileges, read_only=ctx.resolved.read_only)
    if item.refusal is not None:
        reason = item.reason.removeprefix("skipped: ")
        error = PermissionDenied if item.refusal.denied else OperationFailed
        raise error(f"cannot {args.action} {guest.label} ({guest.vmid}): {reason}")
    action = ACTIONS[args.action]
    label = f"{printable(guest.label)} ({guest.vmid}) on {printable(guest.node)}"
    if action.confirm and not args.yes:
        if not can_ask():
            raise ConfigError(f"{args.action} needs confirmation", hint="pass --yes")
        if not confirm(f"{action.label} {label}?"):
            return fail("cancelled", EXIT_FAILED)
    upid = session.power.start(guest, args.action)
    print(upid)
    if not args.wait:
        session.power.journal_sent(guest, args.action, upid)
        journal_warnings(session.power.take_journal_errors())
        return EXIT_OK
    outcome = session.power.follow(guest, args.action, upid)
    journal_warnings(session.power.take_journal_errors())
    if outcome.ok:
        note = f" ({outcome.note})" if outcome.note else ""
        print(f"{action.label} {label}: OK{note}")
        return EXIT_OK
    return fail(f"{args.action} {label} failed: {printable(outcome.status)}", EXIT_FAILED)
