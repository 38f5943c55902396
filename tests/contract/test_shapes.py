"""The simulator's answers have the structural shape of real PVE answers.

Each test reads captured examples from the shared `responses/` folder at run time (they are
third-party data and stay out of the repository) and compares them with what the simulator
answers for the same endpoint: top-level type, the keys every real example carries, value
types per key, the envelope (`total`), and formats such as UPIDs and task log endings.

Value types are compared as PVE puts them on the wire: booleans are 0/1 integers; some
integers arrive as strings (docs/proxmox.md, Quirks: e.g. an LXC list with `"vmid": "103"`,
and fixtures "anonymised/edited" with ints turned into strings); older PVE sent `template: ""` and
`pid: null`. Perl's JSON encoder prints integral numbers without a fraction, so an
integral float such as `4.0` where PVE shows `4` counts as a different type.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from argus_tui.domain.upid import UPID
from argus_tui.sim.demo import demo_data
from argus_tui.sim.server import Simulator
from tests.conftest import SHARED_PVE
from tests.contract.conftest import Wire
from tests.contract.pve_schema import load_response, require_shared, schema_endpoints, validate

_NUMBER_TEXT = re.compile(r"^[+-]?\d+(\.\d+)?$")
UPID_RE = re.compile(
    r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):"
    r"([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$"
)

# -- comparing shapes ------------------------------------------------------------------


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _incompatible(real: Any, ours: Any) -> str | None:
    """Why `ours` is not the same kind of value as the real `real`, or None if it is."""
    if real is None:
        return None  # older PVE sent null for absent values (`pid` of a stopped VM)
    if isinstance(real, bool) or isinstance(ours, bool):
        ok = type(real) is type(ours)
    elif isinstance(real, int | float) and isinstance(ours, int | float):
        # PVE prints integral numbers as integers; a fraction only where the value has one.
        ok = not (isinstance(ours, float) and ours.is_integer())
        if ok or isinstance(real, float):
            return None
        return f"PVE sends {real!r} (integer), simulator {ours!r} (integral float)"
    elif isinstance(real, str) and isinstance(ours, int | float):
        # Integers as strings (docs/proxmox.md, Quirks); `template: ""` from old versions.
        ok = real == "" or bool(_NUMBER_TEXT.match(real))
    elif isinstance(ours, str) and isinstance(real, int | float):
        ok = bool(_NUMBER_TEXT.match(ours))
    else:
        ok = type(real) is type(ours)
    if ok:
        return None
    return f"PVE sends {_type_name(real)} ({str(real)[:40]!r}), simulator {_type_name(ours)}"


def _below(paths: Iterable[str], key: str) -> set[str]:
    prefix = key + "."
    return {p[len(prefix) :] for p in paths if p.startswith(prefix)}


def compare_object(
    examples: Sequence[Mapping[str, Any]],
    ours: Mapping[str, Any],
    where: str,
    *,
    drop: Iterable[str] = (),
    opaque: Iterable[str] = (),
) -> list[str]:
    """Keys every example has (minus `drop`, dotted for nested objects) must be in `ours`.

    Keys present on both sides must hold the same kind of value. Nested objects are
    compared the same way unless listed in `opaque` (objects keyed by device names etc.).
    """
    drop, opaque = set(drop), set(opaque)
    if not isinstance(ours, Mapping):
        return [f"{where}: PVE sends an object, simulator {_type_name(ours)}"]
    required = set.intersection(*(set(e) for e in examples)) - drop
    problems = [f"{where}: missing key {k!r}" for k in sorted(required - set(ours))]
    for key in sorted(set(ours)):
        reals = [e[key] for e in examples if key in e]
        for real in reals:
            why = _incompatible(real, ours[key])
            if why:
                problems.append(f"{where}.{key}: {why}")
                break
        else:
            nested = [r for r in reals if isinstance(r, Mapping)]
            if nested and key not in opaque:
                problems += compare_object(
                    nested,
                    ours[key],
                    f"{where}.{key}",
                    drop=_below(drop, key),
                    opaque=_below(opaque, key),
                )
    return problems


def compare_items(
    examples: Sequence[Mapping[str, Any]],
    ours: Sequence[Mapping[str, Any]],
    where: str,
    *,
    group: Callable[[Mapping[str, Any]], str] = lambda item: "",
    drop: Iterable[str] = (),
    opaque: Iterable[str] = (),
    groups_needed: bool = True,
) -> list[str]:
    """List items compared per group (e.g. resource type): each of ours against the examples.

    Groups the examples have must appear in ours too (unless `groups_needed` is false);
    groups only we have (no real example to compare with) are not judged here.
    """
    if not isinstance(ours, list):
        return [f"{where}: PVE sends a list, simulator {_type_name(ours)}"]
    real_groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for item in examples:
        real_groups[group(item)].append(item)
    our_groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for item in ours:
        our_groups[group(item)].append(item)
    problems: list[str] = []
    if groups_needed:
        problems += [
            f"{where}: no [{g}] item to compare with the real ones"
            for g in sorted(set(real_groups) - set(our_groups))
        ]
    for name, items in sorted(our_groups.items()):
        if name not in real_groups:
            continue
        for item in items:
            problems += compare_object(
                real_groups[name], item, f"{where}[{name}]", drop=drop, opaque=opaque
            )
    return sorted(set(problems))  # one line per distinct problem, not per item


def report(problems: Sequence[str]) -> None:
    assert not problems, "shape differences from real PVE:\n" + "\n".join(problems)


def data_of(*names: str) -> list[Any]:
    """The `data` of each named example."""
    return [load_response(name)["data"] for name in names]


def items_of(*names: str) -> list[dict[str, Any]]:
    """All list items of the named examples, concatenated."""
    return [item for data in data_of(*names) for item in data]


def guest_paths(wire: Wire, gtype: str, *, plain: bool = False, **match: Any) -> list[str]:
    """API paths (`/nodes/N/qemu/ID`) of the demo guests with the given resource fields.

    `plain` keeps only guests without HA, lock or template, whose actions run directly.
    """
    out = []
    for guest in wire.get("/cluster/resources", type="vm"):
        if guest["type"] != gtype or any(guest.get(k) != v for k, v in match.items()):
            continue
        if plain and (guest["template"] or {"hastate", "lock"} & set(guest)):
            continue
        out.append(f"/nodes/{guest['node']}/{gtype}/{guest['vmid']}")
    assert out, f"the demo has no {gtype} guest with {match}"
    return out


def finished_tasks(wire: Wire) -> list[dict[str, Any]]:
    tasks = [t for t in wire.get("/cluster/tasks") if "endtime" in t]
    assert tasks, "the demo has no finished task"
    return tasks


# -- version, cluster ------------------------------------------------------------------


def test_version(wire: Wire) -> None:
    """`/version` (and the per-node version, same handler): version, release, repoid."""
    ours = wire.get("/version")
    examples = data_of(
        "version.home-assistant-core.json",
        "version.proxmoxer-tests.json",
        "nodes-version.go-proxmox-pve7x.json",
    )
    problems = compare_object(examples, ours, "version")
    # PVE 8/9 write "x.y.z" (PVE 7 "x.y-z"); release is "x.y"; repoid 8+ hex digits.
    if not re.fullmatch(r"\d+\.\d+\.\d+", ours["version"]):
        problems.append(f"version {ours['version']!r} is not PVE 8/9's x.y.z")
    if not ours["version"].startswith(ours["release"] + "."):
        problems.append(f"release {ours['release']!r} does not match {ours['version']!r}")
    if not re.fullmatch(r"[0-9a-f]{8,64}", ours["repoid"]):
        problems.append(f"repoid {ours['repoid']!r} is not 8+ hex digits")
    report(problems)


def test_cluster_status_clustered(wire: Wire) -> None:
    """One `cluster` entry plus one `node` entry per member, as on a real cluster."""
    ours = wire.get("/cluster/status")
    examples = items_of(
        "cluster-status.go-proxmox-pve7x.json",
        "cluster-status-offline-node.community-proxmox-cluster-status-info.json",
        "cluster-status-offline-node.community-proxmox-inventory.json",
    )
    problems = compare_items(examples, ours, "cluster/status", group=lambda i: i["type"])
    clusters = [e for e in ours if e["type"] == "cluster"]
    nodes = [e for e in ours if e["type"] == "node"]
    if len(clusters) != 1 or clusters[0]["id"] != "cluster":
        problems.append(f"expected one entry with id 'cluster', got {clusters}")
    elif clusters[0]["nodes"] != len(nodes):
        problems.append(f"cluster.nodes = {clusters[0]['nodes']} for {len(nodes)} node entries")
    if sum(n["local"] for n in nodes) != 1:
        problems.append("exactly one node entry must be local=1")
    problems += [f"node id {n['id']!r}" for n in nodes if n["id"] != f"node/{n['name']}"]
    problems += [f"nodeid {n['nodeid']!r} in a cluster" for n in nodes if n["nodeid"] < 1]
    report(problems)


def test_cluster_status_standalone(make_sim: Callable[..., Simulator]) -> None:
    """A host without a cluster: a single node entry with nodeid 0 and no cluster entry."""
    examples = data_of("cluster-status-standalone.baonq-pyproxmox.json")[0]
    data = demo_data()
    del data["cluster"]["name"]
    node = data["node"][0]["name"]
    data["node"] = data["node"][:1]
    data["guest"] = [g for g in data["guest"] if g["node"] == node]
    data["task"] = [t for t in data["task"] if t["node"] == node]
    sim = make_sim(data)
    ours = Wire(sim, sim.token_id, sim.token_secret).get("/cluster/status")
    problems = compare_items(examples, ours, "cluster/status", group=lambda i: i["type"])
    if [(e["type"], e["nodeid"], e["local"]) for e in ours] != [("node", 0, 1)]:
        problems.append(f"standalone status should be one local node with nodeid 0: {ours}")
    report(problems)


def test_cluster_resources(wire: Wire) -> None:
    """Every resource type real clusters list, with the fields real entries carry."""
    ours = wire.get("/cluster/resources")
    examples = items_of(
        "cluster-resources.go-proxmox-pve7x.json",
        "cluster-resources-sdn-nfs.dirkthedaring-px.json",
        "cluster-resources-type-vm.community-proxmox-vm-info.json",
    )
    problems = compare_items(examples, ours, "cluster/resources", group=lambda i: i["type"])
    id_formats = {
        "qemu": r"qemu/\d+",
        "lxc": r"lxc/\d+",
        "node": r"node/[\w-]+",
        "storage": r"storage/[\w-]+/[\w.-]+",
        "sdn": r"sdn/[\w-]+/[\w-]+",
        "pool": r"/pool/[\w-]+",  # note the leading slash (docs/proxmox.md, /cluster/resources)
    }
    for item in ours:
        pattern = id_formats.get(item["type"])
        if pattern is None or not re.fullmatch(pattern, item["id"]):
            problems.append(f"cluster/resources id {item['id']!r} of type {item['type']!r}")
    vms = wire.get("/cluster/resources", type="vm")
    typed = items_of("cluster-resources-type-vm.community-proxmox-vm-info.json")
    problems += compare_items(typed, vms, "cluster/resources?type=vm", group=lambda i: i["type"])
    if {v["type"] for v in vms} != {"qemu", "lxc"}:
        problems.append(f"type=vm must list qemu and lxc only: {sorted({v['type'] for v in vms})}")
    report(problems)


def test_nodes_list(wire: Wire) -> None:
    """`/nodes`: the cluster/resources node fields plus ssl_fingerprint."""
    ours = wire.get("/nodes")
    # The offline node in this fixture has all-zero stats, a test simplification (real PVE
    # omits them: docs/proxmox.md, /cluster/resources), so only online entries define the
    # expected shape.
    examples = [
        i
        for i in items_of("nodes-list-offline.home-assistant-core.json")
        if i["status"] == "online"
    ]
    problems = compare_items(examples, ours, "nodes", group=lambda i: i["status"])
    fingerprint = r"([0-9A-F]{2}:){31}[0-9A-F]{2}"
    problems += [
        f"ssl_fingerprint {n.get('ssl_fingerprint')!r}"
        for n in ours
        if not re.fullmatch(fingerprint, str(n.get("ssl_fingerprint")))
    ]
    report(problems)


def test_node_status(wire: Wire) -> None:
    """Node status: the undocumented keys clients use, plus the 8.1+/9.x additions."""
    examples = data_of("node-status.go-proxmox-pve7x.json", "node-status.baonq-pyproxmox.json")
    version = wire.get("/version")
    problems: list[str] = []
    for node in (n["node"] for n in wire.get("/nodes")):
        ours = wire.get(f"/nodes/{node}/status")
        problems += compare_object(examples, ours, "node status")
        # Not in the 5.x/7.x examples, but in every 8.1+/9.x node (docs/proxmox.md, Quirks).
        problems += [
            f"node status: missing {k!r}" for k in ("current-kernel", "boot-info") if k not in ours
        ]
        if "available" not in ours.get("memory", {}):
            problems.append("node status: memory.available missing (PVE 8.1+)")
        if len(ours.get("loadavg", [])) != 3:
            problems.append(f"node status: loadavg {ours.get('loadavg')!r} is not 3 strings")
        expected = f"pve-manager/{version['version']}/{version['repoid']}"
        if ours.get("pveversion") != expected:
            problems.append(f"pveversion {ours.get('pveversion')!r}, /version says {expected!r}")
    report(sorted(set(problems)))


# -- guests ----------------------------------------------------------------------------


def test_nodes_qemu_list(wire: Wire) -> None:
    """The per-node VM list; running VMs carry `pid`, stopped ones do not."""
    examples = items_of(
        "nodes-qemu-list.community-proxmox-vm-info.json", "nodes-qemu-list.baonq-pyproxmox.json"
    )
    ours = [vm for n in wire.get("/nodes") for vm in wire.get(f"/nodes/{n['node']}/qemu")]
    report(compare_items(examples, ours, "nodes/N/qemu", group=lambda i: i["status"]))


def test_nodes_lxc_list(wire: Wire) -> None:
    """The per-node container list: `type`, swap fields; running containers carry `pid`."""
    examples = items_of("nodes-lxc-list.community-proxmox-vm-info.json")
    ours = [ct for n in wire.get("/nodes") for ct in wire.get(f"/nodes/{n['node']}/lxc")]
    report(compare_items(examples, ours, "nodes/N/lxc", group=lambda i: i["status"]))


# Keys of a running VM's status that depend on its configuration or guest, not on PVE:
# balloon/ballooninfo/freemem/balloon_min/shares need the balloon driver reporting,
# spice a SPICE display, agent an enabled guest agent.
QEMU_CONFIG_DEPENDENT = (
    "shares",
    "spice",
    "balloon",
    "ballooninfo",
    "freemem",
    "balloon_min",
    "agent",
)
# Objects keyed by device or feature names: compared as objects, not key by key.
QEMU_OPAQUE = ("blockstat", "nics", "proxmox-support")


def test_qemu_status_current_running(wire: Wire) -> None:
    """A running VM's status/current, including the QMP-derived detail PVE adds."""
    examples = data_of("qemu-status-current-running.go-proxmox-pve7x.json")
    problems: list[str] = []
    for path in guest_paths(wire, "qemu", status="running"):
        ours = wire.get(f"{path}/status/current")
        problems += compare_object(
            examples, ours, "qemu status/current", drop=QEMU_CONFIG_DEPENDENT, opaque=QEMU_OPAQUE
        )
        if ours.get("qmpstatus") != "running" or ours.get("status") != "running":
            problems.append(f"{path}: status {ours.get('status')!r}/{ours.get('qmpstatus')!r}")
    report(sorted(set(problems)))


