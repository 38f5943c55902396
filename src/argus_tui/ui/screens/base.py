"""What every main screen shares: header, status line, footer, the `/` filter, and the
app's state (session, snapshot) as it changes.

A screen watches the app's reactives and renders the newest snapshot while it is the
screen on view, or as soon as it comes back into view; it asks the app for anything
else with a message (ui/messages.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Input

from argus_tui.domain.models import ClusterSnapshot, Guest, Node, Task
from argus_tui.services.session import Session
from argus_tui.services.views import matcher
from argus_tui.ui.messages import ChatChanged, Say, ToggleAssistant
from argus_tui.ui.widgets.assistant import AssistantPane
from argus_tui.ui.widgets.bars import ClusterHeader, StatusLine, Tab
from argus_tui.ui.widgets.filter import TableFilter
from argus_tui.ui.widgets.footer import KeysFooter, forget_closed_watchers
from argus_tui.ui.widgets.table import VirtualTable


class ArgusScreen(Screen[None]):
    """A main screen; subclasses compose their body and render snapshots."""

    def __init__(self, mode: str = "", tabs: Sequence[Tab] = ()) -> None:
        super().__init__()
        self.mode = mode
        self.tabs = tuple(tabs)
        self.session: Session | None = None  # the app's, kept current by a watcher
        self.snapshot: ClusterSnapshot | None = None  # the newest the app has
        self._shown: ClusterSnapshot | None = None  # the one rendered last

    def compose(self) -> ComposeResult:
        yield ClusterHeader(self.mode, self.tabs)
        yield AssistantPane()
        yield from self.compose_body()
        yield StatusLine()
        yield KeysFooter(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.watch(self.app, "session", self._new_session)
        self.watch(self.app, "snapshot", self._new_snapshot)

    def on_unmount(self) -> None:
        forget_closed_watchers(self.app)  # a closed sub-screen is freed with its rows

    def _new_session(self, session: Session) -> None:
        if session is not self.session:
            self.session = session
            self._shown = None
            self.session_changed()

    def _new_snapshot(self, snapshot: ClusterSnapshot | None) -> None:
        self.snapshot = snapshot
        if self.is_active:  # a screen out of view catches up when it comes back
            self._show_newest()

    def _show_newest(self) -> None:
        snapshot = self.snapshot
        if snapshot is not None and snapshot is not self._shown:
            self._shown = snapshot
            self.show_snapshot(snapshot)

    def on_screen_resume(self) -> None:
        for bar in (*self.query(ClusterHeader), *self.query(StatusLine)):
            bar.repaint()  # the data's age has moved on meanwhile
        self._show_newest()
        self._sync_pane()

    def session_changed(self) -> None:
        """Another profile is connected: forget what belongs to the previous cluster."""

    def show_snapshot(self, snapshot: ClusterSnapshot) -> None:
        """Render a new snapshot; called on the event loop while the screen is on view."""

    def say(self, text: str) -> None:
        self.post_message(Say(text))

    # -- the `/` filter of screens that compose a TableFilter -------------------------------

    @property
    def filter_text(self) -> str:
        boxes = self.query(TableFilter)
        return boxes.first().value if boxes else ""

    def render_filtered(self) -> None:
        """Show the rows that match `filter_text` (screens with a TableFilter override)."""

    def clear_narrowing(self) -> bool:
        """Esc with no filter to clear: undo another narrowing of the rows, if any."""
        return False

    def action_table_filter(self) -> None:
        boxes = self.query(TableFilter)
        if not boxes or isinstance(self.focused, Input):
            raise SkipAction  # a `/` typed in a text box (the filter's /regex/, a question)
        box = boxes.first()
        box.display = True
        self.set_focus(box)

    def action_clear_table_filter(self) -> None:
        boxes = self.query(TableFilter)
        if not boxes:
            raise SkipAction
        box = boxes.first()
        if not (box.value or box.display):
            if not self.clear_narrowing():
                raise SkipAction
            return
        had_text = bool(box.value)
        box.value = ""  # posts Input.Changed, which renders the rows again
        box.display = False
        self.focus_main()
        if not had_text:
            self.render_filtered()

    @on(Input.Changed, "TableFilter")
    def _table_filter_changed(self, event: Input.Changed) -> None:
        self.say(matcher(event.value).error or "")
        self.render_filtered()

    @on(Input.Submitted, "TableFilter")
    def _table_filter_done(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.display = False
        self.focus_main()

    # -- the assistant pane -----------------------------------------------------------------

    def on_virtual_table_highlighted(self) -> None:
        """The pane follows the selection: its subject and suggested questions."""
        self._sync_pane()

    def _sync_pane(self) -> None:
        pane = self.query_one(AssistantPane)
        if pane.display:
            pane.sync(self.assistant_target())

    def on_chat_changed(self, _message: ChatChanged) -> None:
        self._sync_pane()
        self.refresh_bindings()  # ctrl+g appears once an answer suggests an action

    def on_toggle_assistant(self, _message: ToggleAssistant) -> None:
        self.toggle_assistant()

    def assistant_target(self) -> Guest | Node | Task | None:
        """What the assistant is asked about on this screen (None: the cluster)."""
        return None

    def toggle_assistant(self) -> None:
        pane = self.query_one(AssistantPane)
        if pane.display:
            pane.display = False
            self.focus_main()
        else:
            self.make_room_for_pane()
            pane.open(self.assistant_target())

    def make_room_for_pane(self) -> None:
        """Before the assistant pane opens: give up side panels a narrow terminal lacks."""

    def focus_main(self) -> None:
        """Give the keyboard back to the screen's main widget (its table)."""
        tables = self.query(VirtualTable)
        if tables:
            self.set_focus(tables.first())
