"""Node maintenance: evacuation plans and their run, node reboot and shutdown, stopping a
task, and a guest's addresses. Blocking; use from worker threads.

An evacuation is planned from the refresh's figures and each guest's migration
precondition (one request per guest on the node), then run as one migration per guest,
each followed to its end by the session's runner.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from argus_tui.domain.migration import EvacuationPlan, Move, Precondition, plan_evacuation
from argus_tui.domain.models import Address, ClusterSnapshot, Entity, Guest, Task
from argus_tui.domain.operations import NODE_POWER, SYS_MODIFY, task_owner
from argus_tui.errors import ArgusError, OperationFailed, PermissionDenied
from argus_tui.pve.ops_mapping import addresses_from
from argus_tui.services.checks import held, require
from argus_tui.services.migration import MigrationService
from argus_tui.services.runner import Outcome, TaskRunner
from argus_tui.store import ActionRecord


class Evacuation:
    """Plan and run the evacuation of one node."""

    def __init__(self, migration: MigrationService) -> None:
        self.migration = migration

    def plan(
        self, snapshot: ClusterSnapshot, node: str, *, to: Sequence[str] | None = None
    ) -> EvacuationPlan:
        unknown = [n for n in to or () if n not in {x.name for x in snapshot.nodes}]
        if unknown:
            raise OperationFailed(f"no node {unknown[0]!r} in the cluster")
        if node not in {x.name for x in snapshot.nodes}:
            raise OperationFailed(f"no node {node!r} in the cluster")
        preconditions: dict[int, Precondition] = {}
        for guest in snapshot.guests:
            if guest.node == node and guest.status in ("running", "paused"):
                try:
                    preconditions[guest.vmid] = self.migration.precondition(guest)
                except PermissionDenied:
                    continue  # the plan says the privilege is missing
        return plan_evacuation(
            node,
            snapshot.nodes,
            snapshot.guests,
            snapshot.privileges,
            to=to,
            preconditions=preconditions,
        )

    def start(self, move: Move) -> str:
        pre_local = "with its local disks" in move.note
        return self.migration.start(move.guest, move.to, move.mode, with_local_disks=pre_local)

    def run(
        self,
        plan: EvacuationPlan,
        *,
        on_progress: Callable[[Move, str], None] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> list[tuple[Move, Outcome | None, str]]:
        """One migration after another (PVE runs one per guest anyway, and a node under
        maintenance is better drained steadily); (move, outcome, error) per move."""
        results: list[tuple[Move, Outcome | None, str]] = []
        for move in plan.moves:
            if self.migration.runner.closing:  # the app quits: send no further move
                results.append((move, None, "not sent: Argus was closing"))
                continue

            def progress(text: str, move: Move = move) -> None:
                if on_progress is not None:
                    on_progress(move, text)

            try:
                upid = self.start(move)
                outcome = self.migration.follow(
                    move.guest, upid, move.to, on_progress=progress, sleep=sleep
                )
            except ArgusError as exc:
                results.append((move, None, str(exc)))
                continue
            results.append((move, outcome, "" if outcome.ok else outcome.status))
        return results


@dataclass(frozen=True, slots=True)
class NodePower:
    """Reboot or shut down a node: Sys.PowerMgmt on /nodes/<node>; no task to follow."""

    runner: TaskRunner
    read_only: bool = False

    def check(self, node: str, command: str) -> None:
        if self.read_only:
            raise PermissionDenied(f"the profile is read-only: cannot {command} {node}")
        require(self.runner.client, f"/nodes/{node}", (NODE_POWER,), doing=f"{command} {node}")

    def send(self, node: str, command: str) -> None:
        self.check(node, command)
        started = time.time()
        result = "OK"
        try:
            self.runner.client.node_power(node, command)
        except ArgusError as exc:
            result = str(exc)
            raise
        finally:
            _journal(self.runner, f"node-{command}", node, "", result, time.time() - started)


def stop_task(runner: TaskRunner, task: Task, *, read_only: bool = False) -> None:
    """Stop a running task: its owner token, or Sys.Modify on its node (checked with the
    server first); journaled."""
    if read_only:
        raise PermissionDenied("the profile is read-only: cannot stop tasks")
    if not task.running:
        raise OperationFailed(f"task {task.upid} has already finished ({task.status})")
    client = runner.client
    token = client.settings.token_id
    if not task_owner(task.user, token):
        path = f"/nodes/{task.node}"
        if SYS_MODIFY not in held(client, path):
            raise PermissionDenied(
                f"cannot stop task {task.type} {task.id} started by {task.user}: token {token}"
                f" needs {SYS_MODIFY} on {path} (only the token that started a task may stop"
                " it without)",
                path=path,
                privilege=SYS_MODIFY,
                hint="see 'argus doctor' for the pveum command that grants it",
            )
    started = time.time()
    try:
        client.stop_task(task.node, task.upid)
    except ArgusError as exc:
        _journal(runner, "task-stop", task.node, task.upid, str(exc), 0.0, task)
        raise
    _journal(runner, "task-stop", task.node, task.upid, "OK", time.time() - started, task)


def _journal(
    runner: TaskRunner,
    action: str,
    node: str,
    upid: str,
    result: str,
    duration: float,
    task: Task | None = None,
) -> None:
    history = runner.history
    if history is None:
        return
    vmid = int(task.id) if task is not None and task.id.isdigit() else 0
    try:
        history.record_action(
            ActionRecord(
                ts=time.time(),
                profile=runner.profile,
                token_id=runner.client.settings.token_id,
                vmid=vmid,
                guest="",
                node=node,
                action=action,
                upid=upid,
                result=result,
                duration=round(duration, 3),
                target=f"{task.type} {task.id}".strip() if task is not None else node,
                operator=runner.operator,
            )
        )
    except ArgusError as exc:
        runner.journal_errors.append(str(exc))


#: PVE's agent refusals, as the details panel says them (the most specific first).
_AGENT_ERRORS = (
    ("No QEMU guest agent configured", "no guest agent configured (agent is off in its config)"),
    ("QEMU guest agent is not running", "the guest agent is not running inside the guest"),
    ("is not running", "not running"),
)


@dataclass(frozen=True, slots=True)
class Addresses:
    """A guest's addresses, or why there are none (agent off, not running, privilege)."""

    addresses: tuple[Address, ...]
    why_none: str = ""


def guest_addresses(runner: TaskRunner, guest: Guest) -> Addresses:
    """One call for the selected guest: its agent's interfaces (VM) or the node's view of
    a container's; the server's refusal becomes the reason shown."""
    if guest.status != "running":
        return Addresses((), f"{guest.label} is not running")
    try:
        items = runner.client.guest_interfaces(Entity.of_guest(guest))
    except PermissionDenied as exc:
        return Addresses((), f"the token lacks {exc.privilege} on {exc.path}")
    except ArgusError as exc:
        for marker, text in _AGENT_ERRORS:
            if marker in exc.message:
                return Addresses((), text)
        return Addresses((), exc.message)
    found = tuple(addresses_from(items))
    return Addresses(found, "" if found else "no address reported")