def test_qemu_status_current_stopped(wire: Wire) -> None:
    """A stopped VM: no pid or QMP detail, qmpstatus "stopped", ha object."""
    examples = data_of(
        "qemu-status-current-stopped.community-proxmox-inventory.json",
        "qemu-status-current-stopped.baonq-pyproxmox.json",
    )
    problems: list[str] = []
    for path in guest_paths(wire, "qemu", status="stopped"):
        ours = wire.get(f"{path}/status/current")
        problems += compare_object(examples, ours, "qemu status/current (stopped)")
        if ours.get("qmpstatus") != "stopped" or "pid" in ours:
            problems.append(f"{path}: stopped VM with qmpstatus/pid {ours}")
    report(sorted(set(problems)))


def test_qemu_status_current_paused(make_sim: Callable[..., Simulator]) -> None:
    """A paused VM: `status` stays "running", `qmpstatus` says "paused" (docs/proxmox.md, Quirks).

    The captured paused example was edited to `status: "stopped"`, so only its keys are
    compared, not that value. (The prelaunch example has no simulator counterpart: the
    simulator never leaves a VM in QEMU's prelaunch state.)
    """
    examples = data_of("qemu-status-current-paused.community-proxmox-inventory.json")
    sim = make_sim()
    client = Wire(sim, sim.token_id, sim.token_secret)
    path = guest_paths(client, "qemu", status="running", plain=True)[0]
    client.envelope("POST", f"{path}/status/suspend")
    sim.advance(10)
    ours = client.get(f"{path}/status/current")
    problems = compare_object(examples, ours, "qemu status/current (paused)")
    problems += compare_object(
        data_of("qemu-status-current-running.go-proxmox-pve7x.json"),
        ours,
        "qemu status/current (paused)",
        drop=QEMU_CONFIG_DEPENDENT,
        opaque=QEMU_OPAQUE,
    )
    if (ours["status"], ours["qmpstatus"]) != ("running", "paused"):
        problems.append(f"paused VM: status {ours['status']!r}, qmpstatus {ours['qmpstatus']!r}")
    report(problems)


