"""Storage as storage.cfg describes it, and the volumes each storage holds.

One `Storage` per storage.cfg entry. A shared storage (NFS, Ceph, PBS, a shared LVM)
has one `VolumeSet` that every node sees; a local one has a set per node it exists on,
so `local` on pve-a and `local` on pve-b hold different backups. Backups, ISO images and
container templates are stored volumes; a guest's disks are derived from the guest
(`disk_volume`) because they come and go with it. Used space is the data the simulator
does not list plus the stored volumes, so it grows and shrinks with the backups.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

# Plugins that are always shared (PVE's @SHARED_STORAGE) and the content each may hold.
SHARED_TYPES = frozenset({"nfs", "cifs", "rbd", "cephfs", "pbs"})
ALL_CONTENT = ("images", "rootdir", "backup", "iso", "vztmpl", "snippets")
TYPE_CONTENT: dict[str, tuple[str, ...]] = {
    "dir": ALL_CONTENT,
    "nfs": ALL_CONTENT,
    "cifs": ALL_CONTENT,
    "lvm": ("images", "rootdir"),
    "lvmthin": ("images", "rootdir"),
    "zfspool": ("images", "rootdir"),
    "rbd": ("images", "rootdir"),
    "cephfs": ("backup", "iso", "vztmpl", "snippets"),
    "pbs": ("backup",),
}
# Guest disks on these take snapshots; raw files on dir/NFS/CIFS and thick LVM do not.
SNAPSHOT_TYPES = frozenset({"lvmthin", "zfspool", "rbd"})
PRUNE_KEYS = (
    "keep-all",
    "keep-last",
    "keep-hourly",
    "keep-daily",
    "keep-weekly",
    "keep-monthly",
    "keep-yearly",
)


@dataclass(slots=True)
class Volume:
    """One stored volume: a backup archive, an ISO image or a container template."""

    volid: str  # storage:volname
    content: str  # backup | iso | vztmpl | images | rootdir
    format: str  # vma.zst, tar.zst, pbs-vm, iso, raw, qcow2, subvol ...
    size: int
    ctime: int
    vmid: int | None = None  # the owner
    subtype: str | None = None  # backups: qemu | lxc
    notes: str = ""
    protected: bool = False

    @property
    def volname(self) -> str:
        return self.volid.split(":", 1)[1]

    def entry(self) -> dict[str, Any]:
        """The item of `GET .../content`: notes' first line, `protected` only when set."""
        out: dict[str, Any] = {
            "volid": self.volid,
            "content": self.content,
            "format": self.format,
            "size": self.size,
            "ctime": self.ctime,
        }
        if self.vmid is not None:
            out["vmid"] = self.vmid
        if self.subtype is not None:
            out["subtype"] = self.subtype
        if self.notes:
            out["notes"] = self.notes.split("\n", 1)[0]
        if self.protected:
            out["protected"] = 1
        return out


@dataclass(slots=True)
class VolumeSet:
    """What one storage holds as seen from one node (or from all, when shared)."""

    total: int
    base_used: int  # data the simulator does not list
    volumes: list[Volume] = field(default_factory=list)

    @property
    def used(self) -> int:
        return min(self.total, self.base_used + sum(v.size for v in self.volumes))

    def find(self, volid: str) -> Volume | None:
        return next((v for v in self.volumes if v.volid == volid), None)


