"""Pools: `/pools` and `/pools/{poolid}` with their guest members."""

from __future__ import annotations

from typing import Any

from argus_tui.sim.api.guests import resource_entry
from argus_tui.sim.api.router import Request, Result, RouteTable, perm
from argus_tui.sim.state import SimError

routes = RouteTable()
POOL_TYPE = "type:str?(qemu|lxc|storage)"


def _members(req: Request, pool: str, kind: str | None) -> list[dict[str, Any]]:
    members = []
    now = req.state.now()
    for guest in req.state.guests.values():
        if guest.pool != pool or (kind and guest.type != kind):
            continue
        if not req.can(f"/vms/{guest.vmid}", "VM.Audit"):
            continue
        # Pool.pm lists members with extract_vm_stats: the cluster/resources fields.
        members.append(resource_entry(req, guest, now))
    return members


@routes.get("/pools", f"poolid:str? {POOL_TYPE}")
def pools(req: Request) -> Result:
    """The pools the caller may audit; with `poolid`, that pool's members too."""
    wanted = req.params.get("poolid")
    out = []
    for pool in req.state.scenario.pools:
        if wanted and pool != wanted:
            continue
        if not req.can(f"/pool/{pool}", "Pool.Audit"):
            continue
        entry: dict[str, Any] = {"poolid": pool}
        if wanted:
            entry["members"] = _members(req, pool, req.params.get("type"))
        out.append(entry)
    return Result(out)


@routes.get(
    "/pools/{poolid}", f"poolid:str {POOL_TYPE}", check=perm("/pool/{poolid}", "Pool.Audit")
)
def pool(req: Request) -> Result:
    pool = req.params["poolid"]
    if pool not in req.state.scenario.pools:
        raise SimError(500, f"pool '{pool}' does not exist")
    return Result({"members": _members(req, pool, req.params.get("type"))})
