"""PVE JSON -> snapshot trees and volumes, tolerant as `mapping.py` is.

Entries that cannot be understood are skipped and counted, never guessed; missing
values stay None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from argus_tui.domain.snapshots import CURRENT, GuestSnapshot, SnapshotTree
from argus_tui.domain.storage import Volume
from argus_tui.pve.mapping import MappingError, as_bool, as_int, as_str


def snapshot_from(item: Mapping[str, Any]) -> GuestSnapshot:
    name = as_str(item.get("name"))
    if not name:
        raise MappingError("snapshot entry without a name")
    current = name == CURRENT
    return GuestSnapshot(
        name=name,
        parent=as_str(item.get("parent")),
        snaptime=as_int(item.get("snaptime")) or None,
        description="" if current else (as_str(item.get("description")) or ""),
        vmstate=as_bool(item.get("vmstate")),
        snapstate=as_str(item.get("snapstate")),
        current=current,
        running=as_bool(item.get("running")),
    )


def snapshot_tree_from(items: Iterable[Any]) -> tuple[SnapshotTree, list[str]]:
    """The tree of a snapshot list and the entries that had to be skipped."""
    snapshots: list[GuestSnapshot] = []
    current: GuestSnapshot | None = None
    problems: list[str] = []
    for item in items:
        if not isinstance(item, Mapping):
            problems.append(f"ignored a snapshot entry that is not an object: {item!r:.60}")
            continue
        try:
            snap = snapshot_from(item)
        except MappingError as exc:
            problems.append(f"ignored a malformed snapshot entry: {exc}")
            continue
        if snap.current:
            current = snap
        else:
            snapshots.append(snap)
    return SnapshotTree(tuple(snapshots), current), problems


def volume_from(item: Mapping[str, Any]) -> Volume:
    volid = as_str(item.get("volid"))
    if not volid or ":" not in volid:
        raise MappingError(f"content entry without a volume id: {item.get('volid')!r}")
    size = as_int(item.get("size"))
    if size is None:
        size = as_int(item.get("approximate-size"))
    notes = as_str(item.get("notes"))
    return Volume(
        volid=volid,
        content=as_str(item.get("content")) or _content_of(volid),
        format=as_str(item.get("format")),
        size=size,
        ctime=as_int(item.get("ctime")),
        vmid=as_int(item.get("vmid")),
        notes=notes.splitlines()[0] if notes else None,
        protected=as_bool(item.get("protected")),
        subtype=as_str(item.get("subtype")),
    )


def volumes_from(items: Iterable[Any]) -> tuple[list[Volume], list[str]]:
    volumes: list[Volume] = []
    problems: list[str] = []
    for item in items:
        if not isinstance(item, Mapping):
            problems.append(f"ignored a content entry that is not an object: {item!r:.60}")
            continue
        try:
            volumes.append(volume_from(item))
        except MappingError as exc:
            problems.append(f"ignored a malformed content entry: {exc}")
    return volumes, problems


def _content_of(volid: str) -> str:
    """Older PVE omitted `content`; the volume path says it for the standard folders."""
    path = volid.partition(":")[2]
    for folder, content in (("backup/", "backup"), ("iso/", "iso"), ("vztmpl/", "vztmpl")):
        if path.startswith(folder):
            return content
    return "images"
