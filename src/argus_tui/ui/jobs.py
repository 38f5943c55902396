"""What each action key starts: a `Job` that sends the request and names the tasks to follow.

A job is built on the event loop from a request (ui/messages.py) and the session it is
for; its `start` and each task's `follow` block, so they run in the app's thread workers
(ui/action_flow.py). The services check again with the server before sending.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from argus_tui.domain.migration import EvacuationPlan, Mode, Move
from argus_tui.domain.models import Guest, Task
from argus_tui.domain.operations import OPERATIONS
from argus_tui.domain.permissions import ACTIONS
from argus_tui.domain.storage import Volume
from argus_tui.services.backups import BackupRun
from argus_tui.services.runner import Outcome
from argus_tui.services.session import Session

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Tracked:
    """One task an action started, to be followed to its end (its status line title)."""

    title: str
    follow: Callable[[Progress], Outcome]


@dataclass(frozen=True, slots=True)
class Job:
    """One action: how the status line names it, what it is about, and how to send it."""

    title: str  # "Stop web01", "Snapshot web01 as pre-upgrade", "Backup web01, db01"
    action: str  # the journal's action name
    vmids: tuple[int, ...]
    target: str  # the snapshot, storage or volume it is about ("" for power)
    start: Callable[[], list[Tracked]]  # blocking; raises ArgusError when refused


def names(guests: Sequence[Guest]) -> str:
    """`web01`, `web01, db01`, or `web01, db01 and 3 more`."""
    labels = [g.label for g in guests]
    if len(labels) <= 3:
        return ", ".join(labels)
    return f"{', '.join(labels[:2])} and {len(labels) - 2} more"


def power_job(session: Session, guest: Guest, action: str) -> Job:
    title = f"{ACTIONS[action].label} {guest.label}"
    power = session.power

    def start() -> list[Tracked]:
        upid = power.start(guest, action)
        return [Tracked(title, lambda p: power.follow(guest, action, upid, on_progress=p))]

    return Job(title, action, (guest.vmid,), "", start)


def migrate_job(
    session: Session, guest: Guest, target: str, mode: Mode, *, with_local_disks: bool = False
) -> Job:
    """Migrate one guest, followed until it runs on `target` (HA: through the LRM's task)."""
    title = f"{OPERATIONS['migrate'].label} {guest.label} to {target}"
    migration = session.migration

    def start() -> list[Tracked]:
        upid = migration.start(guest, target, mode, with_local_disks=with_local_disks)
        return [Tracked(title, lambda p: migration.follow(guest, upid, target, on_progress=p))]

    return Job(title, "migrate", (guest.vmid,), target, start)


def evacuate_job(session: Session, plan: EvacuationPlan) -> Job:
    """Empty a node: one migration after another, each followed to its end; one outcome
    for the whole plan (failed if any move failed)."""
    title = f"Evacuate {plan.node}"
    evacuation = session.evacuation
    guests = tuple(move.guest for move in plan.moves)

    def follow(progress: Progress) -> Outcome:
        started = time.monotonic()

        def each(move: Move, text: str) -> None:
            progress(f"{move.guest.label} to {move.to}: {text}")

        results = evacuation.run(plan, on_progress=each)
        failed = [(move, error) for move, _outcome, error in results if error]
        moved = len(results) - len(failed)
        status = "OK"
        if failed:
            status = "; ".join(
                f"{move.guest.label} to {move.to}: {error}" for move, error in failed
            )
        note = f"{moved} moved" + (f", {len(plan.skipped)} skipped" if plan.skipped else "")
        first, *others = guests
        return Outcome(
            first, "evacuate", "", not failed, status, time.monotonic() - started, note,
            plan.node, tuple(others),
        )  # fmt: skip

    def start() -> list[Tracked]:
        if not plan.moves:
            return []
        return [Tracked(title, follow)]

    return Job(title, "evacuate", tuple(g.vmid for g in guests), plan.node, start)


def node_power_job(session: Session, node: str, command: str) -> Job:
    """Reboot or shut down a node: no task to follow; the refresh shows it go and return."""
    title = f"{'Reboot' if command == 'reboot' else 'Shutdown'} node {node}"
    power = session.node_power

    def start() -> list[Tracked]:
        power.send(node, command)
        return []

    return Job(title, f"node-{command}", (), node, start)


def task_stop_job(session: Session, task: Task) -> Job:
    """Stop a running task; its own end shows in the tasks list with the next refresh."""
    title = f"Stop task {task.type} {task.id}".rstrip()

    def start() -> list[Tracked]:
        session.stop_task(task)
        return []

    vmids = (int(task.id),) if task.id.isdigit() else ()
    return Job(title, "task-stop", vmids, task.upid, start)


def snapshot_title(action: str, guest: Guest, name: str) -> str:
    return {
        "snapshot": f"Snapshot {guest.label} as {name}",
        "rollback": f"Rollback {guest.label} to {name}",
        "snapshot-delete": f"Delete snapshot {name} of {guest.label}",
    }[action]


def snapshot_job(
    session: Session,
    guest: Guest,
    action: str,
    name: str,
    *,
    description: str = "",
    vmstate: bool = False,
    start_after: bool = False,
) -> Job:
    """Take (`snapshot`), roll back to (`rollback`) or delete (`snapshot-delete`) `name`."""
    if action not in ("snapshot", "rollback", "snapshot-delete"):
        raise ValueError(f"not a snapshot action: {action!r}")
    title = snapshot_title(action, guest, name)
    snapshots = session.snapshots

    def send() -> str:
        if action == "snapshot":
            return snapshots.create(guest, name, description=description, vmstate=vmstate)
        if action == "rollback":
            return snapshots.rollback(guest, name, start=start_after)
        return snapshots.delete(guest, name)

    def start() -> list[Tracked]:
        upid = send()
        return [
            Tracked(title, lambda p: snapshots.follow(guest, action, upid, name, on_progress=p))
        ]

    return Job(title, action, (guest.vmid,), name, start)


def backup_job(
    session: Session,
    guests: Sequence[Guest],
    storage: str,
    *,
    mode: str = "snapshot",
    notes: str = "",
    protected: bool = False,
) -> Job:
    """Back up `guests` to `storage` now: one vzdump per node, each followed on its own."""
    guests = tuple(guests)
    backups = session.backups

    def tracked(run: BackupRun) -> Tracked:
        title = f"{OPERATIONS['backup'].label} {names(run.guests)}"
        return Tracked(title, lambda p: backups.follow(run, on_progress=p))

    def start() -> list[Tracked]:
        runs = backups.start(guests, storage, mode=mode, notes=notes, protected=protected)
        return [tracked(run) for run in runs]

    title = f"{OPERATIONS['backup'].label} {names(guests)}"
    return Job(title, "backup", tuple(g.vmid for g in guests), storage, start)


def backup_delete_job(session: Session, volume: Volume, node: str, owner: Guest) -> Job:
    """Delete one backup volume (its owner is journaled; a stand-in if the guest is gone)."""
    title = f"Delete backup {volume.name} of {owner.label}"
    backups = session.backups

    def start() -> list[Tracked]:
        upid = backups.delete(volume, node, owner)
        if upid is None:
            return []  # finished without a task
        return [Tracked(title, lambda _p: backups.follow_delete(owner, volume, upid, node))]

    return Job(title, "backup-delete", (owner.vmid,), volume.volid, start)
