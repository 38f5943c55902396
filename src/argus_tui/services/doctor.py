"""`argus doctor`: can we reach, trust and use the server, and what may this token do?

Each Argus feature is checked with `/access/permissions?path=...` on the exact path the
server will check: the full dump resolves only the paths it lists, so inheritance is
never re-derived from it (docs/proxmox.md, Permissions).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from argus_tui.errors import ArgusError, ConnectionFailed
from argus_tui.pve.client import PveClient
from argus_tui.pve.mapping import as_str, privileges_from


@dataclass(frozen=True, slots=True)
class Feature:
    key: str
    title: str
    privilege: str
    path: str  # may contain {node}
    role: str  # the built-in role that grants it


FEATURES = (
    Feature("nodes", "Nodes and their usage", "Sys.Audit", "/nodes/{node}", "PVEAuditor"),
    Feature("guests", "VMs and containers", "VM.Audit", "/vms", "PVEAuditor"),
    Feature("cluster", "Cluster name, quorum, HA", "Sys.Audit", "/", "PVEAuditor"),
    Feature("node_graphs", "Node graphs (rrddata)", "Sys.Audit", "/nodes/{node}", "PVEAuditor"),
    Feature("power", "Power control", "VM.PowerMgmt", "/vms", "PVEVMUser"),
    Feature("task_logs", "Other users' tasks and logs", "Sys.Audit", "/nodes/{node}", "PVEAuditor"),
    Feature("syslog", "Node syslog and journal", "Sys.Syslog", "/nodes/{node}", "PVESysAdmin"),
)

AUDITOR_PRIVS = "Sys.Audit Sys.Syslog VM.Audit Datastore.Audit Pool.Audit"
OPERATOR_PRIVS = AUDITOR_PRIVS + " VM.PowerMgmt"


def recommended_roles(token_id: str) -> list[str]:
    quoted = f"'{token_id}'"
    return [
        f'pveum role add ArgusAuditor --privs "{AUDITOR_PRIVS}"',
        f'pveum role add ArgusOperator --privs "{OPERATOR_PRIVS}"',
        f"pveum acl modify / --tokens {quoted} --roles ArgusAuditor    # read-only",
        f"pveum acl modify / --tokens {quoted} --roles ArgusOperator   # with power control",
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
    try:
        everything = privileges_from(client.permissions())
        node = _a_node(client)
        for feature in FEATURES:
            path = feature.path.format(node=node).rstrip("/")
            held = privileges_from(client.permissions(path)).at(path)
            ok = feature.privilege in held
            grant = None
            if not ok:
                grant = (
                    f"pveum acl modify {path} --tokens '{settings.token_id}' --roles {feature.role}"
                )
            report.features.append(
                FeatureResult(feature.key, feature.title, ok, feature.privilege, path, grant)
            )
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


def _a_node(client: PveClient) -> str:
    """A node name for per-node checks; "" (check /nodes) when none is visible."""
    try:
        for entry in client.resources("node"):
            if isinstance(entry, dict) and as_str(entry.get("node")):
                return str(entry["node"])
    except ArgusError:
        pass
    return ""
