"""`:`: a one-line command prompt (k9s style) with aliases such as :vm and :tasks."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Input


class CommandLine(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    CommandLine { align: left bottom; background: transparent; }
    CommandLine > Input { dock: bottom; width: 100%; border: tall $accent; }
    """

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder=":nodes  :vm  :ct  :tasks  :usage  :changes 24h  :profile NAME  :quit",
            id="cmd",
        )

    def on_mount(self) -> None:
        self.set_focus(self.query_one(Input))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
