"""Storage: storage.cfg (`/storage`), a node's storages and their status, and the storage
entries of `/cluster/resources`.

All read the `Storage` objects of `ClusterState`. Lists need Datastore.Audit or
Datastore.AllocateSpace on the storage (PVE's list filter); resources only the first.
"""

from __future__ import annotations

from typing import Any

from argus_tui.sim.api.router import NODE, Request, Result, RouteTable, perm
from argus_tui.sim.state import ClusterState, SimError
from argus_tui.sim.storage import Storage, storage_digest

routes = RouteTable()
STORAGE = "storage:str@pve-storage-id"
READ_STORAGE = perm("/storage/{storage}", "Datastore.Audit", "Datastore.AllocateSpace", any_of=True)
_TYPES = "btrfs|cephfs|cifs|dir|esxi|iscsi|iscsidirect|lvm|lvmthin|nfs|pbs|rbd|zfs|zfspool"


def find_storage(state: ClusterState, sid: str) -> Storage:
    """The storage.cfg entry `sid`; PVE's storage_config dies with this text otherwise."""
    storage = state.storages.get(sid)
    if storage is None:
        raise SimError(500, f"storage '{sid}' does not exist")
    return storage


def resource_entries(req: Request) -> list[dict[str, Any]]:
    state = req.state
    now = state.now()
    out: list[dict[str, Any]] = []
    for node, storage in state.node_storages():
        if not req.can(f"/storage/{storage.id}", "Datastore.Audit"):
            continue
        entry: dict[str, Any] = {
            "id": f"storage/{node.name}/{storage.id}",
            "type": "storage",
            "storage": storage.id,
            "node": node.name,
            "plugintype": storage.type,
            "shared": 1 if storage.shared else 0,
            "content": storage.content_text,
            "status": "available" if node.online else "unknown",
        }
        if node.online or not state.node_stale(node, now):
            volumes = storage.on(node.name)
            entry.update(disk=volumes.used, maxdisk=volumes.total)
        out.append(entry)
    return out


def _status_entry(storage: Storage, node: str) -> dict[str, Any]:
    volumes = storage.on(node)
    return {
        "type": storage.type,
        "content": storage.content_text,
        "shared": 1 if storage.shared else 0,
        "active": 1,
        "enabled": 1,
        "total": volumes.total,
        "used": volumes.used,
        "avail": volumes.total - volumes.used,
    }


@routes.get(
    "/nodes/{node}/storage",
    f"{NODE} content:str? enabled:bool?=0 format:bool?=0 storage:str? target:str?",
    proxy=True,
)
def storage_list(req: Request) -> Result:
    node = req.params["node"]
    found = [
        s
        for _, s in req.state.node_storages(node)
        if req.can(f"/storage/{s.id}", "Datastore.Audit", "Datastore.AllocateSpace")
    ]
    if "storage" in req.params:
        found = [s for s in found if s.id == req.params["storage"]]
    if "content" in req.params:
        wanted = set(str(req.params["content"]).split(","))
        found = [s for s in found if s.holds(wanted)]
    out = []
    for storage in found:
        entry = {"storage": storage.id, **_status_entry(storage, node)}
        entry["used_fraction"] = round(entry["used"] / entry["total"], 6)
        out.append(entry)
    return Result(out)


@routes.get(
    "/nodes/{node}/storage/{storage}/status", f"{NODE} {STORAGE}", check=READ_STORAGE, proxy=True
)
def storage_status(req: Request) -> Result:
    """One storage as this node sees it; PVE's storage_info knows only the node's own."""
    storage = req.state.storages.get(req.params["storage"])
    if storage is None or not storage.available_on(req.params["node"]):
        raise SimError(
            400, "Parameter verification failed.", errors={"storage": "No such storage."}
        )
    return Result(_status_entry(storage, req.params["node"]))


@routes.get("/storage", f"type:str?({_TYPES})")
def storage_config(req: Request) -> Result:
    """storage.cfg, the entries the caller may see; `digest` is the whole file's."""
    storages = list(req.state.storages.values())
    digest = storage_digest(storages)
    out = []
    for storage in storages:
        if "type" in req.params and storage.type != req.params["type"]:
            continue
        if req.can(f"/storage/{storage.id}", "Datastore.Audit", "Datastore.AllocateSpace"):
            out.append(storage.config_entry(digest))
    return Result(out)


@routes.get("/storage/{storage}", STORAGE, check=perm("/storage/{storage}", "Datastore.Allocate"))
def storage_read(req: Request) -> Result:
    state = req.state
    storage = find_storage(state, req.params["storage"])
    return Result(storage.config_entry(storage_digest(list(state.storages.values()))))
