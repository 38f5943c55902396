"""Scenario files: the TOML that describes a simulated cluster, and its validation.

A scenario is plain data; `state.ClusterState` turns it into a running cluster. Every
problem in a file is reported as one `ScenarioError` naming the table and key, so a
typo never surfaces as a traceback. Access tables are read by `scenario_access.py`,
storage and a guest's disks, snapshots and backups by `scenario_storage.py`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argus_tui.sim.scenario_access import (
    ROOT_TOKEN_ID,
    AclSpec,
    TokenSpec,
    UserSpec,
    parse_access,
)
from argus_tui.sim.scenario_fields import (
    ScenarioError,
    array,
    check_keys,
    get,
    parse_size,
    table,
)
from argus_tui.sim.scenario_guest import GUEST_KEYS, parse_guest_extras
from argus_tui.sim.scenario_storage import (
    BackupSpec,
    SnapshotSpec,
    StorageSpec,
    parse_guest_storage,
    parse_storages,
)

__all__ = [
    "ROOT_TOKEN_ID",
    "AclSpec",
    "BackupSpec",
    "FaultRule",
    "Faults",
    "GuestSpec",
    "NodeSpec",
    "Scenario",
    "ScenarioError",
    "SnapshotSpec",
    "StorageSpec",
    "TaskSpec",
    "TokenSpec",
    "UserSpec",
    "load_scenario",
    "parse_size",
    "scenario_from_dict",
]

_NODE_RE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$")
_QEMU_ACTIONS = ("start", "stop", "shutdown", "reboot", "reset", "suspend", "resume")
_LXC_ACTIONS = ("start", "stop", "shutdown", "reboot", "suspend", "resume")
_GUEST_KEYS = {"vmid", "type", "name", "node", "status", "cores", "memory", "disk", "tags"}
_GUEST_KEYS |= {"pool", "template", "lock", "ha", "fail", "disk_storage", "snapshots", "backups"}
_GUEST_KEYS |= GUEST_KEYS | {"local_disks"}
_FAULT_KEYS = {"path", "latency_ms", "error_rate", "error_status", "malformed_json"}
_FAULT_KEYS |= {"truncated_json", "html_error", "hang"}
#: How `/access/permissions` may list (see `Scenario.permissions_listing`).
LISTINGS = ("pve", "root-only")


@dataclass(slots=True)
class NodeSpec:
    name: str
    status: str = "online"
    cpus: int = 8
    memory: int = 32 * 1024**3
    disk: int = 200 * 1024**3
    ip: str = ""


@dataclass(slots=True)
class GuestSpec:
    vmid: int
    type: str
    name: str
    node: str
    status: str = "stopped"
    cores: int = 1
    memory: int = 1024**3
    disk: int = 8 * 1024**3
    tags: list[str] = field(default_factory=list)
    pool: str | None = None
    template: bool = False
    lock: str = ""
    ha: bool = False
    fail: dict[str, str] = field(default_factory=dict)
    disk_storage: str = "local-lvm"
    snapshots: list[SnapshotSpec] = field(default_factory=list)
    backups: list[BackupSpec] = field(default_factory=list)
    agent: bool = False
    ips: list[str] = field(default_factory=list)
    local_resources: list[str] = field(default_factory=list)
    onboot: bool = False
    serial: str = ""  # qemu: the serialN that is a socket (a serial console), "" = none


@dataclass(slots=True)
class TaskSpec:
    """A task already in the node's history when the simulator starts."""

    node: str
    type: str
    id: str = ""
    user: str = "root@pam"
    ago: int = 3600
    duration: int = 5
    error: str = ""
    log: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FaultRule:
    """One fault: applies to requests whose path starts with `path` (all when empty)."""

    path: str = ""
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 500
    malformed_json: bool = False
    truncated_json: bool = False
    html_error: bool = False
    hang: bool = False


@dataclass(slots=True)
class Faults:
    rules: list[FaultRule] = field(default_factory=list)
    auth_delay_s: float = 0.0


@dataclass(slots=True)
class Scenario:
    cluster_name: str | None = None
    version: str = "9.1.2"
    seed: int = 0
    nodes: list[NodeSpec] = field(default_factory=list)
    pools: list[str] = field(default_factory=list)
    storages: list[StorageSpec] = field(default_factory=list)
    guests: list[GuestSpec] = field(default_factory=list)
    users: list[UserSpec] = field(default_factory=list)
    tokens: list[TokenSpec] = field(default_factory=list)
    roles: dict[str, frozenset[str]] = field(default_factory=dict)
    acls: list[AclSpec] = field(default_factory=list)
    tasks: list[TaskSpec] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    default_storages: bool = False  # no [[storage]]: guests' disks on the shared default
    # termproxy verifies API tokens (qemu-server >= 9.1.7 / 8.4.7, pve-container >= 6.1.3 /
    # 5.3.4); false: older packages, whose consoles close before `OK` for a token
    console_tokens: bool = True
    # how /access/permissions lists: "pve" as PVE does; "root-only" as some third-party
    # servers do: the dump holds `/` alone, and `?path=X` is answered keyed `/`
    permissions_listing: str = "pve"

    @property
    def pve_major(self) -> int:
        try:
            return int(self.version.split(".", 1)[0])
        except ValueError:
            return 9


