"""Modals for actions: confirm one, review a bulk plan, and "why can't I"."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from argus_tui.domain.permissions import ACTION_ORDER, ACTIONS
from argus_tui.domain.text import printable
from argus_tui.services.power import PlanItem

_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 76; max-width: 95%; height: auto; max-height: 90%;
    border: thick $error; background: $panel; padding: 1 2;
}}
{name} .hint {{ color: $text-muted; margin-top: 1; }}
"""


class ConfirmAction(ModalScreen[bool]):
    """Names the guest and node; y or Enter confirms, n or Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]
    DEFAULT_CSS = _CSS.format(name="ConfirmAction")

    def __init__(self, question: Text) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="question")
            yield Static("y / Enter: yes     n / Esc: no", classes="hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def confirm_text(action: str, label: str, vmid: int, node: str) -> Text:
    text = Text()
    text.append(f"{ACTIONS[action].label} ", style="bold red")
    text.append(printable(label), style="bold")
    text.append(f" ({vmid}) on node ")
    text.append(printable(node), style="bold")
    text.append("?\n\n")
    consequence = {
        "stop": "This cuts the power: the guest gets no chance to shut down cleanly.",
        "reset": "This is a hard reset: unsaved data in the guest is lost.",
        "hibernate": "Its memory is written to disk and it stops; Start or Resume brings it back.",
    }.get(action, "")
    text.append(consequence, style="yellow")
    return text


class BulkPlan(ModalScreen[bool]):
    """For marked guests: what will happen to each, or why it is skipped."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Run", id="bulk.yes"),
        Binding("n,escape", "answer(False)", "Cancel", id="bulk.no"),
    ]
    DEFAULT_CSS = _CSS.format(name="BulkPlan")

    def __init__(self, action: str, items: list[PlanItem]) -> None:
        super().__init__()
        self.action_name = action
        self.items = items

    def compose(self) -> ComposeResult:
        runs = sum(1 for item in self.items if item.runs)
        table = Table.grid(padding=(0, 2))
        table.add_column(justify="right", style="bold")
        table.add_column()
        table.add_column()
        for item in self.items:
            style = "green" if item.runs else "yellow"
            table.add_row(str(item.guest.vmid), Text(printable(item.guest.label)),
                          Text(item.reason, style=style))  # fmt: skip
        title = Text(
            f"{ACTIONS[self.action_name].label} {len(self.items)} marked guests", style="bold"
        )
        with Vertical():
            yield Static(title)
            with VerticalScroll():
                yield Static(table, id="plan")
            yield Static(
                f"y / Enter: run on {runs} guest{'s' if runs != 1 else ''}     n / Esc: cancel",
                classes="hint",
            )

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes and any(item.runs for item in self.items))


#: One operation as `w` explains it: its footer label and why it is not offered (None:
#: it is offered).
Verdict = tuple[str, str | None]


class WhyNot(ModalScreen[None]):
    """Every action for the selection: allowed, or the reason it is not. Power actions
    come from their plan, the other operations as ready verdicts."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,w", "close", "Close")]
    DEFAULT_CSS = (
        _CSS.format(name="WhyNot").replace("thick $error", "round $accent")
        + """
    WhyNot #why-ops { margin-top: 1; }
    """
    )

    def __init__(
        self, title: str, items: Sequence[PlanItem] = (), operations: Sequence[Verdict] = ()
    ) -> None:
        super().__init__()
        self.title_text = title
        self.items = list(items)
        self.operations = list(operations)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(printable(self.title_text), style="bold"))
            if self.items:
                yield Static(self._power_table(), id="why")
            if self.operations:
                yield Static(verdict_table(self.operations), id="why-ops")
            yield Static(
                "Esc closes. 'argus doctor' shows how to grant privileges.", classes="hint"
            )

    def _power_table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        by_action = {item.action: item for item in self.items}
        for action in ACTION_ORDER:
            item = by_action.get(action)
            if item is None:
                continue
            key_style = "green" if item.runs else "yellow"
            verdict = "allowed" if item.runs else item.reason.removeprefix("skipped: ")
            table.add_row(ACTIONS[action].label, Text(verdict, style=key_style))
        return table

    def action_close(self) -> None:
        self.dismiss(None)


def verdict_table(verdicts: Sequence[Verdict]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for label, reason in verdicts:
        if reason is None:
            table.add_row(label, Text("allowed", style="green"))
        else:
            table.add_row(label, Text(printable(reason), style="yellow"))
    return table
