"""PVE's permission rules, checked over HTTPS through proxmoxer against the simulator.

Every rule of PVE's permission model has a table row here: the path walk with
replace-not-merge, propagate flags, groups, privilege-separated tokens, pools,
NoAccess, root@pam, `/access/permissions`, endpoint 403s and list filtering.
Expectations are written out in full (exact maps and sets) so that a wrong rule fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from proxmoxer import ResourceException
from tests.conftest import SHARED_PVE, client_for

from argus_tui.sim.roles import builtin_roles
from argus_tui.sim.server import Simulator

MakeSim = Callable[..., Simulator]
Privs = dict[str, int]

ADMIN = "root@pam!admin"  # privsep=0 root token: sees and may query everything
USER = "argus@pve"
TOKEN = "argus@pve!tui"  # privsep=1, the token Argus is meant to use
FULL = "argus@pve!full"  # privsep=0: exactly the user's privileges
OTHER = "argus@pve!other"  # a sibling privsep token of the same user
EVE = "eve@pve"  # an unrelated user in group "dev"
SECRETS = {
    ADMIN: "6f1c1c2e-0000-4000-8000-000000000001",
    TOKEN: "6f1c1c2e-0000-4000-8000-000000000002",
    FULL: "6f1c1c2e-0000-4000-8000-000000000003",
    OTHER: "6f1c1c2e-0000-4000-8000-000000000004",
}

# PVE 9 built-in roles; test_roles.py checks the table against PVE's own.
AUDITOR = builtin_roles(9)["PVEAuditor"]
VMUSER = builtin_roles(9)["PVEVMUser"]
# Single-privilege custom roles keep the expected maps small and unambiguous.
CUSTOM_ROLES = {
    "SysAudit": ["Sys.Audit"],
    "VMAudit": ["VM.Audit"],
    "Power": ["VM.PowerMgmt"],
    "SpaceOnly": ["Datastore.AllocateSpace"],
}
NODE_USAGE = frozenset({"cpu", "mem", "disk", "uptime", "maxcpu", "maxmem", "maxdisk"})
ALL_GUESTS = ["lxc/102", "lxc/201", "qemu/100", "qemu/101", "qemu/200"]


def flags(privs: Iterable[str], flag: int) -> Privs:
    """A `/access/permissions` value: every privilege with the same propagate flag."""
    return dict.fromkeys(privs, flag)


def acl(path: str, subject: str, role: str, propagate: bool = True) -> dict[str, Any]:
    return {"path": path, "subject": subject, "role": role, "propagate": propagate}


def both(path: str, role: str, propagate: bool = True) -> list[dict[str, Any]]:
    """The same ACL for the user and its privsep token: the setup Argus recommends."""
    return [acl(path, USER, role, propagate), acl(path, TOKEN, role, propagate)]


def scenario(
    acls: Iterable[dict[str, Any]] = (),
    *,
    groups: Iterable[str] = (),
    tasks: Iterable[dict[str, Any]] = (),
    user_enabled: bool = True,
    token_expire: int = 0,
) -> dict[str, Any]:
    """Two nodes, five guests (100 and 200 in pool `tenant`), the subjects above."""
    return {
        "cluster": {"name": "lab", "version": "9.1.2", "seed": 7},
        "node": [{"name": "pve1"}, {"name": "pve2"}],
        "pool": [{"id": "tenant"}, {"id": "spare"}],
        "guest": [
            {"vmid": 100, "type": "qemu", "node": "pve1", "status": "running", "pool": "tenant"},
            {"vmid": 101, "type": "qemu", "node": "pve1"},
            {"vmid": 102, "type": "lxc", "node": "pve1"},
            {"vmid": 200, "type": "qemu", "node": "pve2", "pool": "tenant"},
            {"vmid": 201, "type": "lxc", "node": "pve2", "status": "running"},
        ],
        "user": [
            {"id": USER, "groups": list(groups), "enable": user_enabled},
            {"id": EVE, "groups": ["dev"]},
        ],
        "token": [
            {"id": ADMIN, "secret": SECRETS[ADMIN], "privsep": False},
            {"id": TOKEN, "secret": SECRETS[TOKEN], "privsep": True, "expire": token_expire},
            {"id": FULL, "secret": SECRETS[FULL], "privsep": False},
            {"id": OTHER, "secret": SECRETS[OTHER], "privsep": True},
        ],
        "role": [{"id": rid, "privs": privs} for rid, privs in CUSTOM_ROLES.items()],
        "acl": list(acls),
        "task": list(tasks),
    }


def api(sim: Simulator, who: str = TOKEN) -> Any:
    return client_for(sim, who, SECRETS[who])


def perms_of(sim: Simulator, subject: str, path: str) -> Privs:
    """What `subject` holds on `path`, asked by the admin token (users cannot log in here)."""
    data: dict[str, Privs] = api(sim, ADMIN).access.permissions.get(userid=subject, path=path)
    assert list(data) == [path]
    return data[path]


def forbidden(call: Callable[[], Any]) -> ResourceException:
    with pytest.raises(ResourceException) as info:
        call()
    assert info.value.status_code == 403
    return info.value


# -- the privilege computation, one table row per rule ---------------------------------------


@dataclass(frozen=True)
class PermCase:
    id: str
    acls: list[dict[str, Any]]
    queries: list[tuple[str, str, Privs]]  # (subject, path, expected map)
    groups: list[str] = field(default_factory=list)


PERM_CASES = [
    PermCase(
        "replace-not-merge",
        [acl("/", USER, "PVEAuditor"), acl("/vms", USER, "PVEVMUser")],
        [
            (USER, "/vms/101", flags(VMUSER, 1)),  # Sys.Audit gone, VM.PowerMgmt there
            (USER, "/vms", flags(VMUSER, 1)),
            (USER, "/nodes/pve1", flags(AUDITOR, 1)),
            (USER, "/", flags(AUDITOR, 1)),
        ],
    ),
    PermCase(
        # /pool/tenant inherits PVEAuditor from /, and pool roles go to the members
        # (non-propagating), so the replaced roles come back on /vms/100 only.
        "replaced-root-roles-return-to-pool-members-via-the-pool",
        [acl("/", USER, "PVEAuditor"), acl("/vms", USER, "PVEVMUser")],
        [(USER, "/vms/100", {**flags(AUDITOR, 0), **flags(VMUSER, 1)})],
    ),
    PermCase(
        "propagate-false-only-at-exact-path",
        [acl("/nodes", USER, "SysAudit", propagate=False)],
        [(USER, "/nodes", {"Sys.Audit": 0}), (USER, "/nodes/pve1", {}), (USER, "/", {})],
    ),
    PermCase(
        "non-propagating-entry-does-not-replace-below",
        [acl("/", USER, "PVEAuditor"), acl("/vms", USER, "Power", propagate=False)],
        [(USER, "/vms", {"VM.PowerMgmt": 0}), (USER, "/vms/100", flags(AUDITOR, 1))],
    ),
    PermCase(
        "group-acl-applies-to-members-only",
        [acl("/", "@ops", "SysAudit")],
        [(USER, "/nodes/pve1", {"Sys.Audit": 1}), (EVE, "/nodes/pve1", {})],
        groups=["ops"],
    ),
    PermCase(
        "user-entry-hides-group-entry-at-same-level",
        [acl("/vms", "@ops", "PVEAuditor"), acl("/vms", USER, "VMAudit")],
        [(USER, "/vms/100", {"VM.Audit": 1})],
        groups=["ops"],
    ),
    PermCase(
        "group-entry-replaces-inherited-user-roles",
        [acl("/", USER, "PVEAuditor"), acl("/vms", "@ops", "Power")],
        [(USER, "/vms/101", {"VM.PowerMgmt": 1}), (USER, "/nodes", flags(AUDITOR, 1))],
        groups=["ops"],
    ),
    PermCase(
        "several-groups-at-one-level-merge",
        [acl("/", "@ops", "SysAudit"), acl("/", "@dev", "VMAudit")],
        [(USER, "/vms/100", {"Sys.Audit": 1, "VM.Audit": 1}), (EVE, "/vms/100", {"VM.Audit": 1})],
        groups=["ops", "dev"],
    ),
    PermCase(
        "group-acls-reach-the-user-and-privsep0-token-not-privsep-token",
        [acl("/", "@ops", "PVEAuditor")],
        [(USER, "/", flags(AUDITOR, 1)), (TOKEN, "/", {}), (FULL, "/", flags(AUDITOR, 1))],
        groups=["ops"],
    ),
    PermCase(
        "privsep-token-intersects-with-group-derived-user-privileges",
        [acl("/", "@ops", "PVEAuditor"), acl("/", TOKEN, "PVEVMUser")],
        [(TOKEN, "/vms/100", flags(AUDITOR & VMUSER, 1))],
        groups=["ops"],
    ),
    PermCase(
        "privsep-token-is-intersection-with-user",
        [acl("/vms", USER, "PVEVMUser"), acl("/", TOKEN, "PVEAuditor")],
        [
            (TOKEN, "/vms/100", {"VM.Audit": 1, "VM.GuestAgent.Audit": 1}),
            (TOKEN, "/nodes/pve1", {}),
            (USER, "/vms/100", flags(VMUSER, 1)),
        ],
    ),
    PermCase(
        "propagate-is-and-user-side-zero",
        [acl("/vms/100", USER, "VMAudit", propagate=False), acl("/vms", TOKEN, "VMAudit")],
        [(TOKEN, "/vms/100", {"VM.Audit": 0}), (TOKEN, "/vms", {}), (TOKEN, "/vms/101", {})],
    ),
    PermCase(
        "propagate-is-and-token-side-zero",
        [acl("/vms", USER, "VMAudit"), acl("/vms/100", TOKEN, "VMAudit", propagate=False)],
        [
            (TOKEN, "/vms/100", {"VM.Audit": 0}),
            (TOKEN, "/vms/101", {}),
            (USER, "/vms/100", {"VM.Audit": 1}),
        ],
    ),
    PermCase(
        "privsep0-token-ignores-its-own-acls",
        [acl("/", FULL, "PVEAuditor"), acl("/vms", USER, "VMAudit")],
        [(FULL, "/", {}), (FULL, "/vms/100", {"VM.Audit": 1})],
    ),
    PermCase(
        "fresh-privsep-token-holds-nothing",
        [acl("/", USER, "PVEAuditor")],
        [(TOKEN, "/", {}), (TOKEN, "/vms/100", {}), (OTHER, "/nodes/pve1", {})],
    ),
    PermCase(
        "no-access-on-one-guest-under-vms-grant",
        [acl("/vms", USER, "PVEVMUser"), acl("/vms/101", USER, "NoAccess")],
        [
            (USER, "/vms/100", flags(VMUSER, 1)),
            (USER, "/vms/101", {}),
            (USER, "/vms", flags(VMUSER, 1)),
        ],
    ),
    PermCase(
        "no-access-wins-over-other-roles-at-same-level",
        [acl("/vms/101", USER, "NoAccess"), acl("/vms/101", USER, "PVEVMUser")],
        [(USER, "/vms/101", {})],
    ),
    PermCase(
        "deeper-grant-replaces-inherited-no-access",
        [acl("/vms", USER, "NoAccess"), acl("/vms/100", USER, "VMAudit")],
        [(USER, "/vms/100", {"VM.Audit": 1}), (USER, "/vms/101", {})],
    ),
    PermCase(
        "pool-acl-applies-to-members-without-propagation",
        [acl("/pool/tenant", USER, "PVEVMUser")],
        [
            (USER, "/vms/100", flags(VMUSER, 0)),
            (USER, "/vms/200", flags(VMUSER, 0)),
            (USER, "/vms/101", {}),
            (USER, "/vms", {}),
            (USER, "/pool/tenant", flags(VMUSER, 1)),
        ],
    ),
    PermCase(
        "pool-roles-add-to-regular-roles",
        [acl("/vms", USER, "VMAudit"), acl("/pool/tenant", USER, "Power")],
        [
            (USER, "/vms/100", {"VM.Audit": 1, "VM.PowerMgmt": 0}),
            (USER, "/vms/101", {"VM.Audit": 1}),
        ],
    ),
    PermCase(
        "pool-role-already-set-keeps-regular-propagation",
        [acl("/vms", USER, "PVEVMUser"), acl("/pool/tenant", USER, "PVEVMUser")],
        [(USER, "/vms/100", flags(VMUSER, 1))],
    ),
    PermCase(
        "privilege-flag-is-or-over-regular-and-pool-roles",
        [acl("/vms", USER, "PVEVMUser"), acl("/pool/tenant", USER, "PVEAuditor")],
        [(USER, "/vms/100", {**flags(AUDITOR, 0), **flags(VMUSER, 1)})],
    ),
    PermCase(
        "pool-no-access-beats-regular-grant",
        [acl("/vms", USER, "PVEVMUser"), acl("/pool/tenant", USER, "NoAccess")],
        [(USER, "/vms/100", {}), (USER, "/vms/200", {}), (USER, "/vms/101", flags(VMUSER, 1))],
    ),
    PermCase(
        "regular-no-access-beats-pool-grant",
        [acl("/vms/100", USER, "NoAccess"), acl("/pool/tenant", USER, "PVEVMUser")],
        [(USER, "/vms/100", {}), (USER, "/vms/200", flags(VMUSER, 0))],
    ),
    PermCase(
        "inherited-no-access-beats-pool-grant",
        [acl("/vms", USER, "NoAccess"), acl("/pool/tenant", USER, "PVEVMUser")],
        [(USER, "/vms/100", {}), (USER, "/vms/101", {})],
    ),
    PermCase(
        "pool-acl-of-privsep-token",
        [acl("/vms", USER, "PVEVMUser"), acl("/pool/tenant", TOKEN, "PVEVMUser")],
        [(TOKEN, "/vms/100", flags(VMUSER, 0)), (TOKEN, "/vms/101", {})],
    ),
]


@pytest.mark.parametrize("case", PERM_CASES, ids=[c.id for c in PERM_CASES])
def test_privileges(make_sim: MakeSim, case: PermCase) -> None:
    """One rule of the path walk per row; each query compares the full privilege map."""
    sim = make_sim(scenario(case.acls, groups=case.groups))
    got = {(who, path): perms_of(sim, who, path) for who, path, _ in case.queries}
    assert got == {(who, path): want for who, path, want in case.queries}


# -- root@pam ------------------------------------------------------------------------------


def _all_privileges(sim: Simulator) -> frozenset[str]:
    """Administrator's privileges as the simulator advertises them, cross-checked with PVE's."""
    roles = {r["roleid"]: r["privs"] for r in api(sim, ADMIN).access.roles.get()}
    privs = frozenset(roles["Administrator"].split(","))
    source = SHARED_PVE / "builtin-roles.json"
    if source.is_file():
        assert privs == frozenset(json.loads(source.read_text())["pve9"]["all_privs"])
    return privs


def test_root_token_without_privsep_holds_everything(make_sim: MakeSim) -> None:
    """root@pam needs no ACL; its privsep=0 token inherits that on every path."""
    sim = make_sim(scenario([acl("/vms/100", USER, "NoAccess")]))
    everything = flags(_all_privileges(sim), 1)
    root = api(sim, ADMIN)
    for path in ("/", "/vms/100", "/nodes/pve1", "/storage/local", "/pool/tenant"):
        assert root.access.permissions.get(path=path) == {path: everything}
    assert perms_of(sim, "root@pam", "/access") == everything
    dump = root.access.permissions.get()
    assert set(dump) == {
        "/",
        "/access",
        "/access/groups",
        "/nodes",
        "/pool",
        "/sdn",
        "/storage",
        "/vms",
        "/vms/100",
        "/vms/200",
    }
    assert all(value == everything for value in dump.values())


def test_privsep_root_token_is_limited_to_its_own_acls(make_sim: MakeSim) -> None:
    """Privilege separation applies to root's tokens too: intersection with "everything"."""
    data = scenario([acl("/vms", "root@pam!sep", "VMAudit")])
    data["token"].append({"id": "root@pam!sep", "secret": SECRETS[ADMIN] + "x", "privsep": True})
    sim = make_sim(data)
    sep = client_for(sim, "root@pam!sep", SECRETS[ADMIN] + "x")
    assert sep.access.permissions.get(path="/vms/100") == {"/vms/100": {"VM.Audit": 1}}
    assert sep.access.permissions.get(path="/") == {"/": {}}
    assert sep.access.permissions.get() == {
        "/vms": {"VM.Audit": 1},
        "/vms/100": {"VM.Audit": 1},
        "/vms/200": {"VM.Audit": 1},
    }


