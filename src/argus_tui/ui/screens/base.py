"""What every main screen shares: header, status line, footer, and snapshot delivery."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from argus_tui.domain.models import ClusterSnapshot
from argus_tui.ui.widgets.bars import ClusterHeader, StatusLine

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
        yield from self.compose_body()
        yield StatusLine()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        self.argus.paint_bars(self)
        if self.argus.snapshot is not None:
            self.show_snapshot(self.argus.snapshot)

    def show_snapshot(self, snapshot: ClusterSnapshot) -> None:
        """Render a new snapshot; called on the event loop after every good refresh."""
