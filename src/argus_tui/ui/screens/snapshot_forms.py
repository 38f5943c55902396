"""Modals of the snapshots view: a new snapshot (name checked as it is typed), and the
rollback question with its "start the guest afterwards" option."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Static

from argus_tui.domain.models import Guest
from argus_tui.domain.snapshots import NAME_MAX, name_problem
from argus_tui.domain.text import printable

_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 76; max-width: 95%; height: auto; max-height: 90%;
    border: {border}; background: $panel; padding: 1 2;
}}
{name} .hint {{ color: $text-muted; margin-top: 1; }}
{name} .problem {{ color: $error; height: auto; }}
{name} Input, {name} Checkbox {{ margin-top: 1; }}
"""


@dataclass(frozen=True, slots=True)
class NewSnapshot:
    name: str
    description: str
    vmstate: bool


def snapshot_name_problem(name: str, guest: Guest, taken: Collection[str]) -> str | None:
    """Why Proxmox would refuse the name: its rules, or one the guest already has (the
    task would fail with "snapshot name 'x' already used")."""
    if not name:
        return "a name is needed: a letter, then letters, digits, '-' or '_'"
    problem = name_problem(name, guest.type)
    if problem is None and name in taken:
        problem = f"snapshot name '{name}' already used"
    return problem


class NewSnapshotForm(ModalScreen[NewSnapshot | None]):
    """Name (checked live), description, and RAM for a running VM; Enter takes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="new-snapshot.cancel"),
    ]
    DEFAULT_CSS = _CSS.format(name="NewSnapshotForm", border="round $accent")

    def __init__(self, guest: Guest, taken: Collection[str], *, ram: bool, why: str = "") -> None:
        super().__init__()
        self.why = why  # who suggested it (the assistant), said under the title
        self.guest = guest
        self.taken = frozenset(taken)
        self.ram = ram  # offer "include RAM" (a running qemu guest)

    def compose(self) -> ComposeResult:
        title = Text("New snapshot of ", style="bold")
        title.append(printable(self.guest.label), style="bold cyan")
        title.append(f" ({self.guest.vmid}) on {printable(self.guest.node)}")
        if self.why:
            title.append(f"\n{printable(self.why)}", style="dim")
        with Vertical():
            yield Static(title, id="snap-form-title")
            yield Input(placeholder="name, e.g. pre-upgrade", max_length=NAME_MAX, id="snap-name")
            yield Static("", id="snap-name-problem", classes="problem")
            yield Input(placeholder="description (optional)", id="snap-description")
            if self.ram:
                yield Checkbox("Include RAM (the running state is saved too)", id="snap-ram")
            yield Static("Enter: take the snapshot   Tab: next field   Esc: cancel", classes="hint")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#snap-name", Input))

    def problem(self) -> str | None:
        return snapshot_name_problem(self.name_value, self.guest, self.taken)

    @property
    def name_value(self) -> str:
        return self.query_one("#snap-name", Input).value.strip()

    @on(Input.Changed, "#snap-name")
    def _name_changed(self) -> None:
        problem = self.problem() if self.name_value else None
        self.query_one("#snap-name-problem", Static).update(Text(problem or ""))

    @on(Input.Submitted)
    def _submitted(self) -> None:
        problem = self.problem()
        if problem is not None:
            self.query_one("#snap-name-problem", Static).update(Text(problem))
            self.set_focus(self.query_one("#snap-name", Input))
            return
        boxes = self.query("#snap-ram")
        vmstate = bool(boxes) and self.query_one("#snap-ram", Checkbox).value
        description = self.query_one("#snap-description", Input).value.strip()
        self.dismiss(NewSnapshot(self.name_value, description, vmstate))

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True, slots=True)
class RollbackAnswer:
    start_after: bool


class ConfirmRollback(ModalScreen[RollbackAnswer | None]):
    """Names guest and snapshot; `s` toggles starting the guest afterwards (offered only
    where it applies: no RAM state in the snapshot, and the token may start the guest)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes", id="rollback.yes"),
        Binding("n,escape", "answer(False)", "No", id="rollback.no"),
        Binding("s", "toggle_start", "Start afterwards", id="rollback.start"),
    ]
    DEFAULT_CSS = _CSS.format(name="ConfirmRollback", border="thick $error")

    def __init__(self, guest: Guest, snapshot: str, *, ram: bool, may_start: bool) -> None:
        super().__init__()
        self.guest = guest
        self.snapshot = snapshot
        self.ram = ram  # the snapshot holds the RAM: the guest runs again by itself
        self.may_start = may_start and not ram
        self.start_after = False

    def compose(self) -> ComposeResult:
        question = Text()
        question.append("Rollback ", style="bold red")
        question.append(printable(self.guest.label), style="bold")
        question.append(f" ({self.guest.vmid}) on node {printable(self.guest.node)} to snapshot ")
        question.append(printable(self.snapshot), style="bold")
        question.append("?\n\n")
        question.append(
            "Everything since that snapshot is lost; a running guest is stopped first.",
            style="yellow",
        )
        if self.ram:
            question.append("\nThe snapshot holds the RAM: the guest runs again as it was.")
        with Vertical():
            yield Static(question, id="question")
            if self.may_start:
                yield Static(self._option(), id="start-option")
            hint = "y / Enter: roll back     n / Esc: no"
            if self.may_start:
                hint += "     s: start afterwards"
            yield Static(hint, classes="hint")

    def _option(self) -> Text:
        box = "[x]" if self.start_after else "[ ]"
        return Text(f"\n{box} Start the guest afterwards (s)")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_start":
            return self.may_start
        return True

    def action_toggle_start(self) -> None:
        if not self.may_start:
            return
        self.start_after = not self.start_after
        self.query_one("#start-option", Static).update(self._option())

    def action_answer(self, yes: bool) -> None:
        self.dismiss(RollbackAnswer(self.start_after) if yes else None)
