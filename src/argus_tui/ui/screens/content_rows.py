"""The rows of a storage's content: columns, cells, the filter's text, and what makes a
backup deletable (PVE's per-volume rules on the refresh's privileges)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from argus_tui.domain.format import bytes_
from argus_tui.domain.models import Guest, Privileges
from argus_tui.domain.operations import ALLOCATE_SPACE, OPERATIONS
from argus_tui.domain.storage import Storage, Volume
from argus_tui.ui.widgets.stamps import stamp
from argus_tui.ui.widgets.table import Cell, Column

COLUMNS = (
    Column("name", "VOLUME", 0, min_width=44, priority=10, max_width=60),
    Column("storage", "STORAGE", 12, priority=6),
    Column("content", "CONTENT", 7, priority=5),
    Column("guest", "GUEST", 18, priority=9),
    Column("time", "TIME", 28, priority=8),
    Column("size", "SIZE", 8, "right", priority=8),
    Column("notes", "NOTES", 0, min_width=10, priority=7, max_width=40),
    Column("protected", "PROTECTED", 9, priority=7),
)
DELETE = OPERATIONS["backup-delete"].label


@dataclass(frozen=True, slots=True)
class Row:
    """One volume as seen from the node of the storage entry it was listed from."""

    volume: Volume
    node: str

    @property
    def key(self) -> str:
        return f"{self.node}|{self.volume.volid}"


def backup_storages_for(storages: Sequence[Storage], guest: Guest) -> list[Storage]:
    """Every backup storage the token can see, once each: a shared one as the guest's node
    sees it, a local one on each node (a guest that moved may have backups on another)."""
    out: dict[str, Storage] = {}
    for storage in storages:
        if not storage.holds("backup"):
            continue
        key = storage.storage if storage.shared else storage.key
        kept = out.get(key)
        if kept is None or (storage.node == guest.node and kept.node != guest.node):
            out[key] = storage
    return sorted(out.values(), key=lambda s: (s.node != guest.node, s.storage, s.node))


def guest_label(vmid: int | None, guests: dict[int, Guest]) -> str:
    if vmid is None:
        return ""
    guest = guests.get(vmid)
    return f"{vmid} {guest.label}" if guest is not None else str(vmid)


def shown_name(volume: Volume) -> str:
    """The volume without its storage, and a backup without the `backup/` folder all
    backups share."""
    name = volume.name
    if volume.content == "backup" and name.startswith("backup/"):
        return name.removeprefix("backup/")
    return name


def volume_cells(volume: Volume, guests: dict[int, Guest], now: float) -> tuple[Cell, ...]:
    return (
        (shown_name(volume), "accent" if volume.content == "backup" else ""),
        (volume.storage, "dim"),
        (volume.content, "dim"),
        (guest_label(volume.vmid, guests), ""),
        (stamp(volume.ctime, now), ""),
        (bytes_(volume.size), ""),
        ((volume.notes or "").splitlines()[0] if volume.notes else "", "dim"),
        ("protected" if volume.protected else "", "warn"),
    )


def volume_haystack(row: Row, guests: dict[int, Guest]) -> str:
    volume = row.volume
    parts = (volume.volid, volume.content, volume.notes or "", guest_label(volume.vmid, guests))
    return " ".join(parts).lower() + (" protected" if volume.protected else "")


def protected_reason(volume: Volume) -> str:
    """Proxmox's own words for it (the delete task would fail with them)."""
    return f"cannot remove protected volume '{volume.name}' on '{volume.storage}'"


def delete_denial(volume: Volume, privileges: Privileges) -> str | None:
    """The privilege a backup's deletion lacks: Datastore.Allocate on the storage, or
    Datastore.AllocateSpace there and VM.Backup on its guest (None: it has them)."""
    path = f"/storage/{volume.storage}"
    if privileges.holds(path, "Datastore.Allocate"):
        return None
    owner = f"/vms/{volume.vmid}" if volume.vmid is not None else "its guest"
    space = privileges.holds(path, ALLOCATE_SPACE)
    backup = volume.vmid is not None and privileges.holds(owner, "VM.Backup")
    if space and backup:
        return None
    missing = " and ".join(
        need
        for need, held in (
            (f"{ALLOCATE_SPACE} on {path}", space),
            (f"VM.Backup on {owner}", backup),
        )
        if not held
    )
    return f"needs {missing} (or Datastore.Allocate on {path})"