# -- authentication ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "who"),
    [
        ({"user_enabled": False}, TOKEN),
        ({"user_enabled": False}, FULL),
        ({"token_expire": 1_600_000_000}, TOKEN),
    ],
    ids=["disabled-user-privsep-token", "disabled-user-full-token", "expired-token"],
)
def test_rejected_tokens_get_401(make_sim: MakeSim, options: dict[str, Any], who: str) -> None:
    """A disabled owner or an expired token fails authentication, not a permission check."""
    sim = make_sim(scenario(both("/", "PVEAuditor"), **options))
    with pytest.raises(ResourceException) as info:
        api(sim, who).version.get()
    assert (info.value.status_code, info.value.content) == (401, "Authentication failed!")
    assert api(sim, ADMIN).version.get()["release"] == "9.1"


# -- /access/permissions ---------------------------------------------------------------------

FIXED_PATHS = ["/", "/access", "/access/groups", "/nodes", "/pool", "/sdn", "/storage", "/vms"]


def test_dump_covers_fixed_acl_tree_and_pool_member_paths(make_sim: MakeSim) -> None:
    """Without `path`: fixed paths, all ACL tree paths (anyone's), pool members; empty omitted."""
    acls = [
        *both("/", "PVEAuditor"),
        acl("/access", USER, "NoAccess"),  # user side empty -> /access, /access/groups vanish
        acl("/vms/101", TOKEN, "NoAccess"),  # in the tree, but nothing held -> omitted
        acl("/sdn/zones/zone1", EVE, "PVEAuditor"),  # eve's ACLs still add paths
        acl("/storage/local", EVE, "PVEAuditor"),
        acl("/nodes/pve2", EVE, "SysAudit"),
        acl("/mapping/pci/gpu", EVE, "PVEAuditor"),
    ]
    sim = make_sim(scenario(acls))
    expected_paths = {
        "/",
        "/nodes",
        "/pool",
        "/sdn",
        "/storage",
        "/vms",
        "/sdn/zones",
        "/sdn/zones/zone1",
        "/storage/local",
        "/nodes/pve2",
        "/mapping",
        "/mapping/pci",
        "/mapping/pci/gpu",
        "/vms/100",
        "/vms/200",  # members of pool tenant; /pool/tenant itself is not listed
    }
    assert api(sim).access.permissions.get() == {p: flags(AUDITOR, 1) for p in expected_paths}


