"""A small cluster for the snapshot, backup and storage tests (CLI, TUI, end to end).

Two nodes; storages of every kind that matters (a local dir per node, local-lvm that can
snapshot, a shared NFS for backups, a second backup storage, a shared NFS for raw disks that
cannot snapshot); guests with snapshot trees and a week of backups; and one token per ACL
case. Secrets are `<user>-secret`.
"""

from __future__ import annotations

from typing import Any

DAY = 86400

#: token id -> what it may do (the docstring of each case in `ACLS`).
TOKENS = {
    "root": "root@pam!argus",
    "operator": "ops@pve!tui",  # ArgusOperator on / : everything
    "auditor": "aud@pve!tui",  # PVEAuditor on / : sees all, may do nothing
    "limited": "lim@pve!tui",  # snapshots of 101 only; backups (not of 101) to backup-nfs
    "nobackup": "nob@pve!tui",  # VM.Backup on /vms but no storage to write to
}

OPERATOR_PRIVS = [
    "VM.Audit",
    "VM.PowerMgmt",
    "VM.Snapshot",
    "VM.Snapshot.Rollback",
    "VM.Backup",
    "VM.Config.Disk",
    "Sys.Audit",
    "Datastore.Audit",
    "Datastore.AllocateSpace",
]


def secret_of(token_id: str) -> str:
    return "root-secret" if token_id == TOKENS["root"] else token_id.split("@")[0] + "-secret"


def ops_scenario() -> dict[str, Any]:
    nodes = [
        {"name": "pve-a", "cpus": 16, "memory": "64G", "disk": "500G", "ip": "10.0.0.11"},
        {"name": "pve-b", "cpus": 16, "memory": "64G", "disk": "500G", "ip": "10.0.0.12"},
    ]
    storages = [
        {"id": "local", "type": "dir", "content": ["iso", "vztmpl", "backup"], "size": "100G"},
        {"id": "local-lvm", "type": "lvmthin", "content": ["images", "rootdir"], "size": "400G"},
        {
            "id": "backup-nfs",
            "type": "nfs",
            "content": ["backup", "iso"],
            "shared": True,
            "size": "2T",
            "used": "600G",
        },
        {
            "id": "archive-nfs",
            "type": "nfs",
            "content": ["backup"],
            "shared": True,
            "size": "4T",
        },
        {
            "id": "nfs-raw",
            "type": "nfs",
            "content": ["images"],
            "shared": True,
            "size": "1T",
            "snapshots": False,
        },
    ]
    nightly = [
        {"storage": "backup-nfs", "ago": DAY * d + 3600, "notes": f"nightly {d}"} for d in range(7)
    ]
    guests = [
        {
            "vmid": 101,
            "type": "qemu",
            "name": "web01",
            "node": "pve-a",
            "status": "running",
            "cores": 2,
            "memory": "4G",
            "disk": "16G",
            "disk_storage": "local-lvm",
            "snapshots": [
                {"name": "base", "description": "fresh install", "ago": 30 * DAY},
                {"name": "pre-upgrade", "description": "before 9.1", "ago": DAY, "vmstate": True},
            ],
            "backups": [
                *nightly,
                {"storage": "backup-nfs", "ago": 20 * DAY, "protected": True, "notes": "golden"},
            ],
        },
        {
            "vmid": 102,
            "type": "qemu",
            "name": "db01",
            "node": "pve-a",
            "status": "running",
            "cores": 4,
            "memory": "8G",
            "disk": "32G",
            "disk_storage": "nfs-raw",
            "backups": nightly[:3],
        },
        {
            "vmid": 103,
            "type": "lxc",
            "name": "cache01",
            "node": "pve-b",
            "status": "running",
            "memory": "1G",
            "disk": "8G",
            "disk_storage": "local-lvm",
            "snapshots": [{"name": "clean"}],
            "backups": nightly[:2],
        },
        {
            "vmid": 104,
            "type": "qemu",
            "name": "batch01",
            "node": "pve-b",
            "status": "stopped",
            "disk": "8G",
            "disk_storage": "local-lvm",
        },
        {
            "vmid": 105,
            "type": "qemu",
            "name": "locked01",
            "node": "pve-b",
            "status": "running",
            "disk_storage": "local-lvm",
            "lock": "backup",
        },
        {
            "vmid": 9000,
            "type": "qemu",
            "name": "tmpl-debian",
            "node": "pve-a",
            "status": "stopped",
            "template": True,
            "disk_storage": "local-lvm",
        },
    ]
    users = ["ops", "aud", "lim", "nob"]
    return {
        "cluster": {"name": "ops-lab", "version": "9.1.2", "seed": 3},
        "node": nodes,
        "storage": storages,
        "guest": guests,
        "user": [{"id": f"{u}@pve"} for u in users],
        "token": [
            {"id": TOKENS["root"], "secret": "root-secret", "privsep": False},
            *({"id": f"{u}@pve!tui", "secret": f"{u}-secret"} for u in users),
        ],
        "role": [
            {"id": "ArgusOperator", "privs": OPERATOR_PRIVS},
            {"id": "SnapshotOnly", "privs": ["VM.Audit", "VM.Snapshot", "VM.Snapshot.Rollback"]},
            {"id": "BackupOnly", "privs": ["VM.Audit", "VM.Backup"]},
        ],
        "acl": [
            {"path": "/", "subject": "ops@pve", "role": "ArgusOperator"},
            {"path": "/", "subject": "ops@pve!tui", "role": "ArgusOperator"},
            {"path": "/", "subject": "aud@pve", "role": "PVEAuditor"},
            {"path": "/", "subject": "aud@pve!tui", "role": "PVEAuditor"},
            # limited: sees everything, snapshots 101, backs up to backup-nfs only. Its ACL
            # on /vms/101 replaces what /vms grants there (PVE's rule for one subject), so
            # it may back up every guest but 101.
            {"path": "/", "subject": "lim@pve", "role": "PVEAuditor"},
            {"path": "/", "subject": "lim@pve!tui", "role": "PVEAuditor"},
            {"path": "/vms/101", "subject": "lim@pve!tui", "role": "SnapshotOnly"},
            {"path": "/vms/101", "subject": "lim@pve", "role": "SnapshotOnly"},
            {"path": "/vms", "subject": "lim@pve!tui", "role": "BackupOnly"},
            {"path": "/vms", "subject": "lim@pve", "role": "BackupOnly"},
            {"path": "/storage/backup-nfs", "subject": "lim@pve", "role": "PVEDatastoreUser"},
            {"path": "/storage/backup-nfs", "subject": "lim@pve!tui", "role": "PVEDatastoreUser"},
            # nobackup: VM.Backup everywhere, no storage
            {"path": "/", "subject": "nob@pve", "role": "PVEAuditor"},
            {"path": "/", "subject": "nob@pve!tui", "role": "PVEAuditor"},
            {"path": "/vms", "subject": "nob@pve", "role": "BackupOnly"},
            {"path": "/vms", "subject": "nob@pve!tui", "role": "BackupOnly"},
        ],
    }
