"""Typed views of what the cluster reports. Missing values stay None; nothing is invented."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import msgspec

from argus_tui.domain.storage import Storage

GuestType = Literal["qemu", "lxc"]
EntityKind = Literal["node", "qemu", "lxc"]


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    name: str | None
    quorate: bool | None
    version: str | None  # PVE version from /version
    standalone: bool = False


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    status: str  # online | offline | unknown
    cpu: float | None = None  # fraction of maxcpu
    maxcpu: int | None = None
    mem: int | None = None
    maxmem: int | None = None
    disk: int | None = None
    maxdisk: int | None = None
    uptime: int | None = None
    level: str | None = None

    @property
    def online(self) -> bool:
        return self.status == "online"


class Guest(msgspec.Struct, frozen=True, gc=False):
    """One VM or container as `/cluster/resources` reports it.

    A frozen struct rather than a dataclass because a refresh builds 10,000 of them: it is
    built in C from positional arguments (a frozen dataclass's `__init__` goes through
    `object.__setattr__` field by field, five times slower), and it holds only strings,
    numbers and a tuple of strings, so the cyclic GC need not track it (docs/PERFORMANCE.md,
    "Guests as structs"). Its fields are in the order pve/decode.py passes them.
    """

    vmid: int
    type: GuestType
    node: str
    status: str  # running | stopped | paused | suspended | unknown | ... (QMP states)
    name: str | None = None
    template: bool = False
    tags: tuple[str, ...] = ()
    pool: str | None = None
    lock: str | None = None
    hastate: str | None = None
    cpu: float | None = None
    maxcpu: float | None = None
    mem: int | None = None
    maxmem: int | None = None
    disk: int | None = None
    maxdisk: int | None = None
    uptime: int | None = None
    netin: int | None = None
    netout: int | None = None
    diskread: int | None = None
    diskwrite: int | None = None

    @property
    def label(self) -> str:
        """The name, or PVE's own fallback when the name is unknown (offline node)."""
        if self.name:
            return self.name
        return f"{'VM' if self.type == 'qemu' else 'CT'} {self.vmid}"


@dataclass(frozen=True, slots=True)
class Entity:
    """What an API call is about: a node, or a guest on its node.

    Callers pass an entity and the client builds the URL, so paths are written in one
    place (`pve/`) and never split back into parts.
    """

    kind: EntityKind
    node: str
    vmid: int | None = None

    @classmethod
    def of_node(cls, node: Node | str) -> Entity:
        return cls("node", node if isinstance(node, str) else node.name)

    @classmethod
    def of_guest(cls, guest: Guest) -> Entity:
        return cls(guest.type, guest.node, guest.vmid)

    @property
    def is_guest(self) -> bool:
        return self.kind != "node"


@dataclass(frozen=True, slots=True)
class Task:
    upid: str
    node: str
    type: str
    id: str
    user: str  # full owner, user@realm or user@realm!token
    starttime: int
    endtime: int | None = None
    status: str | None = None  # None while running; "OK", "WARNINGS: n" or the error text

    @property
    def running(self) -> bool:
        return self.endtime is None and self.status in (None, "RUNNING", "running")

    @property
    def failed(self) -> bool:
        if self.running or self.status is None:
            return False
        return not exit_ok(self.status)


def exit_ok(exitstatus: str) -> bool:
    """Did a finished task succeed? PVE ends it with "OK", "WARNINGS: n" or the error text.

    The one rule for every caller (the TUI, `argus power --wait`, `argus task-log`), so a
    task with warnings counts as done everywhere.
    """
    return exitstatus == "OK" or exitstatus.startswith("WARNINGS")


#: Paths PVE's `/access/permissions` reports whenever anything is held there, inherited or
#: not (PVE 7 said /pools). Below them only paths with an ACL or a pool membership are listed.
ALWAYS_LISTED = frozenset(
    {"/", "/access", "/access/groups", "/nodes", "/pool", "/pools", "/sdn", "/storage", "/vms"}
)


