"""Every simulator route against PVE's schema: declared parameters and returned data.

The schema (`schema-subset.json`, pve-docs 9.1.3) is the contract. A route the simulator
serves must exist there with the same method and path, declare the same parameters, and
answer data that validates against the route's `returns` schema for realistic requests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from argus_tui.domain.upid import UPID
from argus_tui.sim.api import ROUTES as TABLE
from argus_tui.sim.api import Route
from argus_tui.sim.demo import DEMO_TOKEN_ID
from argus_tui.sim.params import Param
from argus_tui.sim.server import Simulator
from tests.contract.conftest import Wire
from tests.contract.pve_schema import schema_endpoints, validate

# The route table is static; listing it at collection time gives one test id per route.
ROUTES: list[Route] = TABLE.routes
GET_ROUTES = [r for r in ROUTES if r.method == "GET"]
UPID_RE = re.compile(
    r"^UPID:[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}"
    r":[^:\s/]+:[^:\s/]*:[^:\s/]+:$"
)
# Routes whose answers carry `total` in the envelope (set_result_attrib in pve-manager).
WITH_TOTAL = {
    "/nodes/{node}/tasks",
    "/nodes/{node}/tasks/{upid}/log",
    "/nodes/{node}/syslog",
}
# Where PVE sends a number as a string although the schema says integer (docs/proxmox.md, Quirks).
NUMERIC_STRINGS = {"/cluster/nextid": ["data"]}


def _route_id(route: Route) -> str:
    return f"{route.method} {route.template}"


# -- 1. parameter declarations ---------------------------------------------------------


def _param_mismatches(route: Route, documented: dict[str, Any]) -> list[str]:
    """How the route's parameter declaration differs from the documented one."""
    where = _route_id(route)
    problems: list[str] = []
    ours, theirs = set(route.params), set(documented)
    if ours - theirs:
        problems.append(f"{where}: undocumented parameters {sorted(ours - theirs)}")
    if theirs - ours:
        problems.append(f"{where}: missing parameters {sorted(theirs - ours)}")
    for name in sorted(ours & theirs):
        mine: Param = route.params[name]
        doc = documented[name]
        label = f"{where} {name}"
        if mine.optional != bool(doc.get("optional")):
            problems.append(
                f"{label}: optional={mine.optional}, schema optional={doc.get('optional')}"
            )
        if mine.type != doc["type"]:
            problems.append(f"{label}: type {mine.type}, schema {doc['type']}")
        doc_enum = tuple(doc["enum"]) if "enum" in doc else None
        if mine.enum != doc_enum:
            # Order matters too: PVE's 400 text lists the enumeration in schema order.
            problems.append(f"{label}: enum {mine.enum}, schema {doc_enum}")
        doc_length = None if doc.get("maxLength") is None else int(doc["maxLength"])
        if mine.max_length != doc_length:
            problems.append(f"{label}: maxLength {mine.max_length}, schema {doc_length}")
        for bound in ("minimum", "maximum"):
            have = getattr(mine, bound)
            want = None if doc.get(bound) is None else float(doc[bound])
            # A bound the schema lacks would make the simulator reject valid requests.
            if (have is None) != (want is None) or (have is not None and float(have) != want):
                problems.append(f"{label}: {bound} {have}, schema {doc.get(bound)}")
    return problems


def test_every_route_is_documented_with_the_same_parameters() -> None:
    """Clients are written against PVE's schema; the simulator must not invent or drift."""
    endpoints = schema_endpoints()
    problems: list[str] = []
    for route in ROUTES:
        documented = endpoints.get((route.method, route.template))
        if documented is None:
            problems.append(
                f"{_route_id(route)}: not in schema-subset.json (endpoints/extras/operations)"
            )
            continue
        problems += _param_mismatches(route, documented["parameters"])
    assert not problems, "route/schema mismatches:\n" + "\n".join(problems)


# -- 2. returned data ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cluster:
    """Real identifiers read from the running demo cluster, to build realistic requests."""

    nodes: list[str]
    guests: list[dict[str, Any]]  # cluster/resources entries of type qemu/lxc
    tasks: list[dict[str, Any]]  # node task lists, all sources
    pools: list[str]
    snapshots: dict[str, list[str]]  # "qemu/102" -> its snapshot names
    storages: dict[str, list[str]]  # node -> the storages it has
    volumes: dict[tuple[str, str], list[str]]  # (node, storage) -> a few volids of each kind
    agents: set[str]  # "qemu/100" of the VMs whose guest agent answers a ping


