"""`m` on the guests screen: where the selected or marked guests may go, and how.

The picker asks the server's migration precondition for each guest (one request per
guest, in a worker) and lists only the nodes every guest may go to, with their free
memory and CPU; the other nodes are listed below with why not. The mode is chosen per
guest (live for a running VM, restart for a running container) and said in the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from argus_tui.domain.format import bytes_, percent
from argus_tui.domain.migration import MODE_TEXT, Target, free_memory
from argus_tui.domain.models import ClusterSnapshot, Guest, Node
from argus_tui.domain.text import printable
from argus_tui.errors import ArgusError
from argus_tui.services.migration import MigrationPlan
from argus_tui.services.session import Session


@dataclass(frozen=True, slots=True)
class Choice:
    """The picked target, and each guest with the mode it moves in."""

    target: str
    plans: tuple[MigrationPlan, ...]


@dataclass(frozen=True, slots=True)
class NodeVerdict:
    """A node as a target for the whole selection: allowed (reason None) or why not."""

    node: Node
    reason: str | None


def verdicts(plans: Sequence[MigrationPlan], nodes: Sequence[Node]) -> list[NodeVerdict]:
    """Nodes every guest may go to (their running guests' memory fitting together) first,
    most free memory first; then the others with the first guest's reason."""
    out: list[NodeVerdict] = []
    sources = {p.guest.node for p in plans}
    for node in nodes:
        if len(sources) == 1 and node.name in sources:
            continue  # where they already are
        reason: str | None = None
        for plan in plans:
            target = _target(plan.targets, node.name)
            if plan.guest.node == node.name:
                continue  # this one stays; the others may come
            if target is not None and target.reason is not None:
                who = f"{plan.guest.label}: " if len(plans) > 1 else ""
                reason = who + target.reason
                break
        if reason is None:
            need = sum(
                p.guest.maxmem or 0
                for p in plans
                if p.guest.status == "running" and p.guest.node != node.name
            )
            free = free_memory(node)
            if len(plans) > 1 and free is not None and need > free:
                reason = f"only {bytes_(free)} free, the guests need {bytes_(need)}"
        out.append(NodeVerdict(node, reason))
    out.sort(key=lambda v: (v.reason is not None, -(free_memory(v.node) or 0), v.node.name))
    return out


def _target(targets: Sequence[Target], name: str) -> Target | None:
    return next((t for t in targets if t.node.name == name), None)


def node_label(node: Node) -> Text:
    """`pve-b  24.0G free of 64.0G  CPU 12% of 16`."""
    text = Text(printable(node.name), style="bold")
    free = free_memory(node)
    text.append(f"  {bytes_(free)} free of {bytes_(node.maxmem)}" if free is not None else
                "  free memory unknown")  # fmt: skip
    cores = f" of {node.maxcpu:g}" if node.maxcpu else ""
    text.append(f"  CPU {percent(node.cpu)}{cores}", style="dim")
    return text


class PlansReady(Message):
    def __init__(self, plans: tuple[MigrationPlan, ...], error: str | None) -> None:
        super().__init__()
        self.plans = plans
        self.error = error


class MigratePicker(ModalScreen[Choice | None]):
    """Enter migrates to the highlighted node; Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="migrate.cancel"),
    ]
    DEFAULT_CSS = """
    MigratePicker { align: center middle; }
    MigratePicker > Vertical {
        width: 90; max-width: 95%; height: auto; max-height: 95%;
        border: round $accent; background: $panel; padding: 1 2;
    }
    MigratePicker .label { margin-top: 1; text-style: bold; }
    MigratePicker .hint { color: $text-muted; margin-top: 1; }
    MigratePicker OptionList { height: auto; max-height: 10; }
    MigratePicker VerticalScroll { height: auto; max-height: 12; }
    """

    def __init__(self, guests: Sequence[Guest], session: Session, snapshot: ClusterSnapshot):
        super().__init__()
        self.guests = tuple(guests)
        self.session = session
        self.snapshot = snapshot
        self.plans: tuple[MigrationPlan, ...] = ()
        self.verdicts: list[NodeVerdict] = []
        self.error: str | None = None
        self.loaded = False

    @property
    def allowed(self) -> list[str]:
        return [v.node.name for v in self.verdicts if v.reason is None]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._title(), id="migrate-title")
            yield Static(Text("asking the server where each may go…", style="italic dim"),
                         id="migrate-plan")  # fmt: skip
            yield Static("Target", classes="label")
            yield OptionList(id="migrate-targets")
            with VerticalScroll():
                yield Static("", id="migrate-blocked")
            yield Static("Enter: migrate   Esc: cancel", classes="hint")

    def _title(self) -> Text:
        text = Text("Migrate ", style="bold")
        text.append(", ".join(f"{printable(g.label)} ({g.vmid})" for g in self.guests[:5]),
                    style="cyan")  # fmt: skip
        if len(self.guests) > 5:
            text.append(f" and {len(self.guests) - 5} more", style="cyan")
        nodes = sorted({g.node for g in self.guests})
        text.append(f" from {', '.join(printable(n) for n in nodes)}")
        return text

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#migrate-targets", OptionList))
        self._load(self.session, self.guests, self.snapshot)

    @work(thread=True, exclusive=True, group="migrate-plan", exit_on_error=False)
    def _load(self, session: Session, guests: tuple[Guest, ...], snapshot: ClusterSnapshot) -> None:
        try:
            plans = tuple(session.migration.plan(g, snapshot) for g in guests)
        except ArgusError as exc:
            self.post_message(PlansReady((), str(exc)))
        else:
            self.post_message(PlansReady(plans, None))

    def on_plans_ready(self, message: PlansReady) -> None:
        self.loaded = True
        self.plans, self.error = message.plans, message.error
        plan_view = self.query_one("#migrate-plan", Static)
        if message.error is not None:
            plan_view.update(Text(printable(message.error), style="yellow"))
            return
        self.verdicts = verdicts(self.plans, self.snapshot.nodes)
        plan_view.update(self._plan_text())
        options = self.query_one("#migrate-targets", OptionList)
        options.clear_options()
        options.add_options(
            [Option(node_label(v.node), id=v.node.name) for v in self.verdicts if v.reason is None]
        )
        options.highlighted = 0 if self.allowed else None
        self.query_one("#migrate-blocked", Static).update(self._blocked_text())

    def _plan_text(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(justify="right", style="bold")
        table.add_column()
        table.add_column()
        for plan in self.plans:
            extra = ""
            if plan.precondition.local_disks:
                extra = f"; local disks go along ({', '.join(plan.precondition.local_disks)})"
            if plan.guest.hastate:
                extra += "; moved through HA"
            table.add_row(
                str(plan.guest.vmid),
                Text(printable(plan.guest.label)),
                Text(MODE_TEXT[plan.mode] + extra, style="green"),
            )
        return table

    def _blocked_text(self) -> Text:
        blocked = [v for v in self.verdicts if v.reason is not None]
        text = Text()
        if not self.allowed:
            text.append("No node may take them now.\n" if len(self.guests) > 1 else
                        "No node may take it now.\n", style="bold yellow")  # fmt: skip
        if blocked:
            text.append("Not allowed:\n", style="bold")
        for v in blocked:
            text.append(f"  {printable(v.node.name)}: ", style="dim")
            text.append(f"{printable(v.reason or '')}\n", style="yellow")
        return text

    @on(OptionList.OptionSelected, "#migrate-targets")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None and self.plans:
            self.dismiss(Choice(event.option.id, self.plans))

    def action_cancel(self) -> None:
        self.dismiss(None)
