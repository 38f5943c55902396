"""`?`: help generated from the live key map of the screen underneath.

A key hidden by `check_action` (for example a power action the token may not use) is
not in `active_bindings`, so it is not listed here either.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def describe_keys(screen: Screen[object]) -> list[tuple[str, str]]:
    """(key, description) for every binding active on `screen`, app keys included."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not active.enabled:
            continue
        description = binding.description or binding.action
        label = screen.app.get_key_display(binding)
        if f"{label}\t{description}" in seen:
            continue
        seen.add(f"{label}\t{description}")
        rows.append((label or key, description))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 64; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $panel; padding: 0 1;
    }
    """

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.rows = describe_keys(under)

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, description in self.rows:
            table.add_row(Text(key), Text(description))
        with VerticalScroll():
            yield Static(Text("Keys on this screen", style="bold"))
            yield Static(table, id="help-keys")
            yield Static(
                Text(
                    "\n: opens the command line (:nodes :vm :ct :tasks :usage :quit);"
                    " ctrl+p the command palette. Esc closes this help.",
                    style="dim",
                )
            )

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