def _faults(data: dict[str, Any]) -> Faults:
    raw = table(data, "faults")
    check_keys(raw, _FAULT_KEYS | {"auth_delay_s", "rule"}, "[faults]")

    def rule(item: dict[str, Any], where: str) -> FaultRule:
        check_keys(item, _FAULT_KEYS, where)
        rate = get(item, "error_rate", (int, float), where, 0.0)
        if not 0.0 <= float(rate) <= 1.0:
            raise ScenarioError(f"{where}: error_rate must be between 0 and 1")
        return FaultRule(
            path=get(item, "path", str, where, ""),
            latency_ms=get(item, "latency_ms", int, where, 0),
            error_rate=float(rate),
            error_status=get(item, "error_status", int, where, 500),
            malformed_json=get(item, "malformed_json", bool, where, False),
            truncated_json=get(item, "truncated_json", bool, where, False),
            html_error=get(item, "html_error", bool, where, False),
            hang=get(item, "hang", bool, where, False),
        )

    rules = []
    top = {k: v for k, v in raw.items() if k in _FAULT_KEYS}
    if top:
        rules.append(rule(top, "[faults]"))
    for i, item in enumerate(array(raw, "rule")):
        rules.append(rule(item, f"[[faults.rule]] #{i + 1}"))
    delay = get(raw, "auth_delay_s", (int, float), "[faults]", 0.0)
    return Faults(rules=rules, auth_delay_s=float(delay))


def _nodes(data: dict[str, Any]) -> list[NodeSpec]:
    nodes = []
    for i, item in enumerate(array(data, "node")):
        where = f"[[node]] #{i + 1}"
        check_keys(item, {"name", "status", "cpus", "memory", "disk", "ip"}, where)
        name = get(item, "name", str, where)
        if not _NODE_RE.match(name):
            raise ScenarioError(f"{where}: {name!r} is not a valid node name")
        status = get(item, "status", str, where, "online")
        if status not in ("online", "offline"):
            raise ScenarioError(f"{where}: status must be online or offline, got {status!r}")
        nodes.append(
            NodeSpec(
                name=name,
                status=status,
                cpus=get(item, "cpus", int, where, 8),
                memory=parse_size(item.get("memory", "32G"), f"{where} memory"),
                disk=parse_size(item.get("disk", "200G"), f"{where} disk"),
                ip=get(item, "ip", str, where, f"10.0.0.{11 + i}"),
            )
        )
    if not nodes:
        raise ScenarioError("scenario: at least one [[node]] is required")
    if len({n.name for n in nodes}) != len(nodes):
        raise ScenarioError("scenario: node names must be unique")
    return nodes


def _guest(item: dict[str, Any], where: str, sc: Scenario, seen: set[int]) -> GuestSpec:
    check_keys(item, _GUEST_KEYS, where)
    vmid = get(item, "vmid", int, where)
    if not 100 <= vmid <= 999_999_999:
        raise ScenarioError(f"{where}: vmid must be between 100 and 999999999")
    if vmid in seen:
        raise ScenarioError(f"{where}: vmid {vmid} is used twice")
    seen.add(vmid)
    gtype = get(item, "type", str, where, "qemu")
    if gtype not in ("qemu", "lxc"):
        raise ScenarioError(f"{where}: type must be qemu or lxc, got {gtype!r}")
    node = get(item, "node", str, where)
    if node not in {n.name for n in sc.nodes}:
        raise ScenarioError(f"{where}: node {node!r} is not a [[node]] of this scenario")
    status = get(item, "status", str, where, "stopped")
    if status not in ("running", "stopped", "paused"):
        raise ScenarioError(f"{where}: status must be running, stopped or paused")
    if status == "paused" and gtype == "lxc":
        raise ScenarioError(f"{where}: only qemu guests can be paused")
    pool = item.get("pool")
    if pool is not None and pool not in sc.pools:
        raise ScenarioError(f"{where}: pool {pool!r} is not a [[pool]] of this scenario")
    tags = get(item, "tags", list, where, [])
    if not all(isinstance(t, str) for t in tags):
        raise ScenarioError(f"{where}: tags must be strings")
    fail = get(item, "fail", dict, where, {})
    # qemu: `fail.agent` is what the guest agent answers instead (its service is down)
    actions = (*_QEMU_ACTIONS, "agent") if gtype == "qemu" else _LXC_ACTIONS
    for action, text in fail.items():
        if action not in actions or not isinstance(text, str):
            raise ScenarioError(f"{where}: fail.{action} is not a {gtype} power action")
    storage = parse_guest_storage(item, where, gtype, node, sc.storages, sc.default_storages)
    extras = parse_guest_extras(item, where, gtype)
    return GuestSpec(
        vmid=vmid,
        type=gtype,
        name=get(item, "name", str, where, f"{'vm' if gtype == 'qemu' else 'ct'}{vmid}"),
        node=node,
        status=status,
        cores=get(item, "cores", int, where, 1),
        memory=parse_size(item.get("memory", "1G"), f"{where} memory"),
        disk=parse_size(item.get("disk", "8G"), f"{where} disk"),
        tags=list(tags),
        pool=pool,
        template=get(item, "template", bool, where, False),
        lock=get(item, "lock", str, where, ""),
        ha=get(item, "ha", bool, where, False),
        fail=dict(fail),
        disk_storage=storage.disk_storage,
        snapshots=storage.snapshots,
        backups=storage.backups,
        agent=extras.agent,
        ips=extras.ips,
        local_resources=extras.local_resources,
        onboot=extras.onboot,
        serial=extras.serial,
    )


