"""The typed fast path of /cluster/resources gives exactly what the tolerant mapping gives.

`decode_resources` (msgspec structs) and `resources_from` (generic JSON, field by field)
must agree on every body: the recorded ones, the simulator's, and hostile ones. Where the
fast path refuses a body (None), the client maps it the tolerant way, so the comparison
is always between what the client returns and what the tolerant mapping returns.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import SHARED_PVE

from argus_tui.pve.client import PveClient, decode_json
from argus_tui.pve.decode import _DECODER, PIECE, _pieces, _spans, decode_resources
from argus_tui.pve.mapping import Resources, resources_from
from argus_tui.sim.demo import generated_scenario
from argus_tui.sim.server import Simulator

CASSETTES = Path(__file__).parents[2] / "cassettes"
RESPONSES = SHARED_PVE / "responses"


def tolerant(body: bytes) -> Resources:
    """Today's way: json of the UTF-8 text (bad bytes replaced), then the mapping."""
    return resources_from(json.loads(body.decode("utf-8", "replace"))["data"])


def either(body: bytes) -> Resources:
    """What the client maps: the fast path, or the tolerant way where it refuses."""
    fast = decode_resources(body)
    return fast if fast is not None else tolerant(body)


def recorded_bodies() -> list[tuple[str, bytes]]:
    out = []
    if RESPONSES.exists():
        out += [(p.name, p.read_bytes()) for p in sorted(RESPONSES.glob("cluster-resources*"))]
    for cassette in sorted(CASSETTES.glob("*.yaml")):
        for n, exchange in enumerate(yaml.safe_load(cassette.read_text())["interactions"]):
            uri, response = exchange["request"]["uri"], exchange["response"]
            if uri.endswith("/cluster/resources") and response["status"]["code"] == 200:
                out.append((f"{cassette.name}#{n}", response["body"]["string"].encode()))
    return out


@pytest.mark.parametrize(("name", "body"), recorded_bodies(), ids=lambda v: str(v)[:40])
def test_recorded_bodies_take_the_fast_path_and_agree(name: str, body: bytes) -> None:
    fast = decode_resources(body)
    assert fast is not None, name
    assert fast == tolerant(body)
    assert fast.guests or fast.nodes


def test_the_recorded_bodies_are_there() -> None:
    assert len(recorded_bodies()) >= 2  # the cassettes at least: the test above ran