def test_lxc_status_current(wire: Wire) -> None:
    """Containers: running (HA-managed) and stopped status/current."""
    running = data_of("lxc-status-current-running-ha.community-proxmox-inventory.json")
    stopped = data_of("lxc-status-current-stopped-template.go-proxmox-pve7x.json")
    problems: list[str] = []
    for path in guest_paths(wire, "lxc", status="running"):
        ours = wire.get(f"{path}/status/current")
        # HA groups became rules in PVE 9, so `ha.group` is gone there (the example's
        # "null" string is a fixture artifact anyway); not every container is HA-managed.
        problems += compare_object(
            running, ours, "lxc status/current", drop=("ha.group", "ha.state")
        )
    ha_paths = guest_paths(wire, "lxc", status="running", hastate="started")
    for path in ha_paths:
        ha = wire.get(f"{path}/status/current")["ha"]
        problems += compare_object([running[0]["ha"]], ha, f"{path} ha", drop=("group",))
    for path in guest_paths(wire, "lxc", status="stopped"):
        ours = wire.get(f"{path}/status/current")
        # `template` is only set for templates; `tags` only when the container has tags.
        problems += compare_object(
            stopped, ours, "lxc status/current (stopped)", drop=("template", "tags")
        )
    report(sorted(set(problems)))