def test_fresh_privsep_token_sees_nothing_but_no_errors(make_sim: MakeSim) -> None:
    """The classic support case: the user has rights, the new token has no ACL of its own."""
    sim = make_sim(scenario([acl("/", USER, "PVEAuditor")]))
    pve = api(sim)
    assert pve.access.permissions.get() == {}
    assert pve.access.permissions.get(path="/vms") == {"/vms": {}}
    assert pve.cluster.resources.get(type="vm") == []
    assert pve.cluster.resources.get(type="storage") == []
    resources = pve.cluster.resources.get()
    assert sorted(r["id"] for r in resources) == ["node/pve1", "node/pve2"]
    for entry in resources:
        assert set(entry) == {"id", "type", "node", "status", "level", "cgroup-mode"}
    for entry in pve.nodes.get():
        assert set(entry) & NODE_USAGE == set()
    assert pve.nodes("pve1").qemu.get() == []
    assert pve.nodes("pve1").lxc.get() == []
    assert pve.nodes("pve1").storage.get() == []
    assert pve.pools.get() == []


def _derived(name: str) -> dict[str, Any]:
    path = SHARED_PVE / "responses" / "derived" / f"access-permissions-token-{name}.derived.json"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def scenario_from_user_cfg(lines: list[str]) -> dict[str, Any]:
    """Translate the `user.cfg` lines of a derived example into a scenario dict."""
    users: list[dict[str, Any]] = []
    tokens: list[dict[str, Any]] = []
    acls: list[dict[str, Any]] = []
    for raw in lines:
        line = re.sub(r"\s*\(.*\)\s*$", "", raw).strip()  # drop the explanatory "(...)"
        kind, *fields = line.split(":")
        if kind == "user":  # user:id:enable:expire:...
            users.append({"id": fields[0], "enable": fields[1] == "1"})
        elif kind == "token":  # token:id:expire:privsep:comment
            secret = f"6f1c1c2e-0000-4000-8000-{len(tokens) + 100:012d}"
            tokens.append({"id": fields[0], "secret": secret, "privsep": fields[2] == "1"})
        elif kind == "acl":  # acl:propagate:path:subjects:roles
            propagate, path, subjects, roles = fields[:4]
            for subject in subjects.split(","):
                for role in roles.split(","):
                    acls.append(acl(path, subject, role, propagate == "1"))
        else:
            raise AssertionError(f"unexpected user.cfg line {raw!r}")
    return {
        "cluster": {"version": "9.1.2"},
        "node": [{"name": "pve1"}],
        "guest": [{"vmid": 100, "type": "qemu", "node": "pve1"}],
        "user": users,
        "token": tokens,
        "acl": acls,
    }


