"""The context's lines: what the snapshot and the API said, as short plain text.

Pure functions, no I/O: `context` fetches, these format. Values the server did not
report show as `?`; nothing is invented.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from argus_tui.domain.format import bytes_, percent, uptime
from argus_tui.domain.models import ClusterSnapshot, Guest, Node, Task
from argus_tui.domain.snapshots import SnapshotTree
from argus_tui.domain.storage import Volume
from argus_tui.domain.text import printable

#: Recent tasks listed for a guest or node.
RECENT_TASKS = 8

# status/current fields that are structures, noise, or already in the summary
_SKIP_STATUS = frozenset(
    {
        "nics", "blockstat", "proxmox-support", "ballooninfo", "digest", "name", "vmid",
        "tags", "cpu", "cpus", "maxcpu", "mem", "maxmem", "memhost", "disk", "maxdisk",
        "netin", "netout", "diskread", "diskwrite", "uptime", "pressurecpusome",
        "pressurecpufull", "pressureiosome", "pressureiofull", "pressurememorysome",
        "pressurememoryfull",
    }
)  # fmt: skip


def count(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def ratio(used: float | None, total: float | None) -> str:
    if used is None or not total:
        return "?"
    return percent(used / total)


def fmt(field: str, value: float, total: float | None) -> str:
    """One utilisation value: cpu as a percentage, sizes in bytes (memory with its share)."""
    if field == "cpu":
        return percent(value)
    text = bytes_(value)
    if field == "mem" and total:
        text += f" ({percent(value / total)})"
    return text


def utc(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def guest_summary(guest: Guest) -> list[str]:
    kind = "VM (qemu)" if guest.type == "qemu" else "container (lxc)"
    lines = [
        f"vmid {guest.vmid}, {kind}, name {guest.label}, node {guest.node}",
        f"status {guest.status}" + (" (template)" if guest.template else ""),
        f"cpu {percent(guest.cpu)} of {count(guest.maxcpu)} cores, memory"
        f" {bytes_(guest.mem)} of {bytes_(guest.maxmem)}, uptime {uptime(guest.uptime)}",
    ]
    for label, value in (
        ("lock", guest.lock),
        ("HA state", guest.hastate),
        ("pool", guest.pool),
        ("tags", ", ".join(guest.tags)),
    ):
        if value:
            lines.append(f"{label}: {value}")
    return lines


def guest_now(guest: Guest) -> str:
    """The guest a task concerns, as it is now."""
    return (
        f"{guest.label} ({guest.type}) on {guest.node}: {guest.status}"
        + (f", lock {guest.lock}" if guest.lock else "")
        + (f", HA {guest.hastate}" if guest.hastate else "")
    )


def status_lines(current: dict[str, Any]) -> list[str]:
    """A guest's status/current, less what the summary already says."""
    lines = []
    for key, value in sorted(current.items()):
        if key in _SKIP_STATUS:
            continue
        if isinstance(value, dict):
            for sub, inner in sorted(value.items()):
                if not isinstance(inner, dict | list):
                    lines.append(f"{key}.{sub}: {inner}")
        elif not isinstance(value, list):
            lines.append(f"{key}: {value}")
    return lines


def config_lines(config: dict[str, Any]) -> list[str]:
    return [f"{k}: {v}" for k, v in sorted(config.items()) if k != "digest"]


def node_summary(node: Node) -> list[str]:
    return [
        f"status {node.status}, uptime {uptime(node.uptime)}",
        f"cpu {percent(node.cpu)} of {count(node.maxcpu)} cores",
        f"memory {bytes_(node.mem)} of {bytes_(node.maxmem)} ({ratio(node.mem, node.maxmem)})",
        f"root disk {bytes_(node.disk)} of {bytes_(node.maxdisk)}"
        f" ({ratio(node.disk, node.maxdisk)})",
    ]


def node_status_lines(status: dict[str, Any]) -> list[str]:
    """A node's /status: load, memory, swap, root disk, cpu, versions."""
    lines = []
    load = status.get("loadavg")
    if isinstance(load, list):
        lines.append(f"load average {' '.join(str(x) for x in load)}")
    for key in ("memory", "swap", "rootfs"):
        part = status.get(key)
        if isinstance(part, dict):
            lines.append(
                f"{key}: used {bytes_(part.get('used'))} of {bytes_(part.get('total'))}"
                f" ({ratio(part.get('used'), part.get('total'))})"
            )
    cpuinfo = status.get("cpuinfo")
    if isinstance(cpuinfo, dict):
        lines.append(f"cpu: {cpuinfo.get('model', '?')}, {cpuinfo.get('cpus', '?')} threads")
    for key in ("cpu", "wait", "uptime", "kversion", "pveversion"):
        if key in status:
            value = status[key]
            if key in ("cpu", "wait") and isinstance(value, int | float):
                value = percent(float(value))
            label = {"cpu": "cpu usage", "wait": "io wait"}.get(key, key)
            lines.append(f"{label}: {value}")
    return lines


