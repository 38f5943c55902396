"""Scenario files: the TOML that describes a simulated cluster, and its validation.

A scenario is plain data; `state.ClusterState` turns it into a running cluster. Every
problem in a file is reported as one `ScenarioError` naming the table and key, so a
typo never surfaces as a traceback.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argus_tui.sim.roles import builtin_roles

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(i?B?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}
_NODE_RE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$")
_USER_RE = re.compile(r"^[^\s:/@!]+@[A-Za-z][A-Za-z0-9._-]*$")
_TOKEN_RE = re.compile(r"^([^\s:/@!]+@[A-Za-z][A-Za-z0-9._-]*)!([A-Za-z][A-Za-z0-9._-]+)$")
_QEMU_ACTIONS = ("start", "stop", "shutdown", "reboot", "reset", "suspend", "resume")
_LXC_ACTIONS = ("start", "stop", "shutdown", "reboot", "suspend", "resume")
ROOT_TOKEN_ID = "root@pam!argus"  # noqa: S105 - an id, not a secret


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message says where and why."""


def parse_size(value: object, where: str) -> int:
    """Bytes from `64G`, `512M`, `1.5T` or a plain integer (binary units, as PVE uses)."""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: expected a size such as '8G', got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        match = _SIZE_RE.match(value)
        if match:
            return int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    raise ScenarioError(f"{where}: expected a size such as '8G' or '512M', got {value!r}")


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


@dataclass(slots=True)
class UserSpec:
    id: str
    groups: list[str] = field(default_factory=list)
    enable: bool = True


@dataclass(slots=True)
class TokenSpec:
    id: str
    secret: str
    privsep: bool = True
    expire: int = 0

    @property
    def userid(self) -> str:
        return self.id.split("!", 1)[0]


@dataclass(slots=True)
class AclSpec:
    path: str
    subject: str
    role: str
    propagate: bool = True


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
    guests: list[GuestSpec] = field(default_factory=list)
    users: list[UserSpec] = field(default_factory=list)
    tokens: list[TokenSpec] = field(default_factory=list)
    roles: dict[str, frozenset[str]] = field(default_factory=dict)
    acls: list[AclSpec] = field(default_factory=list)
    tasks: list[TaskSpec] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)

    @property
    def pve_major(self) -> int:
        try:
            return int(self.version.split(".", 1)[0])
        except ValueError:
            return 9


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ScenarioError(f"[{key}] must be a table")
    return value


