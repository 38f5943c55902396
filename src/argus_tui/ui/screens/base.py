"""What every main screen shares: header, status line, footer, and snapshot delivery."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Input

from argus_tui.domain.models import ClusterSnapshot, Guest, Node, Task
from argus_tui.services.views import matcher
from argus_tui.ui.widgets.assistant import AssistantPane
from argus_tui.ui.widgets.bars import ClusterHeader, StatusLine
from argus_tui.ui.widgets.filter import TableFilter

if TYPE_CHECKING:
    from argus_tui.ui.app import ArgusApp


class ArgusScreen(Screen[None]):
    """A main screen; subclasses compose their body and render snapshots."""

    TITLE_TEXT = ""

    @property
    def argus(self) -> ArgusApp:
        from argus_tui.ui.app import ArgusApp

        assert isinstance(self.app, ArgusApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield ClusterHeader()
        yield AssistantPane()
        yield from self.compose_body()
        yield StatusLine()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        self.argus.paint_bars(self)
        if self.argus.snapshot is not None:
            self.show_snapshot(self.argus.snapshot)
        pane = self.query_one(AssistantPane)
        if pane.display:
            pane.sync(self.assistant_target())

    # -- the `/` filter of screens that compose a TableFilter -------------------------------

    @property
    def filter_text(self) -> str:
        boxes = self.query(TableFilter)
        return boxes.first().value if boxes else ""

    def render_filtered(self) -> None:
        """Show the rows that match `filter_text` (screens with a TableFilter override)."""

    def action_table_filter(self) -> None:
        boxes = self.query(TableFilter)
        if not boxes or isinstance(self.focused, Input):
            raise SkipAction  # a `/` typed in a text box stays text
        box = boxes.first()
        box.display = True
        self.set_focus(box)

    def action_clear_table_filter(self) -> None:
        boxes = self.query(TableFilter)
        if not boxes:
            raise SkipAction
        box = boxes.first()
        if not (box.value or box.display):
            raise SkipAction
        had_text = bool(box.value)
        box.value = ""  # posts Input.Changed, which renders the rows again
        box.display = False
        self.focus_main()
        if not had_text:
            self.render_filtered()

    @on(Input.Changed, "TableFilter")
    def _table_filter_changed(self, event: Input.Changed) -> None:
        self.argus.say(matcher(event.value).error or "")
        self.render_filtered()

    @on(Input.Submitted, "TableFilter")
    def _table_filter_done(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.display = False
        self.focus_main()

    def on_virtual_table_highlighted(self) -> None:
        """The pane follows the selection: its subject and suggested questions."""
        pane = self.query_one(AssistantPane)
        if pane.display:
            pane.sync(self.assistant_target())

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
        from argus_tui.ui.widgets.table import VirtualTable

        tables = self.query(VirtualTable)
        if tables:
            self.set_focus(tables.first())

    def show_snapshot(self, snapshot: ClusterSnapshot) -> None:
        """Render a new snapshot; called on the event loop after every good refresh."""
