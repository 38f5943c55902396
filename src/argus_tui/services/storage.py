"""Storages and their content: the rows of the storage screen and `argus storage`.

Usage comes from the refresh's `/cluster/resources` (no extra request per refresh);
content is read on demand, one storage at a time, as the token may see it (PVE filters
backups by VM.Backup on their guest, so a listing may be partial without an error).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from argus_tui.domain.storage import Storage, Volume
from argus_tui.errors import OperationFailed
from argus_tui.pve.client import PveClient
from argus_tui.pve.ops_mapping import volumes_from


@dataclass(frozen=True, slots=True)
class Content:
    storage: Storage
    volumes: tuple[Volume, ...]
    problems: tuple[str, ...] = ()


def content(
    client: PveClient, storage: Storage, *, kind: str | None = None, vmid: int | None = None
) -> Content:
    """A storage's volumes as seen from its node, newest first."""
    items = client.storage_content(storage.node, storage.storage, content=kind, vmid=vmid)
    volumes, problems = volumes_from(items)
    if vmid is not None:  # PVE filters backups by vmid; other content may slip through
        volumes = [v for v in volumes if v.vmid == vmid]
    volumes.sort(key=lambda v: (-(v.ctime or 0), v.volid))
    return Content(storage, tuple(volumes), tuple(problems))


def find_storage(storages: Iterable[Storage], storage_id: str, node: str | None = None) -> Storage:
    """The entry of `storage_id` (on `node`, else the first active one, else any)."""
    found = [s for s in storages if s.storage == storage_id and (node is None or s.node == node)]
    found.sort(key=lambda s: (not s.active, s.node))
    if not found:
        raise OperationFailed(
            f"no storage {storage_id!r} visible to this token" + (f" on {node}" if node else ""),
            hint="'argus storage' lists the storages the token may see (Datastore.Audit)",
        )
    return found[0]


def storage_json(storage: Storage) -> dict[str, Any]:
    """One entry of `argus storage --json`."""
    return {
        "storage": storage.storage,
        "node": storage.node,
        "type": storage.type,
        "content": list(storage.content),
        "shared": storage.shared,
        "used": storage.used,
        "total": storage.total,
        "active": storage.active,
    }


def volume_json(volume: Volume) -> dict[str, Any]:
    """One entry of `argus storage content --json`."""
    return {
        "volid": volume.volid,
        "content": volume.content,
        "format": volume.format,
        "size": volume.size,
        "ctime": volume.ctime,
        "vmid": volume.vmid,
        "notes": volume.notes,
        "protected": volume.protected,
    }


def last_backup(volumes: Iterable[Volume], vmid: int) -> Volume | None:
    backups = [v for v in volumes if v.content == "backup" and v.vmid == vmid]
    return max(backups, key=lambda v: v.ctime or 0) if backups else None
