"""The selection's first questions, and the actions an answer may have Argus offer.

The assistant never acts. `suggested_actions` reads `Suggested action:` lines from an
answer and keeps only power actions (and "snapshot first") that the selected guest's
state and the token's privileges allow; the UI offers them as the normal keyed action,
with the usual confirmation. Text in a log that tries to instruct the model changes nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from argus_tui.domain.format import percent
from argus_tui.domain.models import ClusterSnapshot, Guest, Node, Task
from argus_tui.domain.operations import allowed_operations
from argus_tui.domain.permissions import ACTIONS, allowed_actions
from argus_tui.domain.text import printable
from argus_tui.llm.prompt import parse_suggested_actions
from argus_tui.services.assistant.target import Target


@dataclass(frozen=True, slots=True)
class SuggestedAction:
    """An action an answer suggested that Argus could offer for the guest (a power
    action, or `snapshot`)."""

    action: str
    vmid: int
    label: str  # footer label, e.g. "Start"
    guest: Guest

    def describe(self) -> str:
        return f"{self.label} {printable(self.guest.label)} ({self.vmid})"


def guest_of(target: Target | None, snapshot: ClusterSnapshot) -> Guest | None:
    """The guest a suggested action may concern: the selected one, or a guest task's."""
    if isinstance(target, Guest):
        return target
    if isinstance(target, Task) and target.id.isdigit():
        vmid = int(target.id)
        return next((g for g in snapshot.guests if g.vmid == vmid), None)
    return None


def suggestions(target: Target | None, snapshot: ClusterSnapshot | None = None) -> list[str]:
    """Short first questions for the selection, most specific first."""
    out: list[str] = []
    if isinstance(target, Guest):
        guest = _fresh_guest(target, snapshot)
        name = printable(guest.label)
        if guest.status == "stopped" and not guest.template:
            out.append(f"Why won't {name} start?")
        if guest.lock:
            out.append(f"Why is {name} locked ({printable(guest.lock)})?")
        if guest.hastate in ("error", "fence", "recovery"):
            out.append(f"Why is the HA state of {name} '{printable(guest.hastate)}'?")
        if guest.status == "running":
            if guest.mem is not None and guest.maxmem and guest.mem / guest.maxmem >= 0.85:
                out.append(f"Why is {name} at {percent(guest.mem / guest.maxmem)} memory?")
            if guest.cpu is not None and guest.cpu >= 0.85:
                out.append(f"Why is {name} at {percent(guest.cpu)} CPU?")
        out.append(f"Is anything wrong with {name}?")
        out.append(f"What failed most recently for {name}?")
    elif isinstance(target, Node):
        name = printable(target.name)
        if not target.online:
            out.append(f"Why is node {name} {printable(target.status)}?")
        if target.mem is not None and target.maxmem and target.mem / target.maxmem >= 0.85:
            out.append(f"Why is node {name} at {percent(target.mem / target.maxmem)} memory?")
        if target.cpu is not None and target.cpu >= 0.85:
            out.append(f"Why is node {name} at {percent(target.cpu)} CPU?")
        if target.disk is not None and target.maxdisk and target.disk / target.maxdisk >= 0.85:
            out.append(
                f"Why is the root disk of {name} {percent(target.disk / target.maxdisk)} full?"
            )
        out.append(f"Is node {name} healthy?")
    elif isinstance(target, Task):
        what = printable(f"{target.type} {target.id}".strip())
        where = printable(target.node)
        if target.failed:
            out.append(f"Why did task {what} on {where} fail?")
        elif target.running:
            out.append(f"What is task {what} on {where} doing?")
        else:
            out.append(f"What did task {what} on {where} do?")
    else:
        if snapshot is not None and snapshot.cluster.quorate is False:
            out.append("Why is the cluster not quorate?")
        if snapshot is not None:
            for node in snapshot.nodes:
                if not node.online:
                    out.append(f"Why is node {printable(node.name)} {printable(node.status)}?")
                    break
        out.append("Is the cluster healthy?")
    return out[:4]


def suggested_actions(
    answer_text: str,
    snapshot: ClusterSnapshot,
    guest: Guest | None,
    *,
    read_only: bool = False,
) -> list[SuggestedAction]:
    """Power actions the answer suggests for the selected guest that Argus may offer:
    only for that guest, and only those valid for its current state and permitted to the
    token (`domain.permissions`). Never run them from here; offer them as the usual key."""
    if guest is None or read_only:
        return []
    current = _fresh_guest(guest, snapshot)
    allowed = allowed_actions(current, snapshot.privileges)
    labels = {name: action.label for name, action in ACTIONS.items()}
    if "snapshot" in allowed_operations(current, snapshot.privileges, snapshot.storages):
        allowed += ("snapshot",)
        labels["snapshot"] = "Snapshot"
    return [
        SuggestedAction(action, vmid, labels[action], current)
        for action, vmid in parse_suggested_actions(answer_text)
        if vmid == current.vmid and action in allowed
    ]


def _fresh_guest(guest: Guest, snapshot: ClusterSnapshot | None) -> Guest:
    """The guest as in the latest snapshot (its state may have changed since selection)."""
    if snapshot is None:
        return guest
    return next((g for g in snapshot.guests if g.vmid == guest.vmid), guest)