def test_a_generated_cluster_over_https_maps_the_same(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = make_sim(generated_scenario(nodes=7, guests=4345, seed=3))
    client = _client(sim)
    body = client._send("GET", "/cluster/resources").content
    assert len(_spans(body)) > 4  # parsed in pieces
    fast = decode_resources(body)
    assert fast is not None
    assert fast == tolerant(body) == client.cluster_resources()
    assert len(fast.guests) == 4345 and len(fast.nodes) == 7
    assert any(g.tags for g in fast.guests) and fast.storages


def _client(sim: Simulator) -> PveClient:
    from argus_tui.domain.secret import Secret
    from argus_tui.pve.settings import ConnectionSettings, TlsConfig

    return PveClient(
        ConnectionSettings(
            "127.0.0.1",
            sim.port,
            sim.token_id,
            Secret(sim.token_secret),
            TlsConfig("fingerprint", fingerprint=sim.fingerprint),
        )
    )


GUEST = {
    "id": "qemu/101",
    "type": "qemu",
    "vmid": 101,
    "node": "pve-a",
    "name": "web",
    "status": "running",
    "template": 0,
    "tags": "a;b",
    "cpu": 0.25,
    "maxcpu": 4,
    "mem": 1024,
    "maxmem": 4096,
    "disk": 0,
    "maxdisk": 8192,
    "uptime": 100,
    "netin": 1,
    "netout": 2,
    "diskread": 3,
    "diskwrite": 4,
}
NODE = {"id": "node/pve-a", "type": "node", "node": "pve-a", "status": "online", "cpu": 0.5}
STORAGE = {
    "id": "storage/pve-a/local",
    "type": "storage",
    "storage": "local",
    "node": "pve-a",
    "plugintype": "dir",
    "content": "iso,backup",
    "shared": 0,
    "disk": 5,
    "maxdisk": 10,
    "status": "available",
}


def body_of(*entries: Any) -> bytes:
    return json.dumps({"data": list(entries)}).encode()


def guest(**changes: Any) -> dict[str, Any]:
    out = {**GUEST, **changes}
    return {k: v for k, v in out.items() if v is not DROP}


DROP = object()
TEMPLATES = [0, 1, 2, True, False, "", "1", "0", "true", None]
TAGS = ["", "a;b", "one, two three", ";;x;;", None, "a;b"]

# (name, body, whether the fast path takes it)
HOSTILE: list[tuple[str, bytes, bool]] = [
    ("plain", body_of(NODE, GUEST, STORAGE), True),
    ("strings for numbers", body_of(guest(vmid="101", mem="1024", cpu="0.5")), False),
    ("string with spaces for a number", body_of(guest(maxmem=" 77 ")), False),
    ("float for an int", body_of(guest(mem=1.5, uptime=3e3)), False),
    ("bool for a number", body_of(guest(mem=True, cpu=False)), False),
    ("missing vmid, id kept", body_of(guest(vmid=DROP), GUEST), True),
    ("missing vmid and id", body_of(guest(vmid=DROP, id=DROP), GUEST), True),
    ("null vmid", body_of(guest(vmid=None, id="lxc/7", type="lxc")), True),
    ("no node", body_of(guest(node=DROP), guest(node="")), True),
    ("huge ints", body_of(guest(mem=10**30, netin=-(10**25), maxcpu=10**400)), False),
    ("huge int for a float", body_of(guest(cpu=10**30)), True),
    ("negative and zero", body_of(guest(mem=-1, uptime=0, cpu=-0.0)), True),
    (
        "odd names",
        body_of(
            guest(name=""),
            guest(name="\u202eevil\u0000\t\x1b[31m", vmid=102),
            guest(name="ünïcødé 🖥", vmid=103),
        ),
        True,
    ),
    ("number for a name", body_of(guest(name=12345)), False),
    ("extra fields", body_of(guest(extra=[1, {"x": None}], cgroup_mode=2, memhost=5)), True),
    ("null entries", body_of(None, GUEST, None), True),
    ("non-object entries", body_of("not an object", 5, [1], GUEST), False),
    (
        "template variants",
        body_of(*(guest(vmid=i, template=t) for i, t in enumerate(TEMPLATES))),
        True,
    ),
    ("float template", body_of(guest(template=1.0)), False),
    ("tag variants", body_of(*(guest(vmid=i, tags=t) for i, t in enumerate(TAGS))), True),
    ("tags as a list", body_of(guest(tags=["a", "b"])), True),
    ("missing fields", body_of({"type": "qemu", "vmid": 5, "node": "n"}), True),
    (
        "paused by qmpstatus",
        body_of(guest(qmpstatus="paused"), guest(vmid=9, status="", qmpstatus="x")),
        True,
    ),
    ("maxcpu from cpus", body_of(guest(maxcpu=DROP, cpus=2), guest(vmid=8, maxcpu=None)), True),
    ("blank pool, lock, hastate", body_of(guest(pool="", lock="", hastate="")), True),
    ("set pool, lock, hastate", body_of(guest(pool="p", lock="backup", hastate="started")), True),
    (
        "storage variants",
        body_of(
            {"type": "storage", "id": "storage/n/local"},
            {"type": "storage", "id": "storage/x"},
            {**STORAGE, "disk": None, "used": 3},
            {k: v for k, v in STORAGE.items() if k not in ("disk", "maxdisk")}
            | {"used": 3, "total": 9, "active": 1, "status": None},
            {**STORAGE, "shared": True, "content": " images , rootdir "},
        ),
        True,
    ),
    (
        "node variants",
        body_of(
            {"type": "node", "id": "node/x", "status": "offline"},
            {"type": "node", "name": "y", "maxcpu": 8.9, "level": ""},
            {"type": "node"},
        ),
        True,
    ),
    ("unknown types", body_of({"type": "sdn", "sdn": "z"}, {"type": "pool", "pool": "p"}), True),
    ("unknown type, odd field", body_of({"type": "network", "content": [1]}, GUEST), False),
    ("no type or a number", body_of({"vmid": 1}, {"type": 5}, GUEST), False),
    ("duplicate keys", b'{"data":[{"type":"qemu","vmid":1,"vmid":2,"node":"n"}]}', True),
    ("empty", body_of(), True),
    ("invalid UTF-8", body_of(guest(name="@@")).replace(b"@@", b"\xff\xfe"), False),
    ("lone surrogate", body_of(guest(name="@@")).replace(b"@@", b"\\ud800"), False),
    ("NaN and infinity", body_of(guest(cpu=float("nan"), maxcpu=float("inf"))), False),
    ("out of range float", body_of(guest(cpu="@@")).replace(b'"@@"', b"1e400"), False),
]


@pytest.mark.parametrize(("name", "body", "fast"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_bodies_map_as_the_tolerant_mapping_maps_them(
    name: str, body: bytes, fast: bool
) -> None:
    found = decode_resources(body)
    assert (found is not None) == fast
    assert _same(either(body), tolerant(body))


def _same(a: Resources, b: Resources) -> bool:
    """Equal, with NaN equal to itself (a float field may hold one)."""
    return repr(a) == repr(b)


def many(count: int, **changes: Any) -> list[Any]:
    """Enough guests for a body of several pieces (PIECE bytes each)."""
    return [guest(**{"vmid": i, **changes}) for i in range(count)]


def test_order_and_problems_keep_the_bodys_order_across_pieces() -> None:
    entries: list[Any] = many(2000)
    entries[1500] = guest(vmid=DROP, id="qemu/999999")  # mapped one by one
    entries[3] = guest(node=DROP)  # a problem
    entries.insert(7, None)
    body = body_of(*entries)
    assert len(_spans(body)) >= 4
    found = decode_resources(body)
    assert found is not None and found == tolerant(body)
    assert 999999 in [g.vmid for g in found.guests]
    assert len(found.problems) == 2 and "no node" in found.problems[0]


def test_the_pieces_hold_exactly_the_entries_of_the_whole_body() -> None:
    body = json.dumps({"data": [NODE, *many(1500), STORAGE, None]}, indent=1).encode()
    spans = _spans(body)
    assert len(spans) >= 3 and spans[0][0] < 20 and len(body) - spans[-1][1] < 10
    assert [e for piece in _pieces(body, spans) for e in piece] == _DECODER.decode(body).data


# Large bodies whose cuts at `},{` may fall where no entry ends: each maps as parsed whole.
CUT_BADLY: list[tuple[str, bytes]] = [
    ("cuts inside names", body_of(*many(1500, name="a},{b}, {c},\n{d"))),
    ("cuts inside tags", body_of(*many(1500, tags='x},{"type":"qemu","vmid":7},{y'))),
    ("cuts inside nested lists", body_of(*many(1500, extra=[{"a": 1}, {"type": "lxc"}]))),
    (
        "a second key after data",
        json.dumps({"data": many(3), "junk": many(1500, vmid=5)}).encode(),
    ),
    (
        "a second key before data",
        json.dumps({"junk": many(1500, vmid=5), "data": many(3)}).encode(),
    ),
    (
        "data twice",
        json.dumps({"data": many(3)}).encode()[:-1]
        + b', "data": '
        + json.dumps(many(1500))[:-1].encode()
        + b"]}",
    ),
    ("data nested", json.dumps({"x": [{"data": many(1500)}]}).encode()),
    ("another key only", json.dumps({"items": many(1500)}).encode()),
    ("data holds an object", json.dumps({"data": {"list": many(1500)}}).encode()),
    ("one huge entry", body_of(guest(name="n" * (3 * PIECE)), *many(3))),
    ("trailing spaces", body_of(*many(1500)) + b" " * 100),
]


@pytest.mark.parametrize(("name", "body"), CUT_BADLY, ids=[c[0] for c in CUT_BADLY])
def test_a_bad_cut_never_changes_the_result(name: str, body: bytes) -> None:
    assert len(body) > 2 * PIECE, name
    wanted = json.loads(body)
    if isinstance(wanted.get("data"), list):
        assert _same(either(body), tolerant(body))
    else:
        assert decode_resources(body) is None  # no `data` list: the client says so


def test_guests_are_left_out_of_the_cyclic_gc_on_both_paths() -> None:
    """10,000 guests a refresh must not feed the collector (docs/PERFORMANCE.md, "Guests
    as structs"): a guest holds no container but its tags tuple, which cannot cycle."""
    body = body_of(guest(vmid=1, tags="a;b"), guest(vmid=2, name="", tags=None))
    for found in (decode_resources(body), tolerant(body)):
        assert found is not None and len(found.guests) == 2
        assert not any(gc.is_tracked(g) for g in found.guests)
        assert found.guests[0].tags == ("a", "b") and found.guests[1].name is None


def test_a_refused_body_still_maps_through_the_client(
    make_sim: Callable[..., Simulator],
) -> None:
    """The client's own fallback: a body the fast path refuses maps the tolerant way."""
    sim = make_sim()
    client = _client(sim)
    body = client._send("GET", "/cluster/resources").content
    data = json.loads(body)["data"]
    data[0]["maxmem"] = str(data[0].get("maxmem", 1))
    odd = json.dumps({"data": data}).encode()
    assert decode_resources(odd) is None
    assert either(odd) == tolerant(odd) == resources_from(json.loads(body)["data"])


JSON_EDGES = [
    b'{"a":"\xff\xfe"}',
    b'{"a":"\\ud800"}',
    b'{"a":123456789012345678901234567890}',
    b'{"a":NaN,"b":Infinity,"c":-Infinity}',
    b'{"a":1,"a":2}',
    b'{"a":1e400,"b":-1e400,"c":1e-400}',
    b'{"a":-0,"b":-0.0,"c":1E2,"d":0.1}',
    b'{"a":"\\u0000\\u001f\\"\\\\/\\b\\f\\n\\r\\t"}',
    b' \n{"a": [1, 2.5, "x", null, true, false, {}]}\r\n',
    b'{"a":"\xc0\x80","b":"\xed\xa0\x80"}',
]


@pytest.mark.parametrize("body", JSON_EDGES)
def test_generic_decode_is_jsons(body: bytes) -> None:
    assert repr(decode_json(body)) == repr(json.loads(body.decode("utf-8", "replace")))


@pytest.mark.parametrize(
    "body", [b"\xef\xbb\xbf{}", b'{"a":"\x01"}', b'{"a":1}{"b":2}', b"[1,]", b"<html>", b"{"]
)
def test_generic_decode_refuses_what_json_refuses(body: bytes) -> None:
    with pytest.raises(ValueError):
        json.loads(body.decode("utf-8", "replace"))
    with pytest.raises(ValueError):
        decode_json(body)
