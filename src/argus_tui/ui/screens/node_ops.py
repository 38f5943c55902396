"""Modals of the nodes screen: an evacuation plan before it runs, and a node reboot or
shutdown confirmed by typing the node's name (a slip of one key must not take a node
down)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from argus_tui.domain.migration import MODE_TEXT, EvacuationPlan
from argus_tui.domain.models import ClusterSnapshot
from argus_tui.domain.text import printable
from argus_tui.errors import ArgusError
from argus_tui.services.session import Session

_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 96; max-width: 95%; height: auto; max-height: 95%;
    border: thick {border}; background: $panel; padding: 1 2;
}}
{name} .hint {{ color: $text-muted; margin-top: 1; }}
{name} VerticalScroll {{ height: auto; max-height: 24; }}
"""


class PlanReady(Message):
    def __init__(self, plan: EvacuationPlan | None, error: str | None) -> None:
        super().__init__()
        self.plan = plan
        self.error = error


class EvacuationModal(ModalScreen[EvacuationPlan | None]):
    """The plan for emptying a node (asked in a worker): each move with its target, mode
    and note, and what is skipped and why. Enter runs it, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "run", "Run", id="evacuate.run"),
        Binding("escape", "cancel", "Cancel", id="evacuate.cancel"),
    ]
    DEFAULT_CSS = _CSS.format(name="EvacuationModal", border="$accent")

    def __init__(self, node: str, session: Session, snapshot: ClusterSnapshot) -> None:
        super().__init__()
        self.node = node
        self.session = session
        self.snapshot = snapshot
        self.plan: EvacuationPlan | None = None
        self.error: str | None = None
        self.loaded = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Evacuate {printable(self.node)}", style="bold"))
            with VerticalScroll():
                yield Static(Text("planning…", style="italic dim"), id="evacuation-plan")
            yield Static("Enter: run the plan   Esc: cancel", classes="hint", id="evac-hint")

    def on_mount(self) -> None:
        self._load(self.session, self.snapshot, self.node)

    @work(thread=True, exclusive=True, group="evacuation-plan", exit_on_error=False)
    def _load(self, session: Session, snapshot: ClusterSnapshot, node: str) -> None:
        try:
            plan = session.evacuation.plan(snapshot, node)
        except ArgusError as exc:
            self.post_message(PlanReady(None, str(exc)))
        else:
            self.post_message(PlanReady(plan, None))

    def on_plan_ready(self, message: PlanReady) -> None:
        self.loaded = True
        self.plan, self.error = message.plan, message.error
        view = self.query_one("#evacuation-plan", Static)
        if message.plan is None:
            view.update(Text(printable(message.error or ""), style="yellow"))
            return
        view.update(plan_table(message.plan))
        if not message.plan.moves:
            self.query_one("#evac-hint", Static).update("Nothing to move.   Esc: close")

    def action_run(self) -> None:
        if self.plan is not None and self.plan.moves:
            self.dismiss(self.plan)

    def action_cancel(self) -> None:
        self.dismiss(None)


def plan_table(plan: EvacuationPlan) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold")
    table.add_column()
    table.add_column()
    table.add_column()
    count = len(plan.moves)
    table.add_row("", Text(f"{count} move{'s' if count != 1 else ''}", style="bold"), "", "")
    for move in plan.moves:
        what = MODE_TEXT[move.mode] + (f"; {move.note}" if move.note else "")
        table.add_row(
            str(move.guest.vmid),
            Text(printable(move.guest.label)),
            Text(f"-> {printable(move.to)}", style="cyan"),
            Text(what, style="green"),
        )
    if plan.skipped:
        table.add_row("", Text(f"{len(plan.skipped)} skipped", style="bold"), "", "")
    for skip in plan.skipped:
        table.add_row(
            str(skip.guest.vmid),
            Text(printable(skip.guest.label)),
            "",
            Text(printable(skip.reason), style="yellow"),
        )
    return table


class TypeNodeName(ModalScreen[bool]):
    """Reboot or shut down a node: says how many guests still run there; the node's name
    typed and Enter confirms, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="node-power.cancel"),
    ]
    DEFAULT_CSS = _CSS.format(name="TypeNodeName", border="$error")

    def __init__(self, command: str, node: str, running: int) -> None:
        super().__init__()
        self.command = command
        self.node = node
        self.running = running

    def compose(self) -> ComposeResult:
        verb = "Reboot" if self.command == "reboot" else "Shut down"
        text = Text(f"{verb} node ", style="bold red")
        text.append(printable(self.node), style="bold")
        text.append("?\n\n")
        guests = f"{self.running} guest{'s' if self.running != 1 else ''}"
        if self.running:
            text.append(f"{guests} still running there will be stopped", style="yellow")
            text.append(" (HA guests follow the cluster's shutdown policy).\n", style="yellow")
        else:
            text.append("No guest is running there.\n")
        text.append(f"\nType {printable(self.node)} and press Enter to confirm.")
        with Vertical():
            yield Static(text, id="question")
            yield Input(placeholder=self.node, id="node-name")
            yield Static("Enter: confirm (the name must match)   Esc: cancel", classes="hint")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#node-name", Input))

    @on(Input.Submitted, "#node-name")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.node:
            self.dismiss(True)
        else:
            self.notify(f"type {self.node} to confirm", severity="warning")

    def action_cancel(self) -> None:
        self.dismiss(False)
