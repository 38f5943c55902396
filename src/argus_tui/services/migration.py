"""Migrating guests: where each may go (the server's precondition), the mode, the
request, and following the task until the guest runs on its target.

HA-managed guests move in two tasks: the API's short `hamigrate` asks the HA manager, and
the LRM's own `qmigrate`/`vzmigrate` (as root@pam) does the move; `follow` waits for the
second as well, until the guest is on its target (docs/proxmox.md, Migration).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from argus_tui.domain.migration import (
    MIGRATE,
    Mode,
    Precondition,
    Target,
    mode_for,
    targets_for,
)
from argus_tui.domain.models import ClusterSnapshot, Entity, Guest
from argus_tui.domain.operations import OPERATIONS, state_denial
from argus_tui.domain.upid import UPID
from argus_tui.errors import ApiError, ArgusError, OperationFailed, PermissionDenied
from argus_tui.pve.mapping import task_from
from argus_tui.pve.ops_mapping import precondition_from
from argus_tui.services.checks import require
from argus_tui.services.runner import Outcome, TaskRunner


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    """What the picker shows for one guest: its targets and the mode it would move in."""

    guest: Guest
    mode: Mode
    targets: tuple[Target, ...]
    precondition: Precondition

    @property
    def allowed(self) -> list[Target]:
        return [t for t in self.targets if t.allowed]


class MigrationService:
    """Blocking; use from worker threads."""

    def __init__(self, runner: TaskRunner, *, read_only: bool = False) -> None:
        self.runner = runner
        self.client = runner.client
        self.read_only = read_only

    def precondition(self, guest: Guest) -> Precondition:
        """The server's view of where the guest may go (lxc before PVE 9: unknown)."""
        try:
            data = self.client.migrate_precondition(Entity.of_guest(guest))
        except ApiError as exc:
            if exc.status == 501:
                return Precondition(known=False)
            raise
        return precondition_from(data)

    def plan(self, guest: Guest, snapshot: ClusterSnapshot) -> MigrationPlan:
        pre = self.precondition(guest)
        targets = targets_for(guest, snapshot.nodes, pre)
        return MigrationPlan(guest, mode_for(guest), tuple(targets), pre)

    def check(self, guest: Guest, target: str) -> None:
        if self.read_only:
            raise PermissionDenied(f"the profile is read-only: cannot migrate {guest.label}")
        require(self.client, f"/vms/{guest.vmid}", (MIGRATE,), doing=f"migrate {guest.label}")
        denial = state_denial(OPERATIONS["migrate"], guest)
        if denial is not None:
            raise OperationFailed(f"cannot migrate {guest.label}: {denial.text}")
        if target == guest.node:
            raise OperationFailed(f"{guest.label} is already on {target}")
        self.runner.check_idle([guest])

    def start(
        self, guest: Guest, target: str, mode: Mode, *, with_local_disks: bool = False
    ) -> str:
        """Check and send; `mode` must suit the guest (`mode_for`), Argus never picks a
        disruptive one by itself."""
        self.check(guest, target)
        if mode != mode_for(guest) and not (mode == "offline" and guest.status == "stopped"):
            raise OperationFailed(
                f"cannot migrate {guest.label} {mode}: it is {guest.status}, which needs"
                f" {mode_for(guest)} migration"
            )
        client, entity = self.client, Entity.of_guest(guest)
        upid = self.runner.send(
            [guest],
            lambda: client.migrate(
                entity,
                target,
                online=mode == "online",
                restart=mode == "restart",
                with_local_disks=with_local_disks,
            ),
        )
        if upid is None:  # pragma: no cover - migrate always answers a UPID
            raise OperationFailed("the server started no task")
        return upid

    def follow(
        self,
        guest: Guest,
        upid: str,
        target: str,
        *,
        on_progress: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] | None = None,
        ha_timeout: float = 600.0,
    ) -> Outcome:
        """Follow the task; for HA, also the LRM's migration until the guest is on target."""
        kind = UPID.parse(upid).type
        note = ""
        if kind == "hamigrate":

            def ha_note(status: str, ok: bool) -> str:
                return "the HA manager was asked to move it" if ok else ""

            first = self.runner.follow(
                [guest], "migrate", upid, target=target, on_progress=on_progress, sleep=sleep,
                note=ha_note,
            )  # fmt: skip
            if not first.ok:
                return first
            follow_up = self._ha_follow_up(guest, first.upid, ha_timeout, sleep)
            if follow_up is None:
                return first
            exit_status, duration = self.runner.wait(
                guest.node, follow_up, on_progress=on_progress, sleep=sleep, log_progress=True
            )
            ok = exit_status == "OK" or exit_status.startswith("WARNINGS")
            note = f"moved by the HA manager's task {follow_up}"
            return Outcome(guest, "migrate", follow_up, ok, exit_status, duration, note, target)
        return self.runner.follow(
            [guest],
            "migrate",
            upid,
            target=target,
            on_progress=on_progress,
            sleep=sleep,
            log_progress=True,
        )

    def _ha_follow_up(
        self,
        guest: Guest,
        request: str,
        timeout: float,
        sleep: Callable[[float], None] | None,
    ) -> str | None:
        """The LRM's qmigrate/vzmigrate of the guest that started after `request`."""
        after = UPID.parse(request).starttime
        kind = "qmigrate" if guest.type == "qemu" else "vzmigrate"
        deadline = time.monotonic() + timeout
        pause = sleep or time.sleep
        while time.monotonic() < deadline:
            try:
                items, _ = self.client.node_tasks(
                    guest.node, limit=20, vmid=guest.vmid, typefilter=kind, source="all"
                )
            except ArgusError:
                items = []
            for item in items:
                try:
                    task = task_from(item)
                except ValueError:
                    continue
                if task.type == kind and task.starttime >= after:
                    return task.upid
            pause(self.runner.poll)
        return None

    def journal_sent(self, guest: Guest, upid: str, target: str) -> None:
        self.runner.journal_sent([guest], "migrate", upid, target)


def running_mode_problem(guest: Guest, *, online: bool, restart: bool) -> str | None:
    """`argus migrate` never picks a disruptive mode by itself: which flag is missing."""
    mode = mode_for(guest)
    if mode == "online" and not online:
        return f"{guest.label} is running: pass --online to migrate it live"
    if mode == "restart" and not restart:
        return (
            f"{guest.label} is a running container: pass --restart to shut it down, move it"
            " and start it again (containers cannot move live)"
        )
    return None
