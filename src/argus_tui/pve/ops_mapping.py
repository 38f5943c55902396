"""PVE JSON -> snapshot trees and volumes, tolerant as `mapping.py` is.

Entries that cannot be understood are skipped and counted, never guessed; missing
values stay None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from argus_tui.domain.migration import Precondition
from argus_tui.domain.models import Address
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


def precondition_from(data: Any, *, known: bool = True) -> Precondition:
    """A migrate precondition answer: qemu's underscored keys or PVE 9 lxc's dashed ones.

    Every other node appears in `not_allowed_nodes`, as `{}` when it is allowed; a node
    with reasons (unavailable storages or resources, HA rules) is blocked."""
    if not isinstance(data, Mapping):
        return Precondition(known=False)
    allowed = data.get("allowed_nodes", data.get("allowed-nodes")) or []
    blocked = data.get("not_allowed_nodes", data.get("not-allowed-nodes")) or {}
    not_allowed: dict[str, tuple[str, ...]] = {}
    if isinstance(blocked, Mapping):
        for node, why in blocked.items():
            not_allowed[str(node)] = _reasons(why)
    disks = data.get("local_disks") or []
    resources = data.get("local_resources") or []
    return Precondition(
        running=as_bool(data.get("running")),
        allowed=frozenset(str(n) for n in allowed if isinstance(n, str | int)),
        not_allowed={k: v for k, v in not_allowed.items() if v},
        local_disks=tuple(
            str(d.get("volid")) for d in disks if isinstance(d, Mapping) and not d.get("cdrom")
        ),
        local_resources=tuple(str(r) for r in resources if isinstance(r, str | int)),
        known=known,
    )


def _reasons(why: Any) -> tuple[str, ...]:
    if not isinstance(why, Mapping):
        return ()
    out: list[str] = []
    storages = why.get("unavailable_storages")
    if isinstance(storages, list) and storages:
        out.append(f"storage not available there: {', '.join(map(str, storages))}")
    resources = why.get("unavailable-resources")
    if isinstance(resources, list) and resources:
        out.append(f"resources not available there: {', '.join(map(str, resources))}")
    ha = why.get("blocking-ha-resources")
    if isinstance(ha, list) and ha:
        names = [str(r.get("sid", r)) if isinstance(r, Mapping) else str(r) for r in ha]
        out.append(f"blocked by HA rules ({', '.join(names)})")
    known = ("unavailable_storages", "unavailable-resources", "blocking-ha-resources")
    for key, value in why.items():
        if key not in known and value:
            out.append(f"{key}: {str(value)[:80]}")
    return tuple(out)


def addresses_from(items: Iterable[Any]) -> list[Address]:
    """Addresses from a guest agent's network-get-interfaces result or a container's
    interfaces; loopback and link-local ones are left out (nobody connects to them)."""
    out: list[Address] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        name = as_str(item.get("name")) or "?"
        if name == "lo":
            continue
        mac = as_str(item.get("hardware-address")) or as_str(item.get("hwaddr"))
        found = item.get("ip-addresses")
        if isinstance(found, list):
            for ip in found:
                if not isinstance(ip, Mapping):
                    continue
                addr = as_str(ip.get("ip-address"))
                if not addr or addr.startswith(("127.", "fe80:", "::1")):
                    continue
                prefix = as_int(ip.get("prefix"))
                family = as_str(ip.get("ip-address-type")) or ("ipv6" if ":" in addr else "ipv4")
                text = f"{addr}/{prefix}" if prefix is not None else addr
                out.append(Address(name, text, family, mac))
            continue
        for key, family in (("inet", "ipv4"), ("inet6", "ipv6")):
            value = as_str(item.get(key))
            if value and not value.startswith(("127.", "fe80:", "::1")):
                out.append(Address(name, value, family, mac))
    return out
