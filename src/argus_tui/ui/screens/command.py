"""`:`: a one-line command prompt (k9s style) with aliases such as :vm and :tasks.

The prompt turns what was typed into a request message for the app (the screens' words
come from the registry); a word it does not know is said, and nothing happens.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input

from argus_tui.ui.messages import OpenProfile, OpenScreen, QuitRequested, RefreshRequested
from argus_tui.ui.registry import ALIASES


def parse_command(text: str) -> Message | str:
    """The request a command line asks for, or what to tell the user instead."""
    word, _, rest = text.strip().lstrip(":").partition(" ")
    if word in ALIASES:
        return OpenScreen(ALIASES[word], word, rest.strip())
    if word in ("q", "quit"):
        return QuitRequested()
    if word == "profile":
        name = rest.strip()
        return OpenProfile(name) if name else "Usage: :profile NAME (see 'argus profiles')"
    if word in ("refresh", "r"):
        return RefreshRequested()
    return (
        f"Unknown command {word!r}; try :nodes, :guests, :vm, :ct, :tasks, :usage, :changes,"
        " :storage, :profile NAME, :quit"
    )


class CommandLine(ModalScreen[Message | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    CommandLine { align: left bottom; background: transparent; }
    CommandLine > Input { dock: bottom; width: 100%; border: tall $accent; }
    """

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder=(
                ":nodes  :vm  :ct  :tasks  :usage  :changes 24h  :storage  :profile NAME  :quit"
            ),
            id="cmd",
        )

    def on_mount(self) -> None:
        self.set_focus(self.query_one(Input))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.dismiss(None)
            return
        request = parse_command(event.value)
        if isinstance(request, str):
            self.notify(request, severity="warning", markup=False)
            self.dismiss(None)
        else:
            self.dismiss(request)

    def action_cancel(self) -> None:
        self.dismiss(None)