def test_qemu_config(wire: Wire) -> None:
    """VM config: flat key/values; disks, NICs, SMBIOS as property strings; a digest."""
    examples = data_of(
        "qemu-config.baonq-pyproxmox.json", "qemu-config.community-proxmox-inventory.json"
    )
    problems: list[str] = []
    for path in guest_paths(wire, "qemu"):
        ours = wire.get(f"{path}/config")
        # `bootdisk` was replaced by `boot: order=...` in PVE 6.2; new VMs no longer have it.
        problems += compare_object(examples, ours, "qemu config", drop=("bootdisk",))
        if not re.fullmatch(r"[0-9a-f]{40}", str(ours.get("digest"))):
            problems.append(f"qemu config digest {ours.get('digest')!r} is not a SHA-1 hex")
    report(sorted(set(problems)))


def test_lxc_config(wire: Wire) -> None:
    """Container config: hostname, rootfs/net property strings, sizes as integers."""
    examples = data_of("lxc-config.community-proxmox-inventory.json")
    # Keys the (PVE 6.2) example carries only because that container set them: console,
    # cmode and tty (defaults), cpulimit/cpuunits (old GUI wrote them, 7.x+ does not),
    # protection, onboot, description and tags (user choices).
    optional = (
        "console",
        "cmode",
        "tty",
        "cpulimit",
        "cpuunits",
        "protection",
        "onboot",
        "description",
        "tags",
    )
    problems: list[str] = []
    for path in guest_paths(wire, "lxc"):
        ours = wire.get(f"{path}/config")
        problems += compare_object(examples, ours, "lxc config", drop=optional)
    report(sorted(set(problems)))


