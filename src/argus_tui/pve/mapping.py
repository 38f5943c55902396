"""PVE JSON -> domain models, tolerant of every version from PVE 5 to 9.

Integers may arrive as strings, booleans as 0/1, "" or true/false, tags as `a;b` (or
with `,`/space), and offline nodes omit names and stats. Unknown fields are ignored;
a missing value stays None. An entry that cannot be understood at all is skipped and
reported, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from argus_tui.domain.models import ClusterInfo, Guest, Node, Privileges, Task
from argus_tui.domain.storage import Storage
from argus_tui.domain.upid import UPID, UPIDError

_TAG_SPLIT = re.compile(r"[;, ]+")


class MappingError(ValueError):
    """An entry too malformed to use."""


def as_int(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None if not isinstance(value, bool) else int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                return int(float(value))
            except ValueError:
                return None
    return None


def as_float(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_bool(value: Any) -> bool:
    """PVE's 0/1, "" (older false), "0"/"1" and JSON booleans."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return False


def as_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def split_tags(value: Any) -> tuple[str, ...]:
    text = as_str(value)
    if not text:
        return ()
    return tuple(t for t in _TAG_SPLIT.split(text) if t)


def node_from(item: Mapping[str, Any]) -> Node:
    name = as_str(item.get("node")) or as_str(item.get("name"))
    if not name:
        raise MappingError("node entry without a name")
    return Node(
        name=name,
        status=as_str(item.get("status")) or "unknown",
        cpu=as_float(item.get("cpu")),
        maxcpu=as_int(item.get("maxcpu")),
        mem=as_int(item.get("mem")),
        maxmem=as_int(item.get("maxmem")),
        disk=as_int(item.get("disk")),
        maxdisk=as_int(item.get("maxdisk")),
        uptime=as_int(item.get("uptime")),
        level=as_str(item.get("level")),
    )


def guest_from(item: Mapping[str, Any], node: str | None = None) -> Guest:
    """A qemu/lxc entry from /cluster/resources or a node's qemu/lxc list."""
    vmid = as_int(item.get("vmid"))
    if vmid is None:
        raw_id = as_str(item.get("id")) or ""
        vmid = as_int(raw_id.rpartition("/")[2]) if "/" in raw_id else None
    if vmid is None:
        raise MappingError(f"guest entry without a usable vmid: {item.get('vmid')!r}")
    gtype = as_str(item.get("type"))
    if gtype not in ("qemu", "lxc"):
        raise MappingError(f"guest {vmid}: unknown type {gtype!r}")
    where = as_str(item.get("node")) or node
    if not where:
        raise MappingError(f"guest {vmid}: no node")
    status = as_str(item.get("status")) or "unknown"
    qmp = as_str(item.get("qmpstatus"))
    if status == "running" and qmp and qmp != "running":
        status = qmp  # status/current says running for a paused VM; qmpstatus knows better
    return Guest(
        vmid=vmid,
        type=gtype,  # type: ignore[arg-type]
        node=where,
        status=status,
        name=as_str(item.get("name")),
        template=as_bool(item.get("template")),
        tags=split_tags(item.get("tags")),
        pool=as_str(item.get("pool")),
        lock=as_str(item.get("lock")),
        hastate=as_str(item.get("hastate")),
        cpu=as_float(item.get("cpu")),
        maxcpu=as_float(item.get("maxcpu", item.get("cpus"))),
        mem=as_int(item.get("mem")),
        maxmem=as_int(item.get("maxmem")),
        disk=as_int(item.get("disk")),
        maxdisk=as_int(item.get("maxdisk")),
        uptime=as_int(item.get("uptime")),
        netin=as_int(item.get("netin")),
        netout=as_int(item.get("netout")),
        diskread=as_int(item.get("diskread")),
        diskwrite=as_int(item.get("diskwrite")),
    )


def storage_from(item: Mapping[str, Any], node: str | None = None) -> Storage:
    """A `type=storage` entry of /cluster/resources; or, with the `node` it was asked of,
    an entry of `/nodes/{node}/storage` or of `/storage`, which name no node themselves."""
    sid = as_str(item.get("storage"))
    node = as_str(item.get("node")) or node
    if not sid or not node:
        raw_id = as_str(item.get("id")) or ""
        parts = raw_id.split("/")
        if len(parts) == 3 and parts[0] == "storage":
            node, sid = node or parts[1], sid or parts[2]
    if not sid or not node:
        raise MappingError(f"storage entry without a name or node: {item.get('id')!r}")
    content = as_str(item.get("content")) or ""
    return Storage(
        storage=sid,
        node=node,
        type=as_str(item.get("plugintype")) or as_str(item.get("type")),
        content=tuple(c for c in content.replace(" ", "").split(",") if c),
        shared=as_bool(item.get("shared")),
        used=as_int(item.get("disk", item.get("used"))),
        total=as_int(item.get("maxdisk", item.get("total"))),
        status=as_str(item.get("status"))
        or ("available" if as_bool(item.get("active", 0)) else None),
    )


