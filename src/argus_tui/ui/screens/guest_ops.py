"""What the guests screen offers beyond power: the snapshots view, a backup now, the guest's
backups, a migration, the console; and how `w` explains each of them.

Every rule is `domain.operations.why_not` on the refresh's privileges and storages (the
same explanation as the CLI's), plus "a task of Argus's is still running on it"; the
console's is `domain.console.console_denial` (a task running does not stop a console).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from argus_tui.domain.console import console_denial
from argus_tui.domain.models import ClusterSnapshot, Guest
from argus_tui.domain.operations import OPERATIONS, why_not
from argus_tui.domain.storage import Storage
from argus_tui.services.backups import common_targets
from argus_tui.services.session import Session
from argus_tui.ui.screens.backup_form import Candidate
from argus_tui.ui.screens.power import Verdict

BUSY = "a task of Argus's is still running on it"
NO_BACKUP_STORAGE = "no storage visible to this token takes backups"
NO_OTHER_NODE = "no other node is online"
SNAPSHOT_OPS = ("snapshot", "rollback", "snapshot-delete")


def denial(name: str, guest: Guest, snapshot: ClusterSnapshot, session: Session) -> str | None:
    """Why operation `name` is not offered on `guest`, or None."""
    denied = why_not(
        name,
        guest,
        snapshot.privileges,
        read_only=session.read_only,
        storages=snapshot.storages,
    )
    if denied is not None:
        return denied.text
    if session.runner.busy(guest.vmid):
        return BUSY
    return None


def migrate_denial(guest: Guest, snapshot: ClusterSnapshot, session: Session) -> str | None:
    """Why `m` is not offered on `guest`: the operation's rule, then another online node."""
    reason = denial("migrate", guest, snapshot, session)
    if reason is None and not any(n.online and n.name != guest.node for n in snapshot.nodes):
        return NO_OTHER_NODE
    return reason


def migrate_candidates(
    guests: Sequence[Guest], snapshot: ClusterSnapshot, session: Session
) -> list[Candidate]:
    return [(guest, migrate_denial(guest, snapshot, session)) for guest in guests]


def backup_candidates(
    guests: Sequence[Guest], snapshot: ClusterSnapshot, session: Session
) -> list[Candidate]:
    return [(guest, denial("backup", guest, snapshot, session)) for guest in guests]


def backup_offer(
    guests: Sequence[Guest], snapshot: ClusterSnapshot, session: Session
) -> tuple[list[Candidate], list[Storage]]:
    """Each guest with why it is skipped (None: backed up), and the storages every guest
    that is backed up can go to; no storage means no `Backup` key."""
    candidates = backup_candidates(guests, snapshot, session)
    runnable = [guest for guest, reason in candidates if reason is None]
    return candidates, common_targets(snapshot, runnable) if runnable else []


def has_backup_storage(snapshot: ClusterSnapshot) -> bool:
    return any(s.holds("backup") for s in snapshot.storages)


def console_reason(
    guest: Guest,
    snapshot: ClusterSnapshot,
    *,
    refused: bool = False,
    config: Mapping[str, Any] | None = None,
) -> str | None:
    """Why `c` is not offered on `guest` (`config` once the details panel has it, so a VM
    without a serial port is explained before the key is pressed), or None."""
    denied = console_denial(guest, snapshot.privileges, refused=refused, config=config)
    return denied.text if denied is not None else None


def verdicts(
    guest: Guest, snapshot: ClusterSnapshot, session: Session, *, console: str | None
) -> list[Verdict]:
    """`w` on the guests screen, after the power actions; `console` is `console_reason`."""
    out: list[Verdict] = [("Snapshots", None)]
    out += [(OPERATIONS[op].label, denial(op, guest, snapshot, session)) for op in SNAPSHOT_OPS]
    reason = denial("backup", guest, snapshot, session)
    if reason is None and not common_targets(snapshot, [guest]):
        reason = NO_BACKUP_STORAGE
    out.append((OPERATIONS["backup"].label, reason))
    out.append(("Backups", None if has_backup_storage(snapshot) else NO_BACKUP_STORAGE))
    out.append((OPERATIONS["migrate"].label, migrate_denial(guest, snapshot, session)))
    out.append(("Console", console))
    return out
