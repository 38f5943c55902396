"""Screen 5: what changed, from the local history.

Guests started, stopped, created, gone, migrated or renamed, and nodes going offline or
coming back, since the user last opened this screen or in a chosen window (`t`). The
moment of each visit is saved in the history, so "since you last looked" survives a
restart. Reads and the save run in thread workers.
"""

from __future__ import annotations

import contextlib
import time
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from argus_tui.domain.models import ClusterSnapshot
from argus_tui.errors import ArgusError
from argus_tui.services.history import CHANGE_WINDOWS, ChangesView, load_changes
from argus_tui.store.db import Change
from argus_tui.ui.screens.base import ArgusScreen
from argus_tui.ui.widgets.table import Cell, Column, VirtualTable

COLUMNS = (
    Column("when", "WHEN", 14, priority=10),
    Column("kind", "CHANGE", 12, priority=10),
    Column("subject", "WHAT", 0, min_width=18, priority=9, max_width=48),
    Column("detail", "DETAIL", 32, priority=6),
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


def change_cells(change: Change) -> tuple[Cell, ...]:
    when = time.strftime("%m-%d %H:%M:%S", time.localtime(change.ts))
    style = KIND_STYLE.get(change.kind, "")
    return ((when, "dim"), (change.kind, style), (change.subject, ""), (change.detail, "dim"))


class ChangesLoaded(Message):
    def __init__(self, view: ChangesView | None, error: str | None, visit: bool = False) -> None:
        super().__init__()
        self.view = view
        self.error = error
        self.visit = visit


class ChangesScreen(ArgusScreen):
    """Changes from the history, newest first; Enter on a guest's change shows the guest."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "window", "Window", id="changes.window"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.window = CHANGE_WINDOWS[0]
        self.view: ChangesView | None = None
        self._last_seen: float | None = None  # the previous visit, read once per visit
        self._visit_started = False
        self._visiting = False
        self._away = True  # not on screen: the next resume starts a visit
        self._changes: dict[int, Change] = {}

    def compose_body(self) -> ComposeResult:
        yield Static("", id="changes-title")
        yield VirtualTable(COLUMNS, empty_text="Loading changes…", id="changes")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#changes", VirtualTable))

    def on_screen_resume(self) -> None:
        """Coming (back) to the screen starts a visit; ArgusScreen's handler, which runs
        after this one, shows the latest snapshot. A repeated resume is the same visit."""
        if self._away:
            self._away = False
            self._visit_started = False
        self.argus.changes_looked_at()
        if self.argus.snapshot is None:
            self._reload()

    def on_screen_suspend(self) -> None:
        """Leaving the screen: what is on it now has been seen."""
        self._away = True
        self.argus.changes_looked_at()
        if self.argus.session.history is not None and self._visit_started:
            self._mark_seen()

    def show_snapshot(self, snapshot: ClusterSnapshot) -> None:
        """A new refresh: its changes are read once the history has recorded it
        (`history_recorded`); only a visit that has not started loads now."""
        if self.argus.session.history is None or not self._visit_started:
            self._reload()

    def history_recorded(self) -> None:
        """The app wrote a refresh to the history: there may be new changes."""
        self._reload()

    def _reload(self) -> None:
        history = self.argus.session.history
        if history is None:
            self._paint(None, "history is off: nothing recorded to compare (see the log above"
                        " or `argus history stats`)")  # fmt: skip
            return
        if self._visiting:
            return  # the visit's own load is on its way
        if not self._visit_started:
            self._visit_started = self._visiting = True
            self._visit(self.window)
        else:
            self._load(self.window)

    @work(thread=True, group="changes-visit", exit_on_error=False)
    def _visit(self, window: str) -> None:
        self._read(window, visit=True)

    @work(thread=True, exclusive=True, group="changes", exit_on_error=False)
    def _load(self, window: str) -> None:
        self._read(window)

    def _read(self, window: str, visit: bool = False) -> None:
        """Worker thread: on a visit, read when the user last looked and save this visit;
        then the changes in the window."""
        session = self.argus.session
        history = session.history
        if history is None:
            return
        profile = session.history_profile
        try:
            if visit:
                self._last_seen = history.last_seen(profile)
                history.mark_seen(profile)
            view = load_changes(history, profile, window, last_seen=self._last_seen)
        except ArgusError as exc:
            self.post_message(ChangesLoaded(None, str(exc), visit=visit))
        else:
            self.post_message(ChangesLoaded(view, None, visit=visit))

    @work(thread=True, group="changes-visit", exit_on_error=False)
    def _mark_seen(self) -> None:
        session = self.argus.session
        # A read-only or locked history: the next visit just shows a longer window.
        if session.history is not None:
            with contextlib.suppress(ArgusError):
                session.history.mark_seen(session.history_profile)

    def on_changes_loaded(self, message: ChangesLoaded) -> None:
        if message.visit:
            self._visiting = False
        self._paint(message.view, message.error)

    def _paint(self, view: ChangesView | None, error: str | None) -> None:
        title = self.query_one("#changes-title", Static)
        table = self.query_one("#changes", VirtualTable)
        if view is None:
            title.update(Text(error or "", style="yellow"))
            table.empty_text = "No history."
            table.set_rows([])
            return
        self.view = view
        text = Text("Changes ", style="bold")
        text.append(view.label)
        text.append(f"  ·  {len(view.changes)}", style="bold")
        text.append("  t: window (last look, 1h, 24h, 7d, 30d) · Enter: the guest", style="dim")
        title.update(text)
        table.empty_text = "Nothing changed in this window."
        # Keys count from the oldest change, so a row keeps its key when newer ones arrive.
        total = len(view.changes)
        keys = [total - 1 - i for i in range(total)]
        by_key = {total - 1 - i: change for i, change in enumerate(view.changes)}
        self._changes = by_key
        table.set_keys(keys, lambda key: change_cells(by_key[key]) if isinstance(key, int) else ())

    def action_window(self) -> None:
        index = CHANGE_WINDOWS.index(self.window)
        self.window = CHANGE_WINDOWS[(index + 1) % len(CHANGE_WINDOWS)]
        self.argus.say(f"changes: {self.window if self.window != 'last' else 'since last look'}")
        self._reload()

    def show_window(self, window: str) -> None:
        """`:changes 24h` and the like."""
        self.window = window
        self._reload()

    @on(VirtualTable.Selected, "#changes")
    def _selected(self) -> None:
        self.action_show_guest()

    def action_show_guest(self) -> None:
        key = self.query_one("#changes", VirtualTable).cursor_key
        change = self._changes.get(key) if isinstance(key, int) else None
        if change is None or change.vmid is None:
            return
        self.argus.show_guest(change.vmid)