@dataclass(slots=True)
class Storage:
    """One storage.cfg entry and the volumes it holds."""

    id: str
    type: str  # dir | lvm | lvmthin | zfspool | nfs | cifs | rbd | cephfs | pbs
    content: list[str]  # in the order storage.cfg lists it
    shared: bool
    nodes: list[str] | None  # restricted to these nodes; None = every node
    snapshots: bool  # whether guest disks here can be snapshotted
    prune_backups: str | None  # the `prune-backups` property string, if configured
    sets: dict[str, VolumeSet] = field(default_factory=dict)  # "" when shared, else node

    @property
    def content_text(self) -> str:
        return ",".join(self.content)

    def holds(self, wanted: set[str]) -> bool:
        """Whether the storage accepts any of these content types."""
        return bool(wanted & set(self.content))

    def available_on(self, node: str) -> bool:
        if self.nodes is not None and node not in self.nodes:
            return False
        return (self.shared and "" in self.sets) or node in self.sets

    def on(self, node: str) -> VolumeSet:
        """The volumes `node` sees; KeyError when the storage is not on that node."""
        return self.sets[""] if self.shared else self.sets[node]

    def config_entry(self, digest: str) -> dict[str, Any]:
        """The section as `GET /storage` shows it (API2/Storage/Config.pm)."""
        entry: dict[str, Any] = {
            "storage": self.id,
            "type": self.type,
            "content": self.content_text,
            "digest": digest,
            **_type_options(self),
        }
        if self.shared:
            entry["shared"] = 1
        if self.nodes is not None:
            entry["nodes"] = ",".join(self.nodes)
        if self.prune_backups:
            entry["prune-backups"] = self.prune_backups
        return entry

    @property
    def path(self) -> str:
        """The mount point of file-based storages (their `path` option)."""
        if self.type == "dir":
            return "/var/lib/vz" if self.id == "local" else f"/mnt/{self.id}"
        return f"/mnt/pve/{self.id}"

    def disk_volume(self, vmid: int, gtype: str, template: bool) -> tuple[str, str]:
        """(volid, format) of a guest's first disk on this storage, as the plugin names it."""
        prefix = "base" if template else "vm"
        if self.type in ("dir", "nfs", "cifs"):
            fmt = "qcow2" if self.snapshots and gtype == "qemu" else "raw"
            return f"{self.id}:{vmid}/{prefix}-{vmid}-disk-0.{fmt}", fmt
        if self.type == "zfspool" and gtype == "lxc":
            name = "basevol" if template else "subvol"
            return f"{self.id}:{name}-{vmid}-disk-0", "subvol"
        return f"{self.id}:{prefix}-{vmid}-disk-0", "raw"


def _type_options(storage: Storage) -> dict[str, Any]:
    """The plugin-specific keys of a storage.cfg section."""
    kind = storage.type
    if kind == "dir":
        return {"path": storage.path}
    if kind in ("nfs", "cifs"):
        share = {"export": f"/export/{storage.id}"} if kind == "nfs" else {"share": storage.id}
        return {"server": "10.10.0.50", "path": storage.path, **share}
    if kind == "lvm":
        return {"vgname": f"vg-{storage.id}"}
    if kind == "lvmthin":
        return {"vgname": "pve", "thinpool": "data"}
    if kind == "zfspool":
        return {"pool": "rpool/data", "sparse": 1}
    if kind == "rbd":
        return {"pool": storage.id, "krbd": 0}
    if kind == "cephfs":
        return {"path": storage.path, "fs-name": "cephfs"}
    return {"server": "10.10.0.60", "datastore": storage.id, "username": "backup@pbs"}


def storage_digest(storages: list[Storage]) -> str:
    """The digest of storage.cfg: one value, on every entry of `GET /storage`."""
    text = "\n".join(f"{s.type}: {s.id}\n\tcontent {s.content_text}" for s in storages)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


# vzdump's `compress` option -> the archive's extension (PVE/VZDump.pm compressor_info)
COMPRESSION = {"0": "", "1": ".lzo", "lzo": ".lzo", "gzip": ".gz", "zstd": ".zst"}
# The share of the raw data an archive keeps with each extension.
_RATIO = {"": 1.0, ".lzo": 0.6, ".gz": 0.5, ".zst": 0.45}


