"""What a migration needs to know about a guest: its local disks and devices, its targets.

The answers of `GET .../migrate` (qemu-server's migrate_vm_precondition, pve-container's
PVE 9 one) and the checks the migration task makes (QemuMigrate scan_local_volumes,
LXC::Migrate phase1) read the same facts, so both live here: which volumes are on a
storage that is not shared, which nodes have those storages, which devices tie a VM to
its node, and which local volumes cannot move (snapshots outside ZFS and qcow2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from argus_tui.sim.model import Guest
from argus_tui.sim.state import ClusterState, SimError


@dataclass(slots=True)
class LocalVolume:
    """One volume of the guest on a local storage, as foreach_volid describes it."""

    volid: str
    storage: str
    size: int
    drivename: str | None  # scsi0 / rootfs; None for saved RAM
    vmstate: bool = False
    snapshots: list[str] = field(default_factory=list)  # snapshots that reference it

    @property
    def ref(self) -> str:
        """Why the migration carries it: attached to the config, or only for a snapshot."""
        return "attached" if self.drivename else "snapshot"


def check_quorum(state: ClusterState) -> None:
    """pmxcfs refuses writes without quorum; migrations check it first."""
    if not state.scenario.cluster_name:
        return
    online = sum(1 for n in state.nodes.values() if n.online)
    if online * 2 <= len(state.nodes):
        raise SimError(500, "cluster not ready - no quorum?")


def check_target(state: ClusterState, source: str, target: str) -> None:
    """The API's first checks of a target node: not the local one, a cluster member."""
    if target == source:
        raise SimError(
            400, "Parameter verification failed.", errors={"target": "target is local node."}
        )
    check_quorum(state)
    if target not in state.nodes:
        raise SimError(500, f"no such cluster node '{target}'")


def local_volumes(state: ClusterState, guest: Guest) -> list[LocalVolume]:
    """The guest's volumes on storages that are not shared, sorted by volid."""
    storage = state.storages[guest.disk_storage]
    if storage.shared:
        return []
    volid, _ = storage.disk_volume(guest.vmid, guest.type, guest.template)
    drive = "scsi0" if guest.type == "qemu" else "rootfs"
    snaps = sorted(guest.snapshots)
    out = [LocalVolume(volid, storage.id, guest.disk, drive, snapshots=snaps)]
    for snap in guest.snapshots.values():
        if snap.vmstate:
            state_volid = f"{storage.id}:vm-{guest.vmid}-state-{snap.name}"
            out.append(LocalVolume(state_volid, storage.id, 0, None, True, [snap.name]))
    if guest.vmstate:
        out.append(LocalVolume(guest.vmstate, storage.id, 0, None, True))
    return sorted(out, key=lambda v: v.volid)


def volume_problem(state: ClusterState, guest: Guest, volume: LocalVolume, running: bool) -> str:
    """Why the task cannot move this local volume ("" when it can).

    Local snapshots move only on ZFS (and, for VMs, qcow2 files); a running VM cannot
    copy a disk that has snapshots at all.
    """
    if volume.vmstate or not volume.snapshots:
        return ""
    storage = state.storages[volume.storage]
    qcow2 = volume.volid.endswith(".qcow2")
    if guest.type == "qemu" and running:
        return "online storage migration not possible if non-replicated snapshot exists"
    if storage.type == "zfspool" or (guest.type == "qemu" and qcow2):
        return ""
    return "non-migratable snapshot exists"


def unavailable_storages(state: ClusterState, guest: Guest, node: str) -> list[str]:
    """The guest's local storages that `node` does not have (storage.cfg `nodes`)."""
    names = {v.storage for v in local_volumes(state, guest)}
    return sorted(sid for sid in names if not state.storages[sid].available_on(node))


def qemu_precondition(state: ClusterState, guest: Guest) -> dict[str, Any]:
    """`GET /nodes/N/qemu/ID/migrate`, as qemu-server answers it.

    Every other node is a key of `not_allowed_nodes`, with an empty object when it is
    allowed (PVE 9 fills both lists for a running VM too; PVE 8 only for a stopped one).
    Nodes are not checked for being online.
    """
    running = guest.running
    res: dict[str, Any] = {"running": 1 if running else 0}
    if state.scenario.pve_major >= 9 or not running:
        allowed, checked = [], {}
        for node in state.nodes:
            if node == guest.node:
                continue
            missing = unavailable_storages(state, guest, node)
            checked[node] = {"unavailable_storages": missing} if missing else {}
            if not missing:
                allowed.append(node)
        res["allowed_nodes"] = allowed
        res["not_allowed_nodes"] = checked
    res["local_disks"] = [_disk_item(v) for v in local_volumes(state, guest)]
    res["local_resources"] = list(guest.local_resources)
    res["mapped-resources"] = []
    res["mapped-resource-info"] = {}
    if state.scenario.pve_major >= 9:
        res["has-dbus-vmstate"] = 1 if running else 0
        if guest.ha:
            res["dependent-ha-resources"] = []
    return res


def lxc_precondition(state: ClusterState, guest: Guest) -> dict[str, Any]:
    """`GET /nodes/N/lxc/ID/migrate` (PVE 9): dashed keys, nothing about disks."""
    res: dict[str, Any] = {
        "running": 1 if guest.running else 0,
        "allowed-nodes": [n for n in state.nodes if n != guest.node],
        "not-allowed-nodes": {},
    }
    if guest.ha:
        res["dependent-ha-resources"] = []
    return res


def _disk_item(volume: LocalVolume) -> dict[str, Any]:
    item: dict[str, Any] = {
        "volid": volume.volid,
        "cdrom": 0,
        "is_cloudinit": 0,
        "replicate": 1,
        "shared": 0,
        "is_unused": 0,
        "is_attached": 1 if volume.drivename else 0,
        "is_vmstate": 1 if volume.vmstate else 0,
        "is_tpmstate": 0,
    }
    if volume.drivename:
        item["size"] = volume.size
        item["drivename"] = volume.drivename
    if volume.snapshots:
        item["referenced_in_snapshot"] = {name: 1 for name in volume.snapshots}
    return item
