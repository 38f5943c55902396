"""Error responses as pve-http-server sends them: status, reason phrase and body.

Clients must read both the reason phrase (the only message before libpve-http-server-perl
5.2.0) and the JSON `message`, and auth failures have no body at all (docs/proxmox.md,
Wire protocol and errors). The expected texts below are the ones in
`responses/derived/errors.derived.json`; the last test checks them against that file when
the contract is available.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from argus_tui.sim import certs
from argus_tui.sim.demo import demo_data
from argus_tui.sim.scenario import scenario_from_dict
from argus_tui.sim.server import Simulator
from argus_tui.sim.state import SimClock
from tests.conftest import FROZEN_EPOCH
from tests.contract.conftest import Wire
from tests.contract.pve_schema import load_response

AUDITOR_TOKEN = "auditor@pve!ro"
AUDITOR_SECRET = "0a0d1700-0000-4000-8000-000000000002"
NODE = "pve-a"


@pytest.fixture(scope="module")
def error_sim(cert_bundle: certs.CertBundle) -> Iterator[Simulator]:
    """The demo plus a read-only token (PVEAuditor on /) that permission checks refuse."""
    data = demo_data()
    data["user"].append({"id": "auditor@pve"})
    data["token"].append({"id": AUDITOR_TOKEN, "secret": AUDITOR_SECRET, "privsep": False})
    data["acl"].append({"path": "/", "subject": "auditor@pve", "role": "PVEAuditor"})
    clock = SimClock(FROZEN_EPOCH, frozen=True)
    sim = Simulator(scenario_from_dict(data), port=0, clock=clock, bundle=cert_bundle).start()
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def admin(error_sim: Simulator) -> Wire:
    """The demo token: errors it gets come from the handler, not permissions."""
    return Wire(error_sim, error_sim.token_id, error_sim.token_secret)


@pytest.fixture(scope="module")
def auditor(error_sim: Simulator) -> Wire:
    """A read-only token for the 403 cases."""
    return Wire(error_sim, AUDITOR_TOKEN, AUDITOR_SECRET)


@dataclass(frozen=True, slots=True)
class Case:
    """One error as the derived catalogue describes it, and how to provoke it here."""

    name: str  # the `case` text in errors.derived.json
    who: str  # "admin", "auditor", "bad-secret" or "anonymous"
    method: str
    path: str
    params: dict[str, Any]
    status: int
    reason: str
    errors: dict[str, str] | None = None  # the 400 `errors` object
    has_body: bool = True


CASES = [
    Case(
        "bad/unknown/expired API token",
        "bad-secret",
        "GET",
        "/version",
        {},
        401,
        "Authentication failed!",
        has_body=False,
    ),
    Case(
        "no Authorization header / no ticket",
        "anonymous",
        "GET",
        "/version",
        {},
        401,
        "No ticket",
        has_body=False,
    ),
    Case(
        "permission check failed (schema check)",
        "auditor",
        "POST",
        f"/nodes/{NODE}/qemu/100/status/start",
        {},
        403,
        "Permission check failed (/vms/100, VM.PowerMgmt)",
    ),
    Case(
        "parameter verification failed",
        "admin",
        "GET",
        f"/nodes/{NODE}/rrddata",
        {},
        400,
        "Parameter verification failed.",
        errors={"timeframe": "property is missing and it is not optional"},
    ),
    Case(
        "VM/CT config does not exist (caller has rights on the path)",
        "admin",
        "GET",
        f"/nodes/{NODE}/qemu/999/status/current",
        {},
        500,
        f"Configuration file 'nodes/{NODE}/qemu-server/999.conf' does not exist",
    ),
    Case(
        "unknown node name",
        "admin",
        "GET",
        "/nodes/pve9/status",
        {},
        500,
        "no such cluster node 'pve9'",
    ),
    Case(
        "unknown API path",
        "admin",
        "GET",
        f"/nodes/{NODE}/foo",
        {},
        501,
        f"Method 'GET /nodes/{NODE}/foo' not implemented",
    ),
]


def _send(case: Case, sim: Simulator) -> requests.Response:
    if case.who == "auditor":
        wire = Wire(sim, AUDITOR_TOKEN, AUDITOR_SECRET)
    elif case.who == "bad-secret":
        wire = Wire(sim, sim.token_id, "not-the-secret")
    else:
        wire = Wire(sim, sim.token_id, sim.token_secret)
    headers = {} if case.who == "anonymous" else None
    return wire.request(case.method, case.path, case.params, headers=headers)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.status}-{c.who}")
def test_error_response(case: Case, error_sim: Simulator) -> None:
    """Status, reason phrase and body exactly as pve-http-server writes them."""
    resp = _send(case, error_sim)
    assert (resp.status_code, resp.reason) == (case.status, case.reason)
    if not case.has_body:
        assert resp.content == b""  # no JSON at all, not even {"data": null}
        return
    assert resp.headers["Content-Type"].startswith("application/json")
    expected: dict[str, Any] = {"data": None, "message": case.reason + "\n"}
    if case.errors is not None:
        expected["errors"] = case.errors
    assert resp.json() == expected


def test_parameter_errors_use_pve_wording(admin: Wire) -> None:
    """Per-parameter texts of PVE::JSONSchema, each keyed by the offending parameter."""
    resp = admin.request(
        "GET",
        f"/nodes/{NODE}/rrddata",
        {"timeframe": "x", "cf": "AVERAGE", "bogus": "1"},
    )
    assert (resp.status_code, resp.reason) == (400, "Parameter verification failed.")
    assert resp.json()["errors"] == {
        "timeframe": "value 'x' does not have a value in the enumeration "
        "'hour, day, week, month, year, decade'",
        "bogus": "property is not defined in schema and the schema does not allow additional"
        " properties",
    }
    resp = admin.request("GET", f"/nodes/{NODE}/tasks", {"limit": "abc"})
    assert resp.json()["errors"] == {"limit": "type check ('integer') failed - got 'abc'"}


def test_missing_container_names_the_lxc_config(admin: Wire) -> None:
    """LXC's variant of the missing-config 500 names `nodes/<node>/lxc/<vmid>.conf`."""
    resp = admin.request("GET", f"/nodes/{NODE}/lxc/999/status/current")
    reason = f"Configuration file 'nodes/{NODE}/lxc/999.conf' does not exist"
    assert (resp.status_code, resp.reason) == (500, reason)
    assert resp.json() == {"data": None, "message": reason + "\n"}


