"""A virtualised table: work scales with the rows on screen, not the rows held.

Textual's DataTable re-lays out every row it holds on each change, which is too slow
at 10,000 guests. This table keeps an ordered list of row keys and a function that
builds a row's cells; cells are built only for rows that are drawn, rendered through the
Line API, and on each update only the visible rows whose cells changed are repainted.
Cursor, marks and scroll position follow row keys, so a refresh, a new sort or a filter
never loses the user's place.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from argus_tui.domain.text import printable

Cell = tuple[str | Text, str]  # (text, style name from STYLES or ""); Text: styled runs
RowKey = Hashable


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int  # 0 = take the remaining space (at least `min_width`)
    align: Literal["left", "right"] = "left"
    min_width: int = 8
    priority: int = 5  # when the table is too narrow, lower priorities are hidden first
    max_width: int = 0  # a flexible column grows no wider than this (0: no limit)


_PLAIN = Style()

# Semantic cell styles; the widget maps them to theme-aware Rich styles.
STYLES: dict[str, Style] = {
    "": _PLAIN,
    "ok": Style(color="green"),
    "warn": Style(color="yellow"),
    "bad": Style(color="red", bold=True),
    "dim": Style(dim=True),
    "muted": Style(italic=True, dim=True),
    "accent": Style(color="cyan"),
}


class VirtualTable(ScrollView, can_focus=True):
    """Rows are (key, cells); `set_keys` reconciles by key (`set_rows` is its shorthand
    for small tables whose cells are ready-made)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "edge(0)", "First", show=False),
        Binding("end,G", "edge(1)", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "vtable--header",
        "vtable--cursor",
        "vtable--marked",
    }
    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        scrollbar-size-vertical: 1;
        scrollbar-size-horizontal: 0;
    }
    VirtualTable > .vtable--header { text-style: bold; background: $panel; }
    VirtualTable > .vtable--cursor { background: $accent 40%; }
    VirtualTable:focus > .vtable--cursor { background: $accent 70%; }
    VirtualTable > .vtable--marked { color: $warning; text-style: bold; }
    """

    cursor_row: reactive[int] = reactive(0, always_update=True, repaint=False)

    class Highlighted(Message):
        """The cursor moved to another row."""

        def __init__(self, table: VirtualTable, key: RowKey | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    class Selected(Message):
        """Enter on a row."""

        def __init__(self, table: VirtualTable, key: RowKey) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        empty_text: str = "Nothing to show.",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = list(columns)
        self.empty_text = empty_text
        self._keys: list[RowKey] = []
        self._index: dict[RowKey, int] = {}
        self._cells: dict[RowKey, tuple[Cell, ...]] = {}  # built lazily, per update
        self._cell_fn: Callable[[RowKey], Sequence[Cell]] = lambda _key: ()
        self._shown: dict[RowKey, tuple[Cell, ...]] = {}  # cells as last drawn
        self.marked: set[RowKey] = set()
        self.sort_key: str | None = None
        self.sort_reverse = False
        self._last_key: RowKey | None = None
        self.repaints = 0  # rows repainted by the last update, for tests and benchmarks
        self._column_layout: tuple[int, list[tuple[int, Column, int]]] | None = None
        self._frame: tuple[Style, list[tuple[int, Column, int]]] | None = None  # render_lines

    # -- model ----------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def keys(self) -> list[RowKey]:
        return list(self._keys)

    @property
    def cursor_key(self) -> RowKey | None:
        if 0 <= self.cursor_row < len(self._keys):
            return self._keys[self.cursor_row]
        return None

    def cells(self, key: RowKey) -> tuple[Cell, ...] | None:
        if key not in self._index:
            return None
        cells = self._cells.get(key)
        if cells is None:
            cells = self._cells[key] = tuple(self._cell_fn(key))
        return cells

    def set_rows(self, rows: Iterable[tuple[RowKey, Sequence[Cell]]]) -> None:
        """Replace the model with ready-made rows (small tables)."""
        cells = {key: tuple(row) for key, row in rows}
        self.set_keys(list(cells), cells.__getitem__)

    def set_keys(self, keys: Sequence[RowKey], cells: Callable[[RowKey], Sequence[Cell]]) -> None:
        """Replace the model, keeping cursor and marks by key; repaint what changed.

        `cells(key)` is called only for rows that are drawn or compared, so the cost of
        an update follows the screen height, not the number of rows.
        """
        keep = self.cursor_key
        old_keys = self._keys
        self._keys = list(keys)
        self._index = {key: i for i, key in enumerate(self._keys)}
        self._cell_fn = cells
        self._cells = {}
        if self.marked:
            self.marked = {key for key in self.marked if key in self._index}
        self.virtual_size = Size(self._total_width(), len(self._keys) + 1)
        if keep is not None and keep in self._index:
            self.cursor_row = self._index[keep]
        else:
            self.cursor_row = min(self.cursor_row, max(0, len(self._keys) - 1))
        self._repaint_changed(old_keys)
        self._announce()

    def _drawn_cells(self, key: RowKey) -> tuple[Cell, ...]:
        cells = self.cells(key) or ()
        self._shown[key] = cells
        return cells

    def _repaint_changed(self, old_keys: list[RowKey]) -> None:
        shown, self._shown = self._shown, {}
        if len(old_keys) != len(self._keys) or not self.is_mounted:
            self.repaints = len(self._keys)
            self.refresh()
            return
        top = int(self.scroll_offset.y)
        height = max(0, self.scrollable_content_region.height - 1)
        changed = 0
        for offset in range(height):
            index = top + offset
            if index >= len(self._keys):
                break
            key = self._keys[index]
            before, cells = shown.get(key), self.cells(key)
            end = self._changed_end(before, cells) if old_keys[index] == key else None
            if end == 0:  # the same as drawn (or changed only in columns not shown)
                self._shown[key] = cells or ()
                continue
            changed += 1
            self._refresh_line(offset + 1, end)
        self.repaints = changed

    def _changed_end(
        self, before: tuple[Cell, ...] | None, after: tuple[Cell, ...] | None
    ) -> int | None:
        """The column after the last cell that differs (0: none; None: the whole line
        is new): the cells after it are drawn the same, and over SSH each redrawn cell
        costs bytes."""
        if before == after:
            return 0
        if before is None or after is None or len(before) != len(after):
            return None
        x, end = 2, 0  # the mark column comes first
        for index, _, width in self._layout():
            x += width + 1
            if before[index] != after[index]:
                end = x
        return end

    def _refresh_line(self, y: int, end: int | None = None) -> None:
        """Repaint line `y` of the widget (0 is the header), up to column `end`."""
        width = self.size.width if end is None else end
        if 0 <= y < self.size.height and width:
            self.refresh(Region(0, y, width, 1))

    def toggle_mark(self, key: RowKey | None = None) -> bool:
        key = self.cursor_key if key is None else key
        if key is None:
            return False
        if key in self.marked:
            self.marked.discard(key)
        else:
            self.marked.add(key)
        self._refresh_key(key)
        return key in self.marked

    def clear_marks(self) -> None:
        self.marked.clear()
        self.refresh()

    def move_to(self, key: RowKey) -> None:
        if key in self._index:
            self.cursor_row = self._index[key]

    def _refresh_key(self, key: RowKey) -> None:
        index = self._index.get(key)
        if index is not None:
            self._refresh_line(index - int(self.scroll_offset.y) + 1)

    # -- cursor -----------------------------------------------------------------------------

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self._keys) - 1)) if self._keys else 0

    def watch_cursor_row(self, old: int, new: int) -> None:
        if old != new:  # set again by every update: the row looks the same
            self._refresh_line(old - int(self.scroll_offset.y) + 1)
            self._refresh_line(new - int(self.scroll_offset.y) + 1)
        self._scroll_cursor_into_view()
        self._announce()

    def _announce(self) -> None:
        key = self.cursor_key
        if key != self._last_key:
            self._last_key = key
            self.post_message(self.Highlighted(self, key))

    def _scroll_cursor_into_view(self) -> None:
        height = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + height:
            self.scroll_to(y=self.cursor_row - height + 1, animate=False)

    def action_cursor(self, delta: int) -> None:
        self.cursor_row += delta

    def action_page(self, direction: int) -> None:
        self.cursor_row += direction * max(1, self.scrollable_content_region.height - 2)

    def action_edge(self, end: int) -> None:
        self.cursor_row = len(self._keys) - 1 if end else 0

    def action_select(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Selected(self, key))

    def on_click(self, event: events.Click) -> None:
        row = event.y + int(self.scroll_offset.y) - 1
        if event.y >= 1 and 0 <= row < len(self._keys):
            self.cursor_row = row
            if event.chain >= 2:
                self.action_select()

    def on_resize(self) -> None:
        self._column_layout = None
        self.virtual_size = Size(self._total_width(), len(self._keys) + 1)

    # -- rendering --------------------------------------------------------------------------

    def _layout(self) -> list[tuple[int, Column, int]]:
        """(cell index, column, width) of the columns that fit, in display order."""
        width = max(20, self.scrollable_content_region.width or self.size.width) - 2
        if self._column_layout is not None and self._column_layout[0] == width:
            return self._column_layout[1]
        indexed = list(enumerate(self.columns))
        chosen: set[int] = set()
        used = 0
        for index, column in sorted(indexed, key=lambda item: -item[1].priority):
            need = (column.width or column.min_width) + 1
            if used + need > width and chosen:
                break  # strictly by priority: a less important column never takes its place
            chosen.add(index)
            used += need
        flexible = [i for i in chosen if not self.columns[i].width]
        spare = width - used
        layout = []
        for index, column in indexed:
            if index not in chosen:
                continue
            size = column.width
            if not size:
                size = column.min_width + max(0, spare) // max(1, len(flexible))
                if column.max_width:
                    size = min(size, max(column.max_width, column.min_width))
            layout.append((index, column, size))
        self._column_layout = (width, layout)
        return layout

    def _total_width(self) -> int:
        return sum(size + 1 for _, _, size in self._layout()) + 2

    def render_lines(self, crop: Region) -> list[Strip]:
        """One frame's lines: the widget's style (it walks the ancestors' styles) and the
        column layout are worked out once for all of them, not once per line; a frame that
        redraws every row is the longest the event loop is busy during a refresh
        (docs/PERFORMANCE.md)."""
        self._frame = (self.rich_style, self._layout())
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        base, layout = self._frame or (self.rich_style, self._layout())
        if y == 0:
            return self._header(layout, base)
        index = y - 1 + int(self.scroll_offset.y)
        if not self._keys:
            if y == 1:
                text = f" {self.empty_text}"
                return Strip([Segment(text, base + STYLES["muted"])]).adjust_cell_length(
                    self.size.width, base
                )
            return Strip.blank(self.size.width, base)
        if index >= len(self._keys):
            return Strip.blank(self.size.width, base)
        key = self._keys[index]
        row_style = base
        if key in self.marked:
            row_style = row_style + self.get_component_rich_style("vtable--marked")
        if index == self.cursor_row:
            row_style = row_style + self.get_component_rich_style("vtable--cursor")
        mark = "●" if key in self.marked else " "
        segments = [Segment(mark + " ", row_style)]
        cells = self._drawn_cells(key)
        for index, column, width in layout:
            content, style = cells[index] if index < len(cells) else ("", "")
            cell_style = row_style + STYLES.get(style, _PLAIN)  # no Style() per cell
            if isinstance(content, Text):
                segments.extend(self._styled(content, width, cell_style))
            else:
                segments.append(Segment(_fit(content, width, column.align), cell_style))
            segments.append(Segment(" ", row_style))
        # One run per style: each run costs an escape sequence on the terminal.
        return Strip(segments).simplify().adjust_cell_length(self.size.width, row_style)

    def _styled(self, text: Text, width: int, style: Style) -> list[Segment]:
        """A cell of styled runs (a usage bar), cut or padded to `width` cells; the
        caller builds it from printable text."""
        fitted = text.copy()
        fitted.truncate(width, overflow="ellipsis", pad=True)
        return list(Segment.apply_style(fitted.render(self.app.console), style))

    def _header(self, layout: list[tuple[int, Column, int]], base: Style) -> Strip:
        style = base + self.get_component_rich_style("vtable--header")
        segments = [Segment("  ", style)]
        for _, column, width in layout:
            label = column.label
            if column.key == self.sort_key:  # the arrow always shows, the label gives way
                arrow = " ▼" if self.sort_reverse else " ▲"
                room = max(1, width - len(arrow))
                label = (label if len(label) <= room else label[:room]) + arrow
            segments.append(Segment(_fit(label, width, column.align), style))
            segments.append(Segment(" ", style))
        return Strip(segments).simplify().adjust_cell_length(self.size.width, style)


def _fit(text: str, width: int, align: str) -> str:
    """Pad or cut to exactly `width` terminal cells (wide characters count double)."""
    text = printable(text)
    length = cell_len(text)
    if length > width:
        return (
            set_cell_size(text, max(0, width - 1)) + "…"
            if width > 1
            else set_cell_size(text, width)
        )
    padding = " " * (width - length)
    return padding + text if align == "right" else text + padding