def test_rrddata_of_a_stopped_template(wire: Wire) -> None:
    """Stopped guests have only capacity fields in their RRD rows; one row per minute."""
    examples = items_of("qemu-rrddata-hour-stopped-template.go-proxmox-pve7x.json")
    problems: list[str] = []
    for path in guest_paths(wire, "qemu", template=1):
        rows = wire.get(f"{path}/rrddata", timeframe="hour")
        problems += compare_items(examples, rows, "qemu rrddata")
        keys = {frozenset(r) for r in rows}
        if keys != {frozenset(examples[0])}:
            problems.append(f"stopped template rows have keys {sorted(map(sorted, keys))}")
        times = [r["time"] for r in rows]
        if any(b - a != 60 for a, b in itertools.pairwise(times)):
            problems.append("hour rows are not 60 s apart, oldest first")
        if not 0 < len(rows) <= 70:
            problems.append(f"{len(rows)} hour rows")
    report(problems)


# -- tasks -----------------------------------------------------------------------------


def test_node_tasks_with_total(wire: Wire) -> None:
    """Task lists: finished entries with endtime and status text; `total` in the envelope."""
    with_total = load_response("nodes-tasks-with-total.baonq-pyproxmox.json")
    examples = items_of(
        "nodes-tasks-with-total.baonq-pyproxmox.json",
        "nodes-tasks.community-proxmox-tasks-info.json",
        "nodes-tasks-vzdump.home-assistant-core.json",
    )
    problems: list[str] = []
    statuses: set[str] = set()
    for node in (n["node"] for n in wire.get("/nodes")):
        body = wire.envelope("GET", f"/nodes/{node}/tasks")
        problems += compare_items(examples, body["data"], "nodes/N/tasks")
        if set(body) != set(with_total):
            problems.append(f"tasks envelope {sorted(body)}, PVE {sorted(with_total)}")
        elif not isinstance(body["total"], int) or body["total"] < len(body["data"]):
            problems.append(f"tasks total {body['total']!r}")
        for task in body["data"]:
            statuses.add(task["status"])
            problems += _upid_agrees(task)
    # Real lists show failed tasks with their error text as status, not "ERROR".
    real_failures = {t["status"] for t in examples} - {"OK"}
    assert real_failures, "the examples should contain a failed task"
    if not statuses - {"OK"} or {"ERROR", "error", "failed"} & statuses:
        problems.append(f"failed tasks should carry the error text as status: {statuses}")
    report(sorted(set(problems)))