def _derived_sim(make_sim: MakeSim, *, privsep: bool) -> tuple[Simulator, dict[str, Any]]:
    """The scenario written into the privsep example; the other files say "same scenario"."""
    data = scenario_from_user_cfg(_derived("privsep")["_derived"]["scenario"])
    assert len(data["token"]) == 1 and data["token"][0]["privsep"] is True
    data["token"][0]["privsep"] = privsep
    return make_sim(data), data["token"][0]


@pytest.mark.parametrize(
    ("name", "privsep", "path"),
    [("privsep", True, None), ("path", True, "/vms/100"), ("no-privsep", False, None)],
)
def test_derived_examples_exactly(
    make_sim: MakeSim, name: str, privsep: bool, path: str | None
) -> None:
    """The hand-derived PVE answers in the shared folder, reproduced byte for byte."""
    expected = _derived(name)["data"]
    sim, token = _derived_sim(make_sim, privsep=privsep)
    pve = client_for(sim, token["id"], token["secret"])
    got = pve.access.permissions.get(path=path) if path else pve.access.permissions.get()
    assert got == expected


def test_derived_no_privsep_equals_the_users_own_permissions(make_sim: MakeSim) -> None:
    """The no-privsep example is also "the user argus@pve itself": ask for the user by id."""
    expected = _derived("no-privsep")["data"]
    sim, token = _derived_sim(make_sim, privsep=True)
    pve = client_for(sim, token["id"], token["secret"])  # has Sys.Audit on /access
    assert pve.access.permissions.get(userid="argus@pve") == expected


