"""Snapshots: `GET /nodes/{node}/{qemu,lxc}/{vmid}/snapshot`, from `Guest.snapshots`."""

from __future__ import annotations

from typing import Any

from argus_tui.sim.api.guests import GUEST, LXC, QEMU, VM_AUDIT, find_guest
from argus_tui.sim.api.router import Request, Result, RouteTable
from argus_tui.sim.model import Guest, Snapshot

routes = RouteTable()


def snapshot_entry(guest: Guest, snap: Snapshot) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": snap.name,
        "description": snap.description,
        "snaptime": snap.snaptime,
    }
    if guest.type == "qemu":
        entry["vmstate"] = 1 if snap.vmstate else 0
    if snap.parent:
        entry["parent"] = snap.parent
    return entry


@routes.get(f"{QEMU}/snapshot", GUEST, check=VM_AUDIT, proxy=True)
@routes.get(f"{LXC}/snapshot", GUEST, check=VM_AUDIT, proxy=True)
def snapshot_list(req: Request) -> Result:
    """The snapshots, then `current`, the running state that descends from `Guest.parent`."""
    guest = find_guest(req)
    out = [snapshot_entry(guest, snap) for snap in guest.snapshots]
    current: dict[str, Any] = {"name": "current", "description": "You are here!", "running": 0}
    if guest.parent:
        current["parent"] = guest.parent
    if guest.running:
        current["running"] = 1
    out.append(current)
    return Result(out)
