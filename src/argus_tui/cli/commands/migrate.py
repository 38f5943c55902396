"""`argus migrate VMID TARGET` (one guest) and `argus evacuate NODE` (a plan for all).

`migrate` is checked before anything is sent.
The order of the checks is the order of what a user can fix: the privilege (exit 4,
naming VM.Migrate and /vms/ID), the mode for a running guest (exit 2, naming the flag:
Argus never picks a disruptive mode by itself), then the server's precondition for the
target (exit 1 with its reason). `evacuate` prints its plan (what moves where and in
which mode, what stays and why) and runs it only once confirmed.
"""

from __future__ import annotations

import argparse

from argus_tui.cli.actions import (
    ask,
    guest_label,
    journal_warnings,
    refuse,
    refuse_if_read_only,
)
from argus_tui.cli.context import CliContext
from argus_tui.cli.output import fail, print_json, warn
from argus_tui.domain.migration import MIGRATE, MODE_TEXT, EvacuationPlan, Mode, mode_for
from argus_tui.domain.operations import why_not
from argus_tui.domain.text import printable
from argus_tui.errors import (
    EXIT_FAILED,
    EXIT_OK,
    ArgusError,
    ConfigError,
    OperationFailed,
    PermissionDenied,
)
from argus_tui.services.migration import running_mode_problem
from argus_tui.services.runner import Outcome


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    return evacuate(ctx, args) if args.command == "evacuate" else migrate(ctx, args)


def migrate(ctx: CliContext, args: argparse.Namespace) -> int:
    session = ctx.session()
    snapshot = session.snapshot()
    guest = ctx.find_guest(snapshot, args.vmid)
    label = guest_label(guest, node=False)
    doing = f"migrate {label}"
    refuse_if_read_only(ctx.resolved.read_only, doing)
    denial = why_not("migrate", guest, snapshot.privileges)
    if denial is not None and denial.permission:
        refuse(denial, doing)
    problem = running_mode_problem(guest, online=args.online, restart=args.restart)
    if problem is not None:
        raise ConfigError(printable(problem))
    if denial is not None:
        refuse(denial, doing)
    mode: Mode = mode_for(guest)
    if mode == "offline" and (args.online or args.restart):
        warn(f"{label} is not running: it moves offline")
    target: str = args.target
    if target == guest.node:
        raise OperationFailed(f"cannot {doing}: it is already on {printable(target)}")
    plan = session.migration.plan(guest, snapshot)
    chosen = next((t for t in plan.targets if t.node.name == target), None)
    if chosen is None:
        raise OperationFailed(f"cannot {doing}: no node {printable(target)!r} in the cluster")
    if chosen.reason is not None:
        raise OperationFailed(f"cannot {doing} to {printable(target)}: {printable(chosen.reason)}")
    local = plan.precondition.local_disks
    if local and not args.with_local_disks and mode == "online":
        raise ConfigError(
            f"{label} has disks on local storage ({printable(', '.join(local))})",
            hint="pass --with-local-disks to copy them to the target",
        )
    upid = session.migration.start(guest, target, mode, with_local_disks=args.with_local_disks)
    print(upid, flush=True)
    if guest.hastate:
        print(f"{label} is HA-managed: the HA manager moves it ({MODE_TEXT[mode]})")
    if not args.wait:
        session.migration.journal_sent(guest, upid, target)
        journal_warnings(session.runner.take_journal_errors())
        return EXIT_OK
    outcome = session.migration.follow(guest, upid, target)
    journal_warnings(session.runner.take_journal_errors())
    return report(outcome, f"migrate {guest_label(guest)} to {printable(target)}")


def report(outcome: Outcome, done: str) -> int:
    """One line for a followed migration; exit 0 or 1."""
    if outcome.ok:
        note = f" ({printable(outcome.note)})" if outcome.note else ""
        print(f"{done[0].upper()}{done[1:]}: OK{note}")
        return EXIT_OK
    return fail(f"{done} failed: {printable(outcome.status)}", EXIT_FAILED)


def evacuate(ctx: CliContext, args: argparse.Namespace) -> int:
    session = ctx.session(record=not args.dry_run)
    snapshot = session.snapshot()
    node: str = args.node
    to = [n.strip() for n in args.to.split(",") if n.strip()] if args.to else None
    if not args.dry_run:
        refuse_if_read_only(ctx.resolved.read_only, f"evacuate {node}")
    plan = session.evacuation.plan(snapshot, node, to=to)
    if args.json:
        print_json(plan.json())
    else:
        for line in plan_lines(plan):
            print(line)
    if args.dry_run:
        return EXIT_OK
    if not plan.moves:
        denied = next((s for s in plan.skipped if s.reason.startswith(f"needs {MIGRATE}")), None)
        if denied is not None:
            path = f"/vms/{denied.guest.vmid}"
            raise PermissionDenied(
                f"cannot evacuate {printable(node)}: nothing may move, {denied.reason}",
                path=path,
                privilege=MIGRATE,
                hint="see 'argus doctor' for the pveum command that grants it",
            )
        print(f"Nothing to move off {printable(node)}.")
        return EXIT_OK
    count = len(plan.moves)
    question = f"Migrate {count} guest{'s' if count != 1 else ''} off {printable(node)}?"
    if not ask("evacuate", question, yes=args.yes):
        return fail("cancelled", EXIT_FAILED)
    failed = 0
    if args.wait:
        for move, outcome, error in session.evacuation.run(plan):
            done = f"migrate {guest_label(move.guest)} to {printable(move.to)}"
            if outcome is None:
                failed += 1
                fail(f"{done} failed: {printable(error)}", EXIT_FAILED)
            elif report(outcome, done) != EXIT_OK:
                failed += 1
    else:
        for move in plan.moves:
            done = f"migrate {guest_label(move.guest)} to {printable(move.to)}"
            try:
                upid = session.evacuation.start(move)
            except ArgusError as exc:
                failed += 1
                fail(f"{done} failed: {printable(str(exc))}", EXIT_FAILED)
                continue
            session.migration.journal_sent(move.guest, upid, move.to)
            print(f"{done[0].upper()}{done[1:]}: started {upid}", flush=True)
    journal_warnings(session.runner.take_journal_errors())
    if failed:
        return fail(f"{failed} of {count} migrations failed", EXIT_FAILED)
    return EXIT_OK


def plan_lines(plan: EvacuationPlan) -> list[str]:
    """The plan as read before confirming: each move with its mode, each guest that stays."""
    lines = [f"Evacuation of {printable(plan.node)}:"]
    for move in plan.moves:
        note = f", {move.note}" if move.note else ""
        lines.append(
            f"  move {guest_label(move.guest, node=False)} to {printable(move.to)}:"
            f" {MODE_TEXT[move.mode]}{printable(note)}"
        )
    if not plan.moves:
        lines.append("  nothing to move")
    for skip in plan.skipped:
        lines.append(f"  skip {guest_label(skip.guest, node=False)}: {printable(skip.reason)}")
    return lines
