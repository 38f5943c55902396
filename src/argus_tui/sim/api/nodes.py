"""Nodes: `/version`, `/nodes`, `/nodes/{node}/status` (and its reboot/shutdown POST), and
the node entry of list calls."""

from __future__ import annotations

from typing import Any

from argus_tui.sim.api.router import NODE, Request, Result, RouteTable, perm
from argus_tui.sim.metrics import unit
from argus_tui.sim.model import Node
from argus_tui.sim.nodepower import node_command
from argus_tui.sim.state import ClusterState

routes = RouteTable()


def repoid(state: ClusterState) -> str:
    """The git commit pve-manager reports: stable for a seed and version."""
    version = state.scenario.version
    return f"{int(unit(state.seed, version, 'repo') * 0xFFFFFFFF):08x}"


@routes.get("/version")
def version(req: Request) -> Result:
    version = req.state.scenario.version
    major_minor = ".".join(version.replace("-", ".").split(".")[:2])
    return Result({"version": version, "release": major_minor, "repoid": repoid(req.state)})


def node_entry(req: Request, node: Node, *, for_resources: bool) -> dict[str, Any]:
    """A node as `/nodes` and `/cluster/resources` list it (both use extract_node_stats)."""
    state = req.state
    now = state.now()
    entry: dict[str, Any] = {
        "node": node.name,
        "status": "online" if node.online else "offline",
    }
    if for_resources:
        entry = {"id": f"node/{node.name}", "type": "node", **entry}
    stale = state.node_stale(node, now)
    if not stale:
        entry["level"] = ""  # level and cgroup-mode do not need Sys.Audit (extract_node_stats)
        if for_resources:
            entry["cgroup-mode"] = 2
    if not req.can(f"/nodes/{node.name}", "Sys.Audit"):
        return entry
    if not stale:
        entry.update(maxcpu=node.cpus, maxmem=node.memory, maxdisk=node.disk)
    if node.online:
        usage = state.usage.node(node, now)
        entry.update(
            cpu=round(usage["cpu"], 6),
            mem=int(usage["mem"]),
            uptime=int(now - node.boot),
            # /nodes reports disk too: both lists are built by the same extract_node_stats.
            disk=int(usage["disk"]),
        )
    return entry


@routes.get("/nodes")
def nodes(req: Request) -> Result:
    out = []
    for node in req.state.nodes.values():
        entry = node_entry(req, node, for_resources=False)
        entry["ssl_fingerprint"] = req.state.fingerprint
        entry["type"] = "node"
        entry["id"] = f"node/{node.name}"
        out.append(entry)
    return Result(out)


@routes.get("/nodes/{node}/status", NODE, check=perm("/nodes/{node}", "Sys.Audit"), proxy=True)
def node_status(req: Request) -> Result:
    state = req.state
    node = state.nodes[req.params["node"]]
    now = state.now()
    usage = state.usage.node(node, now)
    free_mem = node.memory - int(usage["mem"])
    load = usage["cpu"] * node.cpus
    major = state.scenario.pve_major
    kernel = "6.14.11-4-pve" if major >= 9 else "6.8.12-4-pve"
    build = f"#1 SMP PREEMPT_DYNAMIC PMX {kernel} (2025-09-30T10:00Z)"
    data: dict[str, Any] = {
        "cpu": round(usage["cpu"], 6),
        "wait": round(usage["iowait"], 6),
        "idle": 0,
        "uptime": int(now - node.boot),
        "loadavg": [f"{load:.2f}", f"{load * 0.95:.2f}", f"{load * 0.9:.2f}"],
        "cpuinfo": {
            "cores": max(1, node.cpus // 2),
            "cpus": node.cpus,
            "sockets": 1,
            "model": "AMD EPYC 7302P 16-Core Processor",
            "mhz": "2999.998",
            "hvm": "1",
            "user_hz": 100,
            "flags": "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr svm",
        },
        "memory": {
            "total": node.memory,
            "used": int(usage["mem"]),
            "free": free_mem,
            "available": int(free_mem * 1.1) if free_mem > 0 else 0,
        },
        "swap": {"total": 8 * 1024**3, "used": 0, "free": 8 * 1024**3},
        "rootfs": {
            "total": node.disk,
            "used": int(usage["disk"]),
            "free": node.disk - int(usage["disk"]),
            "avail": node.disk - int(usage["disk"]),
        },
        "ksm": {"shared": 0},
        "pveversion": f"pve-manager/{state.scenario.version}/{repoid(state)}",
        "kversion": f"Linux {kernel} {build}",
        "current-kernel": {
            "sysname": "Linux",
            "release": kernel,
            "version": build,
            "machine": "x86_64",
        },
        "boot-info": {"mode": "efi", "secureboot": 0},
    }
    return Result(data)


@routes.post(
    "/nodes/{node}/status",
    f"{NODE} command:str(reboot|shutdown)",
    check=perm("/nodes/{node}", "Sys.PowerMgmt"),
    proxy=True,
)
def node_power(req: Request) -> Result:
    """Reboot or shut down the node: null at once, no task (`sim/nodepower.py` goes on)."""
    state = req.state
    node_command(state, state.nodes[req.params["node"]], req.params["command"])
    return Result(None)
