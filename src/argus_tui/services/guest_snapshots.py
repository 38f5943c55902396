"""Snapshots of one guest: read the tree, say what stands in the way, take, roll back,
delete, each checked again with the server and followed and journaled by the runner.

Most snapshot errors surface in the task, not the request (docs/proxmox.md, Snapshots):
Argus checks what it can before sending (privilege, name, lock, template, a disk on a
storage that cannot snapshot) so that the key is not offered only to fail later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from argus_tui.domain.models import ClusterSnapshot, Entity, Guest
from argus_tui.domain.operations import OPERATIONS, state_denial
from argus_tui.domain.snapshots import SnapshotTree, config_disks, name_problem
from argus_tui.domain.storage import volume_can_snapshot
from argus_tui.errors import ConfigError, OperationFailed, PermissionDenied
from argus_tui.pve.ops_mapping import snapshot_tree_from
from argus_tui.services.checks import require
from argus_tui.services.runner import Outcome, TaskRunner


@dataclass(frozen=True, slots=True)
class SnapshotView:
    """What the snapshots view shows: the tree, what blocks a new snapshot, problems."""

    guest: Guest
    tree: SnapshotTree
    blockers: tuple[str, ...] = ()  # why a new snapshot would fail (storage, state)
    problems: tuple[str, ...] = ()  # entries of the answer that could not be read


def storage_blockers(
    guest: Guest, config: Mapping[str, Any], snapshot: ClusterSnapshot | None
) -> list[str]:
    """Disks on storages that cannot snapshot, as Proxmox would refuse them."""
    types = {
        s.storage: s.type for s in (snapshot.storages if snapshot else ()) if s.node == guest.node
    }
    out = []
    for key, storage, volume in config_disks(dict(config)):
        kind = types.get(storage)
        if not volume_can_snapshot(kind, volume):
            fmt = volume.rsplit(".", 1)[-1] if "." in volume else "raw"
            out.append(
                f"disk {key} is on {storage} ({kind}, {fmt}): that storage cannot snapshot"
                " it (snapshot feature is not available)"
            )
    return out


class SnapshotService:
    """Blocking; use from worker threads."""

    def __init__(self, runner: TaskRunner, *, read_only: bool = False) -> None:
        self.runner = runner
        self.client = runner.client
        self.read_only = read_only

    def view(self, guest: Guest, snapshot: ClusterSnapshot | None = None) -> SnapshotView:
        """The guest's snapshots (VM.Audit) and what stands in the way of a new one."""
        entity = Entity.of_guest(guest)
        tree, problems = snapshot_tree_from(self.client.snapshots(entity))
        blockers: list[str] = []
        denial = state_denial(OPERATIONS["snapshot"], guest)
        if denial is not None:
            blockers.append(denial.text)
        try:
            config = self.client.guest_config(entity)
        except PermissionDenied:
            config = {}
        blockers += storage_blockers(guest, config, snapshot)
        return SnapshotView(guest, tree, tuple(blockers), tuple(problems))

    def check(self, guest: Guest, action: str, name: str) -> None:
        """Privilege (asked of the server), name, state and nothing of Argus's running."""
        op = OPERATIONS[action]
        if self.read_only:
            raise PermissionDenied(f"the profile is read-only: cannot {action}")
        if action == "snapshot":
            problem = name_problem(name, guest.type)
            if problem is not None:
                raise ConfigError(problem)
        doing = f"{action} {guest.label}"
        require(self.client, f"/vms/{guest.vmid}", op.privileges, doing=doing)
        denial = state_denial(op, guest)
        if denial is not None:
            raise OperationFailed(f"cannot {action} {guest.label}: {denial.text}")
        self.runner.check_idle([guest])

    def create(
        self, guest: Guest, name: str, *, description: str = "", vmstate: bool = False
    ) -> str:
        self.check(guest, "snapshot", name)
        client, entity = self.client, Entity.of_guest(guest)
        return self._send(
            guest,
            lambda: client.snapshot_create(
                entity, name, description=description or None, vmstate=vmstate
            ),
        )

    def rollback(self, guest: Guest, name: str, *, start: bool = False) -> str:
        self.check(guest, "rollback", name)
        if start:
            require(self.client, f"/vms/{guest.vmid}", ("VM.PowerMgmt",), doing="start it after")
        client, entity = self.client, Entity.of_guest(guest)
        return self._send(guest, lambda: client.snapshot_rollback(entity, name, start=start))

    def delete(self, guest: Guest, name: str) -> str:
        self.check(guest, "snapshot-delete", name)
        client, entity = self.client, Entity.of_guest(guest)
        return self._send(guest, lambda: client.snapshot_delete(entity, name))

    def _send(self, guest: Guest, request: Callable[[], str]) -> str:
        upid = self.runner.send([guest], request)
        if upid is None:  # pragma: no cover - snapshot calls always answer a UPID
            raise OperationFailed("the server started no task")
        return upid

    def follow(
        self,
        guest: Guest,
        action: str,
        upid: str,
        name: str,
        *,
        on_progress: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> Outcome:
        return self.runner.follow(
            [guest], action, upid, target=name, on_progress=on_progress, sleep=sleep
        )

    def journal_sent(self, guest: Guest, action: str, upid: str, name: str) -> None:
        self.runner.journal_sent([guest], action, upid, name)