def _upid_agrees(task: Mapping[str, Any]) -> list[str]:
    """List/status entries repeat the UPID's fields in decimal, tokens split (docs/proxmox.md,
    Tasks)."""
    try:
        upid = UPID.parse(task["upid"])
    except ValueError:
        return [f"not a UPID: {task['upid']!r}"]
    user = upid.user.split("!", 1)[0]
    fields = (upid.node, upid.pid, upid.pstart, upid.starttime, upid.type, upid.id, user)
    listed = tuple(
        task.get(k) for k in ("node", "pid", "pstart", "starttime", "type", "id", "user")
    )
    problems = [] if fields == listed else [f"{task['upid']}: fields {listed} != {fields}"]
    if "!" in upid.user and task.get("tokenid") != upid.user.split("!", 1)[1]:
        problems.append(f"{task['upid']}: tokenid {task.get('tokenid')!r}")
    return problems


def test_vzdump_job_task_has_an_empty_id(wire: Wire) -> None:
    """Backup jobs run as `vzdump::user:` with `id: ""` (the home-assistant example)."""
    example = items_of("nodes-tasks-vzdump.home-assistant-core.json")[0]
    assert example["id"] == "" and ":vzdump::" in example["upid"]
    ours = [t for t in wire.get("/cluster/tasks") if t["type"] == "vzdump" and t["id"] == ""]
    assert ours, "the demo history has a vzdump job task"
    report(
        [p for t in ours for p in compare_object([example], t, "vzdump task")]
        + [f"{t['upid']} lacks '::'" for t in ours if ":vzdump::" not in t["upid"]]
    )


def test_task_status(wire: Wire) -> None:
    """Finished tasks: status "stopped" and exitstatus (OK or the error text)."""
    examples = data_of(
        "task-status-qmstart.baonq-pyproxmox.json",
        "task-status-stopped-ok.proxmoxer-tests.json",
        "task-status-stopped-interrupted.proxmoxer-tests.json",
    )
    problems: list[str] = []
    for task in finished_tasks(wire):
        ours = wire.get(f"/nodes/{task['node']}/tasks/{task['upid']}/status")
        problems += compare_object(examples, ours, "task status")
        problems += _upid_agrees(ours)
        # read_task_status returns upid_decode's fields plus status/exitstatus (and tokenid
        # for token tasks) and nothing else; e.g. no `endtime`, which clients must not expect.
        extra = set(ours) - set().union(*examples) - {"tokenid"}
        if extra:
            problems.append(f"task status has keys PVE does not send: {sorted(extra)}")
        if ours["status"] != "stopped" or ours["exitstatus"] != task["status"]:
            problems.append(f"{task['upid']}: status {ours['status']!r}/{ours['exitstatus']!r}")
    report(sorted(set(problems)))


def test_task_log(wire: Wire) -> None:
    """Task logs: {n, t} lines numbered from 1, `total`, ending in TASK OK / TASK ERROR: ..."""
    example = load_response("task-log-qmstart.baonq-pyproxmox.json")
    problems: list[str] = []
    for task in finished_tasks(wire):
        body = wire.envelope("GET", f"/nodes/{task['node']}/tasks/{task['upid']}/log", limit=0)
        lines = body["data"]
        problems += compare_items(example["data"], lines, "task log")
        if set(body) != set(example):
            problems.append(f"task log envelope {sorted(body)}, PVE {sorted(example)}")
        if body.get("total") != len(lines) or [ln["n"] for ln in lines] != list(
            range(1, len(lines) + 1)
        ):
            problems.append(
                f"{task['upid']}: total {body.get('total')} for n={[ln['n'] for ln in lines]}"
            )
        last = lines[-1]["t"] if lines else ""
        status = task["status"]
        expected = (
            "TASK OK"
            if status == "OK"
            else (f"TASK {status}" if status.startswith("WARNINGS") else f"TASK ERROR: {status}")
        )
        if last != expected:
            problems.append(f"{task['upid']}: last log line {last!r}, expected {expected!r}")
    report(problems)


