"""Hibernation: `POST .../qemu/{vmid}/status/suspend` with `todisk=1` (task `qmsuspend`).

qemu-server's vm_suspend checks, in this order: HA-managed VMs are refused, the caller
needs VM.Config.Disk on the VM, passed-through PCI devices cannot be saved, and the
state storage (`statestorage`, else the VM's disk storage) needs Datastore.AllocateSpace.
The task locks the VM `suspending` while QEMU saves its RAM (longer for more memory),
then it is stopped with the lock `suspended` and a `vmstate` volume in its config;
`status/start` or `status/resume` (task `qmresume`) boots it from that state.
"""

from __future__ import annotations

from typing import Any

from argus_tui.sim.metrics import unit
from argus_tui.sim.migration_log import stamp
from argus_tui.sim.model import Guest
from argus_tui.sim.state import ClusterState, SimError

GIB = 1024**3
SAVE_SPEED = 2 * GIB  # bytes/s QEMU writes the RAM to the state volume


def suspend_to_disk(state: ClusterState, guest: Guest, authid: str, params: dict[str, Any]) -> str:
    """Check the request as PVE does, then start the `qmsuspend` task; answers its UPID."""
    vmid = guest.vmid
    if guest.ha:
        raise SimError(500, "Cannot suspend HA managed VM to disk")
    if not state.permissions.has(authid, f"/vms/{vmid}", ["VM.Config.Disk"]):
        raise SimError(403, f"Permission check failed (/vms/{vmid}, VM.Config.Disk)")
    if any(name.startswith("hostpci") for name in guest.local_resources):
        raise SimError(
            500,
            "cannot suspend VM to disk due to passed-through PCI device(s), which lack the"
            " possibility to save/restore their internal state",
        )
    storage = str(params.get("statestorage") or guest.disk_storage)
    if not state.permissions.has(authid, f"/storage/{storage}", ["Datastore.AllocateSpace"]):
        raise SimError(
            403, f"Permission check failed (/storage/{storage}, Datastore.AllocateSpace)"
        )
    now = state.now()
    error = f"VM is locked ({guest.lock})" if guest.lock else ""
    seconds = 1.0 + guest.memory / SAVE_SPEED * (0.8 + 0.4 * unit(state.seed, f"{vmid}/{now}"))
    volid = f"{storage}:vm-{vmid}-state-suspend-{stamp(now)[:10]}"
    if not error:
        state.set_lock(guest, "suspending")

    def saved() -> None:
        if error:
            return
        state.set_running(guest, False)
        state.set_vmstate(guest, volid)
        state.set_lock(guest, "suspended")

    def killed(_at: float) -> None:
        if not error:
            state.set_lock(guest, "")  # QEMU keeps running, the state file is dropped
        return None

    task = state.start_task(
        guest.node,
        "qmsuspend",
        str(vmid),
        authid,
        lines=[] if error else [(seconds - 0.2, "State saved, quitting")],
        duration=0.2 if error else seconds,
        error=error,
        on_end=saved,
        on_abort=killed,
        start=now,
    )
    return task.key