def _tasks(data: dict[str, Any], node_names: set[str]) -> list[TaskSpec]:
    tasks = []
    for i, item in enumerate(array(data, "task")):
        where = f"[[task]] #{i + 1}"
        check_keys(item, {"node", "type", "id", "user", "ago", "duration", "error", "log"}, where)
        node = get(item, "node", str, where)
        if node not in node_names:
            raise ScenarioError(f"{where}: node {node!r} is not a [[node]]")
        log = get(item, "log", list, where, [])
        tasks.append(
            TaskSpec(
                node=node,
                type=get(item, "type", str, where),
                id=str(get(item, "id", (str, int), where, "")),
                user=get(item, "user", str, where, "root@pam"),
                ago=get(item, "ago", int, where, 3600),
                duration=get(item, "duration", int, where, 5),
                error=get(item, "error", str, where, ""),
                log=[str(x) for x in log],
            )
        )
    return tasks


def scenario_from_dict(data: dict[str, Any]) -> Scenario:
    """Validate parsed TOML and build a Scenario; raises ScenarioError on any problem."""
    known = {"cluster", "node", "pool", "storage", "guest", "user", "token", "role", "acl"}
    check_keys(data, known | {"task", "faults"}, "scenario")
    sc = Scenario()
    cluster = table(data, "cluster")
    check_keys(
        cluster, {"name", "version", "seed", "console_tokens", "permissions_listing"}, "[cluster]"
    )
    if "name" in cluster:
        sc.cluster_name = get(cluster, "name", str, "[cluster]")
    sc.version = get(cluster, "version", str, "[cluster]", "9.1.2")
    if not re.match(r"^\d+\.\d+([.-]\d+)?$", sc.version):
        raise ScenarioError(f"[cluster]: version must look like '8.2.4', got {sc.version!r}")
    sc.seed = get(cluster, "seed", int, "[cluster]", 0)
    sc.console_tokens = get(cluster, "console_tokens", bool, "[cluster]", True)
    sc.permissions_listing = get(cluster, "permissions_listing", str, "[cluster]", "pve")
    if sc.permissions_listing not in LISTINGS:
        raise ScenarioError(
            f"[cluster]: permissions_listing must be one of {', '.join(LISTINGS)},"
            f" got {sc.permissions_listing!r}"
        )

    sc.nodes = _nodes(data)
    if sc.cluster_name is None and len(sc.nodes) > 1:
        raise ScenarioError("scenario: several nodes need a [cluster] table with a name")
    for i, item in enumerate(array(data, "pool")):
        where = f"[[pool]] #{i + 1}"
        check_keys(item, {"id"}, where)
        pool_id = get(item, "id", str, where)
        if not re.match(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+){0,2}$", pool_id):
            raise ScenarioError(f"{where}: {pool_id!r} is not a valid pool id")
        sc.pools.append(pool_id)
    sc.storages = parse_storages(data, [n.name for n in sc.nodes])
    sc.default_storages = not data.get("storage")
    seen: set[int] = set()
    for i, item in enumerate(array(data, "guest")):
        sc.guests.append(_guest(item, f"[[guest]] #{i + 1}", sc, seen))

    access = parse_access(data, sc.pve_major)
    sc.users, sc.tokens, sc.roles, sc.acls = access.users, access.tokens, access.roles, access.acls
    sc.tasks = _tasks(data, {n.name for n in sc.nodes})
    sc.faults = _faults(data)
    return sc


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path} is not valid TOML: {exc}") from None
    try:
        return scenario_from_dict(data)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None