def test_path_answers_match_the_dump(make_sim: MakeSim) -> None:
    """`?path=X` is exactly `{X: dump[X]}` for every dumped path, and `{X: {}}` elsewhere."""
    sim, token = _derived_sim(make_sim, privsep=True)
    pve = client_for(sim, token["id"], token["secret"])
    dump = pve.access.permissions.get()
    assert dump  # the scenario grants something
    for path, privs in dump.items():
        assert pve.access.permissions.get(path=path) == {path: privs}


@pytest.mark.parametrize(
    ("acls", "target", "allowed"),
    [
        ([], TOKEN, True),  # itself, no privilege needed
        ([], USER, False),  # a token may not read its owner without Sys.Audit on /access
        ([], OTHER, False),  # nor a sibling token
        ([], EVE, False),
        (both("/access", "SysAudit"), EVE, True),
        (both("/access", "SysAudit"), OTHER, True),
        (both("/access/groups", "SysAudit"), EVE, False),  # must be on /access itself
        ([acl("/access", USER, "SysAudit")], EVE, False),  # privsep: the token needs it too
    ],
    ids=[
        "self",
        "owner",
        "sibling-token",
        "other-user",
        "audit-other-user",
        "audit-sibling",
        "audit-below-access",
        "only-user-has-audit",
    ],
)
def test_querying_others_needs_sys_audit_on_access(
    make_sim: MakeSim, acls: list[dict[str, Any]], target: str, allowed: bool
) -> None:
    sim = make_sim(scenario(acls))
    call = lambda: api(sim).access.permissions.get(userid=target, path="/")  # noqa: E731
    if allowed:
        assert list(call()) == ["/"]
    else:
        exc = forbidden(call)
        assert exc.content == "Permission check failed (/access, Sys.Audit)"


def test_user_may_query_its_own_tokens(make_sim: MakeSim) -> None:
    """Users cannot authenticate to the simulator, so this one goes through Api.handle directly."""
    from argus_tui.sim.state import SimError

    sim = make_sim(scenario([acl("/vms", USER, "VMAudit"), acl("/vms/100", TOKEN, "VMAudit")]))
    result = sim.api.handle(USER, "GET", "/access/permissions", {"userid": TOKEN})
    assert result.data == {"/vms/100": {"VM.Audit": 1}}
    with pytest.raises(SimError) as info:
        sim.api.handle(USER, "GET", "/access/permissions", {"userid": ADMIN})
    assert info.value.status == 403


# -- endpoint checks -------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointCase:
    id: str
    acls: list[dict[str, Any]]
    method: str
    path: str
    denied: str | None  # the 403 text, or None when the call must succeed


ENDPOINT_CASES = [
    EndpointCase(
        "power-without-powermgmt",
        both("/", "PVEAuditor"),
        "POST",
        "nodes/pve1/qemu/101/status/start",
        "(/vms/101, VM.PowerMgmt)",
    ),
    EndpointCase(
        "power-with-vmuser-below-auditor",
        both("/", "PVEAuditor") + both("/vms", "PVEVMUser"),
        "POST",
        "nodes/pve1/qemu/101/status/start",
        None,
    ),
    EndpointCase(
        "lxc-power-other-guest",
        both("/vms/101", "PVEVMUser"),
        "POST",
        "nodes/pve1/lxc/102/status/start",
        "(/vms/102, VM.PowerMgmt)",
    ),
    EndpointCase(
        "power-via-pool-membership",
        both("/pool/tenant", "Power"),
        "POST",
        "nodes/pve2/qemu/200/status/start",
        None,
    ),
    EndpointCase(
        "power-token-only-grant",
        [acl("/vms", TOKEN, "PVEVMUser")],
        "POST",
        "nodes/pve1/qemu/101/status/start",
        "(/vms/101, VM.PowerMgmt)",
    ),
    EndpointCase(
        "power-no-access-guest",
        [*both("/vms", "PVEVMUser"), acl("/vms/101", USER, "NoAccess")],
        "POST",
        "nodes/pve1/qemu/101/status/start",
        "(/vms/101, VM.PowerMgmt)",
    ),
    EndpointCase(
        "node-status-without-sys-audit",
        both("/", "PVEVMUser"),
        "GET",
        "nodes/pve1/status",
        "(/nodes/pve1, Sys.Audit)",
    ),
    EndpointCase(
        "node-status-audit-on-node",
        both("/nodes/pve1", "SysAudit"),
        "GET",
        "nodes/pve1/status",
        None,
    ),
    EndpointCase(
        "node-status-audit-on-other-node",
        both("/nodes/pve2", "SysAudit"),
        "GET",
        "nodes/pve1/status",
        "(/nodes/pve1, Sys.Audit)",
    ),
    EndpointCase(
        "node-status-after-vms-grant",
        both("/", "PVEAuditor") + both("/vms", "PVEVMUser"),
        "GET",
        "nodes/pve1/status",
        None,
    ),
    EndpointCase(
        "node-status-root-grant-not-propagated",
        both("/", "PVEAuditor", propagate=False),
        "GET",
        "nodes/pve1/status",
        "(/nodes/pve1, Sys.Audit)",
    ),
    EndpointCase(
        "syslog-auditor",
        both("/", "PVEAuditor"),
        "GET",
        "nodes/pve1/syslog",
        "(/nodes/pve1, Sys.Syslog)",
    ),
    EndpointCase(
        "journal-auditor",
        both("/", "PVEAuditor"),
        "GET",
        "nodes/pve1/journal",
        "(/nodes/pve1, Sys.Syslog)",
    ),
    EndpointCase(
        "syslog-sysadmin-on-nodes", both("/nodes", "PVESysAdmin"), "GET", "nodes/pve1/syslog", None
    ),
    EndpointCase(
        "cluster-status-audit-below-root",
        both("/nodes", "SysAudit"),
        "GET",
        "cluster/status",
        "(/, Sys.Audit)",
    ),
    EndpointCase("cluster-status-auditor", both("/", "PVEAuditor"), "GET", "cluster/status", None),
    EndpointCase(
        "cluster-status-root-grant-not-propagated",
        both("/", "PVEAuditor", propagate=False),
        "GET",
        "cluster/status",
        None,
    ),
    EndpointCase(
        "ha-status-audit-below-root",
        both("/nodes", "SysAudit"),
        "GET",
        "cluster/ha/status/current",
        "(/, Sys.Audit)",
    ),
    EndpointCase(
        "guest-status-without-vm-audit",
        both("/vms/100", "VMAudit"),
        "GET",
        "nodes/pve1/qemu/101/status/current",
        "(/vms/101, VM.Audit)",
    ),
    EndpointCase(
        "guest-status-with-vm-audit",
        both("/vms/100", "VMAudit"),
        "GET",
        "nodes/pve1/qemu/100/status/current",
        None,
    ),
    EndpointCase(
        "pool-without-pool-audit",
        both("/vms", "PVEVMUser"),
        "GET",
        "pools/tenant",
        "(/pool/tenant, Pool.Audit)",
    ),
]


