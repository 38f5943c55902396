"""Storage in a scenario: `[[storage]]`, and a guest's disks, snapshots and backups.

A scenario without `[[storage]]` gets the storages every simulated cluster had before
they could be configured: `local` (dir) and `local-lvm` (lvmthin) on every node, and the
shared NFS `nas-backup`; plus the shared Ceph pool `ceph-vm`, where its guests' disks are
unless `local_disks = true` puts them on `local-lvm` (so they migrate without copying).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from argus_tui.sim.params import CONFIGID_RE, STORAGE_ID_RE
from argus_tui.sim.scenario_fields import (
    ScenarioError,
    array,
    check_keys,
    get,
    parse_size,
    strings,
)
from argus_tui.sim.storage import SHARED_TYPES, SNAPSHOT_TYPES, TYPE_CONTENT, parse_prune

_STORAGE_KEYS = {"id", "type", "content", "shared", "nodes", "size", "used", "snapshots"}
_STORAGE_KEYS |= {"prune_backups"}
_SNAPSHOT_KEYS = {"name", "description", "ago", "vmstate", "parent"}
_BACKUP_KEYS = {"storage", "ago", "protected", "notes", "mode"}
# Only dir and (thick) LVM storages may be marked shared by hand (e.g. a SAN LUN).
_MAY_BE_SHARED = {"dir", "lvm"}


@dataclass(slots=True)
class StorageSpec:
    id: str
    type: str
    content: list[str]
    shared: bool = False
    nodes: list[str] | None = None  # None: every node
    size: int | None = None  # None: three times the node's disk (local), 8 TiB (shared)
    used: int | None = None  # None: a seeded share of the size, plus the backups
    snapshots: bool = False
    prune_backups: str | None = None


@dataclass(slots=True)
class SnapshotSpec:
    name: str
    description: str = ""
    ago: int = 0
    vmstate: bool = False
    parent: str | None = None  # None for the first; otherwise the one listed before


@dataclass(slots=True)
class BackupSpec:
    storage: str
    ago: int = 0
    protected: bool = False
    notes: str | None = None
    mode: str = "snapshot"


@dataclass(slots=True)
class GuestStorage:
    """Where a guest's disks live, and the snapshots and backups it starts with."""

    disk_storage: str
    snapshots: list[SnapshotSpec] = field(default_factory=list)
    backups: list[BackupSpec] = field(default_factory=list)


DEFAULT_STORAGES = (
    StorageSpec("local", "dir", ["iso", "vztmpl", "backup"], size=100 * 1024**3),
    StorageSpec("local-lvm", "lvmthin", ["images", "rootdir"], snapshots=True),
    StorageSpec("nas-backup", "nfs", ["backup", "iso"], shared=True, size=8 * 1024**4),
    StorageSpec("ceph-vm", "rbd", ["images", "rootdir"], shared=True, snapshots=True),
)


def parse_storages(data: dict[str, Any], node_names: list[str]) -> list[StorageSpec]:
    """`[[storage]]` entries, or the defaults when the scenario has none."""
    items = array(data, "storage")
    if not items:
        return [replace(s, content=list(s.content)) for s in DEFAULT_STORAGES]
    out: list[StorageSpec] = []
    for i, item in enumerate(items):
        spec = _storage(item, f"[[storage]] #{i + 1}", node_names)
        if any(s.id == spec.id for s in out):
            raise ScenarioError(f"[[storage]] #{i + 1}: storage id {spec.id!r} is used twice")
        out.append(spec)
    return out


def _storage(item: dict[str, Any], where: str, node_names: list[str]) -> StorageSpec:
    check_keys(item, _STORAGE_KEYS, where)
    sid = get(item, "id", str, where)
    if not STORAGE_ID_RE.match(sid):
        raise ScenarioError(f"{where}: {sid!r} is not a valid storage id")
    kind = get(item, "type", str, where)
    if kind not in TYPE_CONTENT:
        raise ScenarioError(f"{where}: type must be one of {', '.join(TYPE_CONTENT)}")
    content = strings(item, "content", where)
    bad = [c for c in content if c not in TYPE_CONTENT[kind]]
    if not content or bad or len(set(content)) != len(content):
        allowed = ", ".join(TYPE_CONTENT[kind])
        raise ScenarioError(f"{where}: content of a {kind} storage is a list of: {allowed}")
    shared = get(item, "shared", bool, where, kind in SHARED_TYPES)
    if kind in SHARED_TYPES and not shared:
        raise ScenarioError(f"{where}: a {kind} storage is always shared")
    if shared and kind not in SHARED_TYPES | _MAY_BE_SHARED:
        raise ScenarioError(f"{where}: a {kind} storage cannot be shared")
    nodes = None
    if "nodes" in item:
        nodes = strings(item, "nodes", where)
        unknown = [n for n in nodes if n not in node_names]
        if not nodes or unknown:
            raise ScenarioError(f"{where}: nodes must name [[node]]s, got {nodes!r}")
    size = parse_size(item["size"], f"{where} size") if "size" in item else None
    used = parse_size(item["used"], f"{where} used") if "used" in item else None
    if used is not None and size is not None and used > size:
        raise ScenarioError(f"{where}: used is larger than size")
    prune = get(item, "prune_backups", str, where, "") or None
    if prune is not None:
        if "backup" not in content:
            raise ScenarioError(f"{where}: prune_backups needs backup content")
        try:
            parse_prune(prune)
        except ValueError as exc:
            raise ScenarioError(f"{where}: prune_backups: {exc}") from None
    return StorageSpec(
        id=sid,
        type=kind,
        content=content,
        shared=shared,
        nodes=nodes,
        size=size,
        used=used,
        snapshots=get(item, "snapshots", bool, where, kind in SNAPSHOT_TYPES),
        prune_backups=prune,
    )