@dataclass(frozen=True, slots=True)
class Resources:
    """/cluster/resources split by type; `problems` become the snapshot's warnings."""

    nodes: list[Node]
    guests: list[Guest]
    storages: list[Storage]
    problems: list[str]


def resources_from(items: Iterable[Any]) -> Resources:
    """Split /cluster/resources into nodes, guests and storages; problems come back as
    warnings."""
    nodes: list[Node] = []
    guests: list[Guest] = []
    storages: list[Storage] = []
    problems: list[str] = []
    for item in items:
        if not isinstance(item, Mapping):
            problems.append(f"ignored a resource entry that is not an object: {item!r:.60}")
            continue
        kind = item.get("type")
        try:
            if kind == "node":
                nodes.append(node_from(item))
            elif kind in ("qemu", "lxc"):
                guests.append(guest_from(item))
            elif kind == "storage":
                storages.append(storage_from(item))
        except MappingError as exc:
            problems.append(f"ignored a malformed resource entry: {exc}")
    return Resources(nodes, guests, storages, problems)


def cluster_from(status: Iterable[Any] | None, version: Mapping[str, Any] | None) -> ClusterInfo:
    """/cluster/status (may be None without Sys.Audit on /) and /version."""
    name: str | None = None
    quorate: bool | None = None
    standalone = False
    if status is not None:
        entries = [e for e in status if isinstance(e, Mapping)]
        cluster = next((e for e in entries if e.get("type") == "cluster"), None)
        if cluster is not None:
            name = as_str(cluster.get("name"))
            quorate = as_bool(cluster.get("quorate")) if "quorate" in cluster else None
        elif entries:
            standalone = True
            quorate = True  # a standalone node is its own quorum
    pve_version = as_str(version.get("version")) if version else None
    return ClusterInfo(name=name, quorate=quorate, version=pve_version, standalone=standalone)


def task_from(item: Mapping[str, Any]) -> Task:
    """A task list or status entry; the owner comes from the UPID (it keeps the token)."""
    raw = as_str(item.get("upid"))
    if not raw:
        raise MappingError("task entry without a UPID")
    try:
        upid: UPID | None = UPID.parse(raw)
    except UPIDError:
        upid = None
    user = upid.user if upid else as_str(item.get("user")) or "?"
    if upid is None and item.get("tokenid"):
        user = f"{user}!{item['tokenid']}"
    status = as_str(item.get("exitstatus")) or as_str(item.get("status"))
    if status in ("running", "RUNNING"):
        status = None
    if status == "stopped":
        status = as_str(item.get("exitstatus")) or "unexpected status"
    endtime = as_int(item.get("endtime"))
    if item.get("status") == "stopped" and endtime is None:
        endtime = 0  # finished, end time unknown
    return Task(
        upid=raw,
        node=as_str(item.get("node")) or (upid.node if upid else "?"),
        type=as_str(item.get("type")) or (upid.type if upid else "?"),
        id=as_str(item.get("id")) or (upid.id if upid else ""),
        user=user,
        starttime=as_int(item.get("starttime")) or (upid.starttime if upid else 0),
        endtime=endtime,
        status=status,
    )


def privileges_from(data: Any) -> Privileges:
    """`/access/permissions`: {path: {priv: 0|1}} (values may be bools or strings).

    Paths are read as PVE writes them (`/vms/100`), whatever the server's spelling
    (`vms/100/`); two spellings of one path hold what either holds.
    """
    if not isinstance(data, Mapping):
        raise MappingError("permissions answer is not an object")
    paths: dict[str, dict[str, bool]] = {}
    for path, privs in data.items():
        if isinstance(privs, Mapping):
            entry = paths.setdefault("/" + str(path).strip("/"), {})
            for p, flag in privs.items():
                entry[str(p)] = entry.get(str(p), False) or as_bool(flag)
    return Privileges(paths)
