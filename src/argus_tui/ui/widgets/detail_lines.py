"""Key/value lines for a side panel: long values wrap under their value column, and an
update repaints only the lines whose text changed.

A steady refresh changes a figure or two of the guest on show; redrawing the whole
panel for that costs kilobytes per refresh over SSH, so the panel compares the lines it
would draw with those on show and repaints only the ones that differ (a change in the
number of lines lays the panel out again).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.cells import cell_len, chop_cells, set_cell_size
from rich.text import Text
from textual.app import RenderResult
from textual.geometry import Region, Size
from textual.widget import Widget

from argus_tui.domain.text import printable

MAX_VALUE_LINES = 8  # a longer value ends its last line with "…"
MIN_VALUE_WIDTH = 8  # narrower than this, a value starts on the line under its key
# A value breaks after spaces and the separators of PVE's option strings; a piece still
# wider than a line breaks after `=`, then after `:` or `/`, and is cut at the line's end
# only when nothing else is left.
_BREAKS = (" ,;", "=", ":/")


@dataclass(frozen=True, slots=True)
class Row:
    """One entry: `value` (server text, made printable here) after `key` in a column of
    `key_width` cells; without a key, `indent` cells start every line of the value."""

    value: str
    key: str = ""
    key_width: int = 0
    style: str = ""
    key_style: str = "dim"
    indent: int = 0


def wrap(value: str, width: int) -> list[str]:
    """`value` in lines of at most `width` cells. Newlines start new lines; control
    characters come out as visible escapes."""
    width = max(1, width)
    lines: list[str] = []
    for paragraph in value.replace("\r\n", "\n").split("\n"):
        filler = _Filler(width)
        filler.add(printable(paragraph), 0)
        lines += filler.done()
    return lines


class _Filler:
    """Greedy line filling: each piece goes on the current line if it fits."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.lines: list[str] = []
        self.line = ""

    def add(self, text: str, level: int) -> None:
        if cell_len((self.line + text).rstrip(" ")) <= self.width:
            self.line += text
            return
        alone = cell_len(text.rstrip(" ")) <= self.width
        if not alone and level < len(_BREAKS):
            separators = re.escape(_BREAKS[level])
            for piece in re.findall(rf"[^{separators}]*[{separators}]+|[^{separators}]+", text):
                self.add(piece, level + 1)
            return
        if self.line.strip(" "):
            self.lines.append(self.line.rstrip(" "))
        chunks = [text] if alone else chop_cells(text, self.width)
        self.lines += [chunk.rstrip(" ") for chunk in chunks[:-1]]
        self.line = chunks[-1]

    def done(self) -> list[str]:
        return [*self.lines, self.line.rstrip(" ")]


def _capped(lines: list[str], width: int) -> list[str]:
    if len(lines) <= MAX_VALUE_LINES:
        return lines
    last = lines[MAX_VALUE_LINES - 1]
    if cell_len(last) >= width:
        last = set_cell_size(last, max(0, width - 1))
    return [*lines[: MAX_VALUE_LINES - 1], last + "…"]


def row_lines(row: Row, width: int) -> list[Text]:
    """The row as it is drawn `width` cells wide."""
    key = printable(row.key)
    indent = row.key_width + 1 if row.key_width else row.indent
    head: list[Text] = []
    if key and (cell_len(key) > row.key_width or width - indent < MIN_VALUE_WIDTH):
        head = [_line(("", ""), (line, row.key_style)) for line in wrap(key, width)]  # alone
        key = ""
    if width - indent < MIN_VALUE_WIDTH:
        indent = 0
    lines = []
    for number, chunk in enumerate(_capped(wrap(row.value, width - indent), width - indent)):
        if number == 0 and key:
            lines.append(_line((f"{key:>{indent - 1}} ", row.key_style), (chunk, row.style)))
        else:
            lines.append(_line((" " * indent if chunk else "", ""), (chunk, row.style)))
    return head + lines


def _line(*runs: tuple[str, str]) -> Text:
    """Styles as spans only, so that two lines compare equal exactly when they look so."""
    line = Text()
    for text, style in runs:
        line.append(text, style=style)
    return line


class DetailLines(Widget):
    """Rows of text, wrapped to the widget's width; `show` repaints what changed."""

    DEFAULT_CSS = """
    DetailLines { width: 1fr; height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: list[Row] = []
        self._wrapped: tuple[int, list[Text]] = (-1, [])

    def lines(self, width: int) -> list[Text]:
        """The rows wrapped to `width` cells (kept for the last width asked)."""
        if self._wrapped[0] != width:
            self._wrapped = (width, [line for row in self._rows for line in row_lines(row, width)])
        return self._wrapped[1]

    def show(self, rows: list[Row]) -> None:
        if rows == self._rows:
            return
        width = self.size.width
        before = self.lines(width) if width else []
        self._rows = rows
        self._wrapped = (-1, [])
        after = self.lines(width) if width else []
        if not width or len(before) != len(after):
            self.refresh(layout=True)
            return
        pairs = enumerate(zip(before, after, strict=True))
        changed = [Region(0, y, width, 1) for y, (old, new) in pairs if old != new]
        if changed:
            self.refresh(*changed)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))

    def render(self) -> RenderResult:
        return Text("\n").join(self.lines(self.size.width))