def running_guests(snapshot: ClusterSnapshot, node: str, top: int = 10) -> list[str]:
    """The node's running guests, biggest memory first."""
    guests = sorted(
        (g for g in snapshot.guests if g.node == node and g.status == "running"),
        key=lambda g: g.mem or 0,
        reverse=True,
    )
    return [
        f"{g.vmid} {g.label} ({g.type}): memory {bytes_(g.mem)} of {bytes_(g.maxmem)},"
        f" cpu {percent(g.cpu)}"
        for g in guests[:top]
    ]


def task_lines(tasks: Sequence[Task]) -> list[str]:
    """The newest few tasks, one line each."""
    lines = []
    for t in tasks[:RECENT_TASKS]:
        status = "running" if t.running else (t.status or "?")
        what = f"{t.type} {t.id}".strip()
        lines.append(
            f"{utc(t.starttime)} UTC  {what} on {t.node} by {t.user}: {status}  ({t.upid})"
        )
    return lines


def task_summary(task: Task, status: dict[str, Any] | None) -> list[str]:
    """One task: who started it when, and how it ended (the server's status if read)."""
    lines = [f"upid {task.upid}", f"type {task.type}, id {task.id or '-'}, node {task.node}"]
    lines.append(f"user {task.user}")
    lines.append(f"started {utc(task.starttime)} UTC")
    if task.endtime:
        lines.append(f"ended after {task.endtime - task.starttime} s")
    if status is not None:
        lines += [f"{k}: {v}" for k, v in sorted(status.items()) if k in ("status", "exitstatus")]
    else:
        lines.append(f"status {'running' if task.running else task.status}")
    return lines


def cluster_lines(snapshot: ClusterSnapshot) -> list[str]:
    """Quorum, version, and every node's load, from the snapshot."""
    info = snapshot.cluster
    quorum = {True: "quorate", False: "NOT quorate", None: "quorum unknown"}[info.quorate]
    online = sum(1 for n in snapshot.nodes if n.online)
    lines = [
        f"cluster {info.name or '(standalone node)'}: {quorum}, Proxmox VE"
        f" {info.version or '?'}, {online} of {len(snapshot.nodes)} nodes online,"
        f" {len(snapshot.guests)} guests visible",
    ]
    for n in snapshot.nodes:
        lines.append(
            f"node {n.name}: {n.status}, cpu {percent(n.cpu)}, memory"
            f" {ratio(n.mem, n.maxmem)}, disk {ratio(n.disk, n.maxdisk)}"
        )
    lines += [f"warning: {w}" for w in snapshot.warnings]
    return lines


def corosync_lines(status: Sequence[Any]) -> list[str]:
    """/cluster/status: the cluster entry and one line per node."""
    lines = []
    for entry in status:
        if not isinstance(entry, dict):
            continue
        if entry.get("type") == "cluster":
            lines.append(
                f"cluster {entry.get('name')}: {entry.get('nodes')} nodes,"
                f" quorate {entry.get('quorate')}"
            )
        elif entry.get("type") == "node":
            lines.append(
                f"node {entry.get('name')}: online {entry.get('online')}, ip {entry.get('ip', '?')}"
            )
    return lines


def ha_lines(status: Sequence[Any]) -> list[str]:
    """/cluster/ha/status/current: one line per entry, with the fields that are set."""
    lines = []
    for entry in status:
        if not isinstance(entry, dict):
            continue
        parts = [str(entry.get("id", "?")), str(entry.get("status", ""))]
        for key in ("node", "state", "crm_state", "request_state"):
            if entry.get(key) not in (None, ""):
                parts.append(f"{key}={entry[key]}")
        lines.append(" ".join(p for p in parts if p))
    return lines or ["no HA resources configured"]


def trend_line(field: str, values: Sequence[float], total: float | None) -> str:
    low, high, mean = min(values), max(values), sum(values) / len(values)
    return (
        f"{field}: min {fmt(field, low, total)}, avg {fmt(field, mean, total)},"
        f" max {fmt(field, high, total)} ({len(values)} points)"
    )


def snapshot_lines(tree: SnapshotTree, now: float) -> list[str]:
    """The snapshot tree, one line per snapshot, indented under its parent."""
    out = []
    for depth, snap in tree.walk():
        pad = "  " * depth
        if snap.current:
            out.append(f"{pad}- current state (running: {'yes' if snap.running else 'no'})")
            continue
        when = (
            f"{utc(snap.snaptime)} ({uptime(int(now - snap.snaptime))} ago)"
            if snap.snaptime
            else "?"
        )
        extras = [e for e in ("with RAM" if snap.vmstate else "", snap.snapstate or "") if e]
        note = f" [{', '.join(extras)}]" if extras else ""
        desc = f": {printable(snap.description)}" if snap.description else ""
        out.append(f"{pad}- {printable(snap.name)}, taken {when}{note}{desc}")
    return out


def backup_line(volume: Volume, now: float) -> str:
    when = f"{utc(volume.ctime)} ({uptime(int(now - volume.ctime))} ago)" if volume.ctime else "?"
    size = bytes_(volume.size) if volume.size is not None else "size unknown"
    notes = f", notes: {printable(volume.notes)}" if volume.notes else ""
    protected = ", protected" if volume.protected else ""
    return f"{printable(volume.volid)} taken {when}, {size}{protected}{notes}"