@pytest.mark.parametrize("case", ENDPOINT_CASES, ids=[c.id for c in ENDPOINT_CASES])
def test_endpoint_checks(make_sim: MakeSim, case: EndpointCase) -> None:
    """Checks run before the handler and fail with PVE's exact 403 reason text."""
    sim = make_sim(scenario(case.acls))
    resource = api(sim)(case.path)
    call = resource.post if case.method == "POST" else resource.get
    if case.denied is None:
        assert call() is not None
    else:
        exc = forbidden(call)
        assert exc.content == f"Permission check failed {case.denied}"


# -- list filtering --------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourcesCase:
    id: str
    acls: list[dict[str, Any]]
    guests: list[str] = field(default_factory=list)
    audited_nodes: list[str] = field(default_factory=list)
    storage: list[str] = field(default_factory=list)
    pools: list[str] = field(default_factory=list)
    pool_field: dict[str, str] = field(default_factory=dict)
    who: str = TOKEN
    groups: list[str] = field(default_factory=list)


ALL_STORAGE = [
    f"storage/{n}/{s}"
    for n in ("pve1", "pve2")
    for s in ("local", "local-lvm", "nas-backup", "ceph-vm")
]
TENANT_FIELDS = {"qemu/100": "tenant", "qemu/200": "tenant"}
EVERYTHING: dict[str, Any] = {
    "guests": ALL_GUESTS,
    "audited_nodes": ["pve1", "pve2"],
    "storage": sorted(ALL_STORAGE),
    "pools": ["/pool/spare", "/pool/tenant"],
    "pool_field": TENANT_FIELDS,
}

RESOURCE_CASES = [
    ResourcesCase("auditor-on-root", both("/", "PVEAuditor"), **EVERYTHING),
    ResourcesCase("vmuser-on-vms", both("/vms", "PVEVMUser"), guests=ALL_GUESTS),
    ResourcesCase("vm-audit-on-one-guest", both("/vms/101", "VMAudit"), guests=["qemu/101"]),
    ResourcesCase("sys-audit-on-one-node", both("/nodes/pve1", "SysAudit"), audited_nodes=["pve1"]),
    ResourcesCase(
        "datastore-audit-not-allocate-space",
        both("/storage/local", "PVEDatastoreUser") + both("/storage/nas-backup", "SpaceOnly"),
        storage=["storage/pve1/local", "storage/pve2/local"],
    ),
    ResourcesCase(
        "pool-field-needs-pool-audit",
        both("/vms", "VMAudit") + both("/pool/tenant", "PVEPoolUser"),
        guests=ALL_GUESTS,
        pools=["/pool/tenant"],
        pool_field=TENANT_FIELDS,
    ),
    ResourcesCase(
        "no-access-on-one-guest",
        [*both("/vms", "PVEVMUser"), acl("/vms/101", TOKEN, "NoAccess")],
        guests=["lxc/102", "lxc/201", "qemu/100", "qemu/200"],
    ),
    ResourcesCase(
        "pool-grant-reaches-members-only",
        both("/pool/tenant", "PVEVMUser"),
        guests=["qemu/100", "qemu/200"],
    ),
    ResourcesCase(
        "pool-no-access-beats-vms-grant",
        both("/vms", "VMAudit") + both("/pool/tenant", "NoAccess"),
        guests=["lxc/102", "lxc/201", "qemu/101"],
    ),
    ResourcesCase(
        "regular-no-access-beats-pool-grant",
        [*both("/pool/tenant", "PVEVMUser"), acl("/vms/200", USER, "NoAccess")],
        guests=["qemu/100"],
    ),
    ResourcesCase("only-the-token-has-acls", [acl("/", TOKEN, "PVEAuditor")]),
    ResourcesCase("group-grant-privsep-token", [acl("/", "@ops", "PVEAuditor")], groups=["ops"]),
    ResourcesCase(
        "group-grant-privsep0-token",
        [acl("/", "@ops", "PVEAuditor")],
        who=FULL,
        groups=["ops"],
        **EVERYTHING,
    ),
]


