"""Migration and evacuation: which mode a guest moves in, where it may go, and a plan
that empties a node without overcommitting any target's memory.

Pure: the precondition answers (`Precondition`) are read by `pve/`, the privileges come
with the snapshot. The server checks everything again; this decides what Argus offers
and says why not (docs/proxmox.md, Migration).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from argus_tui.domain.format import bytes_
from argus_tui.domain.models import Guest, Node, Privileges

Mode = Literal["online", "restart", "offline"]
MIGRATE = "VM.Migrate"


def mode_for(guest: Guest) -> Mode:
    """Live for a running VM, restart for a running container, offline otherwise.

    Containers cannot move live: a running one is shut down, moved and started again.
    """
    if guest.status in ("running", "paused"):
        return "online" if guest.type == "qemu" else "restart"
    return "offline"


MODE_TEXT: dict[str, str] = {
    "online": "online (live, the VM keeps running)",
    "restart": "restart (shut down, moved, started again)",
    "offline": "offline (it is not running)",
}


@dataclass(frozen=True, slots=True)
class Precondition:
    """`GET .../migrate`: which nodes the guest may go to, and what holds it back."""

    running: bool = False
    allowed: frozenset[str] = frozenset()
    not_allowed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    local_disks: tuple[str, ...] = ()  # volids of disks on local storage
    local_resources: tuple[str, ...] = ()  # usb0, hostpci0, ...
    known: bool = True  # False: the server has no precondition call (lxc before PVE 9)

    def blocker(self, target: str) -> str | None:
        """Why the guest cannot go to `target`, or None."""
        if self.local_resources:
            return f"uses local devices ({', '.join(self.local_resources)})"
        if not self.known:
            return None
        reasons = self.not_allowed.get(target)
        if reasons:
            return "; ".join(reasons)
        if target not in self.allowed and target in self.not_allowed:
            return "not allowed by the server"
        return None


@dataclass(frozen=True, slots=True)
class Target:
    """A node as a migration target for one guest."""

    node: Node
    reason: str | None  # None: allowed
    free_mem: int | None

    @property
    def allowed(self) -> bool:
        return self.reason is None


def free_memory(node: Node) -> int | None:
    if node.mem is None or node.maxmem is None:
        return None
    return max(0, node.maxmem - node.mem)


def targets_for(
    guest: Guest, nodes: Iterable[Node], precondition: Precondition | None = None
) -> list[Target]:
    """Every other node, allowed or with the reason it is not, most free memory first."""
    out: list[Target] = []
    for node in nodes:
        if node.name == guest.node:
            continue
        reason: str | None = None
        if not node.online:
            reason = f"node is {node.status}"
        elif precondition is not None:
            reason = precondition.blocker(node.name)
        free = free_memory(node)
        need = guest.maxmem or 0
        if reason is None and guest.status == "running" and free is not None and need > free:
            reason = f"only {bytes_(free)} free, the guest needs {bytes_(need)}"
        out.append(Target(node, reason, free))
    out.sort(key=lambda t: (not t.allowed, -(t.free_mem or 0), t.node.name))
    return out


@dataclass(frozen=True, slots=True)
class Move:
    guest: Guest
    to: str
    mode: Mode
    note: str = ""  # e.g. "through HA", "with local disks"


@dataclass(frozen=True, slots=True)
class Skip:
    guest: Guest
    reason: str


@dataclass(frozen=True, slots=True)
class EvacuationPlan:
    node: str
    moves: tuple[Move, ...]
    skipped: tuple[Skip, ...]

    def json(self) -> dict[str, object]:
        """`argus evacuate --dry-run --json`."""
        return {
            "node": self.node,
            "moves": [
                {"vmid": m.guest.vmid, "name": m.guest.name, "to": m.to, "mode": m.mode}
                for m in self.moves
            ],
            "skipped": [
                {"vmid": s.guest.vmid, "name": s.guest.name, "reason": s.reason}
                for s in self.skipped
            ],
        }


def plan_evacuation(
    node: str,
    nodes: Sequence[Node],
    guests: Iterable[Guest],
    privileges: Privileges,
    *,
    to: Sequence[str] | None = None,
    preconditions: Mapping[int, Precondition] | None = None,
) -> EvacuationPlan:
    """Spread the node's running guests over the other online nodes by free memory.

    Largest guests first, each to the allowed target with the most memory still free
    after the guests already placed there; a guest that fits nowhere is skipped with the
    largest free figure, so no target is ever overcommitted. Stopped guests and templates
    stay (they use no memory and come back with the node).
    """
    preconditions = preconditions or {}
    free: dict[str, int] = {}
    for n in nodes:
        if n.name == node or not n.online or (to and n.name not in to):
            continue
        room = free_memory(n)
        if room is not None:
            free[n.name] = room
    moves: list[Move] = []
    skipped: list[Skip] = []
    mine = [g for g in guests if g.node == node]
    running = [g for g in mine if g.status in ("running", "paused") and not g.template]
    moving = {g.vmid for g in running}
    for guest in sorted(mine, key=lambda g: g.vmid):
        if guest.vmid not in moving:
            what = "a template" if guest.template else guest.status
            skipped.append(Skip(guest, f"{what}: stays on {node}"))
    for guest in sorted(running, key=lambda g: (-(g.maxmem or 0), g.vmid)):
        reason = _skip_reason(guest, privileges)
        pre = preconditions.get(guest.vmid)
        if reason is None:
            need = guest.maxmem or 0
            fits = [
                (room, name)
                for name, room in free.items()
                if room >= need and (pre is None or pre.blocker(name) is None)
            ]
            if not fits:
                reason = _no_room(need, free, pre)
            else:
                room, name = max(fits)
                free[name] = room - need
                note = "through HA" if guest.hastate else ""
                if pre is not None and pre.local_disks:
                    note = ", ".join(x for x in (note, "with its local disks") if x)
                moves.append(Move(guest, name, mode_for(guest), note))
                continue
        skipped.append(Skip(guest, reason))
    moves.sort(key=lambda m: m.guest.vmid)
    skipped.sort(key=lambda s: s.guest.vmid)
    return EvacuationPlan(node, tuple(moves), tuple(skipped))


def _skip_reason(guest: Guest, privileges: Privileges) -> str | None:
    if MIGRATE not in privileges.on_guest(guest.vmid):
        return f"needs {MIGRATE} on /vms/{guest.vmid}"
    if guest.lock:
        return f"locked ({guest.lock})"
    return None


def _no_room(need: int, free: Mapping[str, int], pre: Precondition | None) -> str:
    if pre is not None and pre.local_resources:
        return f"uses local devices ({', '.join(pre.local_resources)}): it cannot move"
    if not free:
        return "no other online node to move it to"
    best = max(free.items(), key=lambda item: item[1])
    return (
        f"no node has {bytes_(need)} free for it (the most is {bytes_(best[1])} on {best[0]});"
        " moving it would overcommit a target"
    )