def backup_volume(
    storage: Storage, gtype: str, vmid: int, when: float, compress: str = "zstd"
) -> tuple[str, str]:
    """(volid, format) of a new backup, named as vzdump and PBS name them.

    The simulated nodes keep UTC as their local time, so both names use it.
    """
    if storage.type == "pbs":
        group = "vm" if gtype == "qemu" else "ct"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
        return f"{storage.id}:backup/{group}/{vmid}/{stamp}", f"pbs-{group}"
    stamp = time.strftime("%Y_%m_%d-%H_%M_%S", time.gmtime(when))
    ext = ("vma" if gtype == "qemu" else "tar") + COMPRESSION[compress]
    return f"{storage.id}:backup/vzdump-{gtype}-{vmid}-{stamp}.{ext}", ext


def archive_size(data: int, fmt: str) -> int:
    """How big an archive of `data` bytes is in this format (PBS stores chunks zstd'ed)."""
    suffix = "." + fmt.split(".", 1)[1] if "." in fmt else (".zst" if fmt.startswith("pbs") else "")
    return int(data * _RATIO[suffix]) // 512 * 512 + 4096


def parse_prune(text: str) -> dict[str, int]:
    """`keep-last=3,keep-daily=7` -> {"keep-last": 3, "keep-daily": 7}; ValueError if bad."""
    keep: dict[str, int] = {}
    for part in filter(None, text.split(",")):
        key, sep, raw = part.partition("=")
        if not sep or key not in PRUNE_KEYS or not raw.isdigit():
            raise ValueError(f"invalid prune-backups option '{part}'")
        keep[key] = int(raw)
    return keep


def prune_limit(keep: dict[str, int]) -> int:
    """The most backups a guest may keep (0 = no limit), as vzdump adds the keep values."""
    if keep.get("keep-all") or not keep:
        return 0
    return sum(v for k, v in keep.items() if k != "keep-all")


def prune_removals(backups: list[Volume], keep: dict[str, int]) -> list[Volume]:
    """The backups of one guest that `keep` does not retain (PVE's prune_mark_backup_group).

    Newest first, each keep-* option keeps the newest backup of that many distinct
    periods not already covered by an earlier option; protected backups are never removed
    and never count.
    """
    if prune_limit(keep) == 0:
        return []
    ordered = sorted((v for v in backups if not v.protected), key=lambda v: -v.ctime)
    marks: dict[str, str] = {}
    periods: tuple[tuple[str, str], ...] = (
        ("keep-last", ""),
        ("keep-hourly", "%H/%d/%m/%Y"),
        ("keep-daily", "%d/%m/%Y"),
        ("keep-weekly", "%V/%G"),
        ("keep-monthly", "%m/%Y"),
        ("keep-yearly", "%Y"),
    )

    def period(fmt: str, t: int) -> str:
        return time.strftime(fmt, time.gmtime(t)) if fmt else str(t)

    for option, fmt in periods:
        count = keep.get(option, 0)
        if not count:
            continue
        covered = {period(fmt, v.ctime) for v in ordered if marks.get(v.volid) == "keep"}
        new: set[str] = set()
        for volume in ordered:
            pid = period(fmt, volume.ctime)
            if volume.volid in marks or pid in covered:
                continue
            if pid in new:
                marks[volume.volid] = "remove"
                continue
            if len(new) >= count:
                break
            new.add(pid)
            marks[volume.volid] = "keep"
    return [v for v in ordered if marks.get(v.volid, "remove") == "remove"]


def format_size(size: int) -> str:
    """vzdump's archive size text: 512KB, 340MB, 18.64GB, 1.20TB."""
    if size < 1024**2:
        return f"{size // 1024}KB"
    if size < 1024**3:
        return f"{size // 1024**2}MB"
    if size < 1024**4:
        return f"{size / 1024**3:.2f}GB"
    return f"{size / 1024**4:.2f}TB"


def render_bytes(size: float) -> str:
    """PVE's render_bytes: `0 B`, `693.6 MiB`, `20.0 GiB`."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    index = 0
    while size >= 1024 and index < len(units) - 1:
        size /= 1024
        index += 1
    return f"{int(size)} B" if index == 0 else f"{size:.1f} {units[index]}"
