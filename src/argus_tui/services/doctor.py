"""`argus doctor`: can we reach, trust and use the server, and what may this token do?

Each Argus feature is checked with `/access/permissions?path=...` on the exact path the
server will check: the full dump resolves only the paths it lists, so inheritance is
never re-derived from it (docs/proxmox.md, Permissions).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from argus_tui.domain.models import Privileges
from argus_tui.domain.operations import ALLOCATE_SPACE
from argus_tui.errors import ArgusError, ConnectionFailed
from argus_tui.pve.client import PveClient
from argus_tui.pve.mapping import MappingError, as_str, privileges_from, storage_from


@dataclass(frozen=True, slots=True)
class Feature:
    key: str
    title: str
    privilege: str
    path: str  # may contain {node}
    role: str  # the role that grants it (built in, or one of `recommended_roles`)
    also: tuple[str, ...] = ()  # privileges that serve as well


FEATURES = (
    Feature("nodes", "Nodes and their usage", "Sys.Audit", "/nodes/{node}", "PVEAuditor"),
    Feature("guests", "VMs and containers", "VM.Audit", "/vms", "PVEAuditor"),
    Feature("cluster", "Cluster name, quorum, HA", "Sys.Audit", "/", "PVEAuditor"),
    Feature("node_graphs", "Node graphs (rrddata)", "Sys.Audit", "/nodes/{node}", "PVEAuditor"),
    Feature("power", "Power control", "VM.PowerMgmt", "/vms", "PVEVMUser"),
    Feature("task_logs", "Other users' tasks and logs", "Sys.Audit", "/nodes/{node}", "PVEAuditor"),
    Feature("syslog", "Node syslog and journal", "Sys.Syslog", "/nodes/{node}", "PVESysAdmin"),
    Feature("snapshot", "Snapshots: take and delete", "VM.Snapshot", "/vms", "ArgusOperator"),
    Feature(
        "rollback",
        "Snapshots: roll back",
        "VM.Snapshot.Rollback",
        "/vms",
        "ArgusOperator",
        also=("VM.Snapshot",),
    ),
    Feature("backup", "Backups of guests", "VM.Backup", "/vms", "ArgusOperator"),
    Feature("migrate", "Migration and evacuation", "VM.Migrate", "/vms", "ArgusOperator"),
    Feature(
        "task_stop", "Stopping other users' tasks", "Sys.Modify", "/nodes/{node}", "ArgusNodeAdmin"
    ),
    Feature("console", "Guest consoles", "VM.Console", "/vms", "ArgusOperator"),
    Feature(
        "shell", "Node shell (a login prompt)", "Sys.Console", "/nodes/{node}", "ArgusNodeAdmin"
    ),
)

#: Rebooting and shutting down a node: checked on each node (one line per node).
NODE_ROLE = "ArgusNodeAdmin"
NODE_PRIVS = "Sys.Audit Sys.PowerMgmt Sys.Modify Sys.Console"
#: A guest's addresses from its agent: PVE 9 has a privilege of its own (PVEAuditor holds
#: it); PVE 8 asks for VM.Monitor on every agent call, which only the admin roles carry.
AGENT_PRIVILEGE = {"9": "VM.GuestAgent.Audit", "8": "VM.Monitor"}
AGENT_ROLE = "ArgusAgent"

#: Backups also need this on the storage they are written to (one line per storage).
STORAGE_ROLE = "PVEDatastoreUser"

AUDITOR_PRIVS = "Sys.Audit Sys.Syslog VM.Audit Datastore.Audit Pool.Audit"
OPERATOR_PRIVS = (
    AUDITOR_PRIVS
    + " VM.PowerMgmt VM.Snapshot VM.Snapshot.Rollback VM.Backup Datastore.AllocateSpace"
    + " VM.Migrate VM.Console"
)
SNAPSHOT_PRIVS = "VM.Audit VM.Snapshot VM.Snapshot.Rollback"


def recommended_roles(token_id: str, major: str = "9") -> list[str]:
    quoted = f"'{token_id}'"
    agent = AGENT_PRIVILEGE.get(major, AGENT_PRIVILEGE["9"])
    return [
        f'pveum role add ArgusAuditor --privs "{AUDITOR_PRIVS}"',
        f'pveum role add ArgusOperator --privs "{OPERATOR_PRIVS}"',
        f'pveum role add SnapshotOnly --privs "{SNAPSHOT_PRIVS}"',
        f'pveum role add {NODE_ROLE} --privs "{NODE_PRIVS}"',
        f'pveum role add {AGENT_ROLE} --privs "VM.Audit {agent}"',
        f"pveum acl modify / --tokens {quoted} --roles ArgusAuditor    # read-only",
        f"pveum acl modify / --tokens {quoted} --roles ArgusOperator   # power, snapshots,"
        " backups, migration, consoles",
        f"pveum acl modify /nodes --tokens {quoted} --roles {NODE_ROLE}   # node reboot and"
        " shutdown, stopping others' tasks, node shells",
        f"pveum acl modify /vms --tokens {quoted} --roles {AGENT_ROLE}   # guest addresses"
        " from the agent",
        f"pveum acl modify /vms/VMID --tokens {quoted} --roles SnapshotOnly   # snapshots of"
        " one guest",
    ]


@dataclass(slots=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(slots=True)
class FeatureResult:
    feature: str
    title: str
    ok: bool
    privilege: str
    path: str
    grant: str | None = None
    held_on: list[str] = field(default_factory=list)  # not ok: paths below that hold it
    except_on: list[str] = field(default_factory=list)  # ok: paths below that do not


@dataclass(slots=True)
class Report:
    server: str
    token_id: str
    tls: str
    checks: list[Check] = field(default_factory=list)
    features: list[FeatureResult] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    recommended: list[str] = field(default_factory=list)
    error: ArgusError | None = None

    @property
    def exit_code(self) -> int:
        return self.error.exit_code if self.error is not None else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "token_id": self.token_id,
            "tls": self.tls,
            "ok": self.error is None,
            "error": str(self.error) if self.error else None,
            "checks": [asdict(c) for c in self.checks],
            "features": [asdict(f) for f in self.features],
            "advice": self.advice,
            "recommended_roles": self.recommended,
        }


def run(client: PveClient) -> Report:
    settings = client.settings
    report = Report(
        server=settings.address,
        token_id=settings.token_id,
        tls=settings.tls.describe(),
        recommended=recommended_roles(settings.token_id),
    )
    if settings.tls.mode == "insecure":
        report.advice.append(
            "TLS verification is off: pin the certificate with 'argus login' or --fingerprint"
        )
    try:
        version = client.version()
    except ConnectionFailed as exc:
        report.checks.append(Check("reachable", False, str(exc)))
        report.error = exc
        return report
    except ArgusError as exc:
        report.checks.append(Check("reachable", True, f"{settings.address} answers over TLS"))
        report.checks.append(Check("authenticated", False, str(exc)))
        report.error = exc
        return report
    report.checks.append(Check("reachable", True, f"{settings.address} answers"))
    report.checks.append(Check("tls", True, settings.tls.describe()))
    report.checks.append(Check("authenticated", True, f"token {settings.token_id} accepted"))
    release = as_str(version.get("version")) or "unknown"
    major = release.split(".", 1)[0]
    supported = major in ("8", "9")
    report.checks.append(
        Check(
            "version",
            supported,
            f"Proxmox VE {release}"
            + ("" if supported else " (Argus supports 8.x and 9.x; some views may be incomplete)"),
        )
    )
    report.recommended = recommended_roles(settings.token_id, major)
    try:
        everything = privileges_from(client.permissions())
        nodes = _nodes(client)
        node = nodes[0] if nodes else ""
        token = settings.token_id
        for feature in FEATURES:
            path = feature.path.format(node=node).rstrip("/")
            report.features.append(_feature(client, everything, feature, path, token))
        report.features += _backup_storages(client, settings.token_id)
        for name in nodes or [""]:
            power = Feature(
                "node_power", f"Node reboot and shutdown ({name or 'nodes'})",
                "Sys.PowerMgmt", "/nodes/{node}", NODE_ROLE,
            )  # fmt: skip
            path = power.path.format(node=name).rstrip("/")
            report.features.append(_feature(client, everything, power, path, token))
        agent = Feature(
            "guest_agent", "Guest addresses from the agent",
            AGENT_PRIVILEGE.get(major, AGENT_PRIVILEGE["9"]), "/vms", AGENT_ROLE,
        )  # fmt: skip
        report.features.append(_feature(client, everything, agent, "/vms", token))
    except ArgusError as exc:
        report.checks.append(Check("permissions", False, str(exc)))
        report.error = exc
        return report
    if everything.empty:
        user = settings.token_id.split("!", 1)[0]
        report.advice.append(
            f"token {settings.token_id} holds no privileges at all, so every list comes back"
            " empty rather than failing. A token with privilege separation (PVE's default) holds"
            " only what BOTH it and its user hold: a fresh one has nothing until it gets ACLs of"
            f" its own, e.g. pveum acl modify / --tokens '{settings.token_id}' --roles PVEAuditor"
            f" (and {user} needs the same privileges), or recreate it with --privsep 0 to use"
            f" {user}'s privileges."
        )
    return report


def _feature(
    client: PveClient, everything: Privileges, feature: Feature, path: str, token_id: str
) -> FeatureResult:
    """One feature, checked on the exact path the server checks."""
    held = privileges_from(client.permissions(path)).answer(path)
    wanted = (feature.privilege, *feature.also)
    ok = any(p in held for p in wanted)
    grant = None if ok else _grant(path, token_id, feature.role)
    held_on, except_on = _below(everything, path, wanted)
    return FeatureResult(
        feature.key,
        feature.title,
        ok,
        " or ".join(wanted),
        path,
        grant,
        [] if ok else held_on,
        except_on if ok else [],
    )


def _grant(path: str, token_id: str, role: str) -> str:
    return f"pveum acl modify {path} --tokens '{token_id}' --roles {role}"


def _below(
    everything: Privileges, path: str, wanted: tuple[str, ...]
) -> tuple[list[str], list[str]]:
    """Paths below `path` (say /vms/101) with an ACL of their own that holds one of `wanted`,
    and those that do not. A grant on one guest is not a grant on /vms, but not nothing
    either; and an ACL on /vms/101 replaces, for that guest, what /vms grants."""
    if path in ("", "/"):
        return [], []
    prefix = path.rstrip("/") + "/"
    held: list[str] = []
    lacking: list[str] = []
    for sub, privs in sorted(everything.paths.items()):
        if sub.startswith(prefix):
            (held if any(w in privs for w in wanted) else lacking).append(sub)
    return held, lacking


def _backup_storages(client: PveClient, token_id: str) -> list[FeatureResult]:
    """One line per storage that takes backups: may the token write backups there?"""
    ids: set[str] = set()
    for entry in client.resources("storage"):
        if not isinstance(entry, dict):
            continue
        try:
            storage = storage_from(entry)
        except MappingError:
            continue
        if storage.holds("backup"):
            ids.add(storage.storage)
    if not ids:
        return [
            FeatureResult(
                "backup_storage",
                "Backups: no storage that takes backups is visible",
                False,
                ALLOCATE_SPACE,
                "/storage",
                _grant("/storage", token_id, STORAGE_ROLE),
            )
        ]
    out = []
    for sid in sorted(ids):
        path = f"/storage/{sid}"
        held = privileges_from(client.permissions(path)).answer(path)
        ok = ALLOCATE_SPACE in held or "Datastore.Allocate" in held
        grant = None if ok else _grant(path, token_id, STORAGE_ROLE)
        title = f"Backups: write to {sid}"
        out.append(FeatureResult("backup_storage", title, ok, ALLOCATE_SPACE, path, grant))
    return out


def _nodes(client: PveClient) -> list[str]:
    """The visible nodes' names for per-node checks; none: check /nodes."""
    names: list[str] = []
    try:
        for entry in client.resources("node"):
            if isinstance(entry, dict) and as_str(entry.get("node")):
                names.append(str(entry["node"]))
    except ArgusError:
        pass
    return names
