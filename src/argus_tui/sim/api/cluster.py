"""The cluster: `/cluster/status`, `/cluster/resources`, `/cluster/nextid`, backup jobs."""

from __future__ import annotations

from typing import Any

from argus_tui.sim.api import storage
from argus_tui.sim.api.guests import resource_entry
from argus_tui.sim.api.nodes import node_entry
from argus_tui.sim.api.router import Request, Result, RouteTable, perm
from argus_tui.sim.state import SimError

routes = RouteTable()
SYS_AUDIT = perm("/", "Sys.Audit")


@routes.get("/cluster/status", check=SYS_AUDIT)
def cluster_status(req: Request) -> Result:
    state = req.state
    sc = state.scenario
    online = [n for n in state.nodes.values() if n.online]
    out: list[dict[str, Any]] = []
    local = next(iter(online), None)
    if sc.cluster_name:
        out.append(
            {
                "type": "cluster",
                "id": "cluster",
                "name": sc.cluster_name,
                "nodes": len(state.nodes),
                "quorate": 1 if len(online) * 2 > len(state.nodes) else 0,
                "version": 3 + len(state.nodes),
            }
        )
    for node in state.nodes.values():
        out.append(
            {
                "type": "node",
                "id": f"node/{node.name}",
                "name": node.name,
                "nodeid": node.nodeid,
                "ip": node.ip,
                "online": 1 if node.online else 0,
                "local": 1 if node is local else 0,
                "level": "",
            }
        )
    return Result(out)


@routes.get("/cluster/resources", "type:str?(vm|storage|node|sdn)")
def cluster_resources(req: Request) -> Result:
    """Everything the caller may see: nodes, guests, storage, SDN zones, then pools."""
    state = req.state
    wanted = req.params.get("type")
    now = state.now()
    out: list[dict[str, Any]] = []
    if wanted in (None, "node"):
        out.extend(node_entry(req, n, for_resources=True) for n in state.nodes.values())
    if wanted in (None, "vm"):
        for guest in state.guests.values():
            if req.can(f"/vms/{guest.vmid}", "VM.Audit"):
                out.append(resource_entry(req, guest, now))
    if wanted in (None, "storage"):
        out.extend(storage.resource_entries(req))
    if wanted in (None, "sdn"):
        for node in state.nodes.values():
            if req.can("/sdn/zones/localnetwork", "SDN.Audit"):
                out.append(
                    {
                        "id": f"sdn/{node.name}/localnetwork",
                        "type": "sdn",
                        "sdn": "localnetwork",
                        "node": node.name,
                        "status": "ok" if node.online else "unknown",
                    }
                )
    if wanted is None:
        for pool in state.scenario.pools:
            if req.can(f"/pool/{pool}", "Pool.Audit"):
                out.append({"id": f"/pool/{pool}", "type": "pool", "pool": pool})
    return Result(out)


@routes.get("/cluster/nextid", "vmid:int?>=100<=999999999")
def nextid(req: Request) -> Result:
    wanted = req.params.get("vmid")
    if wanted is not None:
        if wanted in req.state.guests:
            raise SimError(400, f"VM {wanted} already exists")
        return Result(wanted)
    vmid = 100
    while vmid in req.state.guests:
        vmid += 1
    return Result(str(vmid))  # PVE returns the id as a string here


@routes.get("/cluster/backup", check=SYS_AUDIT)
def backup_jobs(req: Request) -> Result:
    now = req.state.now()
    return Result(
        [
            {
                "id": job.id,
                "type": "vzdump",
                "enabled": 1 if job.enabled else 0,
                "schedule": job.schedule,
                "storage": job.storage,
                "mode": job.mode,
                "all": 1 if job.all else 0,
                "compress": job.compress,
                "next-run": job.next_run(now),
            }
            for job in req.state.backup_jobs
        ]
    )