def test_task_start_returns_a_upid(make_sim: Callable[..., Simulator]) -> None:
    """An async POST answers just the UPID string, in PVE's format."""
    example = load_response("task-start-upid.baonq-pyproxmox.json")
    assert UPID_RE.match(example["data"])
    sim = make_sim()
    client = Wire(sim, sim.token_id, sim.token_secret)
    path = guest_paths(client, "qemu", status="stopped", plain=True)[0]
    body = client.envelope("POST", f"{path}/status/start")
    assert set(body) == set(example)
    assert isinstance(body["data"], str) and UPID_RE.match(body["data"]), body


def test_interrupted_task(make_sim: Callable[..., Simulator]) -> None:
    """DELETE on a running task: data null; a backup ends "interrupted by signal" as the
    example (vzdump has its own handler), a start "received interrupt" (fork_worker's)."""
    example = data_of("task-status-stopped-interrupted.proxmoxer-tests.json")[0]
    sim = make_sim()
    client = Wire(sim, sim.token_id, sim.token_secret)
    schema = schema_endpoints()[("DELETE", "/nodes/{node}/tasks/{upid}")]["returns"]
    problems: list[str] = []
    path = guest_paths(client, "qemu", status="stopped", plain=True)[0]
    backup = client.envelope("POST", "/nodes/pve-a/vzdump", vmid=106, storage="nas-backup")
    start = client.envelope("POST", f"{path}/status/start")
    for upid, status in (
        (backup["data"], example["exitstatus"]),
        (start["data"], "received interrupt"),
    ):
        node = UPID.parse(upid).node
        deleted = client.envelope("DELETE", f"/nodes/{node}/tasks/{upid}")
        problems += validate(deleted["data"], schema)
        ours = client.get(f"/nodes/{node}/tasks/{upid}/status")
        problems += compare_object([example], ours, "task status (interrupted)")
        if (ours["status"], ours.get("exitstatus")) != ("stopped", status):
            problems.append(f"killed task: {ours}")
        log = client.get(f"/nodes/{node}/tasks/{upid}/log")
        if log[-1]["t"] != f"TASK ERROR: {status}":
            problems.append(f"killed task log ends {log[-1]['t']!r}")
    report(problems)


# -- logs, storage, access, pools ------------------------------------------------------


def test_syslog_with_total(wire: Wire) -> None:
    """Syslog: 50 {n, t} lines by default, numbered from `start`+1, `total` = all lines."""
    example = load_response("node-syslog.baonq-pyproxmox.json")
    problems: list[str] = []
    for node in (n["node"] for n in wire.get("/nodes")):
        body = wire.envelope("GET", f"/nodes/{node}/syslog")
        problems += compare_items(example["data"], body["data"], "syslog")
        if set(body) != set(example):
            problems.append(f"syslog envelope {sorted(body)}, PVE {sorted(example)}")
        if len(body["data"]) != len(example["data"]) or body["total"] <= len(body["data"]):
            problems.append(f"syslog: {len(body['data'])} lines of total {body.get('total')}")
        if [ln["n"] for ln in body["data"]] != list(range(1, len(body["data"]) + 1)):
            problems.append("syslog lines are not numbered from 1")
    report(sorted(set(problems)))


def test_node_storage(wire: Wire) -> None:
    """Per-node storage list with usage numbers and 0/1 flags."""
    examples = items_of("node-storage.baonq-pyproxmox.json")
    ours = [s for n in wire.get("/nodes") for s in wire.get(f"/nodes/{n['node']}/storage")]
    report(compare_items(examples, ours, "nodes/N/storage"))


def test_access_roles(wire: Wire) -> None:
    """Roles: roleid, comma-separated privs, special=1 for built-ins."""
    examples = items_of("access-roles.go-proxmox-pve7x.json")
    ours = wire.get("/access/roles")
    builtin = [r for r in ours if r.get("special")]
    problems = compare_items(examples, builtin, "access/roles")
    problems += [
        f"role {r['roleid']}: privs {r.get('privs')!r}"
        for r in ours
        if not re.fullmatch(r"([A-Za-z.]+(,[A-Za-z.]+)*)?", r.get("privs", ""))
    ]
    report(problems)


