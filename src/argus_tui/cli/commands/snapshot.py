"""`argus snapshot list|create|rollback|delete VMID [NAME]`: a guest's snapshots.

Everything Argus can know before sending is checked first, so that a refused request
never reaches the server: the name (exit 2), the privilege (exit 4, naming it and the
path), the guest's state, a disk on a storage that cannot snapshot, a name already used
or a snapshot that does not exist (exit 1). The service then asks the server for the
privilege once more, and the task has the last word.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from argus_tui.cli.actions import (
    ask,
    guest_label,
    journal_warnings,
    refuse,
    refuse_if_read_only,
)
from argus_tui.cli.context import CliContext
from argus_tui.cli.output import fail, print_json, warn
from argus_tui.domain.models import ClusterSnapshot, Guest
from argus_tui.domain.operations import why_not
from argus_tui.domain.snapshots import GuestSnapshot, SnapshotTree, name_problem
from argus_tui.domain.text import printable
from argus_tui.errors import EXIT_FAILED, EXIT_OK, ConfigError, OperationFailed, PermissionDenied
from argus_tui.services.guest_snapshots import SnapshotView
from argus_tui.services.session import Session

POWER = "VM.PowerMgmt"


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    command = args.snapshot_command
    if command == "list":
        return list_snapshots(ctx, args)
    session = ctx.session()
    snapshot = session.snapshot()
    guest = ctx.find_guest(snapshot, args.vmid)
    if command == "create":
        return create(ctx, session, snapshot, guest, args)
    if command == "rollback":
        return rollback(ctx, session, snapshot, guest, args)
    return delete(ctx, session, snapshot, guest, args)


# -- list -------------------------------------------------------------------------------


def list_snapshots(ctx: CliContext, args: argparse.Namespace) -> int:
    session = ctx.session(record=False)
    snapshot = session.snapshot()
    guest = ctx.find_guest(snapshot, args.vmid)
    view = session.snapshots.view(guest, snapshot)
    for problem in view.problems:
        warn(problem)
    if args.json:
        print_json([snapshot_json(snap) for _, snap in view.tree.walk()])
        return EXIT_OK
    for line in tree_lines(view.tree):
        print(line)
    if not view.tree.snapshots:
        print(f"({guest_label(guest, node=False)} has no snapshots)")
    for blocker in view.blockers:
        print(f"New snapshot: not possible, {printable(blocker)}")
    return EXIT_OK


def snapshot_json(snap: GuestSnapshot) -> dict[str, Any]:
    """One entry of `argus snapshot list --json`, in the order of the tree walk."""
    return {
        "name": snap.name,
        "parent": snap.parent,
        "snaptime": snap.snaptime,
        "description": snap.description,
        "vmstate": snap.vmstate,
        "current": snap.current,
    }


def tree_lines(tree: SnapshotTree) -> list[str]:
    """The tree as `qm listsnapshot` draws it: each level indented under its parent, with
    the time, whether the RAM was saved, and the description's first line."""
    rows = []
    for depth, snap in tree.walk():
        name = f"{'    ' * depth}`-> {printable(snap.name)}"
        if snap.current:
            described = "You are here!" + (" (running)" if snap.running else "")
            rows.append((name, "", "", described))
            continue
        when = _time(snap.snaptime)
        first = snap.description.splitlines()[0] if snap.description.strip() else ""
        state = {"prepare": " (being taken)", "delete": " (being deleted)"}.get(
            snap.snapstate or "", f" ({printable(snap.snapstate)})" if snap.snapstate else ""
        )
        rows.append((name, when, "yes" if snap.vmstate else "no", printable(first) + state))
    width = max([len("NAME"), *(len(r[0]) for r in rows)])
    lines = [f"{'NAME':<{width}}  {'TIME':<19}  {'RAM':<3}  DESCRIPTION"]
    lines += [f"{n:<{width}}  {t:<19}  {r:<3}  {d}".rstrip() for n, t, r, d in rows]
    return lines


def _time(epoch: int | None) -> str:
    if not epoch:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


# -- create, rollback, delete -----------------------------------------------------------


