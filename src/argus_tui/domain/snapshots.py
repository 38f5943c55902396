"""Guest snapshots: PVE's unordered list read as a tree, and the rules for a name.

`GET .../snapshot` answers one item per snapshot in no particular order, then a pseudo
item `current` (where the guest is now) whose `parent` is the snapshot it descends from.
Trees are built from `parent` alone (docs/proxmox.md, Snapshots).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: pve-configid: a letter, then letters, digits, `_` or `-`; 2 to 40 characters.
_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]+$", re.IGNORECASE)
NAME_MAX = 40
CURRENT = "current"


@dataclass(frozen=True, slots=True)
class GuestSnapshot:
    name: str
    parent: str | None = None
    snaptime: int | None = None
    description: str = ""
    vmstate: bool = False  # the RAM was saved with it (qemu)
    snapstate: str | None = None  # "prepare" or "delete" while a task works on it
    current: bool = False  # the pseudo entry for the running state
    running: bool = False  # (current only) the guest runs

    @property
    def complete(self) -> bool:
        return self.snapstate is None


@dataclass(frozen=True, slots=True)
class SnapshotTree:
    """A guest's snapshots: real ones by name, and `current` (None if the server sent none)."""

    snapshots: tuple[GuestSnapshot, ...]
    current: GuestSnapshot | None = None

    def get(self, name: str) -> GuestSnapshot | None:
        return next((s for s in self.snapshots if s.name == name), None)

    def walk(self) -> list[tuple[int, GuestSnapshot]]:
        """Depth-first (depth, snapshot), oldest sibling first, `current` under its parent.

        A snapshot whose parent is unknown (deleted, or an edited capture) is a root. A
        cycle in bad data cannot loop: every snapshot is visited once.
        """
        names = {s.name for s in self.snapshots}
        children: dict[str | None, list[GuestSnapshot]] = {}
        nodes = [*self.snapshots, *([self.current] if self.current else [])]
        for snap in nodes:
            parent = snap.parent if snap.parent in names and snap.parent != snap.name else None
            children.setdefault(parent, []).append(snap)
        for kids in children.values():
            kids.sort(key=lambda s: (s.current, s.snaptime or 0, s.name))
        out: list[tuple[int, GuestSnapshot]] = []
        seen: set[int] = set()

        def visit(snap: GuestSnapshot, depth: int) -> None:
            if id(snap) in seen:
                return
            seen.add(id(snap))
            out.append((depth, snap))
            if not snap.current:
                for child in children.get(snap.name, []):
                    visit(child, depth + 1)

        for root in children.get(None, []):
            visit(root, 0)
        for snap in nodes:  # members of a parent cycle: shown flat rather than lost
            if id(snap) not in seen:
                visit(snap, 0)
        return out

    @property
    def latest(self) -> GuestSnapshot | None:
        dated = [s for s in self.snapshots if s.snaptime]
        return max(dated, key=lambda s: s.snaptime or 0) if dated else None


def name_problem(name: str, guest_type: str) -> str | None:
    """Why PVE would refuse `name` for a new snapshot of a qemu or lxc guest, or None."""
    if len(name) > NAME_MAX:
        return f"snapshot name {name!r} is longer than {NAME_MAX} characters"
    if not _NAME_RE.match(name):
        return (
            f"invalid snapshot name {name!r}: use a letter, then letters, digits, '-' or '_'"
            " (at least 2 characters)"
        )
    lowered = name.lower()
    if name == CURRENT or (guest_type == "qemu" and lowered == "pending"):
        return f"snapshot name {name!r} is reserved by Proxmox"
    if guest_type == "lxc" and name == "vzdump":
        return "snapshot name 'vzdump' is reserved by Proxmox (backups use it)"
    return None


#: Config keys that hold disks (qemu buses, EFI and TPM state; lxc root and mount points).
_DISK_KEY = re.compile(r"^(scsi|virtio|sata|ide|efidisk|tpmstate|mp|unused)\d+$|^rootfs$")


def config_disks(config: dict[str, object]) -> list[tuple[str, str, str]]:
    """(config key, storage, volume) of each disk of a guest config; CD-ROMs, passed-through
    devices and `none` are left out (they take no part in a snapshot)."""
    out: list[tuple[str, str, str]] = []
    for key, value in config.items():
        if not _DISK_KEY.match(key) or key.startswith("unused") or not isinstance(value, str):
            continue
        volume, _, options = value.partition(",")
        if "media=cdrom" in options or volume in ("none", "cdrom") or ":" not in volume:
            continue
        storage, _, name = volume.partition(":")
        out.append((key, storage, name))
    return out