def test_access_permissions(wire: Wire) -> None:
    """Without `path`: {path: {privilege: 0|1}} for the fixed set of top-level paths."""
    example = data_of("access-permissions-root.go-proxmox-pve7x.json")[0]
    ours = wire.get("/access/permissions")
    # PVE 7 listed "/pools"; PVE 8+ use "/pool" (docs/proxmox.md, Permissions).
    expected_paths = {"/pool" if p == "/pools" else p for p in example}
    problems = [f"permissions: missing path {p!r}" for p in sorted(expected_paths - set(ours))]
    for path, privs in ours.items():
        # Privilege names differ between versions (VM.Monitor left in 9.0): compare the
        # shape of the map, not the privilege set.
        if not isinstance(privs, dict) or any(
            v not in (0, 1) or isinstance(v, bool) for v in privs.values()
        ):
            problems.append(f"permissions[{path!r}] is not a {{privilege: 0|1}} map: {privs}")
    single = wire.get("/access/permissions", path="/vms/100")
    if list(single) != ["/vms/100"]:
        problems.append(f"path=/vms/100 must answer exactly that path: {list(single)}")
    report(problems)


def _permission_scenario(privsep: bool) -> dict[str, Any]:
    """The scenario written into the derived permission examples (`_derived.scenario`)."""
    data = demo_data()
    data.pop("pool", None)  # pool members would add /vms/<id> paths the scenario lacks
    for guest in data["guest"]:
        guest.pop("pool", None)
    data["user"] = [{"id": "argus@pve"}]
    data["token"] = [{"id": "argus@pve!tui", "secret": "tui-secret", "privsep": privsep}]
    data["acl"] = [
        {"path": "/", "subject": "argus@pve", "role": "PVEAuditor"},
        {"path": "/vms", "subject": "argus@pve", "role": "PVEVMUser"},
        {"path": "/", "subject": "argus@pve!tui", "role": "PVEAuditor"},
        {"path": "/vms/100", "subject": "argus@pve!tui", "role": "PVEVMUser", "propagate": False},
    ]
    return data


@pytest.mark.parametrize(
    ("example", "privsep", "params"),
    [
        ("access-permissions-token-privsep.derived.json", True, {}),
        ("access-permissions-token-no-privsep.derived.json", False, {}),
        ("access-permissions-token-path.derived.json", True, {"path": "/vms/100"}),
    ],
)
def test_access_permissions_derived(
    make_sim: Callable[..., Simulator], example: str, privsep: bool, params: dict[str, str]
) -> None:
    """The derived examples were computed from PVE's code for one scenario: same answer."""
    expected = load_response(f"derived/{example}")["data"]
    sim = make_sim(_permission_scenario(privsep))
    ours = Wire(sim, "argus@pve!tui", "tui-secret").get("/access/permissions", **params)
    assert ours == expected


def test_pools_with_members(wire: Wire) -> None:
    """`/pools?poolid=X` lists the pool with members carrying full resource stats."""
    example = items_of("pools-members.community-proxmox-inventory.json")
    problems: list[str] = []
    for pool in (p["poolid"] for p in wire.get("/pools")):
        ours = wire.get("/pools", poolid=pool)
        problems += compare_items(example, ours, "pools?poolid")
        members = [m for entry in ours for m in entry.get("members", [])]
        real_members = [m for entry in example for m in entry["members"]]
        problems += compare_items(
            real_members,
            members,
            "pools?poolid members",
            group=lambda m: m["type"],
            groups_needed=False,
        )
        if not members:
            problems.append(f"pool {pool} has no members in the demo")
    report(sorted(set(problems)))


# -- bookkeeping -----------------------------------------------------------------------

# Examples not compared above, and why.
NOT_COMPARED = {
    # QEMU's prelaunch state never occurs in the simulator.
    "qemu-status-current-prelaunch.community-proxmox-inventory.json",
    # Described in errors.derived.json form; checked by test_errors.py.
    "derived/errors.derived.json",
}


def test_every_example_is_compared() -> None:
    """A new captured example should get a comparison (or a stated reason not to)."""
    folder: Path = require_shared("responses")
    used = set(re.findall(r'"((?:derived/)?[\w.-]+\.json)"', Path(__file__).read_text("utf-8")))
    used |= {f"derived/{name}" for name in used if name.endswith(".derived.json")}
    files = {str(p.relative_to(folder)) for p in folder.rglob("*.json")}
    missing = sorted(files - used - NOT_COMPARED)
    assert not missing, f"examples nobody compares: {missing}"
    assert SHARED_PVE.exists()
