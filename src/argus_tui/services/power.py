"""Power actions: plan, check again, send, follow the task to its end, journal it.

Hiding a key is not authorisation: before sending, the service asks the server for the
token's privileges on the exact guest path, checks the guest's state and that no task
of Argus's is still running on it. After a 403 the caller should reload permissions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from argus_tui.domain.models import Guest, Privileges
from argus_tui.domain.permissions import ACTIONS, POWER_PRIVILEGE, valid_actions
from argus_tui.domain.upid import UPID
from argus_tui.errors import ArgusError, OperationFailed, PermissionDenied
from argus_tui.pve.mapping import privileges_from
from argus_tui.services.runner import Outcome, TaskRunner

__all__ = ["Outcome", "PlanItem", "PowerService", "Refusal", "explain", "plan", "refusal"]


class Refusal(Enum):
    """Why an action will not run on a guest: the one list the plan, the check and the CLI use."""

    READ_ONLY = "read-only"
    NOT_PERMITTED = "not permitted"
    CONTAINER = "containers cannot"
    LOCKED = "locked"
    INVALID_STATE = "invalid state"
    BUSY = "busy"  # a task Argus started on the guest is still running

    @property
    def denied(self) -> bool:
        """A permission refusal (exit code 4), as opposed to the guest's state (exit 1)."""
        return self in (Refusal.READ_ONLY, Refusal.NOT_PERMITTED)


def refusal(guest: Guest, action: str, held: frozenset[str], *, read_only: bool) -> Refusal | None:
    """Why `action` cannot run on `guest` given the privileges `held` on it, or None."""
    if read_only:
        return Refusal.READ_ONLY
    if POWER_PRIVILEGE not in held:
        return Refusal.NOT_PERMITTED
    if ACTIONS[action].qemu_only and guest.type != "qemu":
        return Refusal.CONTAINER
    if action not in valid_actions(guest):
        return Refusal.LOCKED if guest.lock and not guest.template else Refusal.INVALID_STATE
    return None


@dataclass(frozen=True, slots=True)
class PlanItem:
    guest: Guest
    action: str
    reason: str  # what will happen, or why it is skipped
    refusal: Refusal | None = None

    @property
    def runs(self) -> bool:
        return self.refusal is None


def explain(guest: Guest, action: str, privileges: Privileges, *, read_only: bool) -> PlanItem:
    """Will `action` run on `guest`, and if not, why (privilege and path, or state)?"""
    label = ACTIONS[action].label.lower()
    why = refusal(guest, action, privileges.on_guest(guest.vmid), read_only=read_only)
    if why is not None:
        text = {
            Refusal.READ_ONLY: "the profile is read-only",
            Refusal.NOT_PERMITTED: f"not permitted (needs {POWER_PRIVILEGE} on /vms/{guest.vmid})",
            Refusal.CONTAINER: f"containers cannot {label}",
            Refusal.LOCKED: f"locked ({guest.lock}); Proxmox refuses it until the lock goes",
            Refusal.INVALID_STATE: f"not valid while {_state(guest)}",
        }[why]
        if why is Refusal.INVALID_STATE and action == "hibernate" and guest.hastate:
            text = "Proxmox cannot suspend an HA-managed VM to disk"
        return PlanItem(guest, action, f"skipped: {text}", why)
    note = ""
    if guest.hastate and action in ("start", "stop", "shutdown"):
        note = " (through the HA manager)"
    if guest.lock:
        note += f" (resumes it from the hibernation, lock {guest.lock})"
    return PlanItem(guest, action, f"will {label}{note}")


def _state(guest: Guest) -> str:
    if guest.template:
        return "a template"
    if guest.lock:
        return f"locked ({guest.lock})"
    return guest.status


def plan(
    guests: list[Guest], action: str, privileges: Privileges, *, read_only: bool
) -> list[PlanItem]:
    return [explain(g, action, privileges, read_only=read_only) for g in guests]


class PowerService:
    """Blocking; use from worker threads. Tasks are sent and followed by the session's
    TaskRunner, which knows every guest that has a task of Argus's running."""

    def __init__(self, runner: TaskRunner, *, read_only: bool = False) -> None:
        self.runner = runner
        self.client = runner.client
        self.read_only = read_only

    def close(self) -> None:
        """Stop following tasks (the tasks themselves run on in Proxmox)."""
        self.runner.close()

    def busy(self, vmid: int) -> bool:
        return self.runner.busy(vmid)

    def check(self, guest: Guest, action: str) -> None:
        """The server-side truth, just before sending: privilege, state, nothing running."""
        if action not in ACTIONS:
            raise ArgusError(f"unknown power action {action!r}")
        if self.read_only:
            raise PermissionDenied("the profile is read-only: power actions are disabled")
        path = f"/vms/{guest.vmid}"
        held = privileges_from(self.client.permissions(path)).answer(path)
        why = refusal(guest, action, held, read_only=False)
        if why is Refusal.NOT_PERMITTED:
            raise PermissionDenied(
                f"token {self.client.settings.token_id} lacks {POWER_PRIVILEGE} on {path}",
                path=path,
                privilege=POWER_PRIVILEGE,
                hint="see 'argus doctor' for how to grant it",
            )
        if why is not None:
            raise OperationFailed(f"cannot {action} {guest.label}: it is {_state(guest)}")
        self.runner.check_idle([guest])

    def start(self, guest: Guest, action: str) -> str:
        """Check and POST; returns the UPID. The guest is busy until `follow` ends."""
        self.check(guest, action)
        client = self.client
        verb, extra = ("suspend", {"todisk": True}) if action == "hibernate" else (action, {})
        upid = self.runner.send(
            [guest], lambda: client.power(guest.node, guest.type, guest.vmid, verb, **extra)
        )
        assert upid is not None  # power actions always answer a UPID (or fail)
        return upid

    def follow(
        self,
        guest: Guest,
        action: str,
        upid: str,
        *,
        on_progress: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> Outcome:
        """Poll the task to its end; journal the result; free the guest."""
        task_type = UPID.parse(upid).type

        def note(status: str, ok: bool) -> str:
            if ok and task_type in ("hastart", "hastop"):
                verb = "start" if task_type == "hastart" else "stop"
                return f"the HA manager was asked to {verb} it; HA does the rest"
            return ""

        return self.runner.follow(
            [guest], action, upid, on_progress=on_progress, sleep=sleep, note=note
        )

    def journal_sent(self, guest: Guest, action: str, upid: str) -> None:
        """Journal an action whose task is not followed (`argus power` without --wait)."""
        self.runner.journal_sent([guest], action, upid)

    def take_journal_errors(self) -> list[str]:
        """Journal failures since the last call, to be shown once (the action itself ran)."""
        return self.runner.take_journal_errors()
