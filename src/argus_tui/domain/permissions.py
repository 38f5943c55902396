"""Power actions: which are valid for a guest's state and which the token may use.

The server has the final say; this decides what Argus offers (footer, help, `allowed_actions`).
"""

from __future__ import annotations

from dataclasses import dataclass

from argus_tui.domain.models import Guest, Privileges

POWER_PRIVILEGE = "VM.PowerMgmt"


@dataclass(frozen=True, slots=True)
class PowerAction:
    name: str  # API verb: /status/<name> (hibernate: /status/suspend with todisk=1)
    label: str  # footer label
    qemu_only: bool = False
    confirm: bool = False  # asks for confirmation naming the guest


ACTIONS: dict[str, PowerAction] = {
    a.name: a
    for a in (
        PowerAction("start", "Start"),
        PowerAction("shutdown", "Shutdown"),
        PowerAction("stop", "Stop", confirm=True),
        PowerAction("reboot", "Reboot"),
        PowerAction("reset", "Reset", qemu_only=True, confirm=True),
        PowerAction("suspend", "Suspend"),
        PowerAction("hibernate", "Hibernate", qemu_only=True, confirm=True),
        PowerAction("resume", "Resume"),
    )
}
ACTION_ORDER = tuple(ACTIONS)


def valid_actions(guest: Guest) -> tuple[str, ...]:
    """Actions that make sense in the guest's current state, in ACTION_ORDER.

    A locked guest (backup, migrate, snapshot...) takes none: Proxmox accepts the request
    and the task then fails with "VM is locked". A VM hibernated to disk (lock
    `suspended`, status stopped) can only be started, which resumes it.
    """
    if guest.template:
        return ()
    if guest.lock:
        if guest.lock == "suspended" and guest.status == "stopped" and guest.type == "qemu":
            return ("start",)
        return ()
    status = guest.status
    if status == "running":
        wanted = {"shutdown", "stop", "reboot", "suspend", "reset"}
        if not guest.hastate:  # Proxmox refuses to suspend an HA-managed VM to disk
            wanted.add("hibernate")
    elif status == "stopped":
        wanted = {"start"}
    elif status in ("paused", "suspended"):
        wanted = {"resume", "stop"}
    else:
        return ()
    return tuple(
        name
        for name in ACTION_ORDER
        if name in wanted and not (ACTIONS[name].qemu_only and guest.type != "qemu")
    )


def allowed_actions(guest: Guest, privileges: Privileges) -> tuple[str, ...]:
    """Valid for the state and permitted to the token (VM.PowerMgmt on /vms/<vmid>)."""
    if POWER_PRIVILEGE not in privileges.on_guest(guest.vmid):
        return ()
    return valid_actions(guest)