def create(
    ctx: CliContext,
    session: Session,
    snapshot: ClusterSnapshot,
    guest: Guest,
    args: argparse.Namespace,
) -> int:
    name: str = args.name
    problem = name_problem(name, guest.type)
    if problem is not None:
        raise ConfigError(printable(problem))
    doing = f"snapshot {guest_label(guest, node=False)}"
    _check(ctx, snapshot, guest, "snapshot", doing)
    if args.vmstate and guest.type != "qemu":
        raise ConfigError("containers have no RAM state to save", hint="leave out --vmstate")
    view = session.snapshots.view(guest, snapshot)
    if view.blockers:
        raise OperationFailed(f"cannot {doing}: {printable(view.blockers[0])}")
    if view.tree.get(name) is not None:
        raise OperationFailed(f"cannot {doing}: snapshot name '{printable(name)}' already used")
    if args.vmstate and guest.status != "running":
        warn(f"{guest_label(guest, node=False)} is not running: there is no RAM state to save")
    upid = session.snapshots.create(guest, name, description=args.description, vmstate=args.vmstate)
    done = f"snapshot {printable(name)} of {guest_label(guest)}"
    return _finish(session, guest, "snapshot", upid, name, wait=args.wait, done=done)


def rollback(
    ctx: CliContext,
    session: Session,
    snapshot: ClusterSnapshot,
    guest: Guest,
    args: argparse.Namespace,
) -> int:
    name: str = args.name
    label = guest_label(guest, node=False)
    doing = f"roll back {label}"
    _check(ctx, snapshot, guest, "rollback", doing)
    if args.start and POWER not in snapshot.privileges.on_guest(guest.vmid):
        path = f"/vms/{guest.vmid}"
        raise PermissionDenied(
            f"cannot start {label} after the rollback: needs {POWER} on {path}",
            path=path,
            privilege=POWER,
            hint="leave out --start, or see 'argus doctor'",
        )
    target = _existing(session.snapshots.view(guest, snapshot), name, doing)
    if not target.complete:
        raise OperationFailed(
            f"cannot {doing}: unable to rollback to incomplete snapshot"
            f" (snapstate = {printable(target.snapstate)})"
        )
    question = f"Roll back {guest_label(guest)} to snapshot {printable(name)}"
    question += f" of {_time(target.snaptime)}? Its state since then is lost"
    if guest.status == "running":
        question += "; it is stopped first"
    if target.vmstate:
        question += "; it resumes with the saved RAM"
    elif args.start:
        question += "; it is started afterwards"
    if not ask("rollback", question + ".", yes=args.yes):
        return fail("cancelled", EXIT_FAILED)
    upid = session.snapshots.rollback(guest, name, start=args.start)
    done = f"rollback of {guest_label(guest)} to {printable(name)}"
    return _finish(session, guest, "rollback", upid, name, wait=args.wait, done=done)


def delete(
    ctx: CliContext,
    session: Session,
    snapshot: ClusterSnapshot,
    guest: Guest,
    args: argparse.Namespace,
) -> int:
    name: str = args.name
    doing = f"delete snapshot '{printable(name)}' of {guest_label(guest, node=False)}"
    _check(ctx, snapshot, guest, "snapshot-delete", doing)
    view = session.snapshots.view(guest, snapshot)
    _existing(view, name, doing)
    children = [s.name for s in view.tree.snapshots if s.parent == name]
    question = f"Delete snapshot {printable(name)} of {guest_label(guest)}?"
    if children:
        kids = ", ".join(printable(c) for c in children)
        question += f" ({kids} will descend from its parent instead)"
    if not ask("snapshot delete", question, yes=args.yes):
        return fail("cancelled", EXIT_FAILED)
    upid = session.snapshots.delete(guest, name)
    done = f"delete snapshot {printable(name)} of {guest_label(guest)}"
    return _finish(session, guest, "snapshot-delete", upid, name, wait=args.wait, done=done)


def _check(
    ctx: CliContext, snapshot: ClusterSnapshot, guest: Guest, action: str, doing: str
) -> None:
    """The TUI's rule, from the refresh's privileges and the guest's state."""
    refuse_if_read_only(ctx.resolved.read_only, doing)
    denial = why_not(action, guest, snapshot.privileges)
    if denial is not None:
        refuse(denial, doing)


def _existing(view: SnapshotView, name: str, doing: str) -> GuestSnapshot:
    found = view.tree.get(name)
    if found is None:
        raise OperationFailed(f"cannot {doing}: snapshot '{printable(name)}' does not exist")
    return found


def _finish(
    session: Session, guest: Guest, action: str, upid: str, name: str, *, wait: bool, done: str
) -> int:
    """Print the UPID; without --wait journal it as sent, with --wait follow it to its end."""
    print(upid, flush=True)
    service = session.snapshots
    if not wait:
        service.journal_sent(guest, action, upid, name)
        journal_warnings(session.runner.take_journal_errors())
        return EXIT_OK
    outcome = service.follow(guest, action, upid, name)
    journal_warnings(session.runner.take_journal_errors())
    if outcome.ok:
        print(f"{done[0].upper()}{done[1:]}: OK")
        return EXIT_OK
    return fail(f"{done} failed: {printable(outcome.status)}", EXIT_FAILED)
