"""`argus backup VMID... [--storage ID]`: back up guests now, one vzdump per node.

The checks before sending are the TUI's: VM.Backup on every guest, Datastore.AllocateSpace
on the storage (exit 4, naming privilege and path), a storage that takes backups on every
guest's node, and a guest that is not locked (exit 1). Without --storage the one backup
storage the token may write to is taken; with several, the user chooses (exit 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from argus_tui.cli.actions import guest_label, journal_warnings, refuse, refuse_if_read_only
from argus_tui.cli.context import CliContext
from argus_tui.cli.output import fail, warn
from argus_tui.domain.format import bytes_
from argus_tui.domain.models import ClusterSnapshot, Guest, exit_ok
from argus_tui.domain.operations import (
    ALLOCATE_SPACE,
    OPERATIONS,
    privilege_denial,
    state_denial,
    why_not,
)
from argus_tui.domain.storage import Volume
from argus_tui.domain.text import printable
from argus_tui.errors import (
    EXIT_FAILED,
    EXIT_OK,
    ArgusError,
    ConfigError,
    OperationFailed,
    PermissionDenied,
)
from argus_tui.services.backups import BackupRun, common_targets
from argus_tui.services.session import Session
from argus_tui.services.storage import find_storage


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    session = ctx.session()
    snapshot = session.snapshot()
    guests: list[Guest] = []
    for vmid in dict.fromkeys(args.vmids):
        guests.append(ctx.find_guest(snapshot, vmid))
    refuse_if_read_only(ctx.resolved.read_only, "back up")
    op = OPERATIONS["backup"]
    for guest in guests:
        denial = privilege_denial(op, guest, snapshot.privileges)
        if denial is not None:
            refuse(denial, f"back up {guest_label(guest, node=False)}")
    storage = choose_storage(snapshot, guests, args.storage)
    for guest in guests:
        denial = state_denial(op, guest)
        if denial is not None:
            refuse(denial, f"back up {guest_label(guest, node=False)}")
    # what the storage held before, to name the volume each backup makes (with --wait)
    before = {n: _backups(session, snapshot, storage, n) for n in _nodes(guests) if args.wait}
    runs = session.backups.start(guests, storage, mode=args.mode, notes=args.notes or "")
    for run_ in runs:
        if run_.upid is not None:
            print(run_.upid, flush=True)
    code = EXIT_OK
    for run_ in runs:
        if run_.upid is None:
            labels = ", ".join(guest_label(g, node=False) for g in run_.guests)
            warn(f"the server started no backup of {labels}: not on {run_.node} any more?")
            code = EXIT_FAILED
        elif not args.wait:
            session.backups.journal_sent(run_)
        elif not _follow(session, snapshot, run_, before.get(run_.node)):
            code = EXIT_FAILED
    journal_warnings(session.runner.take_journal_errors())
    return code


def choose_storage(snapshot: ClusterSnapshot, guests: Sequence[Guest], wanted: str | None) -> str:
    """The storage to write to: the one asked for, checked, or the only one permitted."""
    if wanted is not None:
        return _check_storage(snapshot, guests, wanted)
    permitted = sorted(s.storage for s in common_targets(snapshot, guests))
    if len(permitted) == 1:
        return permitted[0]
    if permitted:
        ids = ", ".join(printable(p) for p in permitted)
        raise ConfigError(
            f"more than one backup storage may be used: {ids}", hint="choose one with --storage ID"
        )
    for guest in guests:  # why none: a missing privilege, or no backup storage at all
        denial = why_not("backup", guest, snapshot.privileges, storages=snapshot.storages)
        if denial is not None and denial != state_denial(OPERATIONS["backup"], guest):
            refuse(denial, f"back up {guest_label(guest, node=False)}")
    nodes = ", ".join(printable(n) for n in _nodes(guests))
    raise OperationFailed(
        f"no backup storage the token may write to is reachable from every node ({nodes})",
        hint="back up the guests of each node separately",
    )


def _check_storage(snapshot: ClusterSnapshot, guests: Sequence[Guest], wanted: str) -> str:
    entries = {s.node: s for s in snapshot.storages if s.storage == wanted}
    if not entries:
        raise OperationFailed(
            f"no storage {printable(wanted)!r} visible to this token",
            hint="'argus storage' lists the storages it may see (Datastore.Audit)",
        )
    for guest in guests:
        entry = entries.get(guest.node)
        if entry is None:
            raise ConfigError(
                f"storage {printable(wanted)} is not available on {printable(guest.node)},"
                f" where {guest_label(guest, node=False)} runs"
            )
        if not entry.holds("backup"):
            kinds = ", ".join(entry.content) or "nothing"
            raise ConfigError(
                f"storage {printable(wanted)} does not take backups (it holds {printable(kinds)})",
                hint="'argus storage' shows each storage's content types",
            )
    path = f"/storage/{wanted}"
    if not snapshot.privileges.holds(path, ALLOCATE_SPACE):
        raise PermissionDenied(
            f"cannot back up to {printable(wanted)}: needs {ALLOCATE_SPACE} on {printable(path)}",
            path=path,
            privilege=ALLOCATE_SPACE,
            hint="see 'argus doctor' for the pveum command that grants it",
        )
    return wanted


def _follow(
    session: Session, snapshot: ClusterSnapshot, run_: BackupRun, before: set[str] | None
) -> bool:
    """Follow one node's vzdump; say per guest how it went, and the volume it made.

    A job with a failed guest ends "job errors"; its log says which guest failed and why,
    and which finished (those made their backup)."""
    outcome = session.backups.follow(run_)
    made = _new_volumes(session, snapshot, run_, before)
    target = printable(run_.storage)
    all_ok = True
    for guest in run_.guests:
        label = guest_label(guest, node=False)
        error = outcome.result_of(guest.vmid)
        if exit_ok(error):
            print(f"Backup {label} to {target}: OK")
            volume = made.get(guest.vmid)
            if volume is not None:
                print(f"  {printable(volume.volid)} ({bytes_(volume.size)})")
        else:
            all_ok = False
            fail(f"backup of {label} to {target} failed: {printable(error)}", EXIT_FAILED)
    return all_ok


def _backups(
    session: Session, snapshot: ClusterSnapshot, storage: str, node: str
) -> set[str] | None:
    """The backups on the storage before the run (None: they cannot be listed)."""
    try:
        entry = find_storage(snapshot.storages, storage, node)
        return {v.volid for v in session.storage_content(entry, kind="backup").volumes}
    except ArgusError:
        return None


def _new_volumes(
    session: Session, snapshot: ClusterSnapshot, run_: BackupRun, before: set[str] | None
) -> dict[int, Volume]:
    """VMID -> the newest backup that was not there before the run."""
    if before is None:
        return {}
    try:
        entry = find_storage(snapshot.storages, run_.storage, run_.node)
        volumes = session.storage_content(entry, kind="backup").volumes
    except ArgusError:
        return {}
    made: dict[int, Volume] = {}
    for volume in volumes:  # newest first
        if volume.volid not in before and volume.vmid is not None:
            made.setdefault(volume.vmid, volume)
    return made


def _nodes(guests: Sequence[Guest]) -> list[str]:
    return list(dict.fromkeys(g.node for g in guests))
