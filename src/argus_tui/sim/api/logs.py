"""Logs: the cluster log, and a node's syslog and journal.

The syslog is generated from the seed and the clock (so it needs no state), plus one
line for every failed task of the node.
"""

from __future__ import annotations

import time

from argus_tui.sim.api.router import NODE, Request, Result, RouteTable, page, perm
from argus_tui.sim.metrics import unit
from argus_tui.sim.state import ClusterState

routes = RouteTable()
SYS_SYSLOG = perm("/nodes/{node}", "Sys.Syslog")
_SERVICES = {
    "pvedaemon": "worker exit",
    "pveproxy": "worker 12345 finished",
    "pvestatd": "status update time (0.412 seconds)",
    "corosync": "[KNET  ] host: host: 2 (passive) best link: 0 (pri: 1)",
    "pmxcfs": "[status] notice: received log",
    "cron": "(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
}
_SYSLOG_LINES = 200
_SYSLOG_SPACING = 37  # seconds between generated lines


@routes.get("/cluster/log", "max:int?>=1")
def cluster_log(req: Request) -> Result:
    """Newest first; without Sys.Syslog on / only the caller's own entries."""
    state = req.state
    limit = req.params.get("max", 50)
    full = req.can("/", "Sys.Syslog")
    entries = []
    for index, item in enumerate(reversed(state.cluster_log)):
        if not full and item["user"] != req.authid:
            continue
        uid = len(state.cluster_log) - index
        entries.append({"uid": uid, "id": f"{uid}:{item['node']}", **item})
        if len(entries) >= limit:
            break
    return Result(entries)


def syslog_lines(state: ClusterState, node: str) -> list[str]:
    lines = []
    now = int(state.now())
    services = tuple(_SERVICES)
    for i in range(_SYSLOG_LINES):
        t = now - (_SYSLOG_LINES - i) * _SYSLOG_SPACING
        svc = services[int(unit(state.seed, node, f"svc{i}") * len(services))]
        lines.append(f"{_syslog_time(t)} {node} {svc}[{1000 + i}]: {_SERVICES[svc]}")
    for key in state.task_order:
        task = state.tasks[key]
        if task.node == node and task.outcome in ("warning", "error"):
            stamp = _syslog_time(task.endtime or now)
            lines.append(
                f"{stamp} {node} pvedaemon[{task.upid.pid}]: {task.upid.type} "
                f"{task.upid.id} failed: {task.exitstatus}"
            )
    return lines


@routes.get(
    "/nodes/{node}/syslog",
    f"{NODE} limit:int?>=0 service:str?<=128 since:str? start:int?>=0 until:str?",
    check=SYS_SYSLOG,
    proxy=True,
)
def syslog(req: Request) -> Result:
    lines = syslog_lines(req.state, req.params["node"])
    service = req.params.get("service")
    if service:
        lines = [line for line in lines if f" {service}[" in line]
    start = req.params.get("start", 0)
    chosen = page(lines, start, req.params.get("limit", 50))
    return Result(
        [{"n": start + i + 1, "t": text} for i, text in enumerate(chosen)], total=len(lines)
    )


@routes.get(
    "/nodes/{node}/journal",
    f"{NODE} endcursor:str? lastentries:int?>=0 since:int?>=0 startcursor:str? until:int?>=0",
    check=SYS_SYSLOG,
    proxy=True,
)
def journal(req: Request) -> Result:
    lines = syslog_lines(req.state, req.params["node"])
    last = req.params.get("lastentries") or 50
    chosen = lines[-last:]
    cursor = f"s=0a1b2c3d;i={len(lines):x}"
    return Result([f"{cursor};start", *chosen, f"{cursor};end"])


def _syslog_time(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))
