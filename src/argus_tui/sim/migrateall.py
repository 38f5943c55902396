"""`POST /nodes/{node}/migrateall`: one `migrateall` task that migrates a node's guests.

As pve-manager's Nodes.pm migrateall: the guests of the node (those in `vms`, if given)
in vmid order, at most `max-workers` migrations at a time, each through the normal
migrate API (containers with `restart` when running, VMs `online` when running). A VM
first passes the precondition check: local disks of a running VM (without
`with-local-disks`) or local devices skip it with `Check VM 100: skip VM 100 -
precondition check failed:` and an indented line per reason. The job waits for its
workers, polling once a second, and ends `All jobs finished, used N workers in total.`
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from argus_tui.sim.migration_check import check_quorum, qemu_precondition
from argus_tui.sim.migration_start import submit
from argus_tui.sim.model import Guest, Task
from argus_tui.sim.params import split_list
from argus_tui.sim.state import ClusterState, SimError


def start_migrateall(state: ClusterState, node: str, authid: str, params: dict[str, Any]) -> str:
    """Check the request as PVE does, then fork the job; answers its UPID."""
    vms = [int(v) for v in split_list(str(params.get("vms", "")))]
    if not state.permissions.has(authid, "/", ["VM.Migrate"]):
        if not vms:
            raise SimError(403, "Permission check failed (/, VM.Migrate)")
        for vmid in vms:
            if not state.permissions.has(authid, f"/vms/{vmid}", ["VM.Migrate"]):
                raise SimError(403, f"Permission check failed (/vms/{vmid}, VM.Migrate)")
    target = str(params["target"])
    if target == node:
        raise SimError(
            400, "Parameter verification failed.", errors={"target": "target is local node."}
        )
    check_quorum(state)
    if target not in state.nodes:
        raise SimError(500, f"no such cluster node '{target}'")
    workers = params.get("max-workers") or params.get("maxworkers")
    if not workers:
        raise SimError(
            500, "either 'max-workers' parameter or max_workers in datacenter.cfg must be set!"
        )
    wld = params.get("with-local-disks")
    job = BulkMigration(
        state, node, authid, target, int(workers), vms or None, None if wld is None else bool(wld)
    )
    return job.start()


@dataclass
class BulkMigration:
    state: ClusterState
    node: str
    authid: str
    target: str
    workers: int
    vms: list[int] | None
    with_local_disks: bool | None
    queue: list[Guest] = field(default_factory=list)
    active: list[Task] = field(default_factory=list)
    started: int = 0
    task: Task = field(init=False)

    def start(self) -> str:
        self.task = self.state.start_task(
            self.node, "migrateall", "", self.authid, lines=[], duration=math.inf
        )
        self.state.schedule(self.state.now() + 0.1, self._begin, self.task)
        return self.task.key

    def _log(self, at: float, text: str) -> None:
        self.task.lines.append((max(0.0, at - self.task.upid.starttime), text))

    def _begin(self, at: float) -> None:
        self.queue = sorted(
            (
                g
                for g in self.state.guests.values()
                if g.node == self.node and (self.vms is None or g.vmid in self.vms)
            ),
            key=lambda g: g.vmid,
        )
        if not self.queue:
            self._log(at, "no virtual guests matched, nothing to do..")
            self.state.end_task(self.task, at)
            return
        self._next(at)

    def _next(self, at: float) -> None:
        self.active = [t for t in self.active if not t.finished]
        while self.queue and len(self.active) < self.workers:
            worker = self._migrate(at, self.queue.pop(0))
            if worker is not None:
                self.started += 1
                self.active.append(worker)
        if self.queue or self.active:
            self.state.schedule(at + 1.0, self._next, self.task)
        elif self.started:
            self._log(at, f"All jobs finished, used {self.started} workers in total.")
            self.state.end_task(self.task, at)
        else:
            self.state.end_task(self.task, at, "no migrations worker started...")

    def _migrate(self, at: float, guest: Guest) -> Task | None:
        """One guest through the migrate API, or the lines saying why it was skipped."""
        vmid, running = guest.vmid, guest.running
        params: dict[str, Any] = {"target": self.target}
        check = ""
        if guest.type == "lxc":
            self._log(at, f"Migrating CT {vmid}")
            params["restart"] = 1 if running else 0
        else:
            check = f"Check VM {vmid}: "
            if guest.lock:  # the precondition check dies on a locked config
                self._log(at, f"{check}VM is locked ({guest.lock})")
                return None
            pre = qemu_precondition(self.state, guest)
            reasons = []
            if running and not self.with_local_disks and pre["local_disks"]:
                disks = ", ".join(d["volid"] for d in pre["local_disks"])
                reasons.append(f"  Has local disks: {disks}")
            if pre["local_resources"]:
                reasons.append(f"  Has local resources: {', '.join(pre['local_resources'])}")
            if reasons:
                self._log(at, f"{check}skip VM {vmid} - precondition check failed:")
                for reason in reasons:
                    self._log(at, reason)
                return None
            self._log(at, f"{check}precondition check passed")
            self._log(at, f"Migrating VM {vmid}")
            params["online"] = 1 if running else 0
            if self.with_local_disks is not None:
                params["with-local-disks"] = 1 if self.with_local_disks else 0
        try:
            upid = submit(self.state, guest, self.authid, params)
        except SimError as exc:
            self._log(at, exc.reason)
            return None
        return self.state.tasks[upid]