def summarize(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """Reduce /cluster/resources to what permissions decide; node usage is all or nothing."""
    audited = []
    for entry in resources:
        if entry["type"] == "node":
            usage = set(entry) & NODE_USAGE
            assert usage in (set(), set(NODE_USAGE)), entry
            if usage:
                audited.append(entry["node"])
    guests = [e for e in resources if e["type"] in ("qemu", "lxc")]
    return {
        "guests": sorted(e["id"] for e in guests),
        "audited_nodes": sorted(audited),
        "storage": sorted(e["id"] for e in resources if e["type"] == "storage"),
        "pools": sorted(e["id"] for e in resources if e["type"] == "pool"),
        "pool_field": {e["id"]: e["pool"] for e in guests if "pool" in e},
    }


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=[c.id for c in RESOURCE_CASES])
def test_cluster_resources_filtering(make_sim: MakeSim, case: ResourcesCase) -> None:
    """Guests need VM.Audit, node usage Sys.Audit, storage Datastore.Audit, pools Pool.Audit."""
    sim = make_sim(scenario(case.acls, groups=case.groups))
    resources = api(sim, case.who).cluster.resources.get()
    assert sorted(e["id"] for e in resources if e["type"] == "node") == ["node/pve1", "node/pve2"]
    assert summarize(resources) == {
        "guests": case.guests,
        "audited_nodes": case.audited_nodes,
        "storage": case.storage,
        "pools": case.pools,
        "pool_field": case.pool_field,
    }


@pytest.mark.parametrize(
    ("acls", "expected"),
    [
        (both("/vms/100", "VMAudit"), {("pve1", "qemu"): [100]}),
        (
            [*both("/vms", "VMAudit"), acl("/vms/101", TOKEN, "NoAccess")],
            {
                ("pve1", "qemu"): [100],
                ("pve1", "lxc"): [102],
                ("pve2", "qemu"): [200],
                ("pve2", "lxc"): [201],
            },
        ),
        (both("/pool/tenant", "VMAudit"), {("pve1", "qemu"): [100], ("pve2", "qemu"): [200]}),
        (both("/", "Power"), {}),  # power without audit lists nothing
    ],
    ids=["one-guest", "no-access-guest", "pool-members", "power-only"],
)
def test_node_guest_lists_need_vm_audit(
    make_sim: MakeSim, acls: list[dict[str, Any]], expected: dict[tuple[str, str], list[int]]
) -> None:
    sim = make_sim(scenario(acls))
    pve = api(sim)
    got = {}
    for node in ("pve1", "pve2"):
        for kind in ("qemu", "lxc"):
            vmids = sorted(int(g["vmid"]) for g in pve.nodes(node)(kind).get())
            if vmids:
                got[(node, kind)] = vmids
    assert got == expected


def test_node_storage_list_accepts_allocate_space(make_sim: MakeSim) -> None:
    """/nodes/N/storage takes Audit or AllocateSpace; cluster/resources only Audit."""
    acls = both("/storage/local", "PVEDatastoreUser") + both("/storage/nas-backup", "SpaceOnly")
    sim = make_sim(scenario(acls))
    pve = api(sim)
    assert sorted(s["storage"] for s in pve.nodes("pve1").storage.get()) == ["local", "nas-backup"]
    assert sorted(s["storage"] for s in pve.cluster.resources.get(type="storage")) == [
        "local",
        "local",
    ]


def test_pool_list_needs_pool_audit(make_sim: MakeSim) -> None:
    sim = make_sim(scenario(both("/pool/tenant", "PVEPoolUser") + both("/vms/100", "VMAudit")))
    pve = api(sim)
    assert pve.pools.get() == [{"poolid": "tenant"}]
    members = pve.pools("tenant").get()["members"]
    assert [m["vmid"] for m in members] == [100]  # 200 is a member but not VM.Audit-visible


# -- tasks and the cluster log -----------------------------------------------------------------

TASKS = [
    {"node": "pve1", "type": "vzdump", "id": "100", "user": TOKEN, "ago": 600},
    {"node": "pve1", "type": "vzdump", "id": "101", "user": OTHER, "ago": 500},
    {"node": "pve1", "type": "vzdump", "id": "102", "user": USER, "ago": 400},
    {"node": "pve1", "type": "vzdump", "id": "100", "user": "root@pam", "ago": 300},
    {"node": "pve2", "type": "vzdump", "id": "200", "user": TOKEN, "ago": 200},
    {"node": "pve2", "type": "vzdump", "id": "201", "user": "root@pam", "ago": 100},
]
PVE1_ALL = [("pve1", o) for o in sorted([TOKEN, OTHER, USER, "root@pam"])]
PVE2_ALL = [("pve2", o) for o in sorted([TOKEN, "root@pam"])]


