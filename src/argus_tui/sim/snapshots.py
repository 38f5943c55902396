"""Snapshot tasks: take, roll back and delete, as qemu-server and pve-container run them.

Each answers a UPID at once. The worker locks the guest (`snapshot`, `rollback`,
`snapshot-delete`) and, while creating or deleting, marks the entry's `snapstate`
(`prepare`, `delete`) until it finishes a few seconds later. The checks that PVE's
pve-guest-common makes inside the worker (template, lock, name taken, storage without
snapshots, unknown name) make the task fail with PVE's text; reserved names are refused
with a 500 before any task, as the API handlers do.
"""

from __future__ import annotations

from collections.abc import Callable

from argus_tui.sim.metrics import unit
from argus_tui.sim.model import Guest, Snapshot
from argus_tui.sim.state import ClusterState, SimError

_TYPES = {
    "create": ("qmsnapshot", "vzsnapshot"),
    "rollback": ("qmrollback", "vzrollback"),
    "delete": ("qmdelsnapshot", "vzdelsnapshot"),
}


def kind(guest: Guest) -> str:
    """How PVE names the guest in messages: VM (qemu) or CT (lxc)."""
    return "VM" if guest.type == "qemu" else "CT"


def list_order(state: ClusterState, guest: Guest) -> list[Snapshot]:
    """The snapshots in PVE's order, which is a Perl hash's: none in particular (seeded)."""
    return sorted(guest.snapshots.values(), key=lambda s: unit(state.seed, guest.key, s.name))


def check_reserved(guest: Guest, name: str) -> None:
    """The API handlers refuse these names with a 500 before forking a worker."""
    reserved = name == "current" or (
        name.lower() == "pending" if guest.type == "qemu" else name == "vzdump"
    )
    if reserved:
        shown = "pending" if name.lower() == "pending" else name
        raise SimError(500, f"unable to use snapshot name '{shown}' (reserved name)")


def _duration(state: ClusterState, guest: Guest, what: str, low: float, high: float) -> float:
    return low + (high - low) * unit(state.seed, f"{guest.key}/{what}/{state.now()}", "dur")


def _start(
    state: ClusterState,
    guest: Guest,
    op: str,
    authid: str,
    *,
    lines: list[tuple[float, str]],
    duration: float,
    error: str = "",
    on_end: Callable[[], None] | None = None,
    on_abort: Callable[[float], None] | None = None,
) -> str:
    """Fork the worker; a failing one ends at once with its error and changes nothing."""
    qm, vz = _TYPES[op]
    task = state.start_task(
        guest.node,
        qm if guest.type == "qemu" else vz,
        str(guest.vmid),
        authid,
        lines=lines,
        duration=duration if not error else 0.2,
        error=error,
        on_end=on_end if not error else None,
        on_abort=on_abort if not error else None,
    )
    return task.key


def _lv_line(state: ClusterState, guest: Guest, name: str, verb: str) -> list[str]:
    """What the storage layer prints for a disk snapshot (LVM-thin is the chatty one)."""
    storage = state.storages[guest.disk_storage]
    if storage.type != "lvmthin":
        return []
    prefix = "base" if guest.template else "vm"
    return [f'  Logical volume "snap_{prefix}-{guest.vmid}-disk-0_{name}" {verb}.']


def create(
    state: ClusterState, guest: Guest, name: str, description: str, vmstate: bool, authid: str
) -> str:
    """`POST .../snapshot`: the entry is `prepare` and the guest locked until it is done."""
    check_reserved(guest, name)
    storage = state.storages[guest.disk_storage]
    error = ""
    if guest.template:
        error = "you can't take a snapshot if it's a template"
    elif guest.lock:
        error = f"{kind(guest)} is locked ({guest.lock})"
    elif name in guest.snapshots:
        error = f"snapshot name '{name}' already used"
    elif not storage.snapshots:
        error = "snapshot feature is not available"
    if error:
        return _start(state, guest, "create", authid, lines=[], duration=0, error=error)
    with_ram = bool(vmstate) and guest.type == "qemu" and guest.running  # ignored when stopped
    duration = _duration(state, guest, "snap", 2.0, 5.0)
    lines: list[tuple[float, str]] = []
    if with_ram:
        saving = min(8.0, 0.5 + guest.memory / 1024**3 * 0.3)
        lines += [
            (0.1, f"saving VM state and RAM using storage '{storage.id}'"),
            (saving / 2, f"{guest.memory // 1024**2 // 4} MiB in {int(saving / 2)}s"),
            (saving, f"completed saving the VM state in {int(saving)}s, saved 1.21 GiB"),
        ]
        duration += saving
    volid, _ = storage.disk_volume(guest.vmid, guest.type, guest.template)
    at = duration * 0.6
    if guest.type == "qemu":
        lines.append((at, f"snapshotting 'drive-scsi0' ({volid})"))
    lines += [(at + 0.1, text) for text in _lv_line(state, guest, name, "created")]
    state.set_lock(guest, "snapshot")
    parent = guest.parent
    snap = Snapshot(name, description, int(state.now()), with_ram, parent, snapstate="prepare")
    state.put_snapshot(guest, snap)

    def commit() -> None:
        state.update_snapshot(guest, name, snapstate=None)
        state.set_parent(guest, name)
        state.set_lock(guest, "")

    def abort(_: float) -> None:
        # A failed or killed create runs a forced cleanup: the entry goes, the lock too.
        state.drop_snapshot(guest, name)
        state.set_lock(guest, "")

    return _start(
        state,
        guest,
        "create",
        authid,
        lines=lines,
        duration=duration,
        on_end=commit,
        on_abort=abort,
    )


