"""The `/` filter box of a table screen (the guests screen has its own, with more to it)."""

from __future__ import annotations

from textual.widgets import Input


class TableFilter(Input):
    """Hidden until `/`; typing filters the table live; Enter keeps it; Esc clears it."""

    DEFAULT_CSS = """
    TableFilter { display: none; }
    """

    def __init__(self) -> None:
        super().__init__(placeholder="filter: text, or /regex/ (Esc clears)")
