"""Guests: the node guest lists, `status/current`, `config`, and the guest entry of lists.

qemu and lxc share handlers; the guest type comes from the path the route serves.
"""

from __future__ import annotations

import hashlib
from typing import Any

from argus_tui.sim.agent import guest_mac
from argus_tui.sim.api.router import NODE, VMID, Request, Result, RouteTable, perm
from argus_tui.sim.metrics import unit
from argus_tui.sim.model import Guest, Snapshot
from argus_tui.sim.state import ClusterState, SimError

routes = RouteTable()
QEMU = "/nodes/{node}/qemu/{vmid}"
LXC = "/nodes/{node}/lxc/{vmid}"
GUEST = f"{NODE} {VMID}"
VM_AUDIT = perm("/vms/{vmid}", "VM.Audit")
CONFIG = f"{GUEST} current:bool?=0 snapshot:str?<=40@pve-configid"


def guest_type(req: Request) -> str:
    """qemu or lxc: the third segment of every guest path (/nodes/N/TYPE/...)."""
    return req.path.split("/")[3]


def missing_config(gtype: str, node: str, vmid: object) -> SimError:
    folder = "qemu-server" if gtype == "qemu" else "lxc"
    return SimError(500, f"Configuration file 'nodes/{node}/{folder}/{vmid}.conf' does not exist")


def find_guest(req: Request) -> Guest:
    """The guest the path names; PVE reads its config file from that node's folder."""
    gtype = guest_type(req)
    node = req.params["node"]
    vmid = req.params["vmid"]
    guest = req.state.guests.get(vmid)
    if guest is None or guest.type != gtype or guest.node != node:
        raise missing_config(gtype, node, vmid)
    return guest


def guest_stats(state: ClusterState, guest: Guest, now: float) -> dict[str, Any]:
    running = guest.running
    out: dict[str, Any] = {
        "maxcpu": guest.cores,
        "maxmem": guest.memory,
        "maxdisk": guest.disk,
        # `or 0`: an idle guest shows 0 as PVE's JSON does, not 0.0
        "cpu": (round(state.usage.guest_cpu(guest, now), 6) or 0) if running else 0,
        "mem": state.usage.guest_mem(guest, now) if running else 0,
        "disk": state.usage.guest_disk(guest, now),
        "uptime": state.usage.uptime(guest, now),
    }
    out.update(state.usage.guest_counters(guest, now))
    return out


def resource_entry(req: Request, guest: Guest, now: float) -> dict[str, Any]:
    """A guest as `/cluster/resources` and pool member lists show it (extract_vm_stats)."""
    state = req.state
    node = state.nodes[guest.node]
    entry: dict[str, Any] = {
        "id": guest.key,
        "type": guest.type,
        "vmid": guest.vmid,
        "node": guest.node,
        "template": 1 if guest.template else 0,
    }
    if state.node_stale(node, now):
        entry["status"] = "unknown"
    else:
        entry["name"] = guest.name
        entry["status"] = guest.status
        if not node.online:
            entry["status"] = "stopped" if not guest.running else guest.status
        entry.update(guest_stats(state, guest, now))
        if guest.type == "qemu":
            entry["memhost"] = entry["mem"]
    if guest.lock:
        entry["lock"] = guest.lock
    if guest.tags:
        entry["tags"] = ";".join(guest.tags)
    if guest.pool and req.can(f"/pool/{guest.pool}", "Pool.Audit"):
        entry["pool"] = guest.pool
    if guest.hastate:
        entry["hastate"] = guest.hastate
    return entry


@routes.get("/nodes/{node}/qemu", f"{NODE} full:bool?", proxy=True)
@routes.get("/nodes/{node}/lxc", NODE, proxy=True)
def guest_list(req: Request) -> Result:
    gtype = guest_type(req)
    now = req.state.now()
    out = []
    for guest in req.state.guests.values():
        if guest.type != gtype or guest.node != req.params["node"]:
            continue
        if not req.can(f"/vms/{guest.vmid}", "VM.Audit"):
            continue
        out.append(_current(req.state, guest, now, listing=True))
    return Result(out)


