"""`b` on the guests screen: back up the selected or marked guests now.

The storage list holds only storages every guest's node can use that take backups and on
which the token holds Datastore.AllocateSpace (`common_targets`), each with its free space;
then the mode, the notes (PVE's template variables work) and protection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from argus_tui.domain.format import bytes_
from argus_tui.domain.models import Guest
from argus_tui.domain.storage import Storage
from argus_tui.domain.text import printable
from argus_tui.services.backups import MODES

DEFAULT_NOTES = "{{guestname}}"
#: A guest of the selection and why it is not backed up (None: it is).
Candidate = tuple[Guest, str | None]


@dataclass(frozen=True, slots=True)
class BackupChoice:
    storage: str
    mode: str
    notes: str
    protected: bool


def storage_label(storage: Storage) -> Text:
    """`backup-nfs  nfs  1.4T free of 2.0T` (the free space as the node sees it)."""
    text = Text(printable(storage.storage), style="bold")
    text.append(f"  {printable(storage.type or '?')}", style="dim")
    if storage.total:
        free = max(0, storage.total - (storage.used or 0))
        text.append(f"  {bytes_(free)} free of {bytes_(storage.total)}")
    else:
        text.append("  free space unknown", style="dim")
    if not storage.active:
        text.append(f"  ({printable(storage.status or 'unknown')})", style="yellow")
    return text


class BackupForm(ModalScreen[BackupChoice | None]):
    """Storage, mode, notes, protected; Enter backs up now, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="backup-form.cancel"),
        Binding("ctrl+s", "submit", "Back up now", id="backup-form.submit"),
    ]
    DEFAULT_CSS = """
    BackupForm { align: center middle; }
    BackupForm > Vertical {
        width: 80; max-width: 95%; height: auto; max-height: 95%;
        border: round $accent; background: $panel; padding: 1 2;
    }
    BackupForm .label { margin-top: 1; text-style: bold; }
    BackupForm .hint { color: $text-muted; margin-top: 1; }
    BackupForm OptionList { height: auto; max-height: 8; }
    BackupForm RadioSet { layout: horizontal; height: auto; }
    """

    def __init__(self, candidates: Sequence[Candidate], storages: Sequence[Storage]) -> None:
        super().__init__()
        self.candidates = list(candidates)
        self.storages = list(storages)

    @property
    def guests(self) -> list[Guest]:
        return [guest for guest, reason in self.candidates if reason is None]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._title(), id="backup-title")
            yield Static("Storage", classes="label")
            yield OptionList(
                *(Option(storage_label(s), id=s.storage) for s in self.storages),
                id="backup-storage",
            )
            yield Static("Mode", classes="label")
            with RadioSet(id="backup-mode"):
                for mode in MODES:
                    yield RadioButton(mode, value=mode == "snapshot", name=mode)
            yield Static("Notes", classes="label")
            yield Input(DEFAULT_NOTES, id="backup-notes")
            yield Checkbox("Protected (Proxmox will not prune or delete it)", id="backup-protected")
            yield Static("Enter: back up now   Tab: next field   Esc: cancel", classes="hint")

    def _title(self) -> Text:
        text = Text("Back up now: ", style="bold")
        runs = self.guests
        text.append(", ".join(f"{printable(g.label)} ({g.vmid})" for g in runs), style="cyan")
        for guest, reason in self.candidates:
            if reason is not None:
                text.append(f"\nskipped {guest.vmid} {printable(guest.label)}: ", style="dim")
                text.append(printable(reason), style="yellow")
        return text

    def on_mount(self) -> None:
        options = self.query_one("#backup-storage", OptionList)
        options.highlighted = 0 if self.storages else None
        self.set_focus(options)

    @on(OptionList.OptionSelected, "#backup-storage")
    def _picked(self) -> None:
        self.action_submit()

    @on(Input.Submitted, "#backup-notes")
    def _notes_done(self) -> None:
        self.action_submit()

    def choice(self) -> BackupChoice | None:
        options = self.query_one("#backup-storage", OptionList)
        if options.highlighted is None or not self.storages:
            return None
        storage = self.storages[options.highlighted].storage
        pressed = self.query_one("#backup-mode", RadioSet).pressed_button
        mode = pressed.name if pressed is not None and pressed.name else "snapshot"
        notes = self.query_one("#backup-notes", Input).value
        protected = self.query_one("#backup-protected", Checkbox).value
        return BackupChoice(storage, mode, notes, protected)

    def action_submit(self) -> None:
        choice = self.choice()
        if choice is not None:
            self.dismiss(choice)

    def action_cancel(self) -> None:
        self.dismiss(None)