@dataclass(frozen=True, slots=True)
class Privileges:
    """`/access/permissions` as returned: path -> {privilege: propagates}.

    How it is read is in docs/proxmox.md (Permissions): a path as listed, else what
    propagates from its nearest listed ancestor; the answer to `?path=X` is what holds on X.
    """

    paths: dict[str, dict[str, bool]] = field(default_factory=dict)
    #: Whether the dump lists a fixed path besides `/` (see `effective`); worked out once,
    #: since every guest of a refresh is looked up.
    _shaped: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        shaped = any(p in ALWAYS_LISTED and p != "/" for p in self.paths)
        object.__setattr__(self, "_shaped", shaped)

    def at(self, path: str) -> frozenset[str]:
        """What the dump lists for exactly `path` (nothing inherited)."""
        return frozenset(self.paths.get(path, {}))

    def effective(self, path: str) -> frozenset[str]:
        """Privileges that apply at `path`, listed or not.

        The dump resolves inheritance for the paths it lists: a listed path's entry is the
        answer (0 and 1 both mean held there). An unlisted path has no ACL of its own, so
        it holds what propagates from its nearest listed ancestor: `/vms/ID`, else `/vms`,
        else `/`. An ancestor whose privileges all stop there (0) was set by an ACL that
        applies there alone, so the walk goes on above it; an empty entry holds nothing.
        PVE lists each of its fixed paths (`/nodes`, `/vms`, ...) whenever anything is held
        there, so in a dump that lists any of them besides `/`, a fixed path left out holds
        nothing (NoAccess there) and nothing passes it. A server that lists `/` alone is
        read from `/` throughout.
        """
        exact = self.paths.get(path)
        if exact is not None:
            return frozenset(exact)
        while path not in ("", "/"):
            if self._shaped and path in ALWAYS_LISTED and path not in self.paths:
                break  # a fixed path PVE left out: nothing is held there
            path = path.rsplit("/", 1)[0] or "/"
            entry = self.paths.get(path)
            if entry is not None:
                propagated = frozenset(p for p, propagates in entry.items() if propagates)
                if propagated or not entry:  # an empty entry: nothing there, nor below
                    return propagated
        return frozenset()

    def answer(self, path: str) -> frozenset[str]:
        """This dump read as the answer to `/access/permissions?path=<path>`: what holds on
        `path`, inheritance folded in by the server.

        PVE keys the answer by `path`. A server that keys its one entry otherwise (`/` or
        `/vms` for `?path=/vms/100`) is still answering for `path`, so that entry is the
        answer, all of it. A server that ignored the parameter and sent the whole dump is
        read as `effective` reads it.
        """
        exact = self.paths.get(path)
        if exact is not None:
            return frozenset(exact)
        if len(self.paths) == 1:
            return frozenset(next(iter(self.paths.values())))
        return self.effective(path)

    def holds(self, path: str, privilege: str) -> bool:
        """Whether `privilege` applies at `path` (see `effective`)."""
        return privilege in self.effective(path)

    def on_guest(self, vmid: int) -> frozenset[str]:
        """Privileges on /vms/<vmid> for a guest the token can see."""
        return self.effective(f"/vms/{vmid}")

    @property
    def empty(self) -> bool:
        return not any(self.paths.values())


@dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    """One consistent picture from one refresh; screens and `status --json` render from it."""

    cluster: ClusterInfo
    nodes: tuple[Node, ...]
    guests: tuple[Guest, ...]
    privileges: Privileges
    warnings: tuple[str, ...] = ()
    fetched_at: float = 0.0
    storages: tuple[Storage, ...] = ()  # one per (node, storage), from the same call


@dataclass(frozen=True, slots=True)
class Address:
    """One address of a guest, from its agent (VMs) or the node (containers)."""

    interface: str
    address: str  # with its prefix, e.g. 10.0.0.21/24
    family: str  # ipv4 | ipv6
    mac: str | None = None