def _array(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ScenarioError(f"[[{key}]] must be an array of tables")
    return value


def _get(
    item: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = None
) -> Any:
    if key not in item:
        if default is None:
            raise ScenarioError(f"{where}: missing required key '{key}'")
        return default
    value = item[key]
    if isinstance(value, bool) and kind is int:
        raise ScenarioError(f"{where}: '{key}' must be an integer, got {value!r}")
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ScenarioError(f"{where}: '{key}' must be {names}, got {value!r}")
    return value


def _check_keys(item: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _faults(data: dict[str, Any]) -> Faults:
    raw = _table(data, "faults")
    rule_keys = {
        "path",
        "latency_ms",
        "error_rate",
        "error_status",
        "malformed_json",
        "truncated_json",
        "html_error",
        "hang",
    }
    _check_keys(raw, rule_keys | {"auth_delay_s", "rule"}, "[faults]")

    def rule(item: dict[str, Any], where: str) -> FaultRule:
        _check_keys(item, rule_keys, where)
        rate = _get(item, "error_rate", (int, float), where, 0.0)
        if not 0.0 <= float(rate) <= 1.0:
            raise ScenarioError(f"{where}: error_rate must be between 0 and 1")
        return FaultRule(
            path=_get(item, "path", str, where, ""),
            latency_ms=_get(item, "latency_ms", int, where, 0),
            error_rate=float(rate),
            error_status=_get(item, "error_status", int, where, 500),
            malformed_json=_get(item, "malformed_json", bool, where, False),
            truncated_json=_get(item, "truncated_json", bool, where, False),
            html_error=_get(item, "html_error", bool, where, False),
            hang=_get(item, "hang", bool, where, False),
        )

    rules = []
    top = {k: v for k, v in raw.items() if k in rule_keys}
    if top:
        rules.append(rule(top, "[faults]"))
    for i, item in enumerate(_array(raw, "rule")):
        rules.append(rule(item, f"[[faults.rule]] #{i + 1}"))
    delay = _get(raw, "auth_delay_s", (int, float), "[faults]", 0.0)
    return Faults(rules=rules, auth_delay_s=float(delay))


def scenario_from_dict(data: dict[str, Any]) -> Scenario:
    """Validate parsed TOML and build a Scenario; raises ScenarioError on any problem."""
    known = {"cluster", "node", "pool", "guest", "user", "token", "role", "acl", "task", "faults"}
    _check_keys(data, known, "scenario")
    sc = Scenario()
    cluster = _table(data, "cluster")
    _check_keys(cluster, {"name", "version", "seed"}, "[cluster]")
    if "name" in cluster:
        sc.cluster_name = _get(cluster, "name", str, "[cluster]")
    sc.version = _get(cluster, "version", str, "[cluster]", "9.1.2")
    if not re.match(r"^\d+\.\d+([.-]\d+)?$", sc.version):
        raise ScenarioError(f"[cluster]: version must look like '8.2.4', got {sc.version!r}")
    sc.seed = _get(cluster, "seed", int, "[cluster]", 0)

    for i, item in enumerate(_array(data, "node")):
        where = f"[[node]] #{i + 1}"
        _check_keys(item, {"name", "status", "cpus", "memory", "disk", "ip"}, where)
        name = _get(item, "name", str, where)
        if not _NODE_RE.match(name):
            raise ScenarioError(f"{where}: {name!r} is not a valid node name")
        status = _get(item, "status", str, where, "online")
        if status not in ("online", "offline"):
            raise ScenarioError(f"{where}: status must be online or offline, got {status!r}")
        sc.nodes.append(
            NodeSpec(
                name=name,
                status=status,
                cpus=_get(item, "cpus", int, where, 8),
                memory=parse_size(item.get("memory", "32G"), f"{where} memory"),
                disk=parse_size(item.get("disk", "200G"), f"{where} disk"),
                ip=_get(item, "ip", str, where, f"10.0.0.{11 + i}"),
            )
        )
    if not sc.nodes:
        raise ScenarioError("scenario: at least one [[node]] is required")
    node_names = {n.name for n in sc.nodes}
    if len(node_names) != len(sc.nodes):
        raise ScenarioError("scenario: node names must be unique")
    if sc.cluster_name is None and len(sc.nodes) > 1:
        raise ScenarioError("scenario: several nodes need a [cluster] table with a name")

    for i, item in enumerate(_array(data, "pool")):
        where = f"[[pool]] #{i + 1}"
        _check_keys(item, {"id"}, where)
        pool_id = _get(item, "id", str, where)
        if not re.match(r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+){0,2}$", pool_id):
            raise ScenarioError(f"{where}: {pool_id!r} is not a valid pool id")
        sc.pools.append(pool_id)

    seen_vmids: set[int] = set()
    guest_keys = {
        "vmid",
        "type",
        "name",
        "node",
        "status",
        "cores",
        "memory",
        "disk",
        "tags",
        "pool",
        "template",
        "lock",
        "ha",
        "fail",
    }
    for i, item in enumerate(_array(data, "guest")):
        where = f"[[guest]] #{i + 1}"
        _check_keys(item, guest_keys, where)
        vmid = _get(item, "vmid", int, where)
        if not 100 <= vmid <= 999_999_999:
            raise ScenarioError(f"{where}: vmid must be between 100 and 999999999")
        if vmid in seen_vmids:
            raise ScenarioError(f"{where}: vmid {vmid} is used twice")
        seen_vmids.add(vmid)
        gtype = _get(item, "type", str, where, "qemu")
        if gtype not in ("qemu", "lxc"):
            raise ScenarioError(f"{where}: type must be qemu or lxc, got {gtype!r}")
        node = _get(item, "node", str, where)
        if node not in node_names:
            raise ScenarioError(f"{where}: node {node!r} is not a [[node]] of this scenario")
        status = _get(item, "status", str, where, "stopped")
        if status not in ("running", "stopped", "paused"):
            raise ScenarioError(f"{where}: status must be running, stopped or paused")
        if status == "paused" and gtype == "lxc":
            raise ScenarioError(f"{where}: only qemu guests can be paused")
        pool = item.get("pool")
        if pool is not None and pool not in sc.pools:
            raise ScenarioError(f"{where}: pool {pool!r} is not a [[pool]] of this scenario")
        tags = _get(item, "tags", list, where, [])
        if not all(isinstance(t, str) for t in tags):
            raise ScenarioError(f"{where}: tags must be strings")
        fail = _get(item, "fail", dict, where, {})
        actions = _QEMU_ACTIONS if gtype == "qemu" else _LXC_ACTIONS
        for action, text in fail.items():
            if action not in actions or not isinstance(text, str):
                raise ScenarioError(f"{where}: fail.{action} is not a {gtype} power action")
        sc.guests.append(
            GuestSpec(
                vmid=vmid,
                type=gtype,
                name=_get(item, "name", str, where, f"{'vm' if gtype == 'qemu' else 'ct'}{vmid}"),
                node=node,
                status=status,
                cores=_get(item, "cores", int, where, 1),
                memory=parse_size(item.get("memory", "1G"), f"{where} memory"),
                disk=parse_size(item.get("disk", "8G"), f"{where} disk"),
                tags=list(tags),
                pool=pool,
                template=_get(item, "template", bool, where, False),
                lock=_get(item, "lock", str, where, ""),
                ha=_get(item, "ha", bool, where, False),
                fail=dict(fail),
            )
        )

    sc.users.append(UserSpec(id="root@pam"))
    for i, item in enumerate(_array(data, "user")):
        where = f"[[user]] #{i + 1}"
        _check_keys(item, {"id", "groups", "enable"}, where)
        uid = _get(item, "id", str, where)
        if not _USER_RE.match(uid):
            raise ScenarioError(f"{where}: {uid!r} is not a user id like 'ops@pve'")
        groups = _get(item, "groups", list, where, [])
        if uid == "root@pam":
            sc.users[0].groups = list(groups)
            continue
        sc.users.append(
            UserSpec(id=uid, groups=list(groups), enable=_get(item, "enable", bool, where, True))
        )
    user_ids = {u.id for u in sc.users}
    groups = {g for u in sc.users for g in u.groups}

    for i, item in enumerate(_array(data, "token")):
        where = f"[[token]] #{i + 1}"
        _check_keys(item, {"id", "secret", "privsep", "expire"}, where)
        tid = _get(item, "id", str, where)
        match = _TOKEN_RE.match(tid)
        if not match:
            raise ScenarioError(f"{where}: {tid!r} is not a token id like 'ops@pve!tui'")
        if match.group(1) not in user_ids:
            raise ScenarioError(f"{where}: user {match.group(1)!r} is not a [[user]]")
        sc.tokens.append(
            TokenSpec(
                id=tid,
                secret=_get(item, "secret", str, where),
                privsep=_get(item, "privsep", bool, where, True),
                expire=_get(item, "expire", int, where, 0),
            )
        )

    sc.roles = builtin_roles(sc.pve_major)
    known_privs = sc.roles["Administrator"]
    for i, item in enumerate(_array(data, "role")):
        where = f"[[role]] #{i + 1}"
        _check_keys(item, {"id", "privs"}, where)
        rid = _get(item, "id", str, where)
        if rid in sc.roles and rid in builtin_roles(sc.pve_major):
            raise ScenarioError(f"{where}: {rid!r} is a built-in role")
        privs = _get(item, "privs", list, where)
        bad = [p for p in privs if p not in known_privs]
        if bad:
            raise ScenarioError(f"{where}: unknown privilege(s) {', '.join(map(str, bad))}")
        sc.roles[rid] = frozenset(privs)

    token_ids = {t.id for t in sc.tokens}
    for i, item in enumerate(_array(data, "acl")):
        where = f"[[acl]] #{i + 1}"
        _check_keys(item, {"path", "subject", "role", "propagate"}, where)
        path = _get(item, "path", str, where)
        if not re.match(r"^/([A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*)?$", path):
            raise ScenarioError(f"{where}: {path!r} is not an ACL path")
        subject = _get(item, "subject", str, where)
        if subject.startswith("@"):
            if subject[1:] not in groups:
                raise ScenarioError(f"{where}: group {subject[1:]!r} has no members")
        elif subject not in user_ids and subject not in token_ids:
            raise ScenarioError(f"{where}: subject {subject!r} is not a user or token")
        role = _get(item, "role", str, where)
        if role not in sc.roles:
            raise ScenarioError(f"{where}: unknown role {role!r}")
        sc.acls.append(
            AclSpec(
                path=path.rstrip("/") or "/",
                subject=subject,
                role=role,
                propagate=_get(item, "propagate", bool, where, True),
            )
        )

    for i, item in enumerate(_array(data, "task")):
        where = f"[[task]] #{i + 1}"
        _check_keys(item, {"node", "type", "id", "user", "ago", "duration", "error", "log"}, where)
        node = _get(item, "node", str, where)
        if node not in node_names:
            raise ScenarioError(f"{where}: node {node!r} is not a [[node]]")
        log = _get(item, "log", list, where, [])
        sc.tasks.append(
            TaskSpec(
                node=node,
                type=_get(item, "type", str, where),
                id=str(_get(item, "id", (str, int), where, "")),
                user=_get(item, "user", str, where, "root@pam"),
                ago=_get(item, "ago", int, where, 3600),
                duration=_get(item, "duration", int, where, 5),
                error=_get(item, "error", str, where, ""),
                log=[str(x) for x in log],
            )
        )

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