def _read_cluster(wire: Wire) -> Cluster:
    nodes = [n["node"] for n in wire.get("/nodes")]
    guests = wire.get("/cluster/resources", type="vm")
    tasks = [t for n in nodes for t in wire.get(f"/nodes/{n}/tasks", source="all", limit=0)]
    pools = [p["poolid"] for p in wire.get("/pools")]
    snapshots = {}
    for guest in guests:
        listed = wire.get(f"/nodes/{guest['node']}/{guest['id']}/snapshot")
        snapshots[guest["id"]] = [s["name"] for s in listed if s["name"] != "current"]
    storages = {n: [s["storage"] for s in wire.get(f"/nodes/{n}/storage")] for n in nodes}
    volumes: dict[tuple[str, str], list[str]] = {}
    for node, names in storages.items():
        for sid in names:
            items = wire.get(f"/nodes/{node}/storage/{sid}/content")
            by_kind: dict[str, list[str]] = {}
            for item in items:
                by_kind.setdefault(item["content"], []).append(item["volid"])
            volumes[(node, sid)] = [v for kind in by_kind.values() for v in kind[:2]]
    agents = {
        g["id"]
        for g in guests
        if g["type"] == "qemu"
        and wire.request("POST", f"/nodes/{g['node']}/{g['id']}/agent/ping").status_code == 200
    }
    return Cluster(nodes, guests, tasks, pools, snapshots, storages, volumes, agents)


def _answers(template: str, guest: dict[str, Any], cluster: Cluster) -> bool:
    """Whether PVE answers this guest's route with data (the others are error cases:
    an agent that is off or down, a stopped container's null, a locked guest)."""
    if "/agent/" in template:
        return guest["id"] in cluster.agents
    if template.endswith("/interfaces"):
        return guest["status"] == "running"
    if template.endswith("/migrate"):
        return "lock" not in guest
    return True


def _representative_guests(
    cluster: Cluster, gtype: str, template: str = ""
) -> list[dict[str, Any]]:
    """One guest per distinct situation (running/stopped, template, lock, HA)."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for guest in cluster.guests:
        if guest["type"] != gtype or not _answers(template, guest, cluster):
            continue
        key = (guest["status"], guest["template"], "lock" in guest, "hastate" in guest)
        if key not in seen:
            seen.add(key)
            out.append(guest)
    return out


def _path_cases(route: Route, cluster: Cluster) -> Iterator[str]:
    """The route's template filled with real node names, vmids, UPIDs and pool ids."""
    template = route.template
    names = set(re.findall(r"\{(\w+)\}", template))
    if not names:
        yield template
    elif names == {"node"}:
        for node in cluster.nodes:
            yield template.format(node=node)
    elif names == {"node", "vmid"}:
        gtype = "qemu" if "/qemu/" in template else "lxc"
        for guest in _representative_guests(cluster, gtype, template):
            yield template.format(node=guest["node"], vmid=guest["vmid"])
    elif names == {"node", "upid"}:
        for task in cluster.tasks:
            yield template.format(node=task["node"], upid=task["upid"])
    elif names == {"poolid"}:
        for pool in cluster.pools:
            yield template.format(poolid=pool)
    elif names == {"node", "vmid", "snapname"}:
        gtype = "qemu" if "/qemu/" in template else "lxc"
        for guest in cluster.guests:
            for name in cluster.snapshots[guest["id"]][:2] if guest["type"] == gtype else []:
                yield template.format(node=guest["node"], vmid=guest["vmid"], snapname=name)
    elif names == {"node", "storage"}:
        for node, sids in cluster.storages.items():
            for sid in sids:
                yield template.format(node=node, storage=sid)
    elif names == {"storage"}:
        for sid in sorted({s for sids in cluster.storages.values() for s in sids}):
            yield template.format(storage=sid)
    elif names == {"node", "storage", "volume"}:
        for (node, sid), volids in cluster.volumes.items():
            for volid in volids:
                yield template.format(node=node, storage=sid, volume=quote(volid, safe=""))
    else:
        raise AssertionError(f"{_route_id(route)}: no realistic values for {sorted(names)}")


