"""Routing for the simulated PVE API: route tables, permission checks, dispatch, paging.

Each resource module owns one `RouteTable` and declares its endpoints beside their
handlers; `argus_tui.sim.api` merges the tables. Adding an endpoint means adding one
decorated module-level function `def handler(req: Request) -> Result` to the module of
its resource:

    @routes.get("/nodes/{node}/status", NODE, check=perm("/nodes/{node}", "Sys.Audit"),
                proxy=True)
    def node_status(req: Request) -> Result: ...

The second argument declares the parameters as PVE's schema does (`sim/params.py` has
the syntax); `check` is the schema's permission check, `proxy` its `proxyto => 'node'`.
A handler that serves several paths (a qemu and an lxc twin) carries one decorator per
path; a new resource module joins the merge in `api/__init__.py`.

`RouteTable.handle` applies the checks in pve-manager's `rest_handler` order: unknown
route (501), permission check (403), proxying to the node (500 unknown node, 595 node
down), parameter validation (400), then the handler.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from argus_tui.sim.params import Param, parse_spec, validate
from argus_tui.sim.state import ClusterState, SimError

T = TypeVar("T")

NODE = "node:str"
VMID = "vmid:int>=100<=999999999"


@dataclass(slots=True)
class Request:
    """An authenticated request whose parameters passed validation."""

    authid: str  # user@realm or user@realm!token
    method: str
    path: str
    params: dict[str, Any]
    state: ClusterState

    def can(self, path: str, *privs: str) -> bool:
        """Whether the caller holds any of `privs` on `path` (the filters of list calls)."""
        return self.state.permissions.has(self.authid, path, privs, any_of=True)


@dataclass(slots=True)
class Result:
    """What a handler answers: `data`, and `total` for the paged lists that carry it."""

    data: Any
    total: int | None = None


Handler = Callable[[Request], Result]


class Check(NamedTuple):
    """A route's permission check: privileges needed on a path filled from the parameters."""

    path: str  # template, e.g. /vms/{vmid}
    privs: tuple[str, ...]
    any_of: bool
    pve8: tuple[str, ...] = ()  # what PVE 8 checks instead (all of them), when it differs

    def for_major(self, major: int) -> Check:
        """The check of that PVE major version."""
        if major < 9 and self.pve8:
            return Check(self.path, self.pve8, False)
        return self

    def denial(self, target: str) -> SimError:
        joined = ("|" if self.any_of else ",").join(self.privs)
        return SimError(403, f"Permission check failed ({target}, {joined})")


def perm(path: str, *privs: str, any_of: bool = False, pve8: tuple[str, ...] = ()) -> Check:
    """`check => ['perm', path, [privs...]]` of PVE's schema (`any_of`: `any => 1`).

    `pve8` names the privileges PVE 8 wants instead (the guest agent's VM.Monitor).
    """
    return Check(path, tuple(privs), any_of, pve8)


@dataclass(slots=True)
class Route:
    method: str
    template: str  # PVE schema path, e.g. /nodes/{node}/status
    handler: Handler
    params: dict[str, Param]
    check: Check | None = None
    proxy: bool = False  # proxyto: node
    since: int = 0  # the PVE major version that added it (older ones answer 501)
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        # A volume id holds a '/' (`local:backup/vzdump-...`), sent encoded or not: the
        # `{volume}` of the content routes takes the rest of the path.
        pattern = re.sub(
            r"\{(\w+)\}",
            lambda m: f"(?P<{m[1]}>{'.+' if m[1] == 'volume' else '[^/]+'})",
            self.template,
        )
        self.regex = re.compile(f"^{pattern}$")


class RouteTable:
    """Routes declared with decorators; tables merge into the whole API."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self,
        method: str,
        template: str,
        handler: Handler,
        spec: str = "",
        *,
        check: Check | None = None,
        proxy: bool = False,
        since: int = 0,
    ) -> None:
        self._append(Route(method, template, handler, parse_spec(spec), check, proxy, since))

    def _append(self, route: Route) -> None:
        if any(r.method == route.method and r.template == route.template for r in self.routes):
            raise ValueError(f"route {route.method} {route.template} is declared twice")
        self.routes.append(route)

    def route(
        self,
        method: str,
        template: str,
        spec: str = "",
        *,
        check: Check | None,
        proxy: bool,
        since: int = 0,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add(method, template, handler, spec, check=check, proxy=proxy, since=since)
            return handler

        return register

    def get(
        self,
        template: str,
        spec: str = "",
        *,
        check: Check | None = None,
        proxy: bool = False,
        since: int = 0,
    ) -> Callable[[Handler], Handler]:
        return self.route("GET", template, spec, check=check, proxy=proxy, since=since)

    def post(
        self, template: str, spec: str = "", *, check: Check | None = None, proxy: bool = False
    ) -> Callable[[Handler], Handler]:
        return self.route("POST", template, spec, check=check, proxy=proxy)

    def put(
        self, template: str, spec: str = "", *, check: Check | None = None, proxy: bool = False
    ) -> Callable[[Handler], Handler]:
        return self.route("PUT", template, spec, check=check, proxy=proxy)

    def delete(
        self, template: str, spec: str = "", *, check: Check | None = None, proxy: bool = False
    ) -> Callable[[Handler], Handler]:
        return self.route("DELETE", template, spec, check=check, proxy=proxy)

    @classmethod
    def merge(cls, *tables: RouteTable) -> RouteTable:
        """One table holding every route of `tables`; a route declared twice is an error."""
        merged = cls()
        for table in tables:
            for route in table.routes:
                merged._append(route)
        return merged

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method != method:
                continue
            match = route.regex.match(path)
            if match:
                return route, match.groupdict()
        return None

    def handle(
        self, state: ClusterState, authid: str, method: str, path: str, params: dict[str, str]
    ) -> Result:
        """Answer one authenticated request as pve-manager would, or raise its SimError."""
        path = "/" + path.strip("/") if path.strip("/") else "/"
        found = self.find(method, path)
        if found is None or found[0].since > state.scenario.pve_major:
            raise SimError(501, f"Method '{method} {path}' not implemented")
        route, uri = found
        merged = dict(params)
        for key, value in uri.items():
            if key in merged and merged[key] != value:
                raise SimError(400, f"parameter '{key}' - duplicate parameter (already defined)")
            merged[key] = value
        state.tick()
        with state.lock:
            check = route.check.for_major(state.scenario.pve_major) if route.check else None
            if check is not None:
                target = check.path.format(**merged)
                if not state.permissions.has(authid, target, check.privs, any_of=check.any_of):
                    raise check.denial(target)
            if route.proxy:
                merged["node"] = _proxy_target(state, merged["node"])
            values, errors = validate(route.params, merged)
            if errors:
                raise SimError(400, "Parameter verification failed.", errors=errors)
            return route.handler(Request(authid, method, path, values, state))


def _proxy_target(state: ClusterState, name: str) -> str:
    """The node a `proxyto` call runs on: unknown names and offline nodes fail.

    `localhost` is the node that answers, as on PVE: the handler sees its real name.
    """
    node = state.nodes.get(name)
    if node is None and name != "localhost":
        raise SimError(500, f"no such cluster node '{name}'")
    if node is None:
        node = next(iter(state.nodes.values()))
    if not node.online:
        raise SimError(595, "No route to host", body=False)
    return node.name


def page(items: Sequence[T], start: int, limit: int) -> list[T]:
    """`start`/`limit` paging of PVE's task, log and syslog lists (limit 0 = all)."""
    return list(items[start : start + limit] if limit else items[start:])
