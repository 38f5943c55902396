"""Power actions on simulated guests: PVE's task types, logs, timings and failures.

A POST answers a UPID at once; the task then runs for a few simulated seconds, writes
a log as qemu-server or pve-container would, and changes the guest when it ends.
Requests that PVE refuses before forking a worker raise a 500 here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from argus_tui.sim.hibernate import suspend_to_disk
from argus_tui.sim.metrics import unit
from argus_tui.sim.model import Guest
from argus_tui.sim.state import ClusterState, SimError

# (qemu type, lxc type, simulated seconds)
_TYPES: dict[str, tuple[str, str, float]] = {
    "start": ("qmstart", "vzstart", 3.0),
    "stop": ("qmstop", "vzstop", 2.0),
    "shutdown": ("qmshutdown", "vzshutdown", 6.0),
    "reboot": ("qmreboot", "vzreboot", 8.0),
    "reset": ("qmreset", "", 1.0),
    "suspend": ("qmpause", "vzsuspend", 1.0),
    "resume": ("qmresume", "vzresume", 1.0),
}


_HA_TRANSIENT = ("migrate", "freeze", "stopping", "recovery")


def submit(
    state: ClusterState,
    guest: Guest,
    action: str,
    authid: str,
    params: dict[str, Any],
    *,
    lrm: bool = False,
    on_done: Callable[[bool], None] | None = None,
) -> str:
    """Start the task for `action` and return its UPID; raises SimError as PVE refuses.

    `lrm`: the HA stack itself asks (no hastart/hastop detour); `on_done(ok)` runs when
    the task has ended and its effect is applied.
    """
    now = state.now()
    kind = "VM" if guest.type == "qemu" else "CT"
    vmid = guest.vmid
    hibernated = guest.type == "qemu" and guest.lock == "suspended" and not guest.running
    needs_running = action in ("reboot", "reset", "suspend", "resume")
    if needs_running and not guest.running and not (action == "resume" and hibernated):
        raise SimError(500, f"VM {vmid} not running" if kind == "VM" else f"CT {vmid} not running")
    if action == "start" and guest.template and guest.type == "lxc":
        raise SimError(500, "you can't start a CT if it's a template")
    if action == "shutdown" and guest.status == "paused" and not params.get("forceStop"):
        raise SimError(500, "VM is paused - cannot shutdown")
    if action == "resume" and guest.type == "qemu" and guest.status != "paused" and not hibernated:
        raise SimError(500, f"VM {vmid} not paused")
    if action == "suspend" and guest.type == "qemu" and params.get("todisk"):
        return suspend_to_disk(state, guest, authid, params)

    if guest.ha and action in ("start", "stop", "shutdown") and not lrm:
        return _ha_request(state, guest, action, authid, now)

    qm_type, vz_type, duration = _TYPES[action]
    task_type = qm_type if guest.type == "qemu" else vz_type
    duration *= 0.8 + 0.4 * unit(state.seed, f"{vmid}/{now}", "dur")
    # A scripted failure may carry the log lines before it: "line\nline\nfinal error".
    detail, _, error = _failure(guest, action, kind).rpartition("\n")
    lines = _log(guest, action, kind, error)
    if error and detail:
        lines = [(0.1 * (i + 1), text) for i, text in enumerate(detail.splitlines())]

    def finish() -> None:
        if not error:
            _apply(state, guest, action, params)
        if on_done is not None:
            on_done(not error)

    task = state.start_task(
        guest.node,
        task_type,
        str(vmid),
        authid,
        lines=lines,
        duration=duration,
        error=error,
        on_end=finish,
        start=now,
    )
    return task.key


def _failure(guest: Guest, action: str, kind: str) -> str:
    """The error the task will end with, or "" when it succeeds."""
    vmid = guest.vmid
    # start and resume bring a hibernated VM back (its lock is `suspended`)
    if guest.lock and not (guest.lock == "suspended" and action in ("start", "resume")):
        return f"{kind} is locked ({guest.lock})"
    if action == "start":
        if guest.template:
            return "you can't start a vm if it's a template"
        if guest.running:
            return f"{kind} {vmid} already running"
    if action in ("stop", "shutdown") and not guest.running:
        return f"{kind} {vmid} not running"
    return guest.fail.get(action, "")


def _log(guest: Guest, action: str, kind: str, error: str) -> list[tuple[float, str]]:
    vmid = guest.vmid
    if error:
        return []
    if guest.type == "qemu":
        scripted = {
            "start": [
                (0.2, f"generating cloud-init ISO for VM {vmid}" if vmid % 3 == 0 else ""),
                (0.5, f"swtpm_setup: Starting vTPM for VM {vmid}" if vmid % 5 == 0 else ""),
                (
                    1.5,
                    "kvm: warning: host doesn't support requested feature" if vmid % 7 == 0 else "",
                ),
            ],
            "shutdown": [(0.5, f"requesting shutdown of VM {vmid}"), (3.0, "waiting for guest")],
            "reboot": [(0.5, f"requesting reboot of VM {vmid}")],
            "stop": [(0.2, f"stopping VM {vmid} (timeout = 10 seconds)")],
        }
    else:
        scripted = {
            "start": [(0.5, f"starting container {vmid}")],
            "shutdown": [(0.5, f"shutting down container {vmid}")],
            "stop": [(0.2, f"stopping container {vmid}")],
        }
    return [(offset, text) for offset, text in scripted.get(action, []) if text]


def _apply(state: ClusterState, guest: Guest, action: str, params: dict[str, Any]) -> None:
    if action in ("start", "resume") and guest.lock == "suspended":
        state.set_lock(guest, "")  # resumed from the hibernation state: a plain start
        state.set_vmstate(guest, None)
        action = "start"
    if action == "start" or action in ("reboot", "reset"):
        if action == "start" or not guest.running:
            state.set_running(guest, True)
        elif guest.type == "qemu" or action == "reboot":
            state.set_running(guest, False)
            state.set_running(guest, True)
    elif action in ("stop", "shutdown"):
        state.set_running(guest, False)
    elif action == "suspend" and guest.type == "qemu":
        state.set_running(guest, True, paused=True)
    elif action == "resume" and guest.type == "qemu":
        state.set_running(guest, True, paused=False)
    # while the HA stack moves it (migrate, a node's freeze or recovery) it keeps its state
    if guest.ha and guest.hastate not in _HA_TRANSIENT:
        state.set_hastate(guest, "started" if guest.running else "stopped")


def _ha_request(state: ClusterState, guest: Guest, action: str, authid: str, now: float) -> str:
    """HA-managed guests: the API only asks the HA manager; the LRM does the real work."""
    sid = f"{'vm' if guest.type == 'qemu' else 'ct'}:{guest.vmid}"
    want_running = action == "start"
    task_type = "hastart" if want_running else "hastop"
    lines = [(0.1, f"Requesting HA {'start' if want_running else 'stop'} for {sid}")]

    def forward() -> None:
        state.set_hastate(guest, "started" if want_running else "request_stop")
        if want_running == guest.running:
            state.set_hastate(guest, "started" if want_running else "stopped")
            return
        real = "start" if want_running else "shutdown"
        qm_type, vz_type, duration = _TYPES[real]
        error = _failure(guest, real, "VM" if guest.type == "qemu" else "CT")

        def done() -> None:
            if not error:
                _apply(state, guest, real, {})
            else:
                state.set_hastate(guest, "error")

        # The LRM runs the real start or shutdown as root@pam.
        state.start_task(
            guest.node,
            qm_type if guest.type == "qemu" else vz_type,
            str(guest.vmid),
            "root@pam",
            lines=[],
            duration=duration,
            error=error,
            on_end=done,
        )

    task = state.start_task(
        guest.node,
        task_type,
        str(guest.vmid),
        authid,
        lines=lines,
        duration=0.5,
        on_end=forward,
        start=now,
    )
    return task.key
