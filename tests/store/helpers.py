"""Hand-built ClusterSnapshots for the history tests (no simulator, no mocks)."""

from __future__ import annotations

from typing import Any

from argus_tui.domain.models import ClusterInfo, ClusterSnapshot, Guest, Node, Privileges

T0 = 1_789_999_200.0  # a fixed, hour-aligned "now"


def node(name: str, status: str = "online", cpu: float = 0.25, mem: int = 8 << 30) -> Node:
    return Node(name=name, status=status, cpu=cpu, maxcpu=16, mem=mem, maxmem=64 << 30,
                disk=100 << 30, maxdisk=1 << 40)  # fmt: skip


def guest(
    vmid: int,
    status: str = "running",
    node_name: str = "pve1",
    name: str | None = None,
    *,
    cpu: float = 0.5,
    mem: int = 1 << 30,
    counters: int = 0,
    type_: str = "qemu",
    **extra: Any,
) -> Guest:
    """A guest whose cumulative counters (netin etc.) are `counters`."""
    running = status == "running"
    return Guest(
        vmid=vmid,
        type="lxc" if type_ == "lxc" else "qemu",
        node=node_name,
        status=status,
        name=name if name is not None else f"g{vmid}",
        cpu=cpu if running else 0.0,
        maxcpu=2,
        mem=mem if running else 0,
        maxmem=4 << 30,
        disk=10 << 30,
        maxdisk=32 << 30,
        netin=counters if running else 0,
        netout=2 * counters if running else 0,
        diskread=3 * counters if running else 0,
        diskwrite=4 * counters if running else 0,
        **extra,
    )


def snapshot(guests: list[Guest], nodes: list[Node] | None = None) -> ClusterSnapshot:
    nodes = nodes if nodes is not None else [node("pve1"), node("pve2")]
    return ClusterSnapshot(
        cluster=ClusterInfo(name="lab", quorate=True, version="9.1.2"),
        nodes=tuple(nodes),
        guests=tuple(guests),
        privileges=Privileges(),
    )


def big_snapshot(n: int, *, tick: int = 0, nodes: int = 50) -> ClusterSnapshot:
    """n running guests on `nodes` nodes; `tick` moves cpu and the counters."""
    return snapshot(
        [
            guest(
                1000 + i,
                node_name=f"pve{i % nodes + 1:02d}",
                cpu=((i + tick) % 100) / 100,
                counters=tick * 1000 * (i % 7 + 1),
            )
            for i in range(n)
        ],
        [node(f"pve{i + 1:02d}") for i in range(nodes)],
    )
