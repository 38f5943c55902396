"""Backups now (vzdump) and deleting a backup, checked, followed and journaled.

One vzdump runs per node (PVE serialises them with a node-wide lock), so guests are
grouped by node: one task each. Permissions are PVE's (docs/proxmox.md, Backups):
Datastore.AllocateSpace on the target storage, VM.Backup on every guest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from argus_tui.domain.models import ClusterSnapshot, Guest, GuestType
from argus_tui.domain.operations import (
    ALLOCATE_SPACE,
    BACKUP_MODES,
    OPERATIONS,
    backup_storages,
    state_denial,
)
from argus_tui.domain.storage import Storage, Volume
from argus_tui.errors import ArgusError, ConfigError, OperationFailed, PermissionDenied
from argus_tui.services.checks import held, require
from argus_tui.services.runner import Outcome, TaskRunner

MODES = BACKUP_MODES

#: vzdump's lines for a guest that failed or finished; a job with a failed guest ends
#: with only "job errors", so the log says which guest failed, and why.
_GUEST_FAILED = re.compile(r"ERROR: Backup of VM (\d+) failed - (.*)$")
_GUEST_FINISHED = re.compile(r"INFO: Finished Backup of VM (\d+) ")


@dataclass(frozen=True, slots=True)
class BackupRun:
    """One vzdump task on one node (upid None: the server started none)."""

    node: str
    guests: tuple[Guest, ...]
    storage: str
    upid: str | None


def common_targets(snapshot: ClusterSnapshot, guests: Sequence[Guest]) -> list[Storage]:
    """Backup storages every guest's node can use, with AllocateSpace held: the picker.

    One entry per storage id (the one seen from the first guest's node).
    """
    nodes = {g.node for g in guests}
    by_node = {
        node: {s.storage: s for s in backup_storages(snapshot.storages, snapshot.privileges, node)}
        for node in nodes
    }
    if not guests:
        return []
    first = by_node[guests[0].node]
    return [s for sid, s in first.items() if all(sid in by_node[n] for n in nodes)]


class BackupService:
    """Blocking; use from worker threads."""

    def __init__(self, runner: TaskRunner, *, read_only: bool = False) -> None:
        self.runner = runner
        self.client = runner.client
        self.read_only = read_only

    def check(self, guests: Sequence[Guest], storage: str, mode: str) -> None:
        if mode not in MODES:
            raise ConfigError(f"unknown backup mode {mode!r} (one of {', '.join(MODES)})")
        if self.read_only:
            raise PermissionDenied("the profile is read-only: cannot back up")
        require(
            self.client, f"/storage/{storage}", (ALLOCATE_SPACE,), doing=f"back up to {storage}"
        )
        for guest in guests:
            require(
                self.client, f"/vms/{guest.vmid}", ("VM.Backup",), doing=f"back up {guest.label}"
            )
            denial = state_denial(OPERATIONS["backup"], guest)
            if denial is not None:
                raise OperationFailed(f"cannot back up {guest.label}: {denial.text}")
        self.runner.check_idle(guests)

    def start(
        self,
        guests: Sequence[Guest],
        storage: str,
        *,
        mode: str = "snapshot",
        notes: str = "",
        protected: bool = False,
    ) -> list[BackupRun]:
        """Check, then one vzdump per node; each run's guests are busy until followed."""
        self.check(guests, storage, mode)
        runs: list[BackupRun] = []
        client = self.client
        for node, group in _by_node(guests).items():
            vmids = [g.vmid for g in group]

            def request(node: str = node, vmids: list[int] = vmids) -> str | None:
                return client.vzdump(
                    node, vmids, storage=storage, mode=mode, notes=notes, protected=protected
                )

            upid = self.runner.send(group, request)
            runs.append(BackupRun(node, tuple(group), storage, upid))
        return runs

    def follow(
        self,
        run: BackupRun,
        *,
        on_progress: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> Outcome:
        if run.upid is None:
            raise OperationFailed(
                f"the server started no backup on {run.node}: the guests are not on that node"
            )

        def results() -> dict[int, str]:
            return {vmid: error or "OK" for vmid, error in self.results(run).items()}

        return self.runner.follow(
            list(run.guests),
            "backup",
            run.upid,
            target=run.storage,
            on_progress=on_progress,
            sleep=sleep,
            log_progress=True,
            results=results,
        )

    def results(self, run: BackupRun) -> dict[int, str | None]:
        """How each guest of a finished run went, from its log (see `guest_results`;
        empty when the log cannot be read)."""
        if run.upid is None:
            return {}
        try:
            lines, _ = self.client.task_log(run.node, run.upid, 0, 50000)
        except ArgusError:
            return {}
        return guest_results(lines)

    def journal_sent(self, run: BackupRun) -> None:
        if run.upid is not None:
            self.runner.journal_sent(list(run.guests), "backup", run.upid, run.storage)

    # -- deleting a backup ------------------------------------------------------------------

    def check_delete(self, volume: Volume) -> None:
        if self.read_only:
            raise PermissionDenied("the profile is read-only: cannot delete backups")
        if volume.content != "backup":
            raise OperationFailed(f"{volume.volid} is not a backup")
        if volume.protected:
            raise OperationFailed(
                f"{volume.volid} is protected: Proxmox refuses to remove a protected backup",
                hint="remove the protection first (the web UI's Edit Notes/Protection)",
            )
        path = f"/storage/{volume.storage}"
        if "Datastore.Allocate" in held(self.client, path):
            return
        require(self.client, path, (ALLOCATE_SPACE,), doing=f"delete {volume.volid}")
        if volume.vmid is not None:
            require(
                self.client, f"/vms/{volume.vmid}", ("VM.Backup",), doing=f"delete {volume.volid}"
            )

    def delete(self, volume: Volume, node: str, owner: Guest) -> str | None:
        """Delete a backup; `owner` is the guest it belongs to (or a stand-in for one that
        is gone), journaled under its VMID."""
        self.check_delete(volume)
        client = self.client
        return self.runner.send([owner], lambda: client.delete_volume(node, volume.volid))

    def follow_delete(
        self,
        owner: Guest,
        volume: Volume,
        upid: str,
        node: str,
        *,
        sleep: Callable[[float], None] | None = None,
    ) -> Outcome:
        return self.runner.follow(
            [owner], "backup-delete", upid, target=volume.volid, node=node, sleep=sleep
        )


def guest_results(lines: Iterable[str]) -> dict[int, str | None]:
    """VMID -> None for each guest the log says finished, or PVE's reason for each
    `ERROR: Backup of VM N failed - reason`. A guest the log does not name is not known to
    have finished (the job may have stopped before it)."""
    out: dict[int, str | None] = {}
    for line in lines:
        failed = _GUEST_FAILED.search(line)
        if failed:
            out[int(failed.group(1))] = failed.group(2).strip()
            continue
        finished = _GUEST_FINISHED.search(line)
        if finished:
            out.setdefault(int(finished.group(1)), None)
    return out


def owner_of(volume: Volume, guests: Iterable[Guest], node: str) -> Guest:
    """The guest a backup belongs to, or a stand-in named after its VMID."""
    for guest in guests:
        if guest.vmid == volume.vmid:
            return guest
    gtype: GuestType = "lxc" if volume.subtype == "lxc" else "qemu"
    return Guest(vmid=volume.vmid or 0, type=gtype, node=node, status="unknown")


def _by_node(guests: Sequence[Guest]) -> dict[str, list[Guest]]:
    out: dict[str, list[Guest]] = {}
    for guest in guests:
        out.setdefault(guest.node, []).append(guest)
    return out
