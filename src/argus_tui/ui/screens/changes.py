"""Screen 5: what changed, and who did what, from the history.

Guests started, stopped, created, gone, migrated or renamed, and nodes going offline or
coming back, beside the actions taken through Argus by anyone sharing the history (WHO
names the operator), since the user last opened this screen or in a chosen window (`t`).
The moment of each visit is saved in the history, so "since you last looked" survives a
restart. Reads and the save run in thread workers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from argus_tui.domain.models import ClusterSnapshot
from argus_tui.errors import ArgusError
from argus_tui.services.history import CHANGE_WINDOWS, Acted, ChangesView
from argus_tui.services.session import Session
from argus_tui.ui.messages import ChangesSeen, ScreenWords, ShowGuest
from argus_tui.ui.screens.base import ArgusScreen
from argus_tui.ui.widgets.bars import Tab
from argus_tui.ui.widgets.table import Cell, Column, VirtualTable

if TYPE_CHECKING:
    from argus_tui.store import Change

COLUMNS = (
    Column("when", "WHEN", 14, priority=10),
    Column("kind", "CHANGE", 12, priority=10),
    Column("subject", "WHAT", 0, min_width=18, priority=9, max_width=48),
    Column("detail", "DETAIL", 32, priority=6),
    Column("who", "WHO", 18, priority=7),
)
KIND_STYLE = {
    "started": "ok",
    "resumed": "ok",
    "node-online": "ok",
    "stopped": "dim",
    "created": "accent",
    "node-added": "accent",
    "migrated": "warn",
    "renamed": "warn",
    "status": "warn",
    "node-status": "warn",
    "gone": "bad",
    "node-offline": "bad",
    "node-gone": "bad",
}


def change_cells(change: Change | Acted) -> tuple[Cell, ...]:
    when = time.strftime("%m-%d %H:%M:%S", time.localtime(change.ts))
    if isinstance(change, Acted):
        kind: Cell = (change.kind, "bold")
        who = change.operator
    else:
        kind = (change.kind, KIND_STYLE.get(change.kind, ""))
        who = ""
    return ((when, "dim"), kind, (change.subject, ""), (change.detail, "dim"), (who, ""))


def newest_first(view: ChangesView) -> list[Change | Acted]:
    """The changes and the actions of a view as one list, newest first."""
    rows: list[Change | Acted] = [*view.changes, *view.actions]
    rows.sort(key=lambda row: row.ts, reverse=True)
    return rows


class Visit(Enum):
    """Where the user is with the screen; a visit is what "since you last looked" means."""

    AWAY = "away"  # not on view: coming back starts a visit
    OPENING = "opening"  # the visit's first read (when the user last looked) is on its way
    OPEN = "open"  # on view; reloads keep the visit's window


class ChangesLoaded(Message):
    def __init__(
        self,
        session: Session,
        window: str,
        view: ChangesView | None,
        error: str | None,
        *,
        visit: float | None = None,
        last_seen: float | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.window = window
        self.view = view
        self.error = error
        self.visit = visit  # the first read of the visit begun then, with the look before it
        self.last_seen = last_seen


class ChangesScreen(ArgusScreen):
    """Changes from the history, newest first; Enter on a guest's change shows the guest."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "window", "Window", id="changes.window"),
    ]

    def __init__(self, mode: str = "", tabs: Sequence[Tab] = ()) -> None:
        super().__init__(mode, tabs)
        self.window = CHANGE_WINDOWS[0]
        self.visit = Visit.AWAY
        self._visit_at = 0.0  # when the visit on view began
        self._last_seen: float | None = None  # the look before it
        self._changes: dict[int, Change | Acted] = {}

    def compose_body(self) -> ComposeResult:
        yield Static("", id="changes-title")
        yield VirtualTable(COLUMNS, empty_text="Loading changes…", id="changes")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#changes", VirtualTable))

    def session_changed(self) -> None:
        """Another profile: its own history of looks (a visit on view starts over)."""
        if self.visit is not Visit.AWAY:
            self.visit = Visit.AWAY
            self._start_visit()

    def on_screen_resume(self) -> None:
        """Coming (back) to the screen starts a visit; a repeated resume is the same one."""
        if self.visit is Visit.AWAY:
            self._start_visit()

    def on_screen_suspend(self) -> None:
        """Leaving the screen: what is on it now has been seen."""
        if self.visit is Visit.AWAY:
            return
        self.visit = Visit.AWAY
        at = time.time()
        self.post_message(ChangesSeen(at))
        if self.session is not None:
            self._mark_seen(self.session, at)

    def _start_visit(self) -> None:
        session = self.session
        if session is None or session.history is None:
            self._paint_off()
            return
        at = self._visit_at = time.time()
        self.visit = Visit.OPENING
        self.post_message(ChangesSeen(at))
        self._read_visit(session, self.window, at)

    def show_snapshot(self, snapshot: ClusterSnapshot) -> None:
        """A new refresh is in the history by now: there may be new changes."""
        if self.visit is Visit.OPEN:
            self._reload()
        elif self.session is None or self.session.history is None:
            self._paint_off()

    def _reload(self) -> None:
        if self.session is not None and self.session.history is not None:
            self._read(self.session, self.window, self._last_seen)

    @work(thread=True, group="changes-visit", exit_on_error=False)
    def _read_visit(self, session: Session, window: str, at: float) -> None:
        """Worker: when the user last looked, this visit saved as the new look, and the
        changes in the window."""
        try:
            view, last_seen = session.visit_changes(window, at)
        except ArgusError as exc:
            self.post_message(ChangesLoaded(session, window, None, str(exc), visit=at))
        else:
            message = ChangesLoaded(session, window, view, None, visit=at, last_seen=last_seen)
            self.post_message(message)

    @work(thread=True, exclusive=True, group="changes", exit_on_error=False)
    def _read(self, session: Session, window: str, last_seen: float | None) -> None:
        try:
            view = session.changes(window, last_seen)
        except ArgusError as exc:
            self.post_message(ChangesLoaded(session, window, None, str(exc)))
        else:
            self.post_message(ChangesLoaded(session, window, view, None))

    @work(thread=True, group="changes-visit", exit_on_error=False)
    def _mark_seen(self, session: Session, at: float) -> None:
        session.mark_seen(at)

    def on_changes_loaded(self, message: ChangesLoaded) -> None:
        if message.session is not self.session:
            return  # the history of the profile before a switch
        if message.visit is not None:
            if self.visit is not Visit.OPENING or message.visit != self._visit_at:
                return  # the read of a visit that has ended
            self.visit = Visit.OPEN
            self._last_seen = message.last_seen
        if message.window != self.window:
            self._reload()  # the window changed while this was read
            return
        self._paint(message.view, message.error)

    def _paint_off(self) -> None:
        self._paint(None, "history is off: nothing recorded to compare (see the log above"
                    " or `argus history stats`)")  # fmt: skip

    def _paint(self, view: ChangesView | None, error: str | None) -> None:
        title = self.query_one("#changes-title", Static)
        table = self.query_one("#changes", VirtualTable)
        if view is None:
            title.update(Text(error or "", style="yellow"))
            table.empty_text = "No history."
            table.set_rows([])
            return
        rows = newest_first(view)
        text = Text("Changes ", style="bold")
        text.append(view.label)
        text.append(f"  ·  {len(view.changes)}", style="bold")
        if view.actions:
            text.append(f" and {len(view.actions)} actions", style="bold")
        text.append("  t: window (last look, 1h, 24h, 7d, 30d) · Enter: the guest", style="dim")
        title.update(text)
        table.empty_text = "Nothing changed in this window."
        # Keys count from the oldest row, so a row keeps its key when newer ones arrive.
        total = len(rows)
        keys = [total - 1 - i for i in range(total)]
        by_key = {total - 1 - i: change for i, change in enumerate(rows)}
        self._changes = by_key
        table.set_keys(keys, lambda key: change_cells(by_key[key]) if isinstance(key, int) else ())

    def action_window(self) -> None:
        index = CHANGE_WINDOWS.index(self.window)
        self.window = CHANGE_WINDOWS[(index + 1) % len(CHANGE_WINDOWS)]
        self.say(f"changes: {self.window if self.window != 'last' else 'since last look'}")
        if self.visit is Visit.OPEN:
            self._reload()

    def on_screen_words(self, message: ScreenWords) -> None:
        """`:changes 24h` and the like."""
        window = message.rest.strip()
        if not window:
            return
        if window not in CHANGE_WINDOWS:
            self.notify(f"Windows: {', '.join(CHANGE_WINDOWS)}", severity="warning", markup=False)
            return
        self.window = window
        if self.visit is Visit.OPEN:
            self._reload()

    @on(VirtualTable.Selected, "#changes")
    def _selected(self) -> None:
        self.action_show_guest()

    def action_show_guest(self) -> None:
        key = self.query_one("#changes", VirtualTable).cursor_key
        change = self._changes.get(key) if isinstance(key, int) else None
        if change is None or change.vmid is None:
            return
        self.post_message(ShowGuest(change.vmid))
