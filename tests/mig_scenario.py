"""A small cluster for the migration, node maintenance, hibernate, task-stop and guest
address tests (CLI, TUI, end to end).

Three nodes: pve-a (64G, the one to evacuate), pve-b (32G) and pve-c (16G, nearly full: one
12G VM runs there). Storages: local-lvm on every node and a shared NFS for disks, so a
guest's disks are shared unless `local_disks = true`. Guests on pve-a cover every case of a
move: a plain running VM, an HA-managed VM with the guest agent, a running container with
addresses, a VM with a USB device (cannot move), a stopped VM with local disks, a VM too
large for any other node, and a template. One token per ACL case; secrets are
`<user>-secret` (`secret_of`).
"""

from __future__ import annotations

from typing import Any

#: token id -> what it may do (the docstring of each case in the ACL list).
TOKENS = {
    "root": "root@pam!argus",
    "operator": "ops@pve!tui",  # migrate, node power, agent; no Sys.Modify
    "other": "ops@pve!other",  # another token of the same user, same rights
    "admin": "adm@pve!tui",  # the operator's rights and Sys.Modify (stops anyone's task)
    "auditor": "aud@pve!tui",  # PVEAuditor on / : sees all, may do nothing
    "nomig": "nom@pve!tui",  # power actions only: no VM.Migrate, no Sys.PowerMgmt
}

GIB = 1024**3

OPERATOR_PRIVS = [
    "VM.Audit",
    "VM.PowerMgmt",
    "VM.Migrate",
    "VM.Config.Disk",
    "VM.GuestAgent.Audit",
    "Sys.Audit",
    "Sys.PowerMgmt",
    "Datastore.Audit",
    "Datastore.AllocateSpace",
]


def secret_of(token_id: str) -> str:
    return "root-secret" if token_id == TOKENS["root"] else token_id.split("@")[0] + "-secret"


def mig_scenario() -> dict[str, Any]:
    nodes = [
        {"name": "pve-a", "cpus": 32, "memory": "64G", "disk": "500G", "ip": "10.0.0.11"},
        {"name": "pve-b", "cpus": 16, "memory": "32G", "disk": "500G", "ip": "10.0.0.12"},
        {"name": "pve-c", "cpus": 8, "memory": "16G", "disk": "500G", "ip": "10.0.0.13"},
    ]
    storages = [
        {"id": "local", "type": "dir", "content": ["iso", "vztmpl", "backup"], "size": "100G"},
        {"id": "local-lvm", "type": "lvmthin", "content": ["images", "rootdir"], "size": "400G"},
        {
            "id": "shared-nfs",
            "type": "nfs",
            "content": ["images", "rootdir", "backup"],
            "shared": True,
            "size": "2T",
        },
    ]
    guests = [
        {
            "vmid": 201,
            "type": "qemu",
            "name": "web01",
            "node": "pve-a",
            "status": "running",
            "cores": 2,
            "memory": "4G",
            "disk": "16G",
            "local_disks": False,
            "onboot": True,
        },
        {
            "vmid": 202,
            "type": "qemu",
            "name": "db01",
            "node": "pve-a",
            "status": "running",
            "cores": 4,
            "memory": "8G",
            "disk": "32G",
            "local_disks": False,
            "ha": True,
            "agent": True,
            "ips": ["10.0.0.21/24"],
        },
        {
            "vmid": 203,
            "type": "lxc",
            "name": "ct01",
            "node": "pve-a",
            "status": "running",
            "memory": "1G",
            "disk": "8G",
            "local_disks": False,
            "ips": ["10.0.0.31/24"],
            "onboot": True,
        },
        {
            "vmid": 204,
            "type": "qemu",
            "name": "usb01",
            "node": "pve-a",
            "status": "running",
            "memory": "2G",
            "disk": "8G",
            "local_disks": False,
            "local_resources": ["usb0"],
        },
        {
            "vmid": 205,
            "type": "qemu",
            "name": "local01",
            "node": "pve-a",
            "status": "stopped",
            "memory": "2G",
            "disk": "8G",
            "local_disks": True,
        },
        {
            "vmid": 206,
            "type": "qemu",
            "name": "huge01",
            "node": "pve-a",
            "status": "running",
            "cores": 8,
            "memory": "40G",
            "disk": "64G",
            "local_disks": False,
        },
        {
            "vmid": 207,
            "type": "qemu",
            "name": "agentless01",
            "node": "pve-a",
            "status": "running",
            "memory": "1G",
            "disk": "8G",
            "local_disks": False,
        },
        {
            "vmid": 208,
            "type": "qemu",
            "name": "big01",
            "node": "pve-c",
            "status": "running",
            "cores": 4,
            "memory": "12G",
            "disk": "32G",
            "local_disks": False,
        },
        {
            "vmid": 209,
            "type": "lxc",
            "name": "ct02",
            "node": "pve-b",
            "status": "stopped",
            "memory": "512M",
            "disk": "4G",
            "local_disks": False,
        },
        {
            "vmid": 9001,
            "type": "qemu",
            "name": "tmpl-debian",
            "node": "pve-a",
            "status": "stopped",
            "template": True,
            "local_disks": False,
        },
    ]
    users = ["ops", "adm", "aud", "nom"]
    tokens = [{"id": TOKENS["root"], "secret": "root-secret", "privsep": False}]
    tokens += [{"id": f"{u}@pve!tui", "secret": f"{u}-secret"} for u in users]
    tokens.append({"id": TOKENS["other"], "secret": "ops-secret"})
    acl: list[dict[str, str]] = []
    for subject, role in (
        ("ops@pve", "ArgusMigrate"),
        ("ops@pve!tui", "ArgusMigrate"),
        ("ops@pve!other", "ArgusMigrate"),
        ("adm@pve", "ArgusAdmin"),
        ("adm@pve!tui", "ArgusAdmin"),
        ("aud@pve", "PVEAuditor"),
        ("aud@pve!tui", "PVEAuditor"),
        ("nom@pve", "PowerOnly"),
        ("nom@pve!tui", "PowerOnly"),
    ):
        acl.append({"path": "/", "subject": subject, "role": role})
    return {
        "cluster": {"name": "mig-lab", "version": "9.1.2", "seed": 5},
        "node": nodes,
        "storage": storages,
        "guest": guests,
        "user": [{"id": f"{u}@pve"} for u in users],
        "token": tokens,
        "role": [
            {"id": "ArgusMigrate", "privs": OPERATOR_PRIVS},
            {"id": "ArgusAdmin", "privs": [*OPERATOR_PRIVS, "Sys.Modify"]},
            {"id": "PowerOnly", "privs": ["VM.Audit", "VM.PowerMgmt", "Sys.Audit"]},
        ],
        "acl": acl,
    }
