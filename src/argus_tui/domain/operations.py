"""Guest operations beyond power: what each needs, and why one is not offered.

Each operation names the privileges it needs (any one of them) on the guest and, for
backups, on the storage. `why_not` gives the one explanation the footer, `w`, the CLI
(exit 4 names privilege and path) and `allowed_actions` share; the server checks again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from argus_tui.domain.models import Guest, Node, Privileges
from argus_tui.domain.storage import Storage

ALLOCATE_SPACE = "Datastore.AllocateSpace"
#: vzdump's modes: a live snapshot, a suspend for the copy, or a stop for it.
BACKUP_MODES = ("snapshot", "suspend", "stop")


@dataclass(frozen=True, slots=True)
class Operation:
    name: str  # journal action name and `allowed_actions` entry
    label: str  # footer label
    privileges: tuple[str, ...]  # any one of them on /vms/<vmid>
    confirm: bool = False

    def needs(self, vmid: int) -> str:
        """`VM.Snapshot on /vms/202` (or `VM.Snapshot or VM.Snapshot.Rollback on ...`)."""
        return f"{' or '.join(self.privileges)} on /vms/{vmid}"


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation("snapshot", "New snapshot", ("VM.Snapshot",)),
        Operation("rollback", "Rollback", ("VM.Snapshot", "VM.Snapshot.Rollback"), confirm=True),
        Operation("snapshot-delete", "Delete snapshot", ("VM.Snapshot",), confirm=True),
        Operation("backup", "Backup", ("VM.Backup",)),
        Operation("backup-delete", "Delete backup", ("VM.Backup",), confirm=True),
        Operation("migrate", "Migrate", ("VM.Migrate",)),
    )
}

#: Node power, on /nodes/<node>: Administrator alone of the built-in roles holds it.
NODE_POWER = "Sys.PowerMgmt"
#: Stopping a task someone else started, on /nodes/<node>.
SYS_MODIFY = "Sys.Modify"


@dataclass(frozen=True, slots=True)
class Denial:
    """Why an operation is not offered: a missing privilege (exit 4) or the guest's state."""

    text: str
    privilege: str | None = None
    path: str | None = None

    @property
    def permission(self) -> bool:
        return self.privilege is not None


def privilege_denial(op: Operation, guest: Guest, privileges: Privileges) -> Denial | None:
    held = privileges.on_guest(guest.vmid)
    if any(p in held for p in op.privileges):
        return None
    return Denial(f"needs {op.needs(guest.vmid)}", " or ".join(op.privileges), f"/vms/{guest.vmid}")


def state_denial(op: Operation, guest: Guest) -> Denial | None:
    """The guest's state that makes Proxmox refuse the operation (its task would fail)."""
    if op.name == "backup-delete":
        return None
    if guest.template and op.name != "backup":
        return Denial("it is a template: templates have no snapshots")
    if guest.lock:
        return Denial(f"it is locked ({guest.lock}); Proxmox refuses it until the lock goes")
    return None


def backup_storages(
    storages: Iterable[Storage], privileges: Privileges, node: str
) -> list[Storage]:
    """Storages a backup of a guest on `node` can go to: backup content, usable from the
    node, and Datastore.AllocateSpace held on them."""
    return [
        s
        for s in storages
        if s.node == node and s.holds("backup") and privileges.holds(s.path, ALLOCATE_SPACE)
    ]


def why_not(
    name: str,
    guest: Guest,
    privileges: Privileges,
    *,
    read_only: bool = False,
    storages: Iterable[Storage] = (),
) -> Denial | None:
    """Why operation `name` is not offered on `guest`, or None when it is.

    For `backup`, `storages` are the snapshot's storages: at least one must take backups
    from the guest's node with Datastore.AllocateSpace held on it.
    """
    op = OPERATIONS[name]
    if read_only:
        return Denial("the profile is read-only")
    denial = privilege_denial(op, guest, privileges)
    if denial is not None:
        return denial
    if name == "backup":
        candidates = [s for s in storages if s.node == guest.node and s.holds("backup")]
        if not candidates:
            return Denial(f"no storage on {guest.node} takes backups")
        if not backup_storages(candidates, privileges, guest.node):
            ids = ", ".join(sorted({s.storage for s in candidates}))
            return Denial(
                f"needs {ALLOCATE_SPACE} on a backup storage ({ids})",
                ALLOCATE_SPACE,
                f"/storage/{sorted({s.storage for s in candidates})[0]}",
            )
    return state_denial(op, guest)


def allowed_operations(
    guest: Guest,
    privileges: Privileges,
    storages: Iterable[Storage],
    nodes: Iterable[Node] = (),
) -> tuple[str, ...]:
    """The operations of `allowed_actions` beyond power: `snapshot`, `backup`, `migrate`
    (migration needs another online node among `nodes`; which one
    may take the guest is the server's precondition, asked when the picker opens)."""
    storages = tuple(storages)
    others = any(n.online and n.name != guest.node for n in nodes)
    return tuple(
        name
        for name in ("snapshot", "backup", "migrate")
        if why_not(name, guest, privileges, storages=storages) is None
        and (name != "migrate" or others)
    )


def node_power_denial(node: str, privileges: Privileges) -> Denial | None:
    """Reboot or shut down a node: Sys.PowerMgmt on /nodes/<node>."""
    path = f"/nodes/{node}"
    if privileges.holds(path, NODE_POWER):
        return None
    return Denial(f"needs {NODE_POWER} on {path}", NODE_POWER, path)


def task_owner(task_user: str, token_id: str) -> bool:
    """May `token_id` stop a task started by `task_user` without Sys.Modify?

    Only the token that started it (its owner user could too, but Argus speaks as a
    token); a task started by the user itself, or by another token of the same user, is
    not the token's (docs/proxmox.md, Tasks)."""
    return task_user == token_id


def task_stop_denial(
    task_user: str, node: str, token_id: str, privileges: Privileges
) -> Denial | None:
    if task_owner(task_user, token_id):
        return None
    path = f"/nodes/{node}"
    if privileges.holds(path, SYS_MODIFY):
        return None
    return Denial(
        f"started by {task_user}: stopping it needs {SYS_MODIFY} on {path}", SYS_MODIFY, path
    )