# Requests beyond the defaults that exercise different answers of the same route.
EXTRA_PARAMS: dict[str, list[dict[str, Any]]] = {
    "/nodes/{node}/tasks": [
        {"source": "all"},
        {"errors": 1},
        {"statusfilter": "ok,error"},
        {"start": 1, "limit": 2},
    ],
    "/nodes/{node}/tasks/{upid}/log": [{"start": 0, "limit": 0}, {"start": 1, "limit": 1}],
    "/nodes/{node}/syslog": [{"start": 10, "limit": 5}, {"limit": 0}],
    "/nodes/{node}/journal": [{"lastentries": 5}],
    "/nodes/{node}/storage": [{"content": "images"}, {"storage": "local"}],
    "/nodes/{node}/qemu": [{"full": 1}],
    "/pools": [{"poolid": "finance"}, {"poolid": "web", "type": "lxc"}],
    "/access/permissions": [{"path": "/vms"}, {"path": "/vms/100"}, {"userid": DEMO_TOKEN_ID}],
    "/cluster/log": [{"max": 3}],
    "/cluster/nextid": [{"vmid": 4242}],
    "/storage": [{"type": "nfs"}],
    "/nodes/{node}/storage/{storage}/content": [
        {"content": "backup"},
        {"content": "images"},
        {"vmid": 102},
        {"content": "backup", "vmid": 201},
    ],
    "/nodes/{node}/vzdump/defaults": [{"storage": "nas-backup"}],
}


# Parameters only a previous call can fill: a vncwebsocket needs the port and ticket of a
# termproxy that was just started for that path (see `_fresh_params`).
FRESH_PARAMS = {"/vncwebsocket": ("port", "vncticket")}


def _fresh_params(wire: Wire, template: str, path: str) -> dict[str, Any]:
    """The values of FRESH_PARAMS for this request path (none for other routes)."""
    if not template.endswith("/vncwebsocket"):
        return {}
    answer = wire.envelope("POST", path.removesuffix("/vncwebsocket") + "/termproxy")["data"]
    return {"port": answer["port"], "vncticket": answer["ticket"]}


def _param_cases(route: Route) -> list[dict[str, Any]]:
    """Required parameters filled in (each enum value once), then optional enum values."""
    fresh = next((names for end, names in FRESH_PARAMS.items() if route.template.endswith(end)), ())
    required: dict[str, Param] = {
        name: p
        for name, p in route.params.items()
        if not p.optional and f"{{{name}}}" not in route.template and name not in fresh
    }
    cases: list[dict[str, Any]] = [{}]
    for name, param in required.items():
        assert param.enum, f"{_route_id(route)}: add a realistic value for required {name!r}"
        cases = [{**case, name: value} for case in cases for value in param.enum]
    for name, param in route.params.items():
        if param.optional and param.enum:
            cases += [{**cases[0], name: value} for value in param.enum]
    return cases + [{**cases[0], **extra} for extra in EXTRA_PARAMS.get(route.template, [])]


@pytest.fixture(scope="module")
def cluster(wire: Wire) -> Cluster:
    """Read once per module: the demo cluster is not changed by GET requests."""
    return _read_cluster(wire)


@pytest.mark.parametrize("route", GET_ROUTES, ids=_route_id)
def test_get_route_returns_schema_shaped_data(route: Route, wire: Wire, cluster: Cluster) -> None:
    """Argus parses what PVE documents; every GET must answer data of the documented shape."""
    endpoint = schema_endpoints()[(route.method, route.template)]
    problems: list[str] = []
    requests_made = 0
    for path in _path_cases(route, cluster):
        for params in _param_cases(route):
            params = {**params, **_fresh_params(wire, route.template, path)}
            resp = wire.request("GET", path, params)
            requests_made += 1
            label = f"GET {path} {params}"
            if resp.status_code != 200:
                problems.append(f"{label}: HTTP {resp.status_code} {resp.reason}")
                continue
            body = resp.json()
            if set(body) - {"data", "total"}:
                problems.append(f"{label}: unexpected envelope keys {sorted(body)}")
            if route.template in WITH_TOTAL:
                total = body.get("total")
                if not isinstance(total, int) or total < len(body["data"]):
                    problems.append(f"{label}: envelope total {total!r} for {len(body['data'])}")
            elif "total" in body:
                problems.append(f"{label}: PVE sends no `total` here")
            errors = validate(
                body["data"],
                endpoint["returns"],
                numeric_strings=NUMERIC_STRINGS.get(route.template, ()),
            )
            problems += [f"{label}: {e}" for e in errors[:10]]
    assert requests_made, f"{_route_id(route)}: no request was made"
    assert not problems, "\n".join(problems)


