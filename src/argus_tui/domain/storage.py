"""Storages and what they hold: usage from `/cluster/resources`, volumes from `content`.

A shared storage (NFS, Ceph, PBS) appears once per node in `/cluster/resources`, with the
same figures everywhere; a local one once per node it exists on, each with its own.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Content types as storage.cfg spells them (`content=` of a storage).
CONTENT_TYPES = ("images", "rootdir", "backup", "iso", "vztmpl", "snippets", "import")

#: Storage types whose volumes can be snapshotted whatever the disk format (PVE's
#: `volume_has_feature(snapshot)`); on dir-like storages only qcow2 can (docs/proxmox.md,
#: Snapshots).
SNAPSHOT_TYPES = frozenset({"lvmthin", "zfspool", "zfs", "rbd", "btrfs"})
FILE_TYPES = frozenset({"dir", "nfs", "cifs", "glusterfs", "cephfs"})


@dataclass(frozen=True, slots=True)
class Storage:
    storage: str
    node: str
    type: str | None = None  # storage.cfg type: dir, lvmthin, nfs, pbs, ...
    content: tuple[str, ...] = ()
    shared: bool = False
    used: int | None = None
    total: int | None = None
    status: str | None = None  # "available" while the node can use it

    @property
    def key(self) -> str:
        return f"{self.node}/{self.storage}"

    @property
    def active(self) -> bool:
        return self.status == "available"

    @property
    def path(self) -> str:
        """The ACL path of the storage."""
        return f"/storage/{self.storage}"

    def holds(self, content: str) -> bool:
        return content in self.content

    @property
    def fraction(self) -> float | None:
        if self.used is None or not self.total:
            return None
        return self.used / self.total


def volume_can_snapshot(storage_type: str | None, volume: str) -> bool:
    """Whether a disk volume on a storage of this type can be snapshotted.

    Block storages with snapshots can; on file storages only qcow2 images can (raw and
    subvolumes cannot); plain LVM cannot. An unknown type counts as able: the server decides.
    """
    if storage_type is None:
        return True
    if storage_type in SNAPSHOT_TYPES:
        return True
    if storage_type in FILE_TYPES:
        return volume.endswith(".qcow2")
    return storage_type not in ("lvm", "iscsi", "iscsidirect", "pbs")


@dataclass(frozen=True, slots=True)
class Volume:
    """One item of a storage's content (a backup, an ISO, a disk image...)."""

    volid: str  # storage:path, e.g. backup-nfs:backup/vzdump-qemu-100-....vma.zst
    content: str
    format: str | None = None
    size: int | None = None
    ctime: int | None = None
    vmid: int | None = None
    notes: str | None = None
    protected: bool = False
    subtype: str | None = None  # qemu | lxc for backups

    @property
    def storage(self) -> str:
        return self.volid.partition(":")[0]

    @property
    def name(self) -> str:
        """The volume without its storage prefix."""
        return self.volid.partition(":")[2] or self.volid
