"""The rules that turn two pictures of a cluster into changes (started, migrated, ...).

Pure and shared by every backend: a backend keeps the last picture per profile (`State`),
calls `observe` on each refresh and, when the picture moved, stores what `diff` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from argus_tui.domain.models import ClusterSnapshot

from .records import Change

#: What a change is derived from, per guest: status, node, name, type.
GuestState = tuple[str, str, str | None, str]


@dataclass(slots=True)
class State:
    """The last picture of one profile: guest states by vmid, node statuses by name."""

    guests: dict[int, GuestState] = field(default_factory=dict)
    nodes: dict[str, str] = field(default_factory=dict)


def observe(snapshot: ClusterSnapshot, last: State) -> State:
    """What the snapshot says, with "unknown" (offline node) keeping the last known value."""
    guests: dict[int, GuestState] = {}
    for g in snapshot.guests:
        status, name = g.status, g.name
        if status == "unknown" or name is None:
            old = last.guests.get(g.vmid)
            if old is not None:
                status = old[0] if status == "unknown" else status
                name = old[2] if name is None else name
        guests[g.vmid] = (status, g.node, name, g.type)
    nodes: dict[str, str] = {}
    for n in snapshot.nodes:
        status = n.status
        if status not in ("online", "offline"):
            status = last.nodes.get(n.name, status)
        nodes[n.name] = status
    return State(guests, nodes)


def subject(vmid: int, state: GuestState) -> str:
    """How a change names its guest: "VM 101 (web)", "CT 200" (no name known)."""
    word = "CT" if state[3] == "lxc" else "VM"
    return f"{word} {vmid} ({state[2]})" if state[2] else f"{word} {vmid}"


def diff(old: State, new: State, when: float) -> list[Change]:
    """The changes from `old` to `new`, nodes first, then guests by vmid; all at `when`."""
    out: list[Change] = []

    def add(kind: str, subj: str, detail: str, vmid: int | None, node: str | None) -> None:
        out.append(Change(when, kind, subj, detail, vmid, node))

    for host in sorted(new.nodes):
        up, before = new.nodes[host], old.nodes.get(host)
        if before is None:
            add("node-added", f"node {host}", up, None, host)
        elif up != before:
            kind = {"offline": "node-offline", "online": "node-online"}.get(up, "node-status")
            add(kind, f"node {host}", f"{before} → {up}", None, host)
    for host in sorted(old.nodes.keys() - new.nodes.keys()):
        add("node-gone", f"node {host}", "", None, host)
    for vmid in sorted(new.guests):
        state = new.guests[vmid]
        status, node, name, _ = state
        prev = old.guests.get(vmid)
        if prev is None:
            add("created", subject(vmid, state), f"on {node}, {status}", vmid, node)
            continue
        if node != prev[1]:
            add("migrated", subject(vmid, state), f"{prev[1]} → {node}", vmid, node)
        if status != prev[0]:
            if status == "running" and prev[0] in ("paused", "suspended"):
                add("resumed", subject(vmid, state), f"on {node}", vmid, node)
            elif status == "running":
                add("started", subject(vmid, state), f"on {node}", vmid, node)
            elif status == "stopped":
                add("stopped", subject(vmid, state), f"on {node}", vmid, node)
            else:
                add("status", subject(vmid, state), f"{prev[0]} → {status}", vmid, node)
        if name and prev[2] and name != prev[2]:
            add("renamed", subject(vmid, state), f"{prev[2]} → {name}", vmid, node)
    for vmid in sorted(old.guests.keys() - new.guests.keys()):
        prev = old.guests[vmid]
        add("gone", subject(vmid, prev), f"was on {prev[1]}", vmid, prev[1])
    return out