def rollback(state: ClusterState, guest: Guest, name: str, start: bool, authid: str) -> str:
    """`POST .../rollback`: stop a running guest, return to the snapshot, maybe start."""
    snap = guest.snapshots.get(name)
    storage = state.storages[guest.disk_storage]
    error = ""
    if snap is None:
        error = f"snapshot '{name}' does not exist"
    elif snap.snapstate:
        error = f"unable to rollback to incomplete snapshot (snapstate = {snap.snapstate})"
    elif guest.lock:
        error = f"{kind(guest)} is locked ({guest.lock})"
    elif storage.type == "zfspool" and any(
        s.snaptime > snap.snaptime for s in guest.snapshots.values()
    ):
        # ZFS can only roll back to its newest snapshot.
        disk = storage.disk_volume(guest.vmid, guest.type, guest.template)[0].split(":", 1)[1]
        error = f"can't rollback, '{name}' is not most recent snapshot on '{disk}'"
    if error or snap is None:
        return _start(state, guest, "rollback", authid, lines=[], duration=0, error=error)
    duration = _duration(state, guest, "rollback", 2.0, 5.0)
    was_running = guest.running
    lines: list[tuple[float, str]] = []
    prefix = "base" if guest.template else "vm"
    if storage.type == "lvmthin":
        disk = f"{prefix}-{guest.vmid}-disk-0"
        lines += [
            (1.0, f'  Logical volume "{disk}" successfully removed.'),
            (1.2, f'  Logical volume "{disk}" created.'),
        ]
    state.set_lock(guest, "rollback")
    if was_running:
        state.schedule(state.now() + 0.5, lambda _: state.set_running(guest, False))

    def done() -> None:
        state.set_parent(guest, name)
        state.set_lock(guest, "")
        if snap.vmstate or start:  # a snapshot with RAM resumes where it was taken
            state.set_running(guest, True)

    def abort(_: float) -> None:
        state.set_lock(guest, "")

    return _start(
        state,
        guest,
        "rollback",
        authid,
        lines=lines,
        duration=duration,
        on_end=done,
        on_abort=abort,
    )


def delete(state: ClusterState, guest: Guest, name: str, authid: str) -> str:
    """`DELETE .../snapshot/{name}`: `snapstate: delete` until its children move up.

    `force` only matters when removing a disk snapshot fails, which never happens here.
    """
    snap = guest.snapshots.get(name)
    error = ""
    if snap is None:
        error = f"snapshot '{name}' does not exist"
    elif guest.lock:
        error = f"{kind(guest)} is locked ({guest.lock})"
    if error:
        return _start(state, guest, "delete", authid, lines=[], duration=0, error=error)
    duration = _duration(state, guest, "delete", 1.0, 3.0)
    lines = [
        (duration * 0.7, text) for text in _lv_line(state, guest, name, "successfully removed")
    ]
    state.set_lock(guest, "snapshot-delete")
    state.update_snapshot(guest, name, snapstate="delete")

    def done() -> None:
        state.drop_snapshot(guest, name)
        state.set_lock(guest, "")

    def abort(_: float) -> None:
        state.update_snapshot(guest, name, snapstate=None)
        state.set_lock(guest, "")

    return _start(
        state,
        guest,
        "delete",
        authid,
        lines=lines,
        duration=duration,
        on_end=done,
        on_abort=abort,
    )
