"""Built-in Proxmox VE roles, as `create_roles()` in pve-access-control defines them.

The table is PVE 9's; PVE 8's is derived from it (`_as_pve8`), and the simulator picks
the one matching the scenario's major version.
"""

from __future__ import annotations

_PVE9: dict[str, tuple[str, ...]] = {
    "Administrator": (
        "Datastore.Allocate",
        "Datastore.AllocateSpace",
        "Datastore.AllocateTemplate",
        "Datastore.Audit",
        "Group.Allocate",
        "Mapping.Audit",
        "Mapping.Modify",
        "Mapping.Use",
        "Permissions.Modify",
        "Pool.Allocate",
        "Pool.Audit",
        "Realm.Allocate",
        "Realm.AllocateUser",
        "SDN.Allocate",
        "SDN.Audit",
        "SDN.Use",
        "Sys.AccessNetwork",
        "Sys.Audit",
        "Sys.Console",
        "Sys.Incoming",
        "Sys.Modify",
        "Sys.PowerMgmt",
        "Sys.Syslog",
        "User.Modify",
        "VM.Allocate",
        "VM.Audit",
        "VM.Backup",
        "VM.Clone",
        "VM.Config.CDROM",
        "VM.Config.CPU",
        "VM.Config.Cloudinit",
        "VM.Config.Disk",
        "VM.Config.HWType",
        "VM.Config.Memory",
        "VM.Config.Network",
        "VM.Config.Options",
        "VM.Console",
        "VM.GuestAgent.Audit",
        "VM.GuestAgent.FileRead",
        "VM.GuestAgent.FileSystemMgmt",
        "VM.GuestAgent.FileWrite",
        "VM.GuestAgent.Unrestricted",
        "VM.Migrate",
        "VM.PowerMgmt",
        "VM.Replicate",
        "VM.Snapshot",
        "VM.Snapshot.Rollback",
    ),
    "NoAccess": (),
    "PVEAdmin": (
        "Datastore.Allocate",
        "Datastore.AllocateSpace",
        "Datastore.AllocateTemplate",
        "Datastore.Audit",
        "Group.Allocate",
        "Mapping.Audit",
        "Mapping.Use",
        "Pool.Allocate",
        "Pool.Audit",
        "Realm.AllocateUser",
        "SDN.Allocate",
        "SDN.Audit",
        "SDN.Use",
        "Sys.Audit",
        "Sys.Console",
        "Sys.Syslog",
        "User.Modify",
        "VM.Allocate",
        "VM.Audit",
        "VM.Backup",
        "VM.Clone",
        "VM.Config.CDROM",
        "VM.Config.CPU",
        "VM.Config.Cloudinit",
        "VM.Config.Disk",
        "VM.Config.HWType",
        "VM.Config.Memory",
        "VM.Config.Network",
        "VM.Config.Options",
        "VM.Console",
        "VM.GuestAgent.Audit",
        "VM.GuestAgent.FileRead",
        "VM.GuestAgent.FileSystemMgmt",
        "VM.GuestAgent.FileWrite",
        "VM.GuestAgent.Unrestricted",
        "VM.Migrate",
        "VM.PowerMgmt",
        "VM.Replicate",
        "VM.Snapshot",
        "VM.Snapshot.Rollback",
    ),
    "PVEAuditor": (
        "Datastore.Audit",
        "Mapping.Audit",
        "Pool.Audit",
        "SDN.Audit",
        "Sys.Audit",
        "VM.Audit",
        "VM.GuestAgent.Audit",
    ),
    "PVEDatastoreAdmin": (
        "Datastore.Allocate",
        "Datastore.AllocateSpace",
        "Datastore.AllocateTemplate",
        "Datastore.Audit",
    ),
    "PVEDatastoreUser": (
        "Datastore.AllocateSpace",
        "Datastore.Audit",
    ),
    "PVEMappingAdmin": (
        "Mapping.Audit",
        "Mapping.Modify",
        "Mapping.Use",
    ),
    "PVEMappingUser": (
        "Mapping.Audit",
        "Mapping.Use",
    ),
    "PVEPoolAdmin": (
        "Pool.Allocate",
        "Pool.Audit",
    ),
    "PVEPoolUser": ("Pool.Audit",),
    "PVESDNAdmin": (
        "SDN.Allocate",
        "SDN.Audit",
        "SDN.Use",
    ),
    "PVESDNUser": (
        "SDN.Audit",
        "SDN.Use",
    ),
    "PVESysAdmin": (
        "Sys.Audit",
        "Sys.Console",
        "Sys.Syslog",
    ),
    "PVETemplateUser": (
        "VM.Audit",
        "VM.Clone",
    ),
    "PVEUserAdmin": (
        "Group.Allocate",
        "Realm.AllocateUser",
        "User.Modify",
    ),
    "PVEVMAdmin": (
        "VM.Allocate",
        "VM.Audit",
        "VM.Backup",
        "VM.Clone",
        "VM.Config.CDROM",
        "VM.Config.CPU",
        "VM.Config.Cloudinit",
        "VM.Config.Disk",
        "VM.Config.HWType",
        "VM.Config.Memory",
        "VM.Config.Network",
        "VM.Config.Options",
        "VM.Console",
        "VM.GuestAgent.Audit",
        "VM.GuestAgent.FileRead",
        "VM.GuestAgent.FileSystemMgmt",
        "VM.GuestAgent.FileWrite",
        "VM.GuestAgent.Unrestricted",
        "VM.Migrate",
        "VM.PowerMgmt",
        "VM.Replicate",
        "VM.Snapshot",
        "VM.Snapshot.Rollback",
    ),
    "PVEVMUser": (
        "VM.Audit",
        "VM.Backup",
        "VM.Config.CDROM",
        "VM.Config.Cloudinit",
        "VM.Console",
        "VM.GuestAgent.Audit",
        "VM.GuestAgent.FileRead",
        "VM.GuestAgent.FileSystemMgmt",
        "VM.GuestAgent.FileWrite",
        "VM.PowerMgmt",
    ),
}


def _as_pve8(privs: tuple[str, ...]) -> frozenset[str]:
    """A PVE 9 role as PVE 8 defines it.

    PVE 8 has none of the VM.GuestAgent.* privileges nor VM.Replicate; the roles that
    hold VM.GuestAgent.Unrestricted in PVE 9 held VM.Monitor instead.
    """
    kept = {p for p in privs if not p.startswith("VM.GuestAgent.") and p != "VM.Replicate"}
    if "VM.GuestAgent.Unrestricted" in privs:
        kept.add("VM.Monitor")
    return frozenset(kept)


def builtin_roles(pve_major: int) -> dict[str, frozenset[str]]:
    """The built-in role table of the given PVE major version (9 for anything newer)."""
    if pve_major < 9:
        return {name: _as_pve8(privs) for name, privs in _PVE9.items()}
    return {name: frozenset(privs) for name, privs in _PVE9.items()}