@routes.get(f"{QEMU}/status/current", GUEST, check=VM_AUDIT, proxy=True)
@routes.get(f"{LXC}/status/current", GUEST, check=VM_AUDIT, proxy=True)
def guest_current(req: Request) -> Result:
    return Result(_current(req.state, find_guest(req), req.state.now()))


def _current(
    state: ClusterState, guest: Guest, now: float, *, listing: bool = False
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "vmid": guest.vmid,
        "name": guest.name,
        "status": "running" if guest.running else "stopped",
        "cpus": guest.cores,
        **guest_stats(state, guest, now),
    }
    entry["maxcpu"] = guest.cores
    if guest.template:
        entry["template"] = 1
    if guest.tags:
        entry["tags"] = ";".join(guest.tags)
    if guest.lock:
        entry["lock"] = guest.lock
    if guest.type == "qemu":
        entry["qmpstatus"] = guest.status if guest.running else "stopped"
        entry["memhost"] = entry["mem"]
        if guest.running:
            entry["pid"] = 1000 + guest.vmid % 90000
            entry["running-machine"] = "pc-i440fx-9.2+pve1"
            entry["running-qemu"] = "9.2.0"
    else:
        entry["type"] = "lxc"
        entry["maxswap"] = 512 * 1024**2
        entry["swap"] = 0
        if guest.running:
            entry["pid"] = 1000 + guest.vmid % 90000
    if not listing:
        if guest.ha:
            entry["ha"] = {"managed": 1, "state": guest.hastate or "stopped"}
        else:
            entry["ha"] = {"managed": 0}
        if guest.type == "qemu" and guest.agent:
            entry["agent"] = 1
        if guest.type == "qemu" and guest.running:
            entry.update(_qmp_details(guest.vmid, entry, int(now)))
    return entry