def parse_guest_storage(
    item: dict[str, Any],
    where: str,
    gtype: str,
    node: str,
    storages: list[StorageSpec],
    default_storages: bool = False,
) -> GuestStorage:
    """`disk_storage`, `local_disks`, `snapshots` and `backups` of one `[[guest]]`.

    Without `disk_storage` the disks are on the first storage of the node with the right
    content; `local_disks` narrows that to a local (true) or shared (false) one, and
    without `[[storage]]` (`default_storages`) shared is the default.
    """
    by_id = {s.id: s for s in storages}
    disk_content = "images" if gtype == "qemu" else "rootdir"
    local = get(item, "local_disks", bool, where) if "local_disks" in item else None
    if "disk_storage" in item:
        sid = get(item, "disk_storage", str, where)
        disk = by_id.get(sid)
        if disk is None:
            raise ScenarioError(f"{where}: disk_storage {sid!r} is not a [[storage]]")
        if disk_content not in disk.content:
            raise ScenarioError(f"{where}: disk_storage {sid!r} has no {disk_content} content")
        if local is not None and local == disk.shared:
            kind = "shared" if disk.shared else "local"
            raise ScenarioError(
                f"{where}: local_disks = {str(local).lower()} but disk_storage {sid!r} is {kind}"
            )
    else:
        if local is None and default_storages:
            local = False
        disk = next(
            (
                s
                for s in storages
                if disk_content in s.content
                and _on(s, node)
                and (local is None or local != s.shared)
            ),
            None,
        )
        if disk is None:
            kind = {None: "", True: "local ", False: "shared "}[local]
            raise ScenarioError(f"{where}: no {kind}storage with {disk_content} content on {node}")
    if not _on(disk, node):
        raise ScenarioError(f"{where}: disk_storage {disk.id!r} is not available on {node}")
    snapshots = _snapshots(item, where, gtype, disk)
    backups = _backups(item, where, node, by_id)
    return GuestStorage(disk.id, snapshots, backups)


def _on(storage: StorageSpec, node: str) -> bool:
    return storage.nodes is None or node in storage.nodes


def _snapshots(
    item: dict[str, Any], where: str, gtype: str, disk: StorageSpec
) -> list[SnapshotSpec]:
    out: list[SnapshotSpec] = []
    for j, snap in enumerate(array(item, "snapshots", where)):
        at = f"{where} snapshots #{j + 1}"
        check_keys(snap, _SNAPSHOT_KEYS, at)
        name = get(snap, "name", str, at)
        reserved = {"current", "vzdump"} | ({"pending"} if gtype == "qemu" else set())
        if not CONFIGID_RE.match(name) or len(name) > 40 or name.lower() in reserved:
            raise ScenarioError(f"{at}: {name!r} is not a usable snapshot name")
        if any(s.name == name for s in out):
            raise ScenarioError(f"{at}: snapshot {name!r} is listed twice")
        ago = get(snap, "ago", int, at, 0)
        if ago < 0 or (out and ago > out[-1].ago):
            raise ScenarioError(f"{at}: ago must be >= 0 and list the snapshots oldest first")
        vmstate = get(snap, "vmstate", bool, at, False)
        if vmstate and gtype != "qemu":
            raise ScenarioError(f"{at}: only qemu snapshots can include the RAM (vmstate)")
        parent = get(snap, "parent", str, at, "") or (out[-1].name if out else None)
        if parent is not None and all(s.name != parent for s in out):
            raise ScenarioError(f"{at}: parent {parent!r} is not a snapshot listed before it")
        description = get(snap, "description", str, at, "")
        out.append(SnapshotSpec(name, description, ago, vmstate, parent))
    if out and not disk.snapshots:
        raise ScenarioError(f"{where}: its disks on {disk.id!r} cannot have snapshots")
    return out


def _backups(
    item: dict[str, Any], where: str, node: str, by_id: dict[str, StorageSpec]
) -> list[BackupSpec]:
    out: list[BackupSpec] = []
    for j, backup in enumerate(array(item, "backups", where)):
        at = f"{where} backups #{j + 1}"
        check_keys(backup, _BACKUP_KEYS, at)
        sid = get(backup, "storage", str, at)
        storage = by_id.get(sid)
        if storage is None:
            raise ScenarioError(f"{at}: storage {sid!r} is not a [[storage]]")
        if "backup" not in storage.content:
            raise ScenarioError(f"{at}: storage {sid!r} has no backup content")
        if not _on(storage, node):
            raise ScenarioError(f"{at}: storage {sid!r} is not available on {node}")
        ago = get(backup, "ago", int, at, 0)
        if ago < 0:
            raise ScenarioError(f"{at}: ago must be >= 0")
        if any(b.storage == sid and b.ago == ago for b in out):
            raise ScenarioError(f"{at}: a backup on {sid!r} with ago = {ago} is listed twice")
        mode = get(backup, "mode", str, at, "snapshot")
        if mode not in ("snapshot", "suspend", "stop"):
            raise ScenarioError(f"{at}: mode must be snapshot, suspend or stop")
        notes = get(backup, "notes", str, at, "") or None
        protected = get(backup, "protected", bool, at, False)
        out.append(BackupSpec(sid, ago, protected, notes, mode))
    return out
