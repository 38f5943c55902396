"""The `/` filter box of a table screen; the screen's base class drives it."""

from __future__ import annotations

from textual.widgets import Input


class TableFilter(Input):
    """Hidden until `/`; typing filters the table live; Enter keeps it; Esc clears it."""

    DEFAULT_CSS = """
    TableFilter { display: none; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="filter: text, or /regex/ (Esc clears)", id=id)
