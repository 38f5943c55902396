"""The PVE REST API of the simulator: every resource module's routes over one ClusterState.

`Api.handle()` takes an authenticated request and returns what pve-manager's
`rest_handler` would: data plus an optional `total`, or a `SimError`. Routes live beside
their handlers, one module per resource; `router.py` says how to add one.
"""

from __future__ import annotations

from argus_tui.sim.api import (
    access,
    agent,
    cluster,
    console,
    content,
    guests,
    ha,
    logs,
    migrate,
    nodes,
    pools,
    power,
    rrd,
    snapshots,
    storage,
    tasks,
    vzdump,
)
from argus_tui.sim.api.router import Request, Result, Route, RouteTable
from argus_tui.sim.state import ClusterState

__all__ = ["ROUTES", "Api", "Request", "Result", "Route", "RouteTable"]

ROUTES = RouteTable.merge(
    nodes.routes,
    cluster.routes,
    ha.routes,
    tasks.routes,
    logs.routes,
    guests.routes,
    snapshots.routes,
    rrd.routes,
    power.routes,
    storage.routes,
    content.routes,
    vzdump.routes,
    access.routes,
    pools.routes,
    migrate.routes,
    agent.routes,
    console.routes,
)


class Api:
    """The whole route table bound to one ClusterState."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state
        self.routes: list[Route] = ROUTES.routes

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route serving `method path`, and the parameters its path holds."""
        return ROUTES.find(method, path)

    def handle(self, authid: str, method: str, path: str, params: dict[str, str]) -> Result:
        """Answer one authenticated request, or raise the SimError PVE would answer."""
        return ROUTES.handle(self.state, authid, method, path, params)
