"""Access control: `/access/permissions` and `/access/roles`."""

from __future__ import annotations

from typing import Any

from argus_tui.sim.api.router import Request, Result, RouteTable
from argus_tui.sim.roles import builtin_roles
from argus_tui.sim.state import SimError

routes = RouteTable()


@routes.get("/access/permissions", "path:str? userid:str?")
def access_permissions(req: Request) -> Result:
    """The caller's privileges, or another subject's: that needs Sys.Audit on /access,
    except for a user asking about its own tokens."""
    state = req.state
    target = req.params.get("userid") or req.authid
    if target != req.authid:
        owner = target.split("!", 1)[0]
        own_token = "!" in target and owner == req.authid
        if not own_token and not req.can("/access", "Sys.Audit"):
            raise SimError(403, "Permission check failed (/access, Sys.Audit)")
    listing = state.scenario.permissions_listing
    return Result(state.permissions.listing(target, req.params.get("path"), listing))


@routes.get("/access/roles")
def access_roles(req: Request) -> Result:
    """Every role of the scenario; PVE marks its built-in ones `special`."""
    roles = req.state.scenario.roles
    builtin = builtin_roles(req.state.scenario.pve_major)
    out = []
    for role, privs in sorted(roles.items()):
        entry: dict[str, Any] = {"roleid": role, "privs": ",".join(sorted(privs))}
        if role in builtin:
            entry["special"] = 1
        out.append(entry)
    return Result(out)
