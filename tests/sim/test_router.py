"""The router on its own: a route declared with a decorator, PVE's order of checks, paging."""

from __future__ import annotations

import re

import pytest
from tests.conftest import FROZEN_EPOCH

from argus_tui.sim.api.router import NODE, Request, Result, RouteTable, page, perm
from argus_tui.sim.scenario import scenario_from_dict
from argus_tui.sim.state import ClusterState, SimClock, SimError

SCENARIO = {
    "cluster": {"name": "lab"},
    "node": [{"name": "pve1"}, {"name": "pve2", "status": "offline"}],
    "user": [{"id": "eve@pve"}],
}


def _table() -> RouteTable:
    table = RouteTable()

    @table.get(
        "/nodes/{node}/echo",
        f"{NODE} n:int?>=1",
        check=perm("/nodes/{node}", "Sys.Audit"),
        proxy=True,
    )
    def echo(req: Request) -> Result:
        return Result(req.params, total=1)

    return table


def _answer(authid: str, path: str, **params: str) -> Result | tuple[int, str]:
    state = ClusterState(scenario_from_dict(SCENARIO), SimClock(FROZEN_EPOCH, frozen=True))
    try:
        return _table().handle(state, authid, "GET", path, params)
    except SimError as exc:
        return exc.status, exc.reason


def test_a_decorated_function_serves_its_route() -> None:
    result = _answer("root@pam", "/nodes/pve1/echo/", n="2")
    assert isinstance(result, Result)
    assert (result.data, result.total) == ({"node": "pve1", "n": 2}, 1)


@pytest.mark.parametrize(
    ("authid", "path", "params", "expected"),
    [
        (
            "root@pam",
            "/nodes/pve1/nope",
            {},
            (501, "Method 'GET /nodes/pve1/nope' not implemented"),
        ),
        (
            "root@pam",
            "/nodes/pve1/echo",
            {"node": "pve2"},
            (400, "parameter 'node' - duplicate parameter (already defined)"),
        ),
        # The permission check comes before the node is looked up ...
        (
            "eve@pve",
            "/nodes/nosuch/echo",
            {},
            (403, "Permission check failed (/nodes/nosuch, Sys.Audit)"),
        ),
        # ... which comes before the parameters are validated.
        ("root@pam", "/nodes/nosuch/echo", {"n": "0"}, (500, "no such cluster node 'nosuch'")),
        ("root@pam", "/nodes/pve2/echo", {"n": "0"}, (595, "No route to host")),
        ("root@pam", "/nodes/pve1/echo", {"n": "0"}, (400, "Parameter verification failed.")),
    ],
)
def test_checks_run_in_pve_order(
    authid: str, path: str, params: dict[str, str], expected: tuple[int, str]
) -> None:
    assert _answer(authid, path, **params) == expected


def test_a_route_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("GET /nodes/{node}/echo is declared twice")):
        RouteTable.merge(_table(), _table())


def test_page_takes_start_and_limit_with_zero_meaning_all() -> None:
    items = list(range(10))
    assert page(items, 0, 3) == [0, 1, 2]
    assert page(items, 8, 5) == [8, 9]
    assert page(items, 4, 0) == [4, 5, 6, 7, 8, 9]
    assert page(items, 12, 2) == []