def task_owners(tasks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(node, full owner id) of each listed task; task lists split the token off the user."""
    owners = []
    for t in tasks:
        owner = f"{t['user']}!{t['tokenid']}" if t.get("tokenid") else t["user"]
        owners.append((t["node"], owner))
    return sorted(owners)


@pytest.mark.parametrize(
    ("acls", "cluster", "pve1", "pve2"),
    [
        ([], [], [("pve1", TOKEN)], [("pve2", TOKEN)]),
        (both("/nodes/pve1", "SysAudit"), [], PVE1_ALL, [("pve2", TOKEN)]),
        (both("/nodes", "SysAudit"), [], PVE1_ALL, PVE2_ALL),
        (both("/", "SysAudit"), sorted(PVE1_ALL + PVE2_ALL), PVE1_ALL, PVE2_ALL),
        ([acl("/", USER, "SysAudit")], [], [("pve1", TOKEN)], [("pve2", TOKEN)]),
    ],
    ids=["no-rights", "audit-on-pve1", "audit-on-nodes", "audit-on-root", "only-user-audits"],
)
def test_task_lists(
    make_sim: MakeSim,
    acls: list[dict[str, Any]],
    cluster: list[tuple[str, str]],
    pve1: list[tuple[str, str]],
    pve2: list[tuple[str, str]],
) -> None:
    """A token sees its own node tasks; others need Sys.Audit on the node.

    /cluster/tasks without Sys.Audit on / compares the split user name with the full
    token id, so a token sees none of its own tasks there (a quirk of PVE's check).
    """
    sim = make_sim(scenario(acls, tasks=TASKS))
    pve = api(sim)
    assert task_owners(pve.cluster.tasks.get()) == cluster
    assert task_owners(pve.nodes("pve1").tasks.get()) == pve1
    assert task_owners(pve.nodes("pve2").tasks.get()) == pve2


def test_task_status_of_foreign_task_needs_sys_audit(make_sim: MakeSim) -> None:
    sim = make_sim(scenario([], tasks=TASKS))
    upids = {
        (t["user"] + (f"!{t['tokenid']}" if t.get("tokenid") else "")): t["upid"]
        for t in api(sim, ADMIN).nodes("pve1").tasks.get()
    }
    pve = api(sim)
    assert pve.nodes("pve1").tasks(upids[TOKEN]).status.get()["exitstatus"] == "OK"
    for owner in (OTHER, USER, "root@pam"):
        exc = forbidden(pve.nodes("pve1").tasks(upids[owner]).status.get)
        assert exc.content == "Permission check failed (/nodes/pve1, Sys.Audit)"


@pytest.mark.parametrize(
    ("acls", "users"),
    [
        ([], {TOKEN}),
        (both("/nodes", "PVESysAdmin"), {TOKEN}),  # Sys.Syslog must be on / itself
        (both("/", "PVESysAdmin"), {TOKEN, OTHER, USER, "root@pam"}),
    ],
    ids=["no-rights", "syslog-below-root", "syslog-on-root"],
)
def test_cluster_log_without_sys_syslog_shows_own_entries(
    make_sim: MakeSim, acls: list[dict[str, Any]], users: set[str]
) -> None:
    sim = make_sim(scenario(acls, tasks=TASKS))
    entries = api(sim).cluster.log.get(max=100)
    assert {e["user"] for e in entries} == users


# -- a third-party server's listing: `/` alone ------------------------------------------------


def root_only(acls: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    data = scenario(acls)
    data["cluster"]["permissions_listing"] = "root-only"
    return data


def test_a_root_only_listing_holds_slash_alone_and_keys_every_answer_slash(
    make_sim: MakeSim,
) -> None:
    acls = [*both("/", "PVEAuditor"), *both("/vms/101", "Power")]
    sim = make_sim(root_only(acls))
    admin = api(sim, ADMIN).access.permissions
    everything = builtin_roles(9)["Administrator"]
    assert admin.get() == {"/": flags(everything, 1)}
    assert api(sim).access.permissions.get() == {"/": flags(AUDITOR, 1)}
    # ?path=X: what holds on X, keyed `/`; the checks themselves are PVE's.
    assert api(sim).access.permissions.get(path="/vms/101") == {"/": flags(["VM.PowerMgmt"], 1)}
    assert api(sim).access.permissions.get(path="/nodes/pve1") == {"/": flags(AUDITOR, 1)}
    assert api(sim).nodes("pve1").qemu(101).status.start.post()
    exc = forbidden(api(sim).nodes("pve1").qemu(100).status.start.post)
    assert exc.content == "Permission check failed (/vms/100, VM.PowerMgmt)"


def test_a_root_only_listing_of_nothing_on_slash_is_empty(make_sim: MakeSim) -> None:
    sim = make_sim(root_only(both("/vms", "PVEAuditor")))
    assert api(sim).access.permissions.get() == {}
    assert api(sim).access.permissions.get(path="/") == {"/": {}}
    assert api(sim).access.permissions.get(path="/vms/100") == {"/": flags(AUDITOR, 1)}


# -- Argus's reading of the dump agrees with the engine --------------------------------------

PROBED = [
    "/",
    "/vms",
    *(f"/vms/{vmid}" for vmid in (100, 101, 102, 200, 201)),
    "/nodes",
    "/nodes/pve1",
    "/storage",
    "/storage/local",
    "/access",
]


@pytest.mark.parametrize(
    "case",
    [
        *PERM_CASES,
        PermCase("noaccess-on-vms", [*both("/", "PVEVMUser"), *both("/vms", "NoAccess")], []),
        PermCase("noaccess-on-nodes", [*both("/", "PVEAuditor"), *both("/nodes", "NoAccess")], []),
    ],
    ids=lambda c: c.id,
)
def test_the_dump_read_by_argus_says_what_the_server_checks(
    make_sim: MakeSim, case: PermCase
) -> None:
    from argus_tui.pve.mapping import privileges_from

    sim = make_sim(scenario(case.acls, groups=case.groups))
    engine = sim.state.permissions
    for subject in (USER, TOKEN, FULL, EVE):
        read = privileges_from(engine.dump(subject))
        for path in PROBED:
            held = set(engine.privileges(subject, path))
            if path.startswith("/vms/") and "VM.Audit" not in held:
                continue  # NoAccess leaves a guest out of the dump, and out of every list
            assert read.effective(path) == held, (subject, path)
