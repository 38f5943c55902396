"""Who may do what in a scenario: `[[user]]`, `[[token]]`, `[[role]]` and `[[acl]]`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from argus_tui.sim.roles import builtin_roles
from argus_tui.sim.scenario_fields import ScenarioError, array, check_keys, get

_USER_RE = re.compile(r"^[^\s:/@!]+@[A-Za-z][A-Za-z0-9._-]*$")
_TOKEN_RE = re.compile(r"^([^\s:/@!]+@[A-Za-z][A-Za-z0-9._-]*)!([A-Za-z][A-Za-z0-9._-]+)$")
ROOT_TOKEN_ID = "root@pam!argus"  # noqa: S105 - an id, not a secret


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
class Access:
    """The parsed access tables; root@pam is always the first user."""

    users: list[UserSpec]
    tokens: list[TokenSpec]
    roles: dict[str, frozenset[str]]
    acls: list[AclSpec]


def parse_access(data: dict[str, Any], pve_major: int) -> Access:
    users = _users(data)
    tokens = _tokens(data, {u.id for u in users})
    roles = _roles(data, pve_major)
    acls = _acls(data, users, tokens, roles)
    return Access(users, tokens, roles, acls)


def _users(data: dict[str, Any]) -> list[UserSpec]:
    users = [UserSpec(id="root@pam")]
    for i, item in enumerate(array(data, "user")):
        where = f"[[user]] #{i + 1}"
        check_keys(item, {"id", "groups", "enable"}, where)
        uid = get(item, "id", str, where)
        if not _USER_RE.match(uid):
            raise ScenarioError(f"{where}: {uid!r} is not a user id like 'ops@pve'")
        groups = get(item, "groups", list, where, [])
        if uid == "root@pam":
            users[0].groups = list(groups)
            continue
        users.append(
            UserSpec(id=uid, groups=list(groups), enable=get(item, "enable", bool, where, True))
        )
    return users


def _tokens(data: dict[str, Any], user_ids: set[str]) -> list[TokenSpec]:
    tokens = []
    for i, item in enumerate(array(data, "token")):
        where = f"[[token]] #{i + 1}"
        check_keys(item, {"id", "secret", "privsep", "expire"}, where)
        tid = get(item, "id", str, where)
        match = _TOKEN_RE.match(tid)
        if not match:
            raise ScenarioError(f"{where}: {tid!r} is not a token id like 'ops@pve!tui'")
        if match.group(1) not in user_ids:
            raise ScenarioError(f"{where}: user {match.group(1)!r} is not a [[user]]")
        tokens.append(
            TokenSpec(
                id=tid,
                secret=get(item, "secret", str, where),
                privsep=get(item, "privsep", bool, where, True),
                expire=get(item, "expire", int, where, 0),
            )
        )
    return tokens


def _roles(data: dict[str, Any], pve_major: int) -> dict[str, frozenset[str]]:
    roles = builtin_roles(pve_major)
    known_privs = roles["Administrator"]
    for i, item in enumerate(array(data, "role")):
        where = f"[[role]] #{i + 1}"
        check_keys(item, {"id", "privs"}, where)
        rid = get(item, "id", str, where)
        if rid in roles and rid in builtin_roles(pve_major):
            raise ScenarioError(f"{where}: {rid!r} is a built-in role")
        privs = get(item, "privs", list, where)
        bad = [p for p in privs if p not in known_privs]
        if bad:
            raise ScenarioError(f"{where}: unknown privilege(s) {', '.join(map(str, bad))}")
        roles[rid] = frozenset(privs)
    return roles


def _acls(
    data: dict[str, Any],
    users: list[UserSpec],
    tokens: list[TokenSpec],
    roles: dict[str, frozenset[str]],
) -> list[AclSpec]:
    user_ids = {u.id for u in users}
    groups = {g for u in users for g in u.groups}
    token_ids = {t.id for t in tokens}
    acls = []
    for i, item in enumerate(array(data, "acl")):
        where = f"[[acl]] #{i + 1}"
        check_keys(item, {"path", "subject", "role", "propagate"}, where)
        path = get(item, "path", str, where)
        if not re.match(r"^/([A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*)?$", path):
            raise ScenarioError(f"{where}: {path!r} is not an ACL path")
        subject = get(item, "subject", str, where)
        if subject.startswith("@"):
            if subject[1:] not in groups:
                raise ScenarioError(f"{where}: group {subject[1:]!r} has no members")
        elif subject not in user_ids and subject not in token_ids:
            raise ScenarioError(f"{where}: subject {subject!r} is not a user or token")
        role = get(item, "role", str, where)
        if role not in roles:
            raise ScenarioError(f"{where}: unknown role {role!r}")
        acls.append(
            AclSpec(
                path=path.rstrip("/") or "/",
                subject=subject,
                role=role,
                propagate=get(item, "propagate", bool, where, True),
            )
        )
    return acls
