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

GROUPS = ("screen", "moving", "global", "terminal")
LABELS = {"moving": "Moving around", "global": "Everywhere", "terminal": "Terminal"}


def describe_groups(screen: Screen[object]) -> dict[str, list[tuple[str, str]]]:
    """(key, description) by group for every binding active on `screen`, app keys included:
    the screen's own keys, then the focused widget's, then Argus's global keys, and
    Textual's generic ones (palette, quit, copy) last."""
    groups: dict[str, list[tuple[str, str]]] = {}
    seen: set[str] = set()
    app = screen.app
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not active.enabled:
            continue
        description = binding.description or binding.action
        label = app.get_key_display(binding)
        if f"{label}\t{description}" in seen:
            continue
        seen.add(f"{label}\t{description}")
        # Argus's screen and app keys all carry an id (they can be remapped); Textual's
        # generic ones (focus, copy, palette, its own quit) do not.
        if active.node is screen or active.node is app:
            if binding.id is None:
                group = GROUPS[3]
            else:
                group = GROUPS[0] if active.node is screen else GROUPS[2]
        else:
            group = GROUPS[1]
        groups.setdefault(group, []).append((label or key, description))
    return groups


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
        self.groups = describe_groups(under)
        self.screen_name = type(under).__name__.removesuffix("Screen") or "This screen"
        self.rows = [row for group in GROUPS for row in self.groups.get(group, [])]

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for group in GROUPS:
            rows = self.groups.get(group)
            if not rows:
                continue
            if table.row_count:
                table.add_row("", "")
            label = LABELS.get(group) or self.screen_name
            table.add_row(Text(label, style="bold"), "")
            for key, description in rows:
                table.add_row(Text(key), Text(description))
        with VerticalScroll():
            yield Static(Text("Keys on this screen", style="bold"))
            yield Static(table, id="help-keys")
            yield Static(
                Text(
                    "\n: opens the command line (:nodes :vm :ct :tasks :usage :changes 24h :storage"
                    " :quit);"
                    " ctrl+p the command palette. Esc closes this help.",
                    style="dim",
                )
            )

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