# -- 2b. power actions -----------------------------------------------------------------

POWER_TASK_TYPES = {
    ("qemu", "start"): "qmstart",
    ("qemu", "stop"): "qmstop",
    ("qemu", "shutdown"): "qmshutdown",
    ("qemu", "reboot"): "qmreboot",
    ("qemu", "reset"): "qmreset",
    ("qemu", "suspend"): "qmpause",
    ("qemu", "resume"): "qmresume",
    ("lxc", "start"): "vzstart",
    ("lxc", "stop"): "vzstop",
    ("lxc", "shutdown"): "vzshutdown",
    ("lxc", "reboot"): "vzreboot",
    ("lxc", "suspend"): "vzsuspend",
    ("lxc", "resume"): "vzresume",
}
POWER_ROUTES = [r for r in ROUTES if r.method == "POST" and "/status/" in r.template]


def _pick(guests: list[dict[str, Any]], gtype: str, status: str, used: set[int]) -> dict[str, Any]:
    """A plain guest (no HA, lock or template) in `status` that no other action uses."""
    for guest in guests:
        plain = not guest["template"] and "lock" not in guest and "hastate" not in guest
        wanted = guest["type"] == gtype and guest["status"] == status
        if wanted and plain and guest["vmid"] not in used:
            used.add(guest["vmid"])
            return guest
    raise AssertionError(f"the demo has no spare plain {status} {gtype} guest")


def test_power_actions_answer_a_upid(
    make_sim: Callable[..., Simulator],
) -> None:
    """Every power POST answers `data` = a UPID string naming node, task type, vmid and caller."""
    sim = make_sim()
    client = Wire(sim, sim.token_id, sim.token_secret)
    guests = client.get("/cluster/resources", type="vm")
    used: set[int] = set()
    schemas = schema_endpoints()
    problems: list[str] = []
    assert {(r.template.split("/")[3], r.template.rsplit("/", 1)[1]) for r in POWER_ROUTES} == set(
        POWER_TASK_TYPES
    )
    ordered = sorted(POWER_ROUTES, key=lambda r: r.template.endswith("/resume"))
    for route in ordered:
        gtype, action = route.template.split("/")[3], route.template.rsplit("/", 1)[1]
        if action == "resume":
            # qemu resume needs a paused VM: suspend one first and let the task finish.
            guest = _pick(guests, gtype, "running", used)
            base = f"/nodes/{guest['node']}/{gtype}/{guest['vmid']}/status"
            client.envelope("POST", f"{base}/suspend")
            sim.advance(10)
        else:
            wanted = "stopped" if action == "start" else "running"
            guest = _pick(guests, gtype, wanted, used)
        path = route.template.format(node=guest["node"], vmid=guest["vmid"])
        resp = client.request("POST", path, {})
        if resp.status_code != 200:
            problems.append(f"POST {path}: HTTP {resp.status_code} {resp.reason}")
            continue
        body = resp.json()
        upid = body["data"]
        problems += [
            f"POST {path}: {e}"
            for e in validate(upid, schemas[("POST", route.template)]["returns"])
        ]
        if set(body) != {"data"}:
            problems.append(f"POST {path}: envelope {sorted(body)}")
        if not isinstance(upid, str) or not UPID_RE.match(upid):
            problems.append(f"POST {path}: {upid!r} is not a UPID")
            continue
        parsed = UPID.parse(upid)
        expected = (guest["node"], POWER_TASK_TYPES[(gtype, action)], str(guest["vmid"]))
        if (parsed.node, parsed.type, parsed.id) != expected or parsed.user != sim.token_id:
            problems.append(f"POST {path}: UPID {upid} does not name {expected} / {sim.token_id}")
    assert not problems, "\n".join(problems)