def test_permission_check_comes_before_the_missing_guest(auditor: Wire) -> None:
    """Without rights on /vms/999 the caller gets the 403, never learning the VM is absent."""
    resp = auditor.request("POST", f"/nodes/{NODE}/qemu/999/status/start")
    assert (resp.status_code, resp.reason) == (
        403,
        "Permission check failed (/vms/999, VM.PowerMgmt)",
    )


def test_cases_match_the_derived_catalogue() -> None:
    """The texts above are the derived catalogue's, with its node name `pve1` for ours."""
    catalogue = {c["case"]: c for c in load_response("derived/errors.derived.json")["cases"]}
    problems: list[str] = []
    for case in CASES:
        derived = catalogue.get(case.name)
        if derived is None:
            problems.append(f"{case.name!r} is not in errors.derived.json")
            continue
        reason = derived["reason"].replace("pve1", NODE)
        if (derived["status"], reason) != (case.status, case.reason):
            problems.append(f"{case.name}: catalogue {derived['status']} {reason!r}")
        body = derived["body"]
        shape = None if body is None else (body.get("errors"), body["message"])
        wanted = (case.errors, derived["reason"] + "\n") if case.has_body else None
        if shape != wanted:
            problems.append(f"{case.name}: catalogue body {json.dumps(body)}")
    assert not problems, "\n".join(problems)