def _qmp_details(vmid: int, entry: dict[str, Any], now: int) -> dict[str, Any]:
    """What qemu-server's full vmstatus adds for a running VM from QMP and /proc."""
    rd, wr = entry["diskread"], entry["diskwrite"]
    block = {"rd_bytes": rd, "wr_bytes": wr, "rd_operations": rd // 65536}
    block.update(wr_operations=wr // 65536, flush_operations=wr // 1048576, timed_stats=[])
    free = entry["maxmem"] - entry["mem"]
    balloon = {"actual": entry["maxmem"], "max_mem": entry["maxmem"], "free_mem": free}
    balloon.update(total_mem=entry["maxmem"] * 24 // 25, last_update=now, mem_swapped_in=0)
    balloon.update(mem_swapped_out=0, major_page_faults=vmid * 7, minor_page_faults=vmid * 3001)
    return {
        "blockstat": {"scsi0": block},
        "nics": {f"tap{vmid}i0": {"netin": entry["netin"], "netout": entry["netout"]}},
        "proxmox-support": {
            "backup-max-workers": True,
            "pbs-dirty-bitmap": True,
            "pbs-dirty-bitmap-migration": True,
            "pbs-dirty-bitmap-savevm": True,
            "pbs-library-version": "1.5.2 (UNKNOWN)",
            "pbs-masterkey": True,
            "query-bitmap-info": True,
        },
        "balloon": entry["maxmem"],
        "ballooninfo": balloon,
        "freemem": free,
    }


def config_digest(state: ClusterState, guest: Guest) -> str:
    """The SHA-1 of the guest's config file: it changes whenever the file is written."""
    text = f"{state.seed}/{guest.key}/{guest.config_gen}"
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


# What a VM's config says for each kind of device that ties it to its node.
_LOCAL_DEVICES = {
    "usb": "host=0529:0001",  # a licence dongle
    "hostpci": "0000:41:00.0,pcie=1",
    "serial": "/dev/ttyS0",
    "parallel": "/dev/parport0",
    "virtiofs": "shared-data",
    "ivshmem": "size=32",
}


def config_of(state: ClusterState, guest: Guest) -> dict[str, Any]:
    """The guest's current config as qemu-server / pve-container write it (no digest)."""
    seed = state.seed
    mac = guest_mac(seed, guest.vmid)
    cfg: dict[str, Any] = {"cores": guest.cores}
    mem_mb = guest.memory // 1024**2
    disk_gb = max(1, guest.disk // 1024**3)
    storage = state.storages[guest.disk_storage]
    volid, _ = storage.disk_volume(guest.vmid, guest.type, guest.template)
    if guest.type == "qemu":
        cfg.update(
            name=guest.name,
            memory=str(mem_mb),
            sockets=1,
            cpu="x86-64-v2-AES",  # what the GUI wizard writes (PVE 8/9)
            numa=0,
            ostype="l26",
            scsihw="virtio-scsi-single",
            scsi0=f"{volid},iothread=1,size={disk_gb}G",
            net0=f"virtio={mac},bridge=vmbr0,firewall=1",
            boot="order=scsi0;net0",
            smbios1=f"uuid={_uuid(seed, guest.key)}",
            vmgenid=_uuid(seed, guest.key + "gen"),
            meta="creation-qemu=9.2.0,ctime=1735000000",
        )
        if guest.agent:
            cfg["agent"] = "1"
        for device in guest.local_resources:
            cfg[device] = _LOCAL_DEVICES[device.rstrip("0123456789")]
        if guest.serial:
            cfg[guest.serial] = "socket"
        if guest.vmstate:
            cfg.update(
                vmstate=guest.vmstate,
                runningmachine="pc-i440fx-9.2+pve1",
                runningcpu="x86-64-v2-AES,+kvm_pv_eoi,+kvm_pv_unhalt",
            )
    else:
        ipv4 = next((ip for ip in guest.ips if ":" not in ip), "dhcp")
        cfg.update(
            hostname=guest.name,
            memory=mem_mb,
            swap=512,
            ostype="debian",
            arch="amd64",
            rootfs=f"{volid},size={disk_gb}G",
            net0=f"name=eth0,bridge=vmbr0,hwaddr={mac},ip={ipv4},type=veth",
            unprivileged=1,
            features="nesting=1",
        )
    if guest.onboot:
        cfg["onboot"] = 1
    if guest.tags:
        cfg["tags"] = ";".join(guest.tags)
    if guest.template:
        cfg["template"] = 1
    if guest.parent:
        cfg["parent"] = guest.parent
    return cfg


def snapshot_config_of(state: ClusterState, guest: Guest, snap: Snapshot) -> dict[str, Any]:
    """A snapshot's section of the config: the guest's settings plus the snapshot's keys."""
    cfg = config_of(state, guest)
    cfg.pop("parent", None)
    cfg["snaptime"] = snap.snaptime
    if snap.description:
        cfg["description"] = snap.description
    if snap.parent:
        cfg["parent"] = snap.parent
    if snap.snapstate:
        cfg["snapstate"] = snap.snapstate
    if snap.vmstate:
        cfg["vmstate"] = f"{guest.disk_storage}:vm-{guest.vmid}-state-{snap.name}"
        cfg["runningmachine"] = "pc-i440fx-9.2+pve1"
        cfg["runningcpu"] = "x86-64-v2-AES,+kvm_pv_eoi,+kvm_pv_unhalt"
    return cfg


def find_snapshot(guest: Guest, name: str) -> Snapshot:
    snap = guest.snapshots.get(name)
    if snap is None:
        raise SimError(500, f"snapshot '{name}' does not exist")
    return snap


@routes.get(f"{QEMU}/config", CONFIG, check=VM_AUDIT, proxy=True)
@routes.get(f"{LXC}/config", CONFIG, check=VM_AUDIT, proxy=True)
def guest_config(req: Request) -> Result:
    """The config file, or with `snapshot` that snapshot's section of it."""
    guest = find_guest(req)
    if "snapshot" in req.params:
        snap = find_snapshot(guest, req.params["snapshot"])
        return Result(snapshot_config_of(req.state, guest, snap))
    cfg = {"digest": config_digest(req.state, guest), **config_of(req.state, guest)}
    if guest.lock:
        cfg["lock"] = guest.lock
    return Result(cfg)


def _uuid(seed: int, key: str) -> str:
    h = "".join(f"{int(unit(seed, key, str(i)) * 0xFFFFFFFF):08x}" for i in range(4))
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"
