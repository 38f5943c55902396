"""High availability: the HA manager's status and its resources (HA-managed guests)."""

from __future__ import annotations

import time
from typing import Any

from argus_tui.sim.api.router import Request, Result, RouteTable, perm
from argus_tui.sim.metrics import unit
from argus_tui.sim.model import Guest

routes = RouteTable()
SYS_AUDIT = perm("/", "Sys.Audit")


def _sid(guest: Guest) -> str:
    """The HA service id: vm:100 or ct:200."""
    return f"{'vm' if guest.type == 'qemu' else 'ct'}:{guest.vmid}"


@routes.get("/cluster/ha/status/current", check=SYS_AUDIT)
def ha_status(req: Request) -> Result:
    state = req.state
    now = int(state.now())
    online = [n for n in state.nodes.values() if n.online]
    quorate = len(online) * 2 > len(state.nodes)
    master = online[0].name if online else next(iter(state.nodes))
    out: list[dict[str, Any]] = [
        {
            "id": "quorum",
            "type": "quorum",
            "node": master,
            "status": "OK" if quorate else "No quorum on node",
            "quorate": 1 if quorate else 0,
        },
        {
            "id": f"master/{master}",
            "type": "master",
            "node": master,
            "status": f"{master} (active, {_ctime(now)})",
            "timestamp": now,
        },
    ]
    for node in state.nodes.values():
        mode = "active" if node.online else "old timestamp - dead?"
        out.append(
            {
                "id": f"lrm/{node.name}",
                "type": "lrm",
                "node": node.name,
                "status": f"{node.name} ({mode}, {_ctime(now)})",
                "timestamp": now if node.online else int(node.offline_since or now),
            }
        )
    for guest in state.guests.values():
        if not guest.ha:
            continue
        sid = _sid(guest)
        out.append(
            {
                "id": f"service:{sid}",
                "type": "service",
                "sid": sid,
                "node": guest.node,
                "state": guest.hastate or "stopped",
                "request_state": _requested(guest),
                "crm_state": guest.hastate or "stopped",
                "max_relocate": 1,
                "max_restart": 1,
                "status": f"{sid} ({guest.node}, {guest.hastate or 'stopped'})",
            }
        )
    return Result(out)


@routes.get("/cluster/ha/resources", "type:str?(ct|vm)", check=SYS_AUDIT)
def ha_resources(req: Request) -> Result:
    wanted = req.params.get("type")
    out = []
    for guest in req.state.guests.values():
        if not guest.ha:
            continue
        kind = "vm" if guest.type == "qemu" else "ct"
        if wanted and wanted != kind:
            continue
        out.append(
            {
                "sid": _sid(guest),
                "type": kind,
                "state": _requested(guest),
                "digest": f"{int(unit(req.state.seed, str(guest.vmid), 'ha') * 2**40):010x}",
                "max_relocate": 1,
                "max_restart": 1,
            }
        )
    return Result(out)


def _requested(guest: Guest) -> str:
    """The state asked of the HA manager: still `started` while it migrates, freezes or
    recovers the guest."""
    return "stopped" if guest.hastate in (None, "stopped", "request_stop", "error") else "started"


def _ctime(t: int) -> str:
    return time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(t))
