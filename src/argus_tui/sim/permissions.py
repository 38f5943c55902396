"""The simulator's permission engine: PVE's ACL algorithm, one function for every check.

Follows pve-access-control: `AccessControl::roles` (the path walk, token entries, then
user entries, then group entries; a level that matches replaces what was inherited),
`RPCEnvironment::compile_acl_path` (pool roles for members, NoAccess) and
`RPCEnvironment::permissions` (root@pam, privilege-separated tokens as an intersection).
Both the endpoint checks and `/access/permissions` call `privileges()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from argus_tui.sim.scenario import AclSpec, TokenSpec, UserSpec

# Paths /access/permissions always reports (PVE 8+; PVE 7 said /pools).
FIXED_PATHS = ("/", "/access", "/access/groups", "/nodes", "/pool", "/sdn", "/storage", "/vms")

Privs = dict[str, int]  # privilege -> propagate flag (0 or 1)


@dataclass(slots=True)
class _AclNode:
    tokens: dict[str, dict[str, int]] = field(default_factory=dict)
    users: dict[str, dict[str, int]] = field(default_factory=dict)
    groups: dict[str, dict[str, int]] = field(default_factory=dict)
    children: dict[str, _AclNode] = field(default_factory=dict)


class PermissionEngine:
    """Answers "which privileges does this user or token hold on this path"."""

    def __init__(
        self,
        *,
        roles: Mapping[str, frozenset[str]],
        users: Iterable[UserSpec],
        tokens: Iterable[TokenSpec],
        acls: Iterable[AclSpec],
        pool_members: Mapping[str, Iterable[str]],
    ) -> None:
        self._roles = dict(roles)
        self._users = {u.id: u for u in users}
        self._tokens = {t.id: t for t in tokens}
        self._group_members: dict[str, set[str]] = {}
        for user in self._users.values():
            for group in user.groups:
                self._group_members.setdefault(group, set()).add(user.id)
        self._root = _AclNode()
        self._acl_paths: set[str] = set()
        for acl in acls:
            self._add(acl)
        self._pool_members = {pool: list(members) for pool, members in pool_members.items()}
        self._cache: dict[tuple[str, str], Privs] = {}

    def _add(self, acl: AclSpec) -> None:
        node = self._root
        prefix = ""
        for part in _split(acl.path)[1:]:
            node = node.children.setdefault(part, _AclNode())
            prefix += "/" + part
            self._acl_paths.add(prefix)  # iterate_acl_tree also visits intermediate nodes
        if acl.subject.startswith("@"):
            bucket = node.groups.setdefault(acl.subject[1:], {})
        elif "!" in acl.subject:
            bucket = node.tokens.setdefault(acl.subject, {})
        else:
            bucket = node.users.setdefault(acl.subject, {})
        bucket[acl.role] = 1 if acl.propagate else 0
        self._acl_paths.add(acl.path)

    # -- AccessControl::roles -------------------------------------------------------------

    def _roles_at(self, authid: str, path: str) -> dict[str, int]:
        if "!" in authid:
            token = self._tokens.get(authid)
            if token is None:
                return {}
            if not token.privsep:
                return self._roles_at(token.userid, path)
        roles: dict[str, int] = {}
        parts = _split(path)
        node: _AclNode | None = self._root
        for index, part in enumerate(parts):
            final = index == len(parts) - 1
            if node is not None and part != "":
                node = node.children.get(part)
            if node is None:
                break
            found = _pick(node.tokens.get(authid), final)
            if found is None:
                found = _pick(node.users.get(authid), final)
            if found is None and "!" not in authid:
                merged: dict[str, int] | None = None
                for group, entry in node.groups.items():
                    if authid in self._group_members.get(group, ()):
                        picked = _pick(entry, final)
                        if picked is not None:
                            merged = {**(merged or {}), **picked}
                found = merged
            if found is not None:
                roles = found
        if "NoAccess" in roles:
            return {"NoAccess": roles["NoAccess"]}
        return roles

    # -- RPCEnvironment::compile_acl_path ---------------------------------------------------

    def _pool_roles(self, authid: str, path: str) -> dict[str, int]:
        result: dict[str, int] = {}
        for pool, members in self._pool_members.items():
            if path in members:
                for role, flag in self._roles_at(authid, f"/pool/{pool}").items():
                    result[role] = result.get(role, 0) | flag
        return result

    def _compile(self, authid: str, path: str) -> Privs:
        roles = dict(self._roles_at(authid, path))
        pool_roles = self._pool_roles(authid, path)
        if pool_roles and "NoAccess" not in roles:
            if "NoAccess" in pool_roles:
                roles = {"NoAccess": 0}
            else:
                for role in pool_roles:
                    roles.setdefault(role, 0)
        if "NoAccess" in roles:
            roles = {"NoAccess": roles["NoAccess"]}
        privs: Privs = {}
        for role, flag in roles.items():
            for priv in self._roles.get(role, ()):
                privs[priv] = privs.get(priv, 0) | flag
        return privs

    # -- RPCEnvironment::permissions ----------------------------------------------------------

    def privileges(self, authid: str, path: str) -> Privs:
        """The privileges `authid` holds on `path`, each with its propagate flag."""
        path = _normalise(path)
        key = (authid, path)
        cached = self._cache.get(key)
        if cached is not None:
            return dict(cached)
        result = self._privileges(authid, path)
        self._cache[key] = result
        return dict(result)

    def _privileges(self, authid: str, path: str) -> Privs:
        if authid == "root@pam":
            return dict.fromkeys(self._roles["Administrator"], 1)
        if "!" in authid:
            token = self._tokens.get(authid)
            if token is None:
                return {}
            user_privs = self._privileges(token.userid, path)
            if not token.privsep:
                return user_privs
            token_privs = self._compile(authid, path)
            return {
                priv: flag & user_privs[priv]
                for priv, flag in token_privs.items()
                if priv in user_privs
            }
        user = self._users.get(authid)
        if user is None or not user.enable:
            return {}
        return self._compile(authid, path)

    def has(self, authid: str, path: str, privs: Iterable[str], *, any_of: bool = False) -> bool:
        held = self.privileges(authid, path)
        wanted = list(privs)
        if any_of:
            return any(p in held for p in wanted)
        return all(p in held for p in wanted)

    def report_paths(self) -> list[str]:
        """The paths `/access/permissions` lists when no `path` is given."""
        paths = set(FIXED_PATHS) | self._acl_paths
        for members in self._pool_members.values():
            paths.update(members)
        return sorted(paths)

    def listing(self, authid: str, path: str | None, style: str) -> dict[str, Privs]:
        """`/access/permissions` as answered by a server of `style`: "pve" lists as PVE
        does (`dump`, or `{path: ...}` for a path); "root-only" as some third-party
        servers do: the whole dump is `/` alone, and a path's answer is keyed `/`."""
        if style == "root-only":
            privs = self.privileges(authid, path or "/")
            return {"/": privs} if privs or path is not None else {}
        if path is not None:
            return {path: self.privileges(authid, path)}
        return self.dump(authid)

    def dump(self, authid: str) -> dict[str, Privs]:
        """`/access/permissions` without `path`: every reported path where something is held."""
        result: dict[str, Privs] = {}
        for path in self.report_paths():
            privs = self.privileges(authid, path)
            if privs:
                result[path] = privs
        return result


def _pick(entry: dict[str, int] | None, final: bool) -> dict[str, int] | None:
    """Roles of one ACL entry that apply at this level, or None when none do."""
    if not entry:
        return None
    picked = {role: flag for role, flag in entry.items() if final or flag}
    return picked or None


def _normalise(path: str) -> str:
    path = "/" + path.strip("/")
    return path


def _split(path: str) -> list[str]:
    """`/vms/100` -> ['', 'vms', '100'] as PVE splits it; `/` -> ['']."""
    path = _normalise(path)
    if path == "/":
        return [""]
    return path.split("/")
