"""Snapshots: `/nodes/{node}/{qemu,lxc}/{vmid}/snapshot` and one snapshot's routes.

The list comes from `Guest.snapshots` in PVE's unordered shape with `current` last; the
tasks that change snapshots are in `sim/snapshots.py`.
"""

from __future__ import annotations

from typing import Any

from argus_tui.sim import snapshots
from argus_tui.sim.api.guests import (
    GUEST,
    LXC,
    QEMU,
    VM_AUDIT,
    config_digest,
    find_guest,
    find_snapshot,
    snapshot_config_of,
)
from argus_tui.sim.api.router import Request, Result, RouteTable, perm
from argus_tui.sim.model import Guest, Snapshot

routes = RouteTable()
NAME = "snapname:str<=40@pve-configid"
ONE = f"{GUEST} {NAME}"
VM_SNAPSHOT = perm("/vms/{vmid}", "VM.Snapshot")
ROLLBACK = perm("/vms/{vmid}", "VM.Snapshot", "VM.Snapshot.Rollback", any_of=True)
READ_CONFIG = perm("/vms/{vmid}", "VM.Snapshot", "VM.Snapshot.Rollback", "VM.Audit", any_of=True)


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
    if snap.snapstate:
        entry["snapstate"] = snap.snapstate
    return entry


@routes.get(f"{QEMU}/snapshot", GUEST, check=VM_AUDIT, proxy=True)
@routes.get(f"{LXC}/snapshot", GUEST, check=VM_AUDIT, proxy=True)
def snapshot_list(req: Request) -> Result:
    """The snapshots, then `current`: the running state that descends from `Guest.parent`."""
    guest = find_guest(req)
    out = [snapshot_entry(guest, snap) for snap in snapshots.list_order(req.state, guest)]
    current: dict[str, Any] = {
        "name": "current",
        "description": "You are here!",
        "digest": config_digest(req.state, guest),
        "running": 1 if guest.running else 0,
    }
    if guest.parent:
        current["parent"] = guest.parent
    out.append(current)
    return Result(out)


@routes.post(
    f"{QEMU}/snapshot",
    f"{GUEST} description:str? {NAME} vmstate:bool?",
    check=VM_SNAPSHOT,
    proxy=True,
)
@routes.post(f"{LXC}/snapshot", f"{GUEST} description:str? {NAME}", check=VM_SNAPSHOT, proxy=True)
def snapshot_create(req: Request) -> Result:
    p = req.params
    guest = find_guest(req)
    upid = snapshots.create(
        req.state,
        guest,
        p["snapname"],
        str(p.get("description", "")),
        bool(p.get("vmstate")),
        req.authid,
    )
    return Result(upid)


@routes.get(f"{QEMU}/snapshot/{{snapname}}", ONE)
@routes.get(f"{LXC}/snapshot/{{snapname}}", ONE)
def snapshot_index(req: Request) -> Result:
    """The directory index: PVE answers it without looking at the guest or snapshot."""
    return Result([{"cmd": "rollback"}, {"cmd": "config"}])


@routes.delete(f"{QEMU}/snapshot/{{snapname}}", f"{ONE} force:bool?", check=VM_SNAPSHOT, proxy=True)
@routes.delete(f"{LXC}/snapshot/{{snapname}}", f"{ONE} force:bool?", check=VM_SNAPSHOT, proxy=True)
def snapshot_delete(req: Request) -> Result:
    guest = find_guest(req)
    return Result(snapshots.delete(req.state, guest, req.params["snapname"], req.authid))


@routes.post(
    f"{QEMU}/snapshot/{{snapname}}/rollback", f"{ONE} start:bool?=0", check=ROLLBACK, proxy=True
)
@routes.post(
    f"{LXC}/snapshot/{{snapname}}/rollback", f"{ONE} start:bool?=0", check=ROLLBACK, proxy=True
)
def snapshot_rollback(req: Request) -> Result:
    guest = find_guest(req)
    start = bool(req.params.get("start"))
    return Result(snapshots.rollback(req.state, guest, req.params["snapname"], start, req.authid))


def _existing(req: Request) -> tuple[Guest, Snapshot]:
    guest = find_guest(req)
    return guest, find_snapshot(guest, req.params["snapname"])


@routes.get(f"{QEMU}/snapshot/{{snapname}}/config", ONE, check=READ_CONFIG, proxy=True)
@routes.get(f"{LXC}/snapshot/{{snapname}}/config", ONE, check=READ_CONFIG, proxy=True)
def snapshot_config(req: Request) -> Result:
    guest, snap = _existing(req)
    return Result(snapshot_config_of(req.state, guest, snap))


@routes.put(
    f"{QEMU}/snapshot/{{snapname}}/config", f"{ONE} description:str?", check=VM_SNAPSHOT, proxy=True
)
@routes.put(
    f"{LXC}/snapshot/{{snapname}}/config", f"{ONE} description:str?", check=VM_SNAPSHOT, proxy=True
)
def snapshot_update(req: Request) -> Result:
    """Only the description can change; without one PVE changes nothing."""
    guest, snap = _existing(req)
    if "description" in req.params:
        req.state.update_snapshot(
            guest, snap.name, snapstate=snap.snapstate, description=str(req.params["description"])
        )
    return Result(None)
