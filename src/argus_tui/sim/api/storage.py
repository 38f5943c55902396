"""Storage: `/nodes/{node}/storage`, and the storage entries of `/cluster/resources`.

Both read the `Storage` objects of `ClusterState`. The node list needs Datastore.Audit or
Datastore.AllocateSpace on the storage (PVE's list filter); resources only the first.
"""

from __future__ import annotations

from typing import Any

from argus_tui.sim.api.router import NODE, Request, Result, RouteTable
from argus_tui.sim.model import Storage

routes = RouteTable()


def resource_entries(req: Request) -> list[dict[str, Any]]:
    state = req.state
    now = state.now()
    out: list[dict[str, Any]] = []
    for storage in state.node_storages():
        if not req.can(f"/storage/{storage.id}", "Datastore.Audit"):
            continue
        node = state.nodes[storage.node]
        entry: dict[str, Any] = {
            "id": storage.key,
            "type": "storage",
            "storage": storage.id,
            "node": storage.node,
            "plugintype": storage.plugin,
            "shared": 1 if storage.shared else 0,
            "content": storage.content,
            "status": "available" if node.online else "unknown",
        }
        if node.online or not state.node_stale(node, now):
            entry.update(disk=storage.used, maxdisk=storage.total)
        out.append(entry)
    return out


def _status_entry(storage: Storage) -> dict[str, Any]:
    return {
        "storage": storage.id,
        "type": storage.plugin,
        "content": storage.content,
        "shared": 1 if storage.shared else 0,
        "active": 1,
        "enabled": 1,
        "total": storage.total,
        "used": storage.used,
        "avail": storage.total - storage.used,
        "used_fraction": round(storage.used / storage.total, 6),
    }


@routes.get(
    "/nodes/{node}/storage",
    f"{NODE} content:str? enabled:bool?=0 format:bool?=0 storage:str? target:str?",
    proxy=True,
)
def storage_list(req: Request) -> Result:
    found = [
        s
        for s in req.state.node_storages(req.params["node"])
        if req.can(f"/storage/{s.id}", "Datastore.Audit", "Datastore.AllocateSpace")
    ]
    if "storage" in req.params:
        found = [s for s in found if s.id == req.params["storage"]]
    if "content" in req.params:
        wanted = set(str(req.params["content"]).split(","))
        found = [s for s in found if s.holds(wanted)]
    return Result([_status_entry(s) for s in found])
